"""The verify handler as Lambda and the local run call it: on a local runs directory, and on moto S3."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from lakehouse.lake.store import LocalObjectStore, open_store
from lakehouse.metrics import ENVIRONMENT_DIMENSION, NAMESPACE, VERIFY_SERVICE, RunMetric
from lakehouse.pipeline import RunManifests, Stage
from lambdas.verify import handler as module
from lambdas.verify.settings import VerifySettings
from lambdas.verify.verify import CheckName, RunNotReconciled
from tests.conftest import PROJECT_ROOT
from tests.lambdas.verify import EVENT, RUN_ID, balanced_run, write_run


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "reddit-lakehouse-test-verify"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reddit-lakehouse-test-verify"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"


# What Powertools reads of the runtime's context; the cast says so to mypy.
CONTEXT = cast(LambdaContext, FakeLambdaContext())


def _settings(runs_uri: str) -> VerifySettings:
    return VerifySettings(
        environment="test", runs_uri=runs_uri, tolerated_failure_percentage=25.0, ingest_memory_mb=1024
    )


def _use(settings: VerifySettings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    module.clear_clients()
    yield
    module.clear_clients()


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunManifests:
    """A local runs directory, as the local run gives the handler."""
    _use(_settings(str(tmp_path / "runs")), monkeypatch)
    return RunManifests(LocalObjectStore(tmp_path / "runs"))


def _emf(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def _value(blob: dict[str, Any], metric: RunMetric) -> float:
    value = blob[metric.value]
    return float(value[0] if isinstance(value, list) else value)


def test_a_balanced_run_returns_a_small_output_and_records_verify_json(
    runs: RunManifests, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest, process = balanced_run()
    write_run(runs, ingest, process)

    output = module.handler(EVENT, CONTEXT)

    assert output["ok"] is True
    assert output["checks"] == {name.value: True for name in CheckName}
    assert output["manifest"] == runs.uri(RUN_ID, Stage.VERIFY)
    assert output["metrics"][RunMetric.POSTS_INGESTED] == 15
    recorded = runs.read(RUN_ID, Stage.VERIFY)
    assert recorded is not None
    assert recorded["ok"] is True
    assert recorded["run_id"] == RUN_ID
    assert recorded["stage"] == Stage.VERIFY.value
    assert recorded["metrics"] == output["metrics"]
    (blob,) = _emf(capsys.readouterr().out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [[ENVIRONMENT_DIMENSION, "service"]]
    assert (blob["service"], blob[ENVIRONMENT_DIMENSION]) == (VERIFY_SERVICE, "test")
    assert {metric["Name"] for metric in directive["Metrics"]} == {metric.value for metric in RunMetric}
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert units[RunMetric.FRESHNESS] == "Seconds"
    assert units[RunMetric.POSTS_INGESTED] == "Count"
    assert _value(blob, RunMetric.RECONCILIATION_FAILURES) == 0
    assert _value(blob, RunMetric.GLUE_DPU_HOURS) == 5.0


def test_a_failing_run_records_and_publishes_before_it_raises(
    runs: RunManifests, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest, process = balanced_run()
    process["raw_rows_by_run"]["posts"][RUN_ID]["python"] = 9
    write_run(runs, ingest, process)

    with pytest.raises(RunNotReconciled, match=r"raw_to_process: r/python posts written 10 vs read 9") as caught:
        module.handler(EVENT, CONTEXT)

    assert [check.name for check in caught.value.failed] == [CheckName.RAW_TO_PROCESS]
    recorded = runs.read(RUN_ID, Stage.VERIFY)
    assert recorded is not None
    assert recorded["ok"] is False
    assert recorded["checks"][CheckName.RAW_TO_PROCESS]["mismatched"] == ["python"]
    assert recorded["metrics"][RunMetric.RECONCILIATION_FAILURES] == 1
    (blob,) = _emf(capsys.readouterr().out)
    assert _value(blob, RunMetric.RECONCILIATION_FAILURES) == 1


def test_a_rerun_verifies_again_and_overwrites_the_verdict(runs: RunManifests) -> None:
    ingest, process = balanced_run()
    broken = json.loads(json.dumps(process))
    broken["passes"][0]["posts"]["balanced"] = False
    write_run(runs, ingest, broken)
    with pytest.raises(RunNotReconciled, match="process_reconciliation"):
        module.handler(EVENT, CONTEXT)

    runs.write(RUN_ID, Stage.PROCESS, process)
    output = module.handler(EVENT, CONTEXT)

    assert output["ok"] is True
    recorded = runs.read(RUN_ID, Stage.VERIFY)
    assert recorded is not None
    assert recorded["ok"] is True


def test_a_missing_setting_is_named(runs: RunManifests, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOLERATED_FAILURE_PERCENTAGE")

    with pytest.raises(ValueError, match="TOLERATED_FAILURE_PERCENTAGE"):
        module.handler(EVENT, CONTEXT)


def test_settings_round_trip_through_the_environment() -> None:
    settings = VerifySettings("prod", "s3://raw/runs/", 100 / 3, 512, log_level="DEBUG")

    assert VerifySettings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("TOLERATED_FAILURE_PERCENTAGE", "101", "within 0..100"),
        ("TOLERATED_FAILURE_PERCENTAGE", "a lot", "must be a number"),
        ("INGEST_MEMORY_MB", "512.5", "whole number"),
        ("INGEST_MEMORY_MB", "64", "within 128..10240"),
        ("POWERTOOLS_SERVICE_NAME", "ingest", "must be 'verify'"),
        ("RUNS_URI", "", "RUNS_URI"),
    ],
)
def test_settings_reject_what_would_misreport_a_run(name: str, value: str, match: str) -> None:
    env = _settings("s3://raw/runs/").to_env() | {name: value}

    with pytest.raises(ValueError, match=match):
        VerifySettings.from_env(env)


def test_on_moto_s3_the_handler_reads_and_writes_the_raw_buckets_runs_prefix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _use(_settings("s3://raw-bucket/runs/"), monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="raw-bucket")
        runs = RunManifests(open_store("s3://raw-bucket/runs/", s3_client=s3))
        ingest, process = balanced_run()
        write_run(runs, ingest, process)

        output = module.handler(EVENT, CONTEXT)

        assert output["ok"] is True
        assert output["manifest"] == f"s3://raw-bucket/runs/{RUN_ID}/verify.json"
        body = s3.get_object(Bucket="raw-bucket", Key=f"runs/{RUN_ID}/verify.json")["Body"].read()
        assert json.loads(body)["checks"][CheckName.INGEST_COVERAGE]["recorded"] == 3
    assert len(_emf(capsys.readouterr().out)) == 1


_WITHOUT_BOTO3 = """
import importlib.abc, json, os, sys

class Unimportable(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"boto3", "botocore"}:
            raise ImportError(f"{name} is unimportable in this test")
        return None

sys.meta_path.insert(0, Unimportable())
from lambdas.verify.handler import handler

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "verify", 256, "local"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:verify"

try:
    handler(json.loads(sys.argv[1]), Context())
except Exception as error:
    print(json.dumps({"error": type(error).__name__}))
"""


def test_the_local_run_needs_no_boto3(runs: RunManifests, tmp_path: Path) -> None:
    """The local run calls the handler in-process on a local directory; a missing process manifest fails it."""
    ingest, _ = balanced_run()
    write_run(runs, ingest, None)

    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_BOTO3, json.dumps(EVENT)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"error": "RunNotReconciled"}
    recorded = runs.read(RUN_ID, Stage.VERIFY)
    assert recorded is not None
    assert recorded["checks"][CheckName.PROCESS_RECONCILIATION]["found"] is False
