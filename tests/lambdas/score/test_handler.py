"""The score handler as Lambda and the local run call it: a local lake, the heuristic, then Bedrock (Stubber)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.stub import Stubber

from lakehouse.lake.store import LocalObjectStore
from lakehouse.metrics import NAMESPACE, ScoreMetric
from lakehouse.pipeline import RunManifests, Stage
from lambdas.score import handler as module
from lambdas.score.bedrock import BedrockBackend
from lambdas.score.prompt import Prompt
from lambdas.score.settings import Backend, ScoreSettings
from lambdas.score.store import ScoreStore
from tests.lambdas.score.lake import comment, policy, post, write_processed


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "reddit-lakehouse-test-score"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reddit-lakehouse-test-score"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"


CONTEXT = cast(LambdaContext, FakeLambdaContext())
EVENT = {"run": {"run_id": "run-1", "run_started_at": "2026-12-02T06:00:00+00:00", "subreddits": ["SaaS"]}}


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    module.clear_clients()
    yield
    module.clear_clients()


def _use(lake: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend = Backend.HEURISTIC, **overrides: Any) -> None:
    settings = ScoreSettings(
        environment="test",
        processed_uri=str(lake / "processed"),
        analytics_uri=str(lake / "analytics"),
        runs_uri=str(lake / "runs"),
        backend=backend,
        policy=policy(**overrides),
    )
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)


def _metrics(captured: str) -> dict[str, Any]:
    blobs = [json.loads(line) for line in captured.splitlines() if line.startswith('{"_aws"')]
    assert len(blobs) == 1, captured
    assert blobs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE
    return {key: value[0] if isinstance(value, list) else value for key, value in blobs[0].items()}


def test_a_run_is_scored_recorded_and_a_rerun_calls_no_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_processed(tmp_path, [post("p1"), post("p2")], [comment("c1", "p1", "Same here, I would pay for this.")])
    _use(tmp_path, monkeypatch)

    output = module.handler(EVENT, CONTEXT)
    assert output["recorded"] is False
    assert output["scored"] == 2
    assert output["model_calls"] == 2
    manifest = RunManifests(LocalObjectStore(tmp_path / "runs")).read("run-1", Stage.SCORE)
    assert manifest is not None
    assert manifest["scored"] == 2
    assert manifest["backend"] == "heuristic"
    metrics = _metrics(capsys.readouterr().out)
    assert metrics[ScoreMetric.POSTS_SCORED] == 2
    assert metrics[ScoreMetric.BUDGET_EXHAUSTED] == 0

    again = module.handler(EVENT, CONTEXT)
    assert again["recorded"] is True
    assert again["scored"] == 2
    assert '{"_aws"' not in capsys.readouterr().out  # a recorded run publishes nothing twice


def test_bedrock_scores_through_the_handler_and_most_answers_failing_is_loud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_processed(tmp_path, [post(f"p{i}") for i in range(1, 6)])
    _use(tmp_path, monkeypatch, Backend.BEDROCK)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    not_a_tool_call = {
        "output": {"message": {"role": "assistant", "content": [{"text": "It is a great opportunity!"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1500, "outputTokens": 20, "totalTokens": 1520},
        "metrics": {"latencyMs": 100},
    }
    for _ in range(10):  # every post: the answer, then its repair, both without the tool
        stubber.add_response("converse", not_a_tool_call)
    stubber.activate()
    settings = ScoreSettings.from_env()
    monkeypatch.setattr(module, "_connect", lambda _: _clients(tmp_path, settings, client))

    with pytest.raises(module.ScoringDegraded, match="5 of 5 assessments failed validation"):
        module.handler(EVENT, CONTEXT)
    # Recorded where an operator looks (the failed rows keep their reason); no manifest, so the run is not done.
    assert RunManifests(LocalObjectStore(tmp_path / "runs")).read("run-1", Stage.SCORE) is None
    rows = ScoreStore(LocalObjectStore(tmp_path / "processed"), LocalObjectStore(tmp_path / "analytics"))
    failed = rows.current_scores("opportunity-v1")
    assert {row["status"] for row in failed} == {"failed"}
    assert all("did not call" in row["failure_reason"] for row in failed)
    assert _metrics(capsys.readouterr().out)[ScoreMetric.POSTS_FAILED] == 5


def _clients(lake: Path, settings: ScoreSettings, client: Any) -> Any:
    store = ScoreStore(LocalObjectStore(lake / "processed"), LocalObjectStore(lake / "analytics"))
    backend = BedrockBackend(client, settings.policy, Prompt.load(), sleep=lambda _: None)
    return module._Clients(runs=RunManifests(LocalObjectStore(lake / "runs")), store=store, backend=backend, batch=None)
