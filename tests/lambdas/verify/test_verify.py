"""The run's checks and metrics as pure logic: manifests in, verdict and numbers out."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lakehouse.lake.store import LocalObjectStore
from lakehouse.metrics import RunMetric
from lakehouse.pipeline import RunManifests
from lambdas.verify.verify import (
    GLUE_USD_PER_DPU_HOUR,
    LAMBDA_ARM64_USD_PER_GB_SECOND,
    CheckName,
    ProcessRun,
    RunEvidence,
    RunNotReconciled,
    VerifyPolicy,
    VerifyRequest,
    VerifyResult,
    read_manifests,
    verify_run,
)
from tests.lambdas.verify import (
    EVENT,
    NOW,
    RUN_ID,
    balanced_run,
    ingest_manifest,
    job_pass,
    process_manifest,
    write_run,
    zone,
)

POLICY = VerifyPolicy(tolerated_failure_percentage=25.0, ingest_memory_mb=1024)


def _verify(
    ingest: dict[str, dict[str, Any]],
    process: dict[str, Any] | None,
    *,
    event: dict[str, Any] | None = None,
    policy: VerifyPolicy = POLICY,
) -> VerifyResult:
    request = VerifyRequest.from_event(event if event is not None else EVENT)
    return verify_run(request, RunEvidence(ingest=ingest, process=process), policy=policy, now=NOW)


def _event(*, subreddits: list[str], failed: tuple[str, ...] = (), process: Any = EVENT["process"]) -> dict[str, Any]:
    entries = [
        {"subreddit": name, "status": "failed", "error": {"Error": "IngestFailed", "Cause": f"r/{name}: 503"}}
        if name in failed
        else {"subreddit": name, "status": "ok", "manifest": f"s3://raw/runs/{RUN_ID}/ingest/{name}.json"}
        for name in subreddits
    ]
    return {"run": EVENT["run"] | {"subreddits": subreddits}, "ingest": entries, "process": process}


def _failed_message(result: VerifyResult) -> str:
    with pytest.raises(RunNotReconciled) as caught:
        raise result.error()
    return str(caught.value)


def _checks(result: VerifyResult) -> dict[str, bool]:
    return {check.name.value: check.ok for check in result.checks}


ALL_OK = {name.value: True for name in CheckName}


# --------------------------------------------------------------------------- the verdict


def test_a_balanced_run_passes_every_check() -> None:
    ingest, process = balanced_run()

    result = _verify(ingest, process)

    assert result.ok
    assert _checks(result) == ALL_OK
    assert result.metrics[RunMetric.RECONCILIATION_FAILURES] == 0
    coverage = result.to_manifest()["checks"][CheckName.INGEST_COVERAGE]
    assert coverage["expected"] == 4
    assert coverage["recorded"] == 3
    assert coverage["failed"] == ["Entrepreneur"]
    assert coverage["errors"]["Entrepreneur"]["Error"] == "IngestFailed"
    raw_to_process = result.to_manifest()["checks"][CheckName.RAW_TO_PROCESS]
    assert raw_to_process["by_subreddit"]["saas"] == {
        "posts_written": 5,
        "posts_read": 5,
        "comments_written": 0,
        "comments_read": 0,
    }


def test_the_output_is_small_and_the_manifest_has_the_details() -> None:
    ingest, process = balanced_run()

    result = _verify(ingest, process)
    output = result.to_output("s3://raw/runs/r/verify.json")
    manifest = result.to_manifest()

    assert output == {
        "manifest": "s3://raw/runs/r/verify.json",
        "ok": True,
        "checks": ALL_OK,
        "metrics": {metric.value: value for metric, value in result.metrics.items()},
    }
    assert manifest["ok"] is True
    assert manifest["run_started_at"] == "2026-11-01T00:00:00+00:00"
    assert manifest["verified_at"] == "2026-11-01T02:26:40+00:00"
    assert manifest["process_run"]["job_run_id"] == "jr_0123456789abcdef"
    assert set(manifest["checks"]) == set(ALL_OK)
    assert all("summary" in check for check in manifest["checks"].values())


def test_a_subreddit_without_a_manifest_that_was_not_reported_failed_fails_coverage() -> None:
    ingest, process = balanced_run()
    del ingest["SaaS"]
    process["raw_rows_by_run"]["posts"][RUN_ID].pop("saas")

    result = _verify(ingest, process)

    assert _checks(result) == ALL_OK | {CheckName.INGEST_COVERAGE.value: False}
    assert result.metrics[RunMetric.RECONCILIATION_FAILURES] == 1
    message = _failed_message(result)
    assert f"run {RUN_ID} does not reconcile (1 failed: ingest_coverage)" in message
    assert "1 of 4 subreddits have no manifest and were not reported failed: r/SaaS" in message


def test_an_unbalanced_ingest_manifest_fails_with_its_numbers() -> None:
    ingest, process = balanced_run()
    ingest["python"] = ingest_manifest("python", posts=10, comments=20, quarantined=1, balanced=False)

    result = _verify(ingest, process)

    assert _checks(result) == ALL_OK | {CheckName.INGEST_RECONCILIATION.value: False}
    assert "r/python received 33 != raw rows 30 + quarantined 1 + duplicates 0" in _failed_message(result)
    unbalanced = result.to_manifest()["checks"][CheckName.INGEST_RECONCILIATION]["unbalanced"]
    assert unbalanced == {"python": {"received": 33, "raw_rows": 30, "quarantined": 1, "duplicates": 0}}


def test_an_unbalanced_pass_fails_even_when_a_later_pass_balanced() -> None:
    ingest, process = balanced_run()
    process["passes"] = [job_pass("jr_first", comments=zone(40, filtered=10, balanced=False)), job_pass("jr_rerun")]

    result = _verify(ingest, process)

    assert _checks(result) == ALL_OK | {CheckName.PROCESS_RECONCILIATION.value: False}
    message = _failed_message(result)
    assert "pass 1 (jr_first) comments unbalanced: raw 40, quarantined 0, superseded 0, filtered 10, processed 29" in (
        message
    )
    assert "jr_rerun" not in message


def test_a_missing_process_manifest_fails_and_nothing_was_read() -> None:
    ingest, _ = balanced_run()

    result = _verify(ingest, None)

    assert _checks(result) == ALL_OK | {
        CheckName.PROCESS_RECONCILIATION.value: False,
        CheckName.RAW_TO_PROCESS.value: False,
    }
    message = _failed_message(result)
    assert f"no process manifest for run {RUN_ID}" in message
    assert "r/python posts written 10 vs read 0, comments written 20 vs read 0" in message
    assert result.metrics[RunMetric.RECONCILIATION_FAILURES] == 2


def test_a_process_manifest_without_passes_fails() -> None:
    ingest, process = balanced_run()
    process["passes"] = []

    result = _verify(ingest, process)

    assert not result.ok
    assert "records no pass" in _failed_message(result)


def test_raw_rows_the_job_did_not_read_fail_raw_to_process_per_subreddit() -> None:
    ingest, process = balanced_run()
    process["raw_rows_by_run"]["posts"][RUN_ID]["python"] = 9

    result = _verify(ingest, process)

    assert _checks(result) == ALL_OK | {CheckName.RAW_TO_PROCESS.value: False}
    assert "r/python posts written 10 vs read 9, comments written 20 vs read 20" in _failed_message(result)
    assert result.to_manifest()["checks"][CheckName.RAW_TO_PROCESS]["mismatched"] == ["python"]


def test_raw_to_process_compares_this_runs_snapshots_only_and_matches_names_case_insensitively() -> None:
    ingest, process = balanced_run()
    # Rows of an earlier run's snapshots the job also read: not this run's business.
    process["raw_rows_by_run"]["posts"]["an-earlier-run"] = {"python": 500}
    # Rows of a subreddit that failed after writing (no manifest): reported, not failed.
    process["raw_rows_by_run"]["posts"][RUN_ID]["entrepreneur"] = 3

    result = _verify(ingest, process)

    assert result.ok
    numbers = result.to_manifest()["checks"][CheckName.RAW_TO_PROCESS]
    assert numbers["read_without_manifest"] == {"entrepreneur": {"posts": 3, "comments": 0}}
    assert numbers["by_subreddit"]["saas"]["posts_read"] == 5  # "SaaS" ingested, "saas" read


@pytest.mark.parametrize(
    ("failed", "tolerated", "ok"),
    [
        ((), 0.0, True),
        (("b",), 0.0, False),
        (("b",), 25.0, True),  # 1 of 4 = 25%: at the tolerance is within it (as the Map's)
        (("b", "c"), 25.0, False),
        (("b", "c"), 50.0, True),
        (("a", "b", "c", "d"), 100.0, True),
    ],
)
def test_failed_subreddits_are_tolerated_up_to_the_percentage(
    failed: tuple[str, ...], tolerated: float, ok: bool
) -> None:
    subreddits = ["a", "b", "c", "d"]
    ingest = {name: ingest_manifest(name) for name in subreddits if name not in failed}

    result = _verify(
        ingest,
        process_manifest(ingest),
        event=_event(subreddits=subreddits, failed=failed),
        policy=VerifyPolicy(tolerated_failure_percentage=tolerated, ingest_memory_mb=1024),
    )

    assert _checks(result) == ALL_OK | {CheckName.INGEST_COVERAGE.value: ok}
    assert result.metrics[RunMetric.SUBREDDITS_FAILED] == len(failed)
    if not ok:
        share = 100 * len(failed) / 4
        assert (
            f"{len(failed)} of 4 subreddits failed ({share:.1f}% > tolerated {tolerated:g}%): "
            + ", ".join(f"r/{name}" for name in failed)
        ) in _failed_message(result)


def test_a_subreddit_reported_failed_whose_manifest_exists_counts_as_recorded() -> None:
    ingest, process = balanced_run()
    ingest["Entrepreneur"] = ingest_manifest("Entrepreneur", posts=0, comments=0, quarantined=0)

    result = _verify(ingest, process, policy=VerifyPolicy(tolerated_failure_percentage=0, ingest_memory_mb=1024))

    assert result.ok
    assert result.metrics[RunMetric.SUBREDDITS_FAILED] == 0


def test_every_failed_check_is_named_in_one_error() -> None:
    ingest, process = balanced_run()
    ingest["python"]["reconciliation"]["balanced"] = False
    process["passes"][0]["posts"]["balanced"] = False
    process["raw_rows_by_run"]["comments"][RUN_ID]["python"] = 19

    result = _verify(ingest, process, policy=VerifyPolicy(tolerated_failure_percentage=0.0, ingest_memory_mb=1024))

    assert result.metrics[RunMetric.RECONCILIATION_FAILURES] == 4
    error = result.error()
    assert [check.name for check in error.failed] == list(CheckName)
    assert "(4 failed: ingest_coverage, ingest_reconciliation, process_reconciliation, raw_to_process)" in str(error)


# --------------------------------------------------------------------------- the metrics


def test_metrics_of_a_run_from_its_manifests_and_the_jobs_run() -> None:
    ingest, process = balanced_run()

    metrics = _verify(ingest, process).metrics

    glue_dpu_hours = 900 / 3600 * 10 * 2  # 15 minutes on 10 G.2X workers: 5 DPU-hours
    ingest_gb_seconds = (12.0 + 8.0 + 0.5) * 1024 / 1024
    assert metrics == {
        RunMetric.FRESHNESS: 600.0,  # the newest post of any subreddit (SaaS's), 10 minutes before verify
        RunMetric.POSTS_INGESTED: 15,
        RunMetric.COMMENTS_INGESTED: 20,
        RunMetric.POSTS_PROCESSED: 15,
        RunMetric.COMMENTS_PROCESSED: 30,
        RunMetric.QUARANTINED: 1 + 1,  # python's at ingestion, one post in the pass
        RunMetric.SUBREDDITS_FAILED: 1,
        RunMetric.REDDIT_REQUESTS: 2 + 2 + 1,
        RunMetric.GLUE_DPU_HOURS: 5.0,
        RunMetric.ESTIMATED_COST_USD: pytest.approx(
            glue_dpu_hours * GLUE_USD_PER_DPU_HOUR + ingest_gb_seconds * LAMBDA_ARM64_USD_PER_GB_SECOND
        ),
        RunMetric.RECONCILIATION_FAILURES: 0,
    }
    assert metrics[RunMetric.ESTIMATED_COST_USD] == pytest.approx(2.2 + 20.5 * 0.0000133334)


def test_a_rerun_counts_only_what_its_own_execution_did() -> None:
    """Earlier executions of the run published their own metrics: the dashboards must not count them twice."""
    ingest, process = balanced_run()
    first = _verify(ingest, process).metrics
    process["passes"].append(job_pass("jr_rerun", posts=zone(3, quarantined=2), comments=zone(5, quarantined=1)))
    event = _event(subreddits=list(EVENT["run"]["subreddits"]), failed=("Entrepreneur",), process=EVENT["process"])
    for entry in event["ingest"]:
        entry["recorded"] = entry["status"] != "failed"  # found the manifests of the first execution
    event["process"] = {**EVENT["process"], "job_run_id": "jr_rerun"}

    rerun = _verify(ingest, process, event=event).metrics

    assert first[RunMetric.POSTS_INGESTED] > 0
    assert rerun[RunMetric.POSTS_INGESTED] == rerun[RunMetric.COMMENTS_INGESTED] == 0
    assert rerun[RunMetric.REDDIT_REQUESTS] == 0
    assert rerun[RunMetric.POSTS_PROCESSED] == 1  # this execution's pass only
    assert rerun[RunMetric.COMMENTS_PROCESSED] == 4
    assert rerun[RunMetric.QUARANTINED] == 2 + 1
    assert rerun[RunMetric.FRESHNESS] == first[RunMetric.FRESHNESS]  # how stale the lake is, whoever wrote it


@pytest.mark.parametrize(
    ("worker_type", "workers", "seconds", "dpu_hours"),
    [("G.1X", 2, 3600, 2.0), ("G.025X", 2, 1800, 0.25), ("G.4X", 3, 600, 2.0), ("G.8X", 1, 450, 1.0)],
)
def test_dpu_hours_by_worker_type(worker_type: str, workers: int, seconds: int, dpu_hours: float) -> None:
    run = ProcessRun.from_event({"execution_seconds": seconds, "workers": workers, "worker_type": worker_type})
    assert run.dpu_hours == pytest.approx(dpu_hours)


@pytest.mark.parametrize(
    "process",
    [
        None,
        {},
        {"job_run_id": "jr_local"},
        {"job_run_id": "jr_1", "execution_seconds": 60, "workers": 2},
        {"job_run_id": "jr_1", "execution_seconds": 60, "workers": 2, "worker_type": "Z.2X"},
    ],
)
def test_an_unknown_job_size_leaves_dpu_hours_out_and_prices_ingestion_only(process: Any) -> None:
    ingest, manifest = balanced_run()
    event = copy.deepcopy(EVENT)
    if process is None:
        del event["process"]
    else:
        event["process"] = process

    result = _verify(ingest, manifest, event=event)

    assert result.ok
    assert RunMetric.GLUE_DPU_HOURS not in result.metrics
    assert result.metrics[RunMetric.ESTIMATED_COST_USD] == pytest.approx(20.5 * LAMBDA_ARM64_USD_PER_GB_SECOND)
    assert result.cost["glue_dpu_hours"] is None


def test_ingest_gb_seconds_follow_the_ingest_functions_memory() -> None:
    ingest, process = balanced_run()
    event = copy.deepcopy(EVENT)
    del event["process"]

    result = _verify(ingest, process, event=event, policy=VerifyPolicy(25.0, ingest_memory_mb=512))

    assert result.cost["ingest_gb_seconds"] == pytest.approx(20.5 / 2)


def test_freshness_is_left_out_when_no_subreddit_listed_a_post() -> None:
    ingest = {"startups": ingest_manifest("startups", posts=0, comments=0, newest_post_created_utc=None)}

    result = _verify(ingest, process_manifest(ingest), event=_event(subreddits=["startups"]))

    assert RunMetric.FRESHNESS not in result.metrics
    assert result.ok


# --------------------------------------------------------------------------- the event and the manifests


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ({}, "run.run_id"),
        ({"run": {"run_id": "r"}}, "run.subreddits"),
        ({"run": {"run_id": "r", "subreddits": ["a"]}, "ingest": [{"status": "ok"}]}, "needs a subreddit"),
        ({"run": {"run_id": "r", "subreddits": ["a"]}, "ingest": [{"subreddit": "a", "status": "?"}]}, "status"),
        ({"run": {"run_id": "r", "subreddits": ["a"]}, "process": {"workers": "ten"}}, "process.workers"),
    ],
)
def test_a_malformed_event_is_rejected(event: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VerifyRequest.from_event(event)


def test_the_event_decides_which_subreddits_failed_in_this_execution() -> None:
    request = VerifyRequest.from_event(EVENT)

    assert request.subreddits == ("python", "SaaS", "startups", "Entrepreneur")
    assert set(request.failed) == {"Entrepreneur"}
    assert request.process == ProcessRun("jr_0123456789abcdef", 900.0, 10, "G.2X")


def test_read_manifests_finds_what_the_stages_recorded(tmp_path: Any) -> None:
    ingest, process = balanced_run()
    runs = RunManifests(LocalObjectStore(tmp_path))
    write_run(runs, ingest, process)

    evidence = read_manifests(runs, RUN_ID)

    assert set(evidence.ingest) == {"python", "SaaS", "startups"}
    assert evidence.process is not None
    assert evidence.process["passes"] == process["passes"]
    assert read_manifests(runs, "another-run") == RunEvidence(ingest={}, process=None)
