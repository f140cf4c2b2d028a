"""The Bedrock Converse backend against a botocore Stubber: requests, retries, repair, budget (no AWS, no waiting)."""

from __future__ import annotations

import copy
import json
import random
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from lakehouse.tables import OPPORTUNITY_DIMENSIONS
from lambdas.score.assessment import ANSWER_SCHEMA, TOOL_DESCRIPTION, TOOL_NAME, Budget, PostContext
from lambdas.score.bedrock import TRANSIENT_ERROR_CODES, BedrockBackend
from lambdas.score.prompt import Prompt
from lambdas.score.settings import Backend, ScoringPolicy, TokenPrice

MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
PRICE = TokenPrice(input_usd_per_million=1.0, output_usd_per_million=5.0)
POLICY = ScoringPolicy(
    model_id=MODEL_ID,
    price=PRICE,
    budget_usd_per_run=1.0,
    weights=dict(zip(OPPORTUNITY_DIMENSIONS, (0.3, 0.25, 0.2, 0.15, 0.1), strict=True)),
    max_output_tokens=700,
    temperature=0.2,
)
PROMPT = Prompt.load()
POST = PostContext(
    post_id="abc123",
    content_hash="sha256:0f1e2d",
    subreddit="freelance",
    title="Invoicing clients every month takes me hours",
    body="I chase late payments by hand in a spreadsheet. Is there a tool that reminds clients for me?",
    comments=("Same here, I lose a day a month to invoicing.", "I tried three apps and none handle retainers."),
    created_utc=1_790_000_000.0,
    score=42,
    num_comments=2,
    problem_signals=("takes me hours",),
    has_question=True,
    word_count=30,
)
USER_MESSAGE = {"role": "user", "content": [{"text": PROMPT.user_message(POST)}]}
TOOL_SPEC: dict[str, Any] = {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "inputSchema": {"json": ANSWER_SCHEMA}}
TOOL_CONFIG: dict[str, Any] = {
    "tools": [{"toolSpec": TOOL_SPEC}],
    "toolChoice": {"tool": {"name": TOOL_NAME}},
}


def answer(**changes: Any) -> dict[str, Any]:
    """A valid tool input for POST; ``changes`` overrides fields, a value of ``...`` removes one."""
    values: dict[str, Any] = {
        "is_opportunity": True,
        "opportunity_reason": "Freelancers lose hours every month chasing invoices by hand.",
        "market_demand": 70,
        "pain_intensity": 65,
        "monetization_potential": 60,
        "market_gap": 45,
        "technical_feasibility": 85,
        "app_concept": "An invoicing assistant that sends reminders and tracks retainers.",
        "core_functions": ["send recurring invoices", "remind late payers", "track retainers"],
        "target_user": "freelancers who bill clients monthly",
        "evidence": ["I chase late payments by hand in a spreadsheet", "none handle retainers"],
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not ...}


def tool_response(
    tool_input: dict[str, Any], *, tokens: tuple[int, int] = (1500, 300), tool_use_id: str = "tooluse-1"
) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": tool_use_id, "name": TOOL_NAME, "input": tool_input}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 812},
    }


def request(messages: Any = ANY) -> dict[str, Any]:
    """What every Converse call must send: the policy's model, temperature and output cap, the tool forced."""
    return {
        "modelId": MODEL_ID,
        "system": [{"text": PROMPT.system}],
        "messages": messages,
        "inferenceConfig": {"maxTokens": 700, "temperature": 0.2},
        "toolConfig": TOOL_CONFIG,
    }


def cost(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * 1.0 + output_tokens * 5.0) / 1_000_000


def free_reservations(budget: Budget) -> bool:
    """True when nothing is left reserved: the rest of the limit can still be reserved whole."""
    return budget.reserve(budget.limit_usd - budget.spent_usd)


class RecordingRandom(random.Random):
    """A seeded generator that remembers the bounds it was asked for."""

    def __init__(self) -> None:
        super().__init__(7)
        self.bounds: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.bounds.append((a, b))
        return super().uniform(a, b)


@dataclass
class Harness:
    client: Any
    stubber: Stubber
    sleeps: list[float] = field(default_factory=list)
    rng: RecordingRandom = field(default_factory=RecordingRandom)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def backend(self, client: Any = None, **kwargs: Any) -> BedrockBackend:
        return BedrockBackend(client or self.client, POLICY, PROMPT, sleep=self.sleeps.append, rng=self.rng, **kwargs)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Harness]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # As the handler creates it: botocore's own retries off, so the backend's loop is the only one.
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", config=Config(retries={"max_attempts": 1, "mode": "standard"})
    )
    harness = Harness(client, Stubber(client))

    def capture(params: dict[str, Any], **_: Any) -> None:
        harness.sent.append(copy.deepcopy(params))

    client.meta.events.register("before-parameter-build.bedrock-runtime.Converse", capture)
    with harness.stubber:
        yield harness


# ---------------------------------------------------------------------------- one call


def test_a_valid_tool_answer_is_scored_and_costed_from_the_reported_usage(runtime: Harness) -> None:
    runtime.stubber.add_response("converse", tool_response(answer()), request([USER_MESSAGE]))
    budget = Budget(1.0)

    backend = runtime.backend()
    assessment = backend.assess(POST, budget)

    runtime.stubber.assert_no_pending_responses()
    assert backend.backend is Backend.BEDROCK
    assert backend.model_id == MODEL_ID
    assert assessment.status == "scored"
    assert assessment.answer is not None
    assert dict(assessment.answer.dimensions) == {
        "market_demand": 70,
        "pain_intensity": 65,
        "monetization_potential": 60,
        "market_gap": 45,
        "technical_feasibility": 85,
    }
    assert assessment.answer.evidence == ("I chase late payments by hand in a spreadsheet", "none handle retainers")
    assert assessment.answer.core_functions == ("send recurring invoices", "remind late payers", "track retainers")
    assert (assessment.model_calls, assessment.input_tokens, assessment.output_tokens) == (1, 1500, 300)
    assert assessment.cost_usd == pytest.approx(cost(1500, 300))  # $0.003 at $1 / $5 per million
    assert assessment.mode == "on_demand"
    assert budget.spent_usd == pytest.approx(assessment.cost_usd)
    assert free_reservations(budget)
    assert runtime.sleeps == []


def test_the_reservation_is_the_worst_case_of_one_call(runtime: Harness) -> None:
    estimated = PROMPT.estimated_input_tokens(POST, len(json.dumps(TOOL_SPEC)))
    assert runtime.backend().reservation_usd(POST) == pytest.approx(cost(estimated, 700))
    assert estimated > 500  # system prompt, tool schema and post: the reservation is not a token's worth


# ---------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("throttlingException", 429),
        ("SERVICEUNAVAILABLEEXCEPTION", 503),
        ("ModelNotReadyException", 429),
    ],
)
def test_a_transient_error_is_retried_with_full_jitter_backoff(runtime: Harness, code: str, status: int) -> None:
    runtime.stubber.add_client_error("converse", code, "Too many requests", status, expected_params=request())
    runtime.stubber.add_client_error("converse", code, "Too many requests", status, expected_params=request())
    runtime.stubber.add_response("converse", tool_response(answer()), request([USER_MESSAGE]))
    budget = Budget(1.0)

    assessment = runtime.backend().assess(POST, budget)

    runtime.stubber.assert_no_pending_responses()
    assert assessment.answer is not None
    # Full jitter: uniform(0, min(max_delay, base_delay * 2**attempt)), slept before each retry (not slept really).
    assert runtime.rng.bounds == [(0, 1.0), (0, 2.0)]
    assert len(runtime.sleeps) == 2
    assert all(0 <= slept <= high for slept, (_, high) in zip(runtime.sleeps, runtime.rng.bounds, strict=True))
    assert runtime.sleeps[0] != runtime.sleeps[1]  # drawn, not fixed
    # The two error responses count as calls; only the answered one costs anything.
    assert (assessment.model_calls, assessment.input_tokens, assessment.output_tokens) == (3, 1500, 300)
    assert budget.spent_usd == pytest.approx(cost(1500, 300))
    assert free_reservations(budget)


def test_throttling_on_every_attempt_defers_the_post_without_a_score(runtime: Harness) -> None:
    for _ in range(6):
        runtime.stubber.add_client_error("converse", "ThrottlingException", "Rate exceeded", 429)
    budget = Budget(1.0)

    assessment = runtime.backend(max_delay=5.0).assess(POST, budget)

    runtime.stubber.assert_no_pending_responses()
    assert assessment.status == "deferred"
    assert assessment.deferred == "ThrottlingException after 6 attempts"
    assert assessment.answer is None
    assert assessment.failure is None
    assert (assessment.model_calls, assessment.input_tokens, assessment.output_tokens) == (6, 0, 0)
    assert assessment.cost_usd == 0
    # Five waits between six attempts, the exponential step capped at max_delay.
    assert [high for _, high in runtime.rng.bounds] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(runtime.sleeps) == 5
    assert budget.spent_usd == 0
    assert free_reservations(budget)
    assert not budget.exhausted


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 403), ("ResourceNotFoundException", 404)],
)
def test_an_error_that_stops_every_post_raises(runtime: Harness, code: str, status: int) -> None:
    runtime.stubber.add_client_error("converse", code, "You don't have access to the model", status)
    budget = Budget(1.0)

    with pytest.raises(ClientError) as raised:
        runtime.backend().assess(POST, budget)

    assert raised.value.response["Error"]["Code"] == code
    runtime.stubber.assert_no_pending_responses()
    assert runtime.sleeps == []  # not retried
    assert budget.spent_usd == 0
    assert free_reservations(budget)  # the reservation was released on the way out


def test_transport_errors_are_retried_and_are_not_model_calls(runtime: Harness) -> None:
    class Flaky:
        """Times out, then cannot connect, then is the stubbed client."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner
            self.failures: list[Exception] = [
                ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
                EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
            ]

        def converse(self, **kwargs: Any) -> Any:
            if self.failures:
                raise self.failures.pop(0)
            return self.inner.converse(**kwargs)

    runtime.stubber.add_response("converse", tool_response(answer()), request([USER_MESSAGE]))

    assessment = runtime.backend(Flaky(runtime.client)).assess(POST, Budget(1.0))

    assert assessment.answer is not None
    assert assessment.model_calls == 1
    assert len(runtime.sleeps) == 2


def test_transport_errors_on_every_attempt_defer_with_their_name(runtime: Harness) -> None:
    class Down:
        def converse(self, **kwargs: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    assessment = runtime.backend(Down(), max_attempts=3).assess(POST, Budget(1.0))

    assert assessment.deferred == "EndpointConnectionError after 3 attempts"
    assert assessment.model_calls == 0
    assert len(runtime.sleeps) == 2


def test_the_transient_codes_are_one_tuple() -> None:
    assert set(TRANSIENT_ERROR_CODES) >= {"ThrottlingException", "ServiceUnavailableException"}


# ---------------------------------------------------------------------------- repair


def test_a_malformed_answer_is_repaired_by_a_second_call(runtime: Harness) -> None:
    first = tool_response(answer(market_demand=150, target_user=...), tokens=(1500, 280), tool_use_id="tooluse-A")
    runtime.stubber.add_response("converse", first, request([USER_MESSAGE]))
    runtime.stubber.add_response("converse", tool_response(answer(), tokens=(1900, 300), tool_use_id="tooluse-B"))
    budget = Budget(1.0)

    assessment = runtime.backend().assess(POST, budget)

    runtime.stubber.assert_no_pending_responses()
    assert assessment.answer is not None
    assert assessment.answer.dimensions["market_demand"] == 70
    assert (assessment.model_calls, assessment.input_tokens, assessment.output_tokens) == (2, 3400, 580)
    assert assessment.cost_usd == pytest.approx(cost(1500, 280) + cost(1900, 300))
    assert budget.spent_usd == pytest.approx(assessment.cost_usd)
    assert free_reservations(budget)

    repair = runtime.sent[1]
    assert repair == request(ANY)  # the same model, temperature and forced tool
    user, assistant, reply = repair["messages"]
    assert user == USER_MESSAGE
    assert assistant == first["output"]["message"]  # the model's message, as returned
    assert reply["role"] == "user"
    (block,) = reply["content"]
    result = block["toolResult"]
    assert result["toolUseId"] == "tooluse-A"
    assert result["status"] == "error"
    text = result["content"][0]["text"]
    assert "market_demand: must be within 0..100, got 150" in text
    assert "target_user: missing" in text
    assert TOOL_NAME in text


def test_a_malformed_answer_twice_is_a_failure_with_its_reasons(runtime: Harness) -> None:
    runtime.stubber.add_response("converse", tool_response(answer(market_demand=150)))
    runtime.stubber.add_response("converse", tool_response(answer(pain_intensity="high")))
    budget = Budget(1.0)

    assessment = runtime.backend().assess(POST, budget)

    runtime.stubber.assert_no_pending_responses()
    assert assessment.status == "failed"
    assert assessment.answer is None
    assert assessment.failure == "invalid answer after repair: pain_intensity: must be a whole number, got 'high'"
    assert assessment.model_calls == 2
    assert assessment.cost_usd == pytest.approx(2 * cost(1500, 300))


def test_evidence_not_in_the_post_is_repaired_and_then_fails_mentioning_evidence(runtime: Harness) -> None:
    paraphrase = "Invoicing is a nightmare for every freelancer"
    runtime.stubber.add_response("converse", tool_response(answer(evidence=[paraphrase])))
    runtime.stubber.add_response("converse", tool_response(answer(evidence=["I chase late payments..."])))

    assessment = runtime.backend().assess(POST, Budget(1.0))

    runtime.stubber.assert_no_pending_responses()
    text = runtime.sent[1]["messages"][2]["content"][0]["toolResult"]["content"][0]["text"]
    assert f"evidence: {paraphrase!r} does not appear in the title, body or comments" in text
    assert assessment.answer is None
    assert assessment.failure is not None
    assert assessment.failure.startswith("invalid answer after repair: evidence: ")
    assert "'I chase late payments...' does not appear" in assessment.failure


def test_evidence_repaired_to_a_real_quote_is_scored(runtime: Harness) -> None:
    runtime.stubber.add_response("converse", tool_response(answer(evidence=["invoicing is painful"])))
    # Quoted in other capitals: still a quote.
    runtime.stubber.add_response("converse", tool_response(answer(evidence=["i lose a day a month to invoicing"])))

    assessment = runtime.backend().assess(POST, Budget(1.0))

    assert assessment.answer is not None
    assert assessment.answer.evidence == ("i lose a day a month to invoicing",)
    assert assessment.model_calls == 2


def test_a_text_reply_without_the_tool_is_told_to_call_it(runtime: Harness) -> None:
    chatty: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": "This looks like a great opportunity!"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1500, "outputTokens": 20, "totalTokens": 1520},
        "metrics": {"latencyMs": 300},
    }
    runtime.stubber.add_response("converse", chatty)
    runtime.stubber.add_response("converse", tool_response(answer()))

    assessment = runtime.backend().assess(POST, Budget(1.0))

    assert assessment.answer is not None
    assert assessment.model_calls == 2
    _, assistant, reply = runtime.sent[1]["messages"]
    assert assistant == chatty["output"]["message"]
    (block,) = reply["content"]
    assert "toolResult" not in block
    assert f"You must call the tool {TOOL_NAME}" in block["text"]
    assert "stopReason 'end_turn'" in block["text"]


def test_an_empty_reply_cut_at_max_tokens_is_asked_again_and_then_fails(runtime: Harness) -> None:
    empty: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": []}},
        "stopReason": "max_tokens",
        "usage": {"inputTokens": 1500, "outputTokens": 700, "totalTokens": 2200},
        "metrics": {"latencyMs": 300},
    }
    runtime.stubber.add_response("converse", empty)
    runtime.stubber.add_response("converse", copy.deepcopy(empty))

    assessment = runtime.backend().assess(POST, Budget(1.0))

    # Nothing to send back: the question is asked again, with the instruction, in the user's turn.
    (again,) = runtime.sent[1]["messages"]
    assert again["role"] == "user"
    assert again["content"][0] == USER_MESSAGE["content"][0]
    assert f"You must call the tool {TOOL_NAME}" in again["content"][1]["text"]
    assert (
        assessment.failure
        == f"invalid answer after repair: the model did not call {TOOL_NAME} (stopReason 'max_tokens')"
    )
    assert assessment.answer is None
    assert (assessment.model_calls, assessment.output_tokens) == (2, 1400)


# ---------------------------------------------------------------------------- the budget


def test_a_budget_too_small_for_one_call_defers_without_calling(runtime: Harness) -> None:
    backend = runtime.backend()
    budget = Budget(backend.reservation_usd(POST) * 0.99)

    assessment = backend.assess(POST, budget)

    runtime.stubber.assert_no_pending_responses()
    assert runtime.sent == []  # the stubber saw no call
    assert assessment.deferred == "budget"
    assert (assessment.model_calls, assessment.cost_usd) == (0, 0)
    assert budget.exhausted
    assert budget.spent_usd == 0


def test_a_request_bedrock_refuses_fails_that_post_and_the_run_goes_on(runtime: Harness) -> None:
    runtime.stubber.add_client_error("converse", "ValidationException", "Input is too long for requested model.", 400)
    budget = Budget(1.0)

    assessment = runtime.backend().assess(POST, budget)

    assert assessment.failure == "ValidationException: Input is too long for requested model."
    assert assessment.answer is None
    assert runtime.sleeps == []  # not retried
    assert free_reservations(budget)


def test_a_budget_for_one_call_but_not_its_repair_sends_nothing(runtime: Harness) -> None:
    """The repair's worst case is held before the first call: a paid answer is never left unrepaired."""
    backend = runtime.backend()
    budget = Budget(backend.reservation_usd(POST))  # exactly one worst-case call

    assessment = backend.assess(POST, budget)

    assert runtime.sent == []
    assert assessment.deferred == "budget"
    assert assessment.model_calls == 0
    assert budget.exhausted


def test_the_repair_is_paid_from_the_hold_and_the_budget_is_all_given_back(runtime: Harness) -> None:
    runtime.stubber.add_response("converse", tool_response(answer(market_demand=150), tokens=(1500, 300)))
    runtime.stubber.add_response("converse", tool_response(answer(), tokens=(2000, 300)))
    backend = runtime.backend()
    budget = Budget(backend.reservation_usd(POST) + backend.repair_reservation_usd(POST))

    assessment = backend.assess(POST, budget)

    assert assessment.answer is not None
    assert assessment.model_calls == 2
    assert budget.spent_usd == pytest.approx(cost(1500, 300) + cost(2000, 300))
    assert free_reservations(budget)


def test_a_transient_failure_of_the_repair_defers_with_the_first_calls_usage(runtime: Harness) -> None:
    runtime.stubber.add_response("converse", tool_response(answer(market_demand=150)))
    for _ in range(2):
        runtime.stubber.add_client_error("converse", "ServiceUnavailableException", "Try again", 503)

    assessment = runtime.backend(max_attempts=2).assess(POST, Budget(1.0))

    assert assessment.deferred == "ServiceUnavailableException after 2 attempts"
    assert (assessment.model_calls, assessment.input_tokens) == (3, 1500)
    assert assessment.cost_usd == pytest.approx(cost(1500, 300))


# ---------------------------------------------------------------------------- concurrency


def test_concurrent_assessments_share_nothing_but_the_budget() -> None:
    class Client:
        """Thread-safe stand-in: answers every post with its own title as evidence."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.calls = 0

        def converse(self, **kwargs: Any) -> Any:
            with self.lock:
                self.calls += 1
                throttle = self.calls % 3 == 0
            if throttle:
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Converse")
            title = kwargs["messages"][0]["content"][0]["text"].split("Title: ", 1)[1].split("\n", 1)[0]
            return tool_response(answer(evidence=[title]))

    posts = [PostContext(f"p{i}", f"h{i}", "freelance", f"Invoicing pain number {i}", "body") for i in range(24)]
    backend = BedrockBackend(Client(), POLICY, PROMPT, sleep=lambda _: None)
    budget = Budget(1.0)

    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        assessments = list(pool.map(lambda post: backend.assess(post, budget), posts))

    assert all(a.answer is not None for a in assessments)
    assert [a.answer.evidence for a in assessments if a.answer] == [(post.title,) for post in posts]
    assert budget.spent_usd == pytest.approx(24 * cost(1500, 300))
    assert free_reservations(budget)
