"""Amazon Bedrock scoring: one Converse call per post, its tool forced, its answer checked and repaired once.

Why Converse with a forced tool
    The Converse API is the same request for every Bedrock model (Claude, Nova, ...), so the model id
    is configuration, not code. The answer is the input of one tool, :data:`TOOL_NAME`, whose JSON
    schema is :data:`ANSWER_SCHEMA`, and ``toolChoice = {"tool": {"name": TOOL_NAME}}`` forces the
    model to call it: no free text to parse. A schema the model was given is not one it always obeys,
    so the answer is still checked by :func:`validate_answer` (ranges, required fields, evidence
    quoted from the post).

Retries
    The handler creates the ``bedrock-runtime`` client with botocore's retries off
    (``Config(retries={"max_attempts": 1, "mode": "standard"})``): this loop is the only one, so
    ``max_attempts`` means what it says and the budget sees every attempt. Transient errors are the
    error codes in :data:`TRANSIENT_ERROR_CODES` (matched case-insensitively: ``ThrottlingException``
    429, ``ServiceUnavailableException`` 503, a model not ready yet, an internal error, a model timeout)
    and the transport errors in :data:`TRANSIENT_TRANSPORT_ERRORS` (read and connect timeouts, no
    connection). They are retried with full-jitter exponential backoff: before attempt ``n + 1`` the
    loop sleeps ``uniform(0, min(max_delay, base_delay * 2**n))``. A call that failed costs nothing;
    every attempt the service answered, with an error or not, counts in ``model_calls``.

Repair
    An invalid answer (out of range, a field missing, evidence not in the post, or no tool call at all)
    gets one repair: the conversation is sent again with the model's message as it was returned and a
    ``toolResult`` with ``status: error`` listing the problems (or, without a tool call, a text saying
    the tool must be called). A second invalid answer is a failure, recorded with its reasons; a score
    is never made up. The repair's worst case is held in the budget from before the first call, so an
    answer that was paid for is never left unrepaired for want of budget (and paid for again later).

What defers, what fails and what raises
    Deferred (no score recorded, the post waits for the next run): the budget refuses the post's
    reservation (``budget``: nothing is sent), or transient errors outlast ``max_attempts``
    (``ThrottlingException after 6 attempts``). Failed (recorded with the reason): a
    ``ValidationException``, Bedrock's answer about that one request (input too long, content refused);
    one bad post never stops the others. Raised: every other ``ClientError`` (``AccessDeniedException``,
    ``ResourceNotFoundException``, ...): what is wrong there is wrong for every post, and the run must
    fail loudly rather than defer them all.

Thread safety: ``assess`` runs in a thread pool; every call's state is local, and the only shared
mutable state, the jitter's random generator, is used under a lock.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from lambdas.score.assessment import (
    ANSWER_SCHEMA,
    BUDGET_DEFERRAL,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    Answer,
    Assessment,
    Budget,
    PostContext,
    validate_answer,
)
from lambdas.score.prompt import Prompt, estimate_tokens
from lambdas.score.settings import Backend, ScoringPolicy

__all__ = ["TOOL_CONFIG", "TRANSIENT_ERROR_CODES", "TRANSIENT_TRANSPORT_ERRORS", "BedrockBackend"]

logger = logging.getLogger(__name__)

TRANSIENT_ERROR_CODES: tuple[str, ...] = (
    "ThrottlingException",
    "ServiceUnavailableException",
    "ModelNotReadyException",
    "InternalServerException",
    "ModelTimeoutException",
)
"""Error codes retried with backoff (compared case-insensitively); any other ``ClientError`` raises but these."""
_TRANSIENT_CODES = frozenset(code.casefold() for code in TRANSIENT_ERROR_CODES)
POST_ERROR_CODES: tuple[str, ...] = ("ValidationException",)
"""Errors about one request (input too long, content the model refuses): that post fails with the reason,
the others go on. A configuration that breaks every request (an invalid model id) fails every post, and the
run's degraded-scoring rule raises."""
_POST_CODES = frozenset(code.casefold() for code in POST_ERROR_CODES)

TRANSIENT_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    ReadTimeoutError,
    EndpointConnectionError,
    ConnectTimeoutError,
)
"""Transport failures retried like a transient error code (no response came back: not a model call)."""

TOOL_CONFIG: dict[str, Any] = {
    "tools": [
        {"toolSpec": {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "inputSchema": {"json": ANSWER_SCHEMA}}}
    ],
    "toolChoice": {"tool": {"name": TOOL_NAME}},
}
"""The one tool the model is given, and forced to call."""
_TOOL_SPEC_CHARS = len(json.dumps(TOOL_CONFIG["tools"][0]["toolSpec"]))

_REPAIR_INSTRUCTION = (
    f"Call {TOOL_NAME} again with a corrected answer: every field present and within its limits, "
    "and every evidence item copied exactly from the title, body or comments shown."
)


@dataclass(frozen=True, slots=True)
class _Call:
    """One logical call's outcome: the response (None when deferred), and what its attempts used."""

    response: dict[str, Any] | None
    deferred: str | None
    model_calls: int
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    failure: str | None = None  # the request itself was refused (POST_ERROR_CODES)


@dataclass(frozen=True, slots=True)
class _Reading:
    """What a response answered: the answer, or the problems and what a repair must reply to."""

    answer: Answer | None
    errors: list[str]
    message: dict[str, Any]  # the assistant's message as returned
    tool_use_id: str | None  # the toolUse of TOOL_NAME, if there was one


class BedrockBackend:
    """Scores posts with Bedrock's Converse API (see the module docstring for retries, repair and errors).

    ``client`` is a boto3 ``bedrock-runtime`` client created with botocore retries disabled
    (``Config(retries={"max_attempts": 1, "mode": "standard"})``): this class's retry loop is the one
    that counts. ``sleep`` and ``rng`` are injectable so tests neither wait nor guess the jitter.
    """

    backend = Backend.BEDROCK

    def __init__(
        self,
        client: Any,
        policy: ScoringPolicy,
        prompt: Prompt,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        max_attempts: int = 6,
        base_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if base_delay < 0 or max_delay < 0:
            raise ValueError("backoff delays cannot be negative")
        self.client = client
        self.policy = policy
        self.prompt = prompt
        self.model_id = policy.model_id
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._rng_lock = threading.Lock()
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    # ------------------------------------------------------------------ the contract

    def reservation_usd(self, post: PostContext) -> float:
        """The worst case of one call: the estimated input and every output token the policy allows."""
        return self.policy.price.cost(
            self.prompt.estimated_input_tokens(post, _TOOL_SPEC_CHARS), self.policy.max_output_tokens
        )

    def repair_reservation_usd(self, post: PostContext) -> float:
        """The worst case of a repair call: the first call's input again, a whole answer, the reply, and
        every output token. Held from before the first call, so a post whose first answer was paid for is
        never left unrepaired for want of budget (and paid for again by the next run)."""
        estimated_input = self.prompt.estimated_input_tokens(post, _TOOL_SPEC_CHARS)
        repair_input = estimated_input + self.policy.max_output_tokens + estimate_tokens(_REPAIR_INSTRUCTION) + 100
        return self.policy.price.cost(repair_input, self.policy.max_output_tokens)

    def assess(self, post: PostContext, budget: Budget) -> Assessment:
        repair_hold = self.repair_reservation_usd(post)
        if not budget.reserve(repair_hold):
            return Assessment(deferred=BUDGET_DEFERRAL)
        try:
            return self._assess(post, budget, repair_hold)
        finally:  # the hold is released; what a repair spent was settled by its call
            budget.settle(repair_hold, 0.0)

    def _assess(self, post: PostContext, budget: Budget, repair_hold: float) -> Assessment:
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": self.prompt.user_message(post)}]}]
        first = self._call(messages, budget, self.reservation_usd(post))
        if first.response is None:
            return self._unanswered(first, first)
        reading = _read(first.response, post)
        if reading.answer is not None:
            return self._assessment(first, answer=reading.answer)

        logger.info("post %s: invalid answer, asking for a repair: %s", post.post_id, "; ".join(reading.errors))
        conversation, _ = _repair_conversation(messages, reading)
        second = self._call(conversation, budget, repair_hold, reserved=True)
        spent = _sum(first, second)
        if second.response is None:
            return self._unanswered(second, spent)
        repaired = _read(second.response, post)
        if repaired.answer is not None:
            return self._assessment(spent, answer=repaired.answer)
        return self._assessment(spent, failure="invalid answer after repair: " + "; ".join(repaired.errors))

    def _unanswered(self, call: _Call, spent: _Call) -> Assessment:
        """A call that brought no answer: the request was refused (a failure) or never got through (deferred)."""
        if call.failure is not None:
            return self._assessment(spent, failure=call.failure)
        return self._assessment(spent, deferred=call.deferred)

    # ------------------------------------------------------------------ one call, with its retries

    def _call(
        self, messages: list[dict[str, Any]], budget: Budget, reservation: float, *, reserved: bool = False
    ) -> _Call:
        """One Converse call under a budget reservation, retried while the failure is transient.

        ``reserved``: the caller holds the reservation (and releases it); this call only adds what it spent.
        """
        if not reserved and not budget.reserve(reservation):
            return _Call(None, BUDGET_DEFERRAL, 0)
        spent = 0.0
        model_calls = 0
        failure = ""
        try:
            for attempt in range(self.max_attempts):
                try:
                    response: dict[str, Any] = self.client.converse(**self._request(messages))
                except ClientError as exc:
                    model_calls += 1  # an error response is still a call the service answered
                    code = str(exc.response.get("Error", {}).get("Code", ""))
                    kind = code.rsplit("#", 1)[-1].casefold()
                    if kind in _POST_CODES:
                        message = str(exc.response.get("Error", {}).get("Message", ""))[:300]
                        return _Call(None, None, model_calls, failure=f"{code}: {message}")
                    if kind not in _TRANSIENT_CODES:
                        raise
                    failure = code
                except TRANSIENT_TRANSPORT_ERRORS as exc:
                    failure = type(exc).__name__
                else:
                    model_calls += 1
                    usage = response.get("usage", {})
                    input_tokens = int(usage.get("inputTokens", 0))
                    output_tokens = int(usage.get("outputTokens", 0))
                    spent = self.policy.price.cost(input_tokens, output_tokens)
                    return _Call(response, None, model_calls, input_tokens, output_tokens, spent)
                if attempt + 1 < self.max_attempts:
                    delay = self._delay(attempt)
                    logger.warning(
                        "Bedrock %s (attempt %d of %d): retrying in %.2fs",
                        failure,
                        attempt + 1,
                        self.max_attempts,
                        delay,
                    )
                    self._sleep(delay)
            logger.warning("Bedrock %s after %d attempts: the post is deferred", failure, self.max_attempts)
            return _Call(None, f"{failure} after {self.max_attempts} attempts", model_calls)
        finally:
            budget.settle(0.0 if reserved else reservation, spent)

    def _request(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "system": [{"text": self.prompt.system}],
            "messages": messages,
            "inferenceConfig": {"maxTokens": self.policy.max_output_tokens, "temperature": self.policy.temperature},
            "toolConfig": copy.deepcopy(TOOL_CONFIG),  # botocore's handlers may edit what they are given
        }

    def _delay(self, attempt: int) -> float:
        """Full jitter: anywhere between no wait and the capped exponential step."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        with self._rng_lock:
            return self._rng.uniform(0, ceiling)

    def _assessment(
        self, call: _Call, *, answer: Answer | None = None, failure: str | None = None, deferred: str | None = None
    ) -> Assessment:
        return Assessment(
            answer=answer,
            failure=failure,
            deferred=deferred,
            model_calls=call.model_calls,
            input_tokens=call.input_tokens,
            output_tokens=call.output_tokens,
            cost_usd=call.cost_usd,
        )


# ---------------------------------------------------------------------- reading and repairing an answer


def _read(response: dict[str, Any], post: PostContext) -> _Reading:
    message: dict[str, Any] = response.get("output", {}).get("message") or {"role": "assistant", "content": []}
    stop = response.get("stopReason")
    tool_use = next(
        (
            block["toolUse"]
            for block in message.get("content", [])
            if isinstance(block, dict) and block.get("toolUse", {}).get("name") == TOOL_NAME
        ),
        None,
    )
    if tool_use is None:
        return _Reading(None, [f"the model did not call {TOOL_NAME} (stopReason {stop!r})"], message, None)
    answer, errors = validate_answer(tool_use.get("input"), post)
    if errors and stop == "max_tokens":
        errors.append("the answer was cut off at the output token limit: keep every field short")
    return _Reading(answer, errors, message, tool_use.get("toolUseId"))


def _repair_conversation(
    messages: list[dict[str, Any]], reading: _Reading
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The conversation sent for the repair, and the reply it adds (what the reservation estimates).

    The model's message goes back as returned, followed by a user turn replying to it. Every ``toolUse``
    in it gets its ``toolResult`` (Converse rejects a conversation that leaves one unanswered): the
    answer's, with ``status: error``, lists the problems; any other tool is refused. Without a call of
    :data:`TOOL_NAME`, a text says it must be called.
    """
    problems = "\n".join(f"- {error}" for error in reading.errors)
    must_call = {"text": f"You must call the tool {TOOL_NAME} to answer; no other reply is read.\n{problems}"}
    content = reading.message.get("content") or []
    if not content:  # an empty assistant message cannot be sent back: ask again in the user's own turn
        question = messages[-1]
        return [*messages[:-1], {**question, "content": [*question["content"], must_call]}], [must_call]
    reply: list[dict[str, Any]] = []
    for block in content:
        use = block.get("toolUse") if isinstance(block, dict) else None
        if not use:
            continue
        if use.get("toolUseId") == reading.tool_use_id:
            text = f"The answer was not recorded. Its problems:\n{problems}\n{_REPAIR_INSTRUCTION}"
        elif use.get("name") == TOOL_NAME:
            text = f"Only the first call of {TOOL_NAME} is read."
        else:
            text = f"Tool {use.get('name')!r} is not available; answer with a single call of {TOOL_NAME}."
        result = {"toolUseId": use.get("toolUseId"), "content": [{"text": text}], "status": "error"}
        reply.append({"toolResult": result})
    if reading.tool_use_id is None:
        reply.append(must_call)
    assistant = {"role": reading.message.get("role", "assistant"), "content": content}
    return [*messages, assistant, {"role": "user", "content": reply}], reply


def _sum(first: _Call, second: _Call) -> _Call:
    return _Call(
        second.response,
        second.deferred,
        first.model_calls + second.model_calls,
        first.input_tokens + second.input_tokens,
        first.output_tokens + second.output_tokens,
        first.cost_usd + second.cost_usd,
    )
