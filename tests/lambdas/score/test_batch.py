"""Bedrock batch inference against botocore Stubbers, with the analytics zone in a temp directory."""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lakehouse.lake.store import LocalObjectStore
from lakehouse.tables import OPPORTUNITY_DIMENSIONS
from lambdas.score.assessment import ANSWER_SCHEMA, TOOL_NAME, PostContext
from lambdas.score.batch import (
    BatchInference,
    BatchUnavailable,
    batch_job_name,
    invoke_model_body,
    model_family,
    parse_model_output,
    record_id,
)
from lambdas.score.layout import batch_input_key, batch_job_key, batch_output_prefix
from lambdas.score.prompt import Prompt
from lambdas.score.settings import BatchPolicy, ScoringPolicy, TokenPrice

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA_LITE = "us.amazon.nova-lite-v1:0"
QUOTA_NAME = "Minimum number of records per batch inference job for Claude Haiku 4.5"
ROLE_ARN = "arn:aws:iam::123456789012:role/batch"
BUCKET_URI = "s3://analytics-bucket/"
JOB_PREFIX = "reddit-lakehouse-dev-score"
RUN_ID = "run-2025-06-01"
JOB_NAME = f"{JOB_PREFIX}-{RUN_ID}"
JOB_ID = "abc123def456"
JOB_ARN = f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{JOB_ID}"
NOW = 1_750_000_000.0
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*$")
S3_URI_PATTERN = re.compile(
    r"^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?$"
)


def make_policy(model_id: str = HAIKU, **batch: Any) -> ScoringPolicy:
    weights = dict.fromkeys(OPPORTUNITY_DIMENSIONS, 0.2)
    return ScoringPolicy(
        model_id=model_id,
        price=TokenPrice(input_usd_per_million=1.0, output_usd_per_million=5.0),
        budget_usd_per_run=5.0,
        weights=weights,
        batch=BatchPolicy(
            **{"enabled": True, "min_records_quota_name": QUOTA_NAME, "role_arn": ROLE_ARN, **batch},
        ),
    )


def make_post(number: int, content_hash: str | None = None) -> PostContext:
    return PostContext(
        post_id=f"p{number}",
        content_hash=content_hash or f"{number:064x}",
        subreddit="smallbusiness",
        title=f"Invoicing clients by hand takes me {number} hours every week",
        body="I copy numbers from spreadsheets into invoices and chase late payments by email.",
        comments=("Same here, I'd pay for something that sends reminders",),
    )


def valid_answer(post: PostContext) -> dict[str, Any]:
    return {
        "is_opportunity": True,
        "opportunity_reason": "Freelancers lose hours a week to manual invoicing.",
        **dict.fromkeys(OPPORTUNITY_DIMENSIONS, 60),
        "app_concept": "An invoicing assistant that drafts invoices and chases late payments.",
        "core_functions": ["draft invoices from spreadsheets", "send payment reminders"],
        "target_user": "Freelancers and small agencies",
        "evidence": [post.title, "chase late payments by email"],
    }


def anthropic_output(answer: Any, input_tokens: int = 1_000, output_tokens: int = 200) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": TOOL_NAME, "input": answer}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def nova_output(answer: Any, input_tokens: int = 900, output_tokens: int = 150) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": TOOL_NAME, "input": answer}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens, "totalTokens": input_tokens + 150},
    }


@dataclass
class Harness:
    batch: BatchInference
    bedrock: Stubber
    quotas: Stubber
    store: LocalObjectStore
    policy: ScoringPolicy
    prompt: Prompt

    def expect_create(self, name: str = JOB_NAME, arn: str = JOB_ARN) -> None:
        self.bedrock.add_response(
            "create_model_invocation_job",
            {"jobArn": arn},
            {
                "jobName": name,
                "roleArn": ROLE_ARN,
                "modelId": self.policy.model_id,
                "modelInvocationType": "InvokeModel",
                "inputDataConfig": {
                    "s3InputDataConfig": {"s3Uri": BUCKET_URI + batch_input_key(name), "s3InputFormat": "JSONL"}
                },
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": BUCKET_URI + batch_output_prefix(name)}},
                "clientRequestToken": stable_token,
            },
        )

    def expect_status(self, status: str, arn: str = JOB_ARN, name: str = JOB_NAME) -> None:
        self.bedrock.add_response(
            "get_model_invocation_job",
            {
                "jobArn": arn,
                "jobName": name,
                "modelId": self.policy.model_id,
                "roleArn": ROLE_ARN,
                "status": status,
                "message": f"the job is {status}",
                "submitTime": datetime.fromtimestamp(NOW, UTC),
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": BUCKET_URI + batch_input_key(name)}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": BUCKET_URI + batch_output_prefix(name)}},
            },
            {"jobIdentifier": arn},
        )

    def write_output(self, lines: list[dict[str, Any]], name: str = JOB_NAME, job_id: str = JOB_ID) -> None:
        prefix = f"{batch_output_prefix(name)}{job_id}/"
        self.store.put(prefix + "records.jsonl.out", "".join(json.dumps(line) + "\n" for line in lines).encode())
        manifest = {"totalRecordCount": len(lines), "processedRecordCount": len(lines)}
        self.store.put(prefix + "manifest.json.out", json.dumps(manifest).encode())

    def records_file(self, name: str = JOB_NAME) -> list[dict[str, Any]]:
        data = self.store.get(batch_input_key(name))
        assert data is not None
        return [json.loads(line) for line in data.decode().splitlines()]

    def state(self, name: str = JOB_NAME) -> dict[str, Any]:
        data = self.store.get(batch_job_key(name))
        assert data is not None
        state: dict[str, Any] = json.loads(data)
        return state


class _AnyToken:
    """Matches the stable request token: 1-256 letters, digits and dashes, the same on every call."""

    seen: str | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str) or not re.fullmatch(r"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}", other):
            return False
        if self.seen is None:
            self.seen = other
        return other == self.seen

    def __hash__(self) -> int:
        return 0


stable_token = _AnyToken()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def build(tmp_path: Path, policy: ScoringPolicy) -> Iterator[Harness]:
    bedrock = boto3.client("bedrock", region_name="us-east-1")
    quotas = boto3.client("service-quotas", region_name="us-east-1")
    store = LocalObjectStore(tmp_path / "analytics")
    prompt = Prompt.load()
    batch = BatchInference(
        bedrock=bedrock,
        quotas=quotas,
        store=store,
        bucket_uri=BUCKET_URI,
        policy=policy,
        prompt=prompt,
        job_prefix=JOB_PREFIX,
        clock=lambda: NOW,
    )
    with Stubber(bedrock) as bedrock_stub, Stubber(quotas) as quotas_stub:
        yield Harness(batch, bedrock_stub, quotas_stub, store, policy, prompt)
        bedrock_stub.assert_no_pending_responses()
        quotas_stub.assert_no_pending_responses()


@pytest.fixture
def harness(tmp_path: Path, aws_env: None) -> Iterator[Harness]:
    stable_token.seen = None
    yield from build(tmp_path, make_policy())


@pytest.fixture
def nova(tmp_path: Path, aws_env: None) -> Iterator[Harness]:
    stable_token.seen = None
    yield from build(tmp_path, make_policy(NOVA_LITE))


# ---------------------------------------------------------------------------- quota


def test_min_records_is_read_from_a_paginated_quota_listing(harness: Harness) -> None:
    other = {"QuotaName": "Batch inference job size (in GB)", "QuotaCode": "L-1", "Value": 5.0}
    ours = {"QuotaName": QUOTA_NAME.lower(), "QuotaCode": "L-2", "Value": 100.0}
    harness.quotas.add_response(
        "list_service_quotas", {"Quotas": [other], "NextToken": "t1"}, {"ServiceCode": "bedrock"}
    )
    harness.quotas.add_response(
        "list_service_quotas", {"Quotas": [ours]}, {"ServiceCode": "bedrock", "NextToken": "t1"}
    )

    assert harness.batch.min_records() == 100


def test_min_records_falls_back_to_the_default_quotas(harness: Harness) -> None:
    harness.quotas.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "bedrock"})
    harness.quotas.add_response(
        "list_aws_default_service_quotas",
        {"Quotas": [{"QuotaName": QUOTA_NAME, "Value": 50.0}]},
        {"ServiceCode": "bedrock"},
    )

    assert harness.batch.min_records() == 50


def test_min_records_without_the_quota_is_batch_unavailable(harness: Harness) -> None:
    other = {"QuotaName": "Minimum number of records per batch inference job for Claude 3 Haiku", "Value": 100.0}
    harness.quotas.add_response("list_service_quotas", {"Quotas": [other]}, {"ServiceCode": "bedrock"})
    harness.quotas.add_response("list_aws_default_service_quotas", {"Quotas": [other]}, {"ServiceCode": "bedrock"})

    with pytest.raises(BatchUnavailable, match=re.escape(QUOTA_NAME)):
        harness.batch.min_records()


# ---------------------------------------------------------------------------- submit


def test_submit_writes_invoke_model_records_then_the_job_then_its_state(harness: Harness) -> None:
    posts = [make_post(n) for n in range(3)]
    harness.expect_create()

    state = harness.batch.submit(RUN_ID, [*posts, posts[0]])  # a post version given twice is one record

    records = harness.records_file()
    assert [r["recordId"] for r in records] == [record_id(p.post_id, p.content_hash) for p in posts]
    for record, post in zip(records, posts, strict=True):
        assert re.fullmatch(r"[a-zA-Z0-9]+", record["recordId"])
        body = record["modelInput"]
        assert body == invoke_model_body(HAIKU, harness.prompt, post, harness.policy)
        assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
        assert body["tools"][0]["input_schema"] == ANSWER_SCHEMA
        assert post.title in body["messages"][0]["content"][0]["text"]
        assert "toolConfig" not in body  # an InvokeModel body, not a Converse one
    assert state == harness.state()
    assert state == {
        "name": JOB_NAME,
        "job_arn": JOB_ARN,
        "run_id": RUN_ID,
        "submitted_at": datetime.fromtimestamp(NOW, UTC).isoformat(),
        "model_id": HAIKU,
        "prompt_version": harness.prompt.version,
        "records": {
            record_id(p.post_id, p.content_hash): {
                "post_id": p.post_id,
                "content_hash": p.content_hash,
                "comments": list(p.comments),
            }
            for p in posts
        },
        "collected": False,
    }
    assert S3_URI_PATTERN.match(BUCKET_URI + batch_input_key(JOB_NAME))


def test_a_rerun_of_the_run_does_not_submit_again(harness: Harness) -> None:
    posts = [make_post(n) for n in range(3)]
    harness.expect_create()
    first = harness.batch.submit(RUN_ID, posts)
    harness.bedrock.assert_no_pending_responses()

    again = harness.batch.submit(RUN_ID, [make_post(n) for n in range(5)])  # no response queued: a call would fail

    assert again == first | {"already_submitted": True}
    assert len(harness.records_file()) == 3


def test_a_crash_between_the_job_and_its_state_returns_the_same_job(harness: Harness) -> None:
    posts = [make_post(n) for n in range(3)]
    harness.expect_create()
    harness.batch.submit(RUN_ID, posts)
    records_before = harness.records_file()
    harness.store.delete(batch_job_key(JOB_NAME))  # as if the function died before writing the state

    harness.expect_create()  # the same name, token and parameters: Bedrock returns the same job
    state = harness.batch.submit(RUN_ID, [*posts[1:], make_post(9)])

    assert harness.records_file() == records_before  # never rewritten under a job that may be reading it
    assert state["job_arn"] == JOB_ARN
    assert sorted(r["post_id"] for r in state["records"].values()) == ["p1", "p2"]  # p0 left out, p9 not submitted


def test_a_name_conflict_past_the_request_token_finds_the_job_by_name(harness: Harness) -> None:
    harness.bedrock.add_client_error(
        "create_model_invocation_job", service_error_code="ConflictException", http_status_code=409
    )
    harness.bedrock.add_response(
        "list_model_invocation_jobs",
        {
            "invocationJobSummaries": [
                {
                    "jobArn": JOB_ARN,
                    "jobName": JOB_NAME,
                    "modelId": HAIKU,
                    "roleArn": ROLE_ARN,
                    "submitTime": datetime.fromtimestamp(NOW, UTC),
                    "inputDataConfig": {"s3InputDataConfig": {"s3Uri": BUCKET_URI + batch_input_key(JOB_NAME)}},
                    "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": BUCKET_URI + batch_output_prefix(JOB_NAME)}},
                }
            ]
        },
        {"nameContains": JOB_NAME},
    )

    assert harness.batch.submit(RUN_ID, [make_post(1)])["job_arn"] == JOB_ARN


def test_submit_refuses_what_a_job_cannot_hold(tmp_path: Path, aws_env: None) -> None:
    for harness in build(tmp_path, make_policy(max_records_per_job=2)):
        with pytest.raises(ValueError, match="max_records_per_job"):
            harness.batch.submit(RUN_ID, [make_post(n) for n in range(3)])
        with pytest.raises(ValueError, match="at least one post"):
            harness.batch.submit(RUN_ID, [])
        assert harness.store.list("batch_inference/") == []


def test_submit_needs_batch_enabled_with_a_role(tmp_path: Path, aws_env: None) -> None:
    for harness in build(tmp_path, make_policy(role_arn=None)):
        with pytest.raises(BatchUnavailable):
            harness.batch.submit(RUN_ID, [make_post(1)])


def test_job_names_are_valid_for_bedrock_and_s3() -> None:
    assert batch_job_name(JOB_PREFIX, RUN_ID) == JOB_NAME
    underscored = batch_job_name(JOB_PREFIX, "manual_2025+06.01")
    assert underscored.startswith(f"{JOB_PREFIX}-manual-2025-06.01-")  # changed: a hash keeps it apart
    assert underscored != batch_job_name(JOB_PREFIX, "manual-2025-06.01")
    long_a = batch_job_name(JOB_PREFIX, "scheduled-2025-06-01T00-00-00Z-" + "a" * 40)
    long_b = batch_job_name(JOB_PREFIX, "scheduled-2025-06-01T00-00-00Z-" + "a" * 39 + "b")
    assert len(long_a) == len(long_b) == 63
    assert long_a != long_b
    for name in (underscored, long_a, batch_job_name("-_prefix", "r")):
        assert JOB_NAME_PATTERN.match(name), name
        assert S3_URI_PATTERN.match(BUCKET_URI + batch_output_prefix(name)), name


# ---------------------------------------------------------------------------- in flight and collect


def test_in_flight_lists_the_records_until_the_job_is_collected(harness: Harness) -> None:
    posts = [make_post(n) for n in range(3)]
    assert harness.batch.in_flight() == set()
    harness.expect_create()
    harness.batch.submit(RUN_ID, posts)

    assert harness.batch.in_flight() == {(p.post_id, p.content_hash) for p in posts}

    harness.expect_status("InProgress")
    assert harness.batch.collect({(p.post_id, p.content_hash): p for p in posts}) == []
    assert harness.batch.in_flight() == {(p.post_id, p.content_hash) for p in posts}
    assert harness.state()["collected"] is False


def test_a_completed_job_returns_its_valid_answers_at_half_price(harness: Harness) -> None:
    posts = [make_post(n) for n in range(6)]
    harness.expect_create()
    harness.batch.submit(RUN_ID, posts)
    ids = [record_id(p.post_id, p.content_hash) for p in posts]
    invalid = {**valid_answer(posts[2]), "evidence": ["a quote nobody wrote"], "market_demand": 140}
    lines = [
        {"recordId": ids[0], "modelInput": {}, "modelOutput": anthropic_output(valid_answer(posts[0]))},
        {"recordId": ids[1], "modelInput": {}, "modelOutput": anthropic_output(valid_answer(posts[1]), 2_000, 400)},
        {"recordId": ids[2], "modelInput": {}, "modelOutput": anthropic_output(invalid)},
        {"recordId": ids[3], "modelInput": {}, "error": {"errorCode": 400, "errorMessage": "Malformed input"}},
        # ids[4] is missing from the output; posts[5] was edited since (not in current)
        {"recordId": ids[5], "modelInput": {}, "modelOutput": anthropic_output(valid_answer(posts[5]))},
    ]
    random.Random(7).shuffle(lines)
    harness.write_output(lines)
    current = {(p.post_id, p.content_hash): p for p in posts[:5]}
    edited = replace(posts[5], content_hash="f" * 64)
    current[(edited.post_id, edited.content_hash)] = edited

    harness.expect_status("Completed")
    results = {post.post_id: assessment for post, assessment in harness.batch.collect(current)}
    harness.batch.mark_collected()

    assert sorted(results) == ["p0", "p1", "p2"]
    for post_id in ("p0", "p1"):
        assert results[post_id].status == "scored"
        assert results[post_id].mode == "batch"
        assert results[post_id].model_calls == 1
    assert results["p0"].answer is not None
    assert results["p0"].answer.dimensions == dict.fromkeys(OPPORTUNITY_DIMENSIONS, 60)
    assert (results["p1"].input_tokens, results["p1"].output_tokens) == (2_000, 400)
    assert results["p1"].cost_usd == pytest.approx((2_000 * 1.0 + 400 * 5.0) / 1e6 / 2)
    assert results["p1"].cost_usd == pytest.approx(harness.policy.price.cost(2_000, 400) / 2)
    failed = results["p2"]
    assert failed.status == "failed"
    assert failed.failure is not None
    assert failed.failure.startswith("invalid batch answer: ")
    assert "market_demand" in failed.failure
    assert failed.cost_usd == pytest.approx(harness.policy.price.cost(1_000, 200, factor=0.5))

    state = harness.state()
    assert state["collected"] is True
    assert state["status"] == "Completed"
    assert state["counts"] == {"scored": 2, "failed": 1, "errored": 1, "missing": 1, "skipped": 1}
    assert harness.batch.in_flight() == set()
    assert harness.batch.collect(current) == []  # collected once: no further Bedrock call


def test_an_answer_without_the_tool_call_is_a_failure(harness: Harness) -> None:
    post = make_post(1)
    harness.expect_create()
    harness.batch.submit(RUN_ID, [post])
    text_only = {
        **anthropic_output(None),
        "content": [{"type": "text", "text": "I think so"}],
        "stop_reason": "max_tokens",
    }
    harness.write_output([{"recordId": record_id(post.post_id, post.content_hash), "modelOutput": text_only}])

    harness.expect_status("PartiallyCompleted")
    [(_, assessment)] = harness.batch.collect({(post.post_id, post.content_hash): post})
    harness.batch.mark_collected()

    assert assessment.failure is not None
    assert "did not call" in assessment.failure
    assert assessment.input_tokens == 1_000


def test_a_failed_job_releases_its_posts(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    posts = [make_post(n) for n in range(2)]
    harness.expect_create()
    harness.batch.submit(RUN_ID, posts)
    harness.expect_status("Failed")

    with caplog.at_level(logging.WARNING, logger="lambdas.score.batch"):
        assert harness.batch.collect({(p.post_id, p.content_hash): p for p in posts}) == []
        harness.batch.mark_collected()

    assert harness.batch.in_flight() == set()
    assert harness.state()["status"] == "Failed"
    assert any("Failed" in record.getMessage() for record in caplog.records)


def test_a_job_under_another_prompt_version_is_not_used(harness: Harness) -> None:
    post = make_post(1)
    harness.expect_create()
    harness.batch.submit(RUN_ID, [post])
    state = harness.state()
    harness.store.put(batch_job_key(JOB_NAME), json.dumps({**state, "prompt_version": "opportunity-v0"}).encode())
    harness.write_output(
        [{"recordId": record_id(post.post_id, post.content_hash), "modelOutput": anthropic_output(valid_answer(post))}]
    )

    harness.expect_status("Completed")
    assert harness.batch.collect({(post.post_id, post.content_hash): post}) == []
    harness.batch.mark_collected()
    assert harness.state()["counts"] == {"discarded": 1}
    assert harness.batch.in_flight() == set()


def test_nova_jobs_round_trip(nova: Harness) -> None:
    posts = [make_post(n) for n in range(2)]
    nova.expect_create()
    nova.batch.submit(RUN_ID, posts)
    body = nova.records_file()[0]["modelInput"]
    assert body["schemaVersion"] == "messages-v1"
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    nova.write_output(
        [
            {"recordId": record_id(p.post_id, p.content_hash), "modelOutput": nova_output(valid_answer(p))}
            for p in reversed(posts)
        ]
    )

    nova.expect_status("Completed")
    results = nova.batch.collect({(p.post_id, p.content_hash): p for p in posts})
    nova.batch.mark_collected()

    assert sorted((post.post_id, a.status, a.input_tokens, a.output_tokens) for post, a in results) == [
        ("p0", "scored", 900, 150),
        ("p1", "scored", 900, 150),
    ]


# ---------------------------------------------------------------------------- bodies and outputs


def test_anthropic_body_forces_the_tool() -> None:
    policy = make_policy()
    prompt = Prompt.load()
    post = make_post(1)
    body = invoke_model_body("global.anthropic.claude-haiku-4-5-20251001-v1:0", prompt, post, policy)

    assert body == {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": policy.max_output_tokens,
        "temperature": policy.temperature,
        "system": prompt.system,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt.user_message(post)}]}],
        "tools": [{"name": TOOL_NAME, "description": body["tools"][0]["description"], "input_schema": ANSWER_SCHEMA}],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
    }
    assert body["tools"][0]["description"]
    json.dumps(body)  # a JSONL line


def test_nova_body_forces_the_tool() -> None:
    policy = make_policy(NOVA_LITE)
    prompt = Prompt.load()
    post = make_post(1)
    body = invoke_model_body("eu.amazon.nova-micro-v1:0", prompt, post, policy)

    assert body["system"] == [{"text": prompt.system}]
    assert body["messages"] == [{"role": "user", "content": [{"text": prompt.user_message(post)}]}]
    assert body["inferenceConfig"] == {"maxTokens": policy.max_output_tokens, "temperature": policy.temperature}
    [tool] = body["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == TOOL_NAME
    assert tool["toolSpec"]["inputSchema"] == {"json": ANSWER_SCHEMA}
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic"),
        ("apac.anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic"),
        ("amazon.nova-lite-v1:0", "nova"),
        ("global.amazon.nova-2-lite-v1:0", "nova"),
        ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0", "nova"),
    ],
)
def test_model_families(model_id: str, family: str) -> None:
    assert model_family(model_id) == family


@pytest.mark.parametrize("model_id", ["meta.llama3-8b-instruct-v1:0", "us.amazon.titan-text-lite-v1", "mistral"])
def test_other_families_are_refused_by_name(model_id: str) -> None:
    with pytest.raises(ValueError, match=re.escape(model_id)):
        invoke_model_body(model_id, Prompt.load(), make_post(1), make_policy())


def test_parse_anthropic_and_nova_outputs() -> None:
    answer = valid_answer(make_post(1))
    assert parse_model_output(HAIKU, anthropic_output(answer, 10, 20)) == (answer, 10, 20, None)
    assert parse_model_output(NOVA_LITE, nova_output(answer, 30, 40)) == (answer, 30, 40, None)

    raw, tokens_in, tokens_out, error = parse_model_output(
        HAIKU, {"content": [{"type": "text", "text": "no"}], "stop_reason": "end_turn", "usage": {"input_tokens": 5}}
    )
    assert (raw, tokens_in, tokens_out) == (None, 5, 0)
    assert error is not None
    assert "end_turn" in error
    raw, tokens_in, tokens_out, error = parse_model_output(
        NOVA_LITE, {"output": {"message": {"content": [{"text": "x"}]}}}
    )
    assert (raw, tokens_in, tokens_out) == (None, 0, 0)
    assert error is not None


def test_answers_are_checked_against_the_comments_the_job_was_shown(harness: Harness) -> None:
    post = make_post(1)
    harness.expect_create()
    harness.batch.submit(RUN_ID, [post])
    answer = valid_answer(post) | {"evidence": ["I'd pay for something that sends reminders"]}  # a comment
    harness.write_output(
        [{"recordId": record_id(post.post_id, post.content_hash), "modelOutput": anthropic_output(answer)}]
    )
    harness.expect_status("Completed")

    # The run that collects reads posts without their comments (and top comments change over time).
    [(_, assessment)] = harness.batch.collect({(post.post_id, post.content_hash): replace(post, comments=())})

    assert assessment.status == "scored"


def test_a_job_is_collected_only_once_its_answers_are_stored(harness: Harness) -> None:
    post = make_post(1)
    harness.expect_create()
    harness.batch.submit(RUN_ID, [post])
    harness.write_output(
        [{"recordId": record_id(post.post_id, post.content_hash), "modelOutput": anthropic_output(valid_answer(post))}]
    )
    harness.expect_status("Completed")
    assert len(harness.batch.collect({(post.post_id, post.content_hash): post})) == 1

    # A crash before mark_collected: still in flight, and the next run reads the answers again.
    assert harness.batch.in_flight() == {(post.post_id, post.content_hash)}
    harness.expect_status("Completed")
    assert len(harness.batch.collect({(post.post_id, post.content_hash): post})) == 1
    harness.batch.mark_collected()
    assert harness.batch.in_flight() == set()


def test_a_state_left_without_its_job_gets_the_job_from_the_next_collect(harness: Harness) -> None:
    post = make_post(1)
    harness.bedrock.add_client_error("create_model_invocation_job", "InternalServerException", "boom", 500)
    with pytest.raises(ClientError):
        harness.batch.submit(RUN_ID, [post])
    assert harness.state()["job_arn"] is None
    assert harness.batch.in_flight() == {(post.post_id, post.content_hash)}  # never scored on demand meanwhile

    harness.expect_create()
    assert harness.batch.collect({(post.post_id, post.content_hash): post}) == []
    assert harness.state()["job_arn"] == JOB_ARN
    harness.bedrock.assert_no_pending_responses()
