"""The Publish step: views, the run's own export prefix, the load it hands on; Athena reached through a Stubber."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lakehouse.lake.store import LocalObjectStore
from lakehouse.pipeline import RunManifests, Stage
from lakehouse.serving import View, athena_views, export_queries, warehouse_tables
from lambdas.publish.athena import AthenaEngine, QueryFailed
from lambdas.publish.publish import PublishRequest, publish_run
from lambdas.publish.settings import PublishSettings

EXPORTS_URI = "s3://analytics/exports/"


class RecordingEngine:
    """Records what Publish asks of Athena, in order; an UNLOAD writes one part into ``root`` (the exports
    store), except for the ``empty`` tables, whose SELECT finds no row (and UNLOAD may write no file)."""

    def __init__(self, root: Path, empty: frozenset[str] = frozenset()) -> None:
        self.root, self.empty = root, empty
        self.calls: list[tuple[str, str]] = []

    def create_view(self, view: View) -> None:
        self.calls.append(("view", view.name))

    def unload(self, table: str, select: str, destination: str) -> int:
        self.calls.append(("unload", destination))
        if table in self.empty:
            return 0
        part = self.root / destination.removeprefix(EXPORTS_URI) / "part-00000.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"PAR1")
        return 3


def _publish(tmp_path: Path, engine: Any, run_id: str = "run-1") -> dict[str, Any]:
    exports = tmp_path / "exports"
    exports.mkdir(exist_ok=True)
    return publish_run(
        PublishRequest(run_id),
        engine=engine,
        runs=RunManifests(LocalObjectStore(tmp_path / "runs")),
        exports=LocalObjectStore(exports),
        exports_uri=EXPORTS_URI,
        copy_role_arn="arn:aws:iam::123456789012:role/copy",
    )


def test_publish_replaces_every_view_then_unloads_each_table_to_the_runs_own_prefix(tmp_path: Path) -> None:
    engine = RecordingEngine(tmp_path / "exports")
    result = _publish(tmp_path, engine)
    views = [view.name for view in athena_views()]
    prefix = "s3://analytics/exports/run_id=run-1/"
    assert engine.calls == [
        *(("view", name) for name in views),
        *(("unload", f"{prefix}{table}/") for table in warehouse_tables()),
    ]
    assert result["export_uri"] == prefix
    assert result["exported_rows"] == dict.fromkeys(warehouse_tables(), 3)
    # What Load sends: the DDL first, the COPYs from this run's prefix with the COPY role.
    sqls = result["load_sqls"]
    assert sqls[0].splitlines()[-1] == "CREATE SCHEMA IF NOT EXISTS lakehouse"
    copies = [sql for sql in sqls if sql.startswith("COPY")]
    assert len(copies) == len(warehouse_tables())
    assert all(f"FROM '{prefix}" in sql and "IAM_ROLE 'arn:aws:iam::123456789012:role/copy'" in sql for sql in copies)


def test_a_table_whose_export_is_empty_is_not_copied(tmp_path: Path) -> None:
    """COPY fails on a prefix with no object: a run that fetched no comment loads its posts and scores."""
    result = _publish(tmp_path, RecordingEngine(tmp_path / "exports", empty=frozenset({"comments"})))
    copied = [sql.split()[1] for sql in result["load_sqls"] if sql.startswith("COPY")]
    assert copied == ["lakehouse.stage_posts", "lakehouse.stage_opportunity_scores"]
    assert any("MERGE INTO lakehouse.comments" in sql for sql in result["load_sqls"])  # merges nothing, harmlessly


def test_a_rerun_finds_the_manifest_and_runs_no_query(tmp_path: Path) -> None:
    first = _publish(tmp_path, RecordingEngine(tmp_path / "exports"))
    engine = RecordingEngine(tmp_path / "exports")
    again = _publish(tmp_path, engine)
    assert engine.calls == []
    assert again["recorded"]
    assert again["load_sqls"] == first["load_sqls"]
    assert again["manifest"] == RunManifests(LocalObjectStore(tmp_path / "runs")).uri("run-1", Stage.PUBLISH)


def test_an_attempt_that_failed_half_way_leaves_nothing_in_the_next_ones_way(tmp_path: Path) -> None:
    """UNLOAD refuses a prefix that is not empty: the parts a failed attempt wrote are removed first."""
    leftover = tmp_path / "exports" / "run_id=run-1" / "posts" / "part-0.parquet"
    other_run = tmp_path / "exports" / "run_id=run-0" / "posts" / "part-0.parquet"
    for path in (leftover, other_run):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")

    class FailsOnComments(RecordingEngine):
        def unload(self, table: str, select: str, destination: str) -> int:
            if table == "comments":
                raise QueryFailed("Athena query q-1 FAILED: HIVE_PATH_ALREADY_EXISTS")
            return super().unload(table, select, destination)

    with pytest.raises(QueryFailed):
        _publish(tmp_path, FailsOnComments(tmp_path / "exports"))
    assert not leftover.exists()
    assert other_run.exists()  # another run's export is not this run's to remove
    assert RunManifests(LocalObjectStore(tmp_path / "runs")).read("run-1", Stage.PUBLISH) is None


def test_athena_runs_each_query_in_the_workgroup_and_waits_for_it() -> None:
    client = boto3.client("athena", region_name="us-east-1")
    stubber = Stubber(client)
    select = export_queries("run-1")["posts"]
    expected = (
        f"UNLOAD ({select}) TO 's3://a/exports/run_id=run-1/posts/' WITH (format = 'PARQUET', compression = 'SNAPPY')"
    )
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-1"},
        {"QueryString": expected, "WorkGroup": "analysts", "QueryExecutionContext": {"Database": "lake"}},
    )
    for state in ("QUEUED", "RUNNING", "SUCCEEDED"):
        stubber.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": state}}})
    slept: list[float] = []
    with stubber:
        engine = AthenaEngine(client, workgroup="analysts", database="lake", sleep=slept.append)
        engine.unload("posts", select, "s3://a/exports/run_id=run-1/posts/")
    stubber.assert_no_pending_responses()
    assert slept == [1.0, 1.5]


def test_a_failed_query_raises_with_athenas_reason() -> None:
    client = boto3.client("athena", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-2"})
    stubber.add_response(
        "get_query_execution",
        {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": "Query exhausted resources"}}},
    )
    with stubber, pytest.raises(QueryFailed, match="q-2 FAILED: Query exhausted resources"):
        AthenaEngine(client, workgroup="analysts", database="lake", sleep=lambda _: None).create_view(athena_views()[0])


def test_a_query_that_never_ends_fails_after_the_timeout() -> None:
    client = boto3.client("athena", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-3"})
    stubber.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
    stubber.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
    ticks = iter([0.0, 5.0, 11.0])
    with stubber, pytest.raises(QueryFailed, match="still RUNNING after 10 s"):
        AthenaEngine(
            client, workgroup="w", database="d", timeout_seconds=10, sleep=lambda _: None, clock=lambda: next(ticks)
        ).run("SELECT 1")


def test_settings_round_trip_through_the_environment_and_name_what_is_missing() -> None:
    settings = PublishSettings(
        runs_uri="s3://raw/runs/",
        exports_uri="s3://analytics/exports/",
        workgroup="analysts",
        database="lake",
        copy_role_arn="arn:aws:iam::1:role/copy",
    )
    assert PublishSettings.from_env(settings.to_env()) == settings
    env = settings.to_env()
    del env["ATHENA_WORKGROUP"]
    with pytest.raises(ValueError, match="ATHENA_WORKGROUP"):
        PublishSettings.from_env(env)
    with pytest.raises(ValueError, match="must end with '/'"):
        PublishSettings(runs_uri="s3://raw/runs", exports_uri="s3://a/", workgroup="w", database="d", copy_role_arn="r")


def test_the_event_must_name_a_valid_run() -> None:
    assert (
        PublishRequest.from_event({"run": {"run_id": "run-1", "run_started_at": "2026-12-02T00:00:00Z"}}).run_id
        == "run-1"
    )
    with pytest.raises(ValueError, match=r"run\.run_id"):
        PublishRequest.from_event({"run": {"run_id": "a/b"}})
