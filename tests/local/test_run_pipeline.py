"""``lakehouse run`` executes the synthesized state machine: its order, its failure path, reruns by run id."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from lakehouse.pipeline import INGEST_ITERATION_STATE, NOTIFY_STATE, Stage
from lakehouse.serving import warehouse_tables
from lakehouse_tools.cli import main
from lakehouse_tools.local.definition import synthesized_definition
from lakehouse_tools.local.runner import RunOptions, run
from lakehouse_tools.local.warehouse import WAREHOUSE_FILE, LocalWarehouse

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

SYNTHETIC = {"subreddits": ["python", "SaaS"], "days": 2}
NOW = 1_793_491_200.0  # the synthetic corpus's end
RUN_ID = "drill-1"
# When a snapshot was really fetched (the wall clock, not --now): the one thing two separate runs differ in.
WALL_CLOCK_COLUMNS = ("snapshot_fetched_at", "first_seen_at")


def _run(lake: Path, **options: Any) -> dict[str, Any]:
    return run(RunOptions(source="synthetic:11", lake=lake, now=NOW, run_id=RUN_ID, synthetic=SYNTHETIC, **options))


def _processed(lake: Path) -> dict[str, list[dict[str, Any]]]:
    tables = {}
    for table in ("posts", "comments"):
        dataset = ds.dataset(lake / "processed" / table, format="parquet", partitioning="hive")
        rows = dataset.to_table().drop_columns(list(WALL_CLOCK_COLUMNS)).to_pylist()
        tables[table] = sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))
    return tables


def _top_level(states: list[str]) -> list[str]:
    return [state for state in states if "/" not in state]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    lake = tmp_path_factory.mktemp("clean") / "lake"
    return lake, _run(lake)


def test_a_full_run_walks_the_state_machine_and_reports_every_stage(clean: tuple[Path, dict[str, Any]]) -> None:
    lake, summary = clean
    assert summary["ok"], summary["execution"]
    definition = synthesized_definition("dev")
    path, state = [], definition["StartAt"]
    while state in definition["States"]:  # the main path, as the deployed definition has it
        path.append(state)
        found = definition["States"][state]
        # a Choice's main path is its first choice (Load done? -> FINISHED)
        state = found["Choices"][0]["Next"] if found["Type"] == "Choice" else found.get("Next")
    assert _top_level(summary["states"]) == path
    assert summary["states"].count(f"{Stage.INGEST.state_name}/{INGEST_ITERATION_STATE}") == 2
    assert list(summary["stages"]) == [stage.value for stage in Stage]
    assert summary["stages"]["ingest"]["posts_written"] > 0
    assert summary["stages"]["process"]["posts"]["processed"] > 0
    assert summary["stages"]["verify"]["ok"]
    assert set(summary["stages"]["verify"]["checks"]) <= {
        name.removeprefix("verify_") for name in summary["reconciliation"]
    }
    # Every stage handed its results through the lake.
    manifests = sorted(
        p.relative_to(lake / "runs" / RUN_ID).as_posix() for p in (lake / "runs" / RUN_ID).rglob("*.json")
    )
    subreddits = summary["stages"]["ingest"]["by_subreddit"]
    assert manifests == sorted(
        [*(f"ingest/{name}.json" for name in subreddits), "process.json", "score.json", "publish.json", "verify.json"]
    )


def _scores(lake: Path) -> list[dict[str, Any]]:
    """The current scores, without what differs between two runs of the same content (when, which run)."""
    path = lake / "analytics" / "opportunity_scores"
    rows = ds.dataset(path, format="parquet", partitioning="hive").to_table().drop_columns(["scored_at", "run_id"])
    return sorted(rows.to_pylist(), key=lambda row: str(row["post_id"]))


def test_every_problem_post_is_scored_with_verbatim_evidence_and_a_rerun_pays_nothing(
    clean: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    lake, summary = clean
    posts = ds.dataset(lake / "processed" / "posts", format="parquet", partitioning="hive").to_table().to_pylist()
    comments = ds.dataset(lake / "processed" / "comments", format="parquet", partitioning="hive").to_table()
    texts: dict[str, list[str]] = {}
    for row in comments.select(["post_id", "body"]).to_pylist():
        texts.setdefault(row["post_id"], []).append(row["body"] or "")
    problems = {row["post_id"]: row for row in posts if row["is_problem"]}
    scores = _scores(lake)

    assert problems
    assert {row["post_id"] for row in scores} == set(problems)
    assert {row["status"] for row in scores} == {"scored"}
    for row in scores:
        shown = [
            problems[row["post_id"]]["title"],
            problems[row["post_id"]]["body"] or "",
            *texts.get(row["post_id"], []),
        ]
        assert row["evidence"] or not row["is_opportunity"], row  # an opportunity is always backed by a quote
        assert all(any(quote in text for text in shown) for quote in row["evidence"]), row
        assert 0 <= row["opportunity_score"] <= 100
        assert row["tier"]
    assert summary["model_calls"]["calls"] == len(problems) == summary["stages"]["score"]["scored"]
    assert summary["model_calls"]["backend"] == "heuristic"
    assert summary["model_calls"]["cost_usd"] == 0.0

    lake = tmp_path / "lake"  # reruns on a copy: the clean lake stays the other tests' reference
    shutil.copytree(clean[0], lake)
    rerun = _run(lake)  # the same run id: the Score step finds its manifest
    assert rerun["ok"]
    assert rerun["stages"]["score"]["recorded"]
    assert rerun["model_calls"]["calls"] == 0
    later = run(RunOptions(source="synthetic:11", lake=lake, now=NOW, run_id="later", synthetic=SYNTHETIC))
    assert later["ok"]
    assert later["model_calls"]["calls"] == 0
    assert later["stages"]["score"]["already_scored"] == len(problems)
    assert len(_scores(lake)) == len(scores)  # no duplicate score


def _warehouse(lake: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every warehouse table's rows, without the wall clock's columns (when a snapshot was fetched or scored)."""
    warehouse = LocalWarehouse(lake / WAREHOUSE_FILE)
    try:
        tables = {}
        for table in warehouse_tables():
            result = warehouse.query(f"SELECT * FROM lakehouse.{table}")  # noqa: S608
            keep = [i for i, name in enumerate(result.columns) if name not in (*WALL_CLOCK_COLUMNS, "scored_at")]
            tables[table] = sorted((tuple(row[i] for i in keep) for row in result.rows), key=repr)
        return tables
    finally:
        warehouse.close()


def test_the_warehouse_holds_the_lakes_posts_and_scores_and_the_views_rank_them(
    clean: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    lake, summary = clean
    posts = ds.dataset(lake / "processed" / "posts", format="parquet", partitioning="hive").to_table()
    warehouse = _warehouse(lake)
    assert sorted(row[0] for row in warehouse["posts"]) == sorted(posts.column("post_id").to_pylist())
    scores = {(row["post_id"], row["prompt_version"]): row["opportunity_score"] for row in _scores(lake)}
    assert {(row[0], row[1]): row[11] for row in warehouse["opportunity_scores"]} == scores
    assert summary["stages"]["load"]["warehouse_rows"] == {name: len(rows) for name, rows in warehouse.items()}
    assert summary["stages"]["publish"]["exported_rows"]["posts"] == len(warehouse["posts"])

    assert (
        main(["sql", "--lake", str(lake), "SELECT opportunity_rank, opportunity_score FROM v_opportunities LIMIT 10"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    ranked = [[float(cell) for cell in line.split()] for line in lines[2:-1]]
    assert len(ranked) == 10
    assert ranked == sorted(ranked, key=lambda row: (row[0], -row[1]))  # rank 1 first, scores falling
    assert [row[1] for row in ranked] == sorted((row[1] for row in ranked), reverse=True)


@pytest.mark.parametrize("stage", [Stage.INGEST, Stage.PROCESS, Stage.PUBLISH, Stage.LOAD])
def test_failing_after_a_stage_then_rerunning_the_run_id_leaves_processed_as_a_clean_run(
    tmp_path: Path, clean: tuple[Path, dict[str, Any]], stage: Stage
) -> None:
    lake = tmp_path / "lake"

    failed = _run(lake, fail_after=stage.value)

    assert not failed["ok"]
    assert failed["execution"]["status"] == "FAILED"
    assert failed["execution"]["error"] == f"{stage.state_name}.Local.FailAfter"
    top = _top_level(failed["states"])
    assert top[top.index(stage.state_name) + 1 :] == [f"{stage.state_name} failed", NOTIFY_STATE, "Run failed"]
    notices = (lake / "logs" / RUN_ID / "notifications.jsonl").read_text().splitlines()
    assert f"failed in state {stage.state_name}" in json.loads(notices[0])["message"]

    rerun = _run(lake)

    assert rerun["ok"], rerun["execution"]
    ingest = rerun["stages"]["ingest"]
    assert ingest["recorded"] == 2  # both subreddits finished before the failure: Reddit is not asked again
    assert not any(path.endswith("/new") for path in rerun["reddit_requests"])
    assert _processed(lake) == _processed(clean[0])
    assert _scores(lake) == _scores(clean[0])  # scoring is deterministic
    assert _warehouse(lake) == _warehouse(clean[0])


def test_the_local_order_is_the_definitions(tmp_path: Path) -> None:
    """Rewire the synthesized definition (Verify straight after Ingest, Process after it): the local run follows."""
    definition = copy.deepcopy(synthesized_definition("dev"))
    states = definition["States"]
    ingest, process, verify = (states[stage.state_name] for stage in (Stage.INGEST, Stage.PROCESS, Stage.VERIFY))
    ingest["Next"], verify["Next"], process["Next"] = Stage.VERIFY.state_name, Stage.PROCESS.state_name, "Succeeded"

    summary = run(
        RunOptions(source="synthetic:11", lake=tmp_path, now=NOW, run_id="reordered", synthetic=SYNTHETIC),
        definition=definition,
    )

    assert _top_level(summary["states"])[2:] == ["Ingest", "Verify"]
    # Verify's parameters name $.process, which no state has set yet: Step Functions fails the
    # execution with States.Runtime at once (States.ALL does not catch it), and so does the local
    # walk; Process never runs.
    assert summary["execution"]["error"] == "States.Runtime"
    assert "$.process" in summary["execution"]["cause"]
    assert "process" not in summary["stages"]


def test_until_stops_after_the_named_stage(tmp_path: Path) -> None:
    summary = _run(tmp_path, until=Stage.INGEST.value)
    assert summary["ok"]
    assert list(summary["stages"]) == ["ingest"]
    assert not (tmp_path / "processed").exists()
    assert summary["model_calls"] == {"calls": 0, "cost_usd": 0.0}
