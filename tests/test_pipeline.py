"""The run manifests stages hand each other: where they live, what a rerun does to them, which run ids are safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.lake.store import LocalObjectStore
from lakehouse.pipeline import RunManifests, Stage, check_run_id, record_process_pass


def _pass(posts: dict[str, int], *, processed: int) -> dict[str, object]:
    return {"posts": {"processed": processed, "balanced": True}, "raw_rows_by_run": {"posts": {"r1": posts}}}


def test_manifests_are_written_per_stage_and_part_and_read_back(tmp_path: Path) -> None:
    runs = RunManifests(LocalObjectStore(tmp_path))
    uri = runs.write("r1", Stage.INGEST, {"status": "ok"}, part="SaaS")

    assert uri == (tmp_path / "r1" / "ingest" / "SaaS.json").as_uri()
    assert runs.read("r1", Stage.INGEST, "SaaS") == {"run_id": "r1", "stage": "ingest", "part": "SaaS", "status": "ok"}
    assert runs.read("r1", Stage.INGEST, "python") is None
    assert runs.read("r2", Stage.PROCESS) is None
    assert set(runs.parts("r1", Stage.INGEST)) == {"SaaS"}


def test_a_second_pass_of_the_job_is_kept_and_rereading_the_same_objects_counts_them_once(tmp_path: Path) -> None:
    runs = RunManifests(LocalObjectStore(tmp_path))
    record_process_pass(runs, "r1", _pass({"python": 10, "saas": 4}, processed=14), job_run_id="j1")
    # A crash before the bookmark moved: the next pass reads the same python objects again,
    # and a re-ingested subreddit (saas) is read in full.
    record_process_pass(runs, "r1", _pass({"python": 10, "saas": 6}, processed=16), job_run_id="j2")

    manifest = runs.read("r1", Stage.PROCESS)
    assert manifest is not None
    assert [p["job_run_id"] for p in manifest["passes"]] == ["j1", "j2"]
    assert manifest["raw_rows_by_run"] == {"posts": {"r1": {"python": 10, "saas": 6}}}
    assert "raw_rows_by_run" not in manifest["passes"][0]


def test_rows_of_an_earlier_run_read_by_this_runs_job_are_recorded_for_that_run(tmp_path: Path) -> None:
    """r1's own job failed; r2's job read r1's raw objects with its own: r1's rerun must still verify."""
    runs = RunManifests(LocalObjectStore(tmp_path))
    summary = {"posts": {"processed": 9}, "raw_rows_by_run": {"posts": {"r1": {"python": 5}, "r2": {"python": 4}}}}

    record_process_pass(runs, "r2", summary, job_run_id="j7")

    r1, r2 = runs.read("r1", Stage.PROCESS), runs.read("r2", Stage.PROCESS)
    assert r1 is not None
    assert r2 is not None
    assert r1["raw_rows_by_run"] == {"posts": {"r1": {"python": 5}}}
    assert r1["read_by"] == [{"run_id": "r2", "job_run_id": "j7"}]
    assert r1["passes"] == []  # its own job has not passed: its rerun adds the pass
    assert r2["raw_rows_by_run"] == {"posts": {"r2": {"python": 4}}}
    assert [p["job_run_id"] for p in r2["passes"]] == ["j7"]


@pytest.mark.parametrize("run_id", ["2026-11-01T00:00:00Z", "a/b", "", "-leading", "x" * 81])
def test_run_ids_that_cannot_name_objects_and_partitions_are_refused(run_id: str) -> None:
    with pytest.raises(ValueError, match="must be 1-80 letters"):
        check_run_id(run_id)


def test_execution_names_and_local_run_ids_are_accepted() -> None:
    for run_id in ("local-20261202T010901Z", "3f2b1c9e-8d7a-4e52-9b1f-0c6d5e4a3b21", "drill.1_a"):
        assert check_run_id(run_id) == run_id


def test_states_are_named_from_the_stages() -> None:
    assert [stage.state_name for stage in Stage][:2] == ["Ingest", "Process"]
    assert Stage.of_state("Verify") is Stage.VERIFY
    assert Stage.of_state("Notify failure") is None
