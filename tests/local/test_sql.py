"""Athena SQL offline: every view of sql/athena validates as Trino and gives the expected rows on DuckDB.

The fixture lake is written by hand with the declared schemas, small enough to work each expected row
out on paper: six posts over two ISO weeks and two months, four assessments (one superseded by a newer
prompt version, one failed) and the ledger of two runs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import trino_sql_validator

from lakehouse.lake.zones import arrow_schema
from lakehouse.serving import QUERIED_TABLES, athena_views
from lakehouse.tables import LLM_COSTS, OPPORTUNITY_DIMENSIONS, OPPORTUNITY_SCORES, PROCESSED_POSTS, Table
from lakehouse_tools.cli import main
from lakehouse_tools.local.sql import LocalAthena, to_duckdb


def _at(day: int, hour: int = 12, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _post(post_id: str, subreddit: str, at: datetime, problem: bool, keywords: list[str], **values: Any) -> dict:
    return {
        "post_id": post_id,
        "subreddit": subreddit,
        "title": f"title {post_id}",
        "created_utc": at.timestamp(),
        "created_at": at,
        "is_problem": problem,
        "problem_signals": ["pain"] if problem else [],
        "keywords": keywords,
        "created_month": at.strftime("%Y-%m"),
        **values,
    }


POSTS = [
    _post("p1", "saas", _at(2, 10), True, ["invoicing", "stripe"], score=10, num_comments=4, sentiment=-0.5),
    _post("p2", "saas", _at(2, 15), False, ["launch"], score=20, num_comments=2, sentiment=0.5),
    _post("p3", "startups", _at(3), True, ["equity"], score=5, num_comments=1, sentiment=-0.2),
    _post("p4", "saas", _at(9), True, ["invoicing"], score=1, num_comments=0, sentiment=0.0),
    _post("p5", "startups", _at(10), True, ["invoicing", "equity"], score=3, num_comments=3, sentiment=0.1),
    _post("p6", "saas", _at(1, month=12), False, [], score=7, num_comments=0, sentiment=0.3),
]


def _assessment(post_id: str, prompt: str, score: float | None, at: datetime, run: str, **values: Any) -> dict:
    status = "scored" if score is not None else "failed"
    return {
        "post_id": post_id,
        "content_hash": f"h-{post_id}",
        "model_id": "heuristic-2026.12.1",
        "opportunity_score": score,
        "tier": None if score is None else ("high" if score >= 75 else "medium"),
        "is_opportunity": score is not None and score >= 65,
        **dict.fromkeys(OPPORTUNITY_DIMENSIONS, None if score is None else int(score)),
        "evidence": [] if score is None else [f"title {post_id}"],
        "backend": "heuristic",
        "mode": "on_demand",
        "status": status,
        "failure_reason": None if score is not None else "no answer",
        "model_calls": 1,
        "input_tokens": 1000,
        "output_tokens": 200,
        "cost_usd": 0.001,
        "scored_at": at,
        "run_id": run,
        "prompt_version": prompt,
        **values,
    }


SCORES = [
    _assessment("p1", "opportunity-v1", 70, _at(4), "r1"),
    _assessment("p3", "opportunity-v1", 60, _at(4), "r1", cost_usd=0.002),
    _assessment("p4", "opportunity-v1", None, _at(4), "r1", model_calls=2, cost_usd=0.003),
    _assessment("p1", "opportunity-v2", 80, _at(11), "r2", cost_usd=0.004),
    _assessment("p5", "opportunity-v1", 80, _at(11), "r2"),
]
LEDGER = [
    *({**row, "scored_date": row["scored_at"].date().isoformat()} for row in SCORES),
    {
        **_assessment("p2", "opportunity-v1", None, _at(11), "r2"),
        "status": "deferred",
        "model_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "scored_date": "2026-11-11",
    },
]


def _write(lake: Path, table: Table, rows: list[dict], file_name: str = "part-00000.parquet") -> None:
    schema = arrow_schema(table)
    for value in sorted({row[table.partition] for row in rows}):
        directory = lake / table.zone / table.prefix / f"{table.partition}={value}"
        directory.mkdir(parents=True, exist_ok=True)
        chosen = [{name: row.get(name) for name in schema.names} for row in rows if row[table.partition] == value]
        pq.write_table(pa.Table.from_pylist(chosen, schema=schema), directory / file_name)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    _write(root, PROCESSED_POSTS, POSTS)
    _write(root, OPPORTUNITY_SCORES, SCORES, "scores.parquet")
    _write(root, LLM_COSTS, LEDGER)
    return root


@pytest.fixture(scope="module")
def athena(lake: Path) -> LocalAthena:
    return LocalAthena(lake)


@pytest.mark.parametrize("view", athena_views(), ids=lambda view: view.name)
def test_every_view_is_valid_trino_sql_with_known_functions(view: Any) -> None:
    result = trino_sql_validator.validate(view.sql)
    assert result.valid, view.name
    assert result.warnings == (), result.warnings


def test_the_views_are_the_five_analysts_are_promised() -> None:
    assert [view.name for view in athena_views()] == [
        "v_opportunities",
        "v_problem_posts",
        "v_run_costs",
        "v_subreddit_daily",
        "v_trending_problem_terms",
    ]


def test_problem_posts_are_the_flagged_ones(athena: LocalAthena) -> None:
    rows = athena.query("SELECT post_id, problem_signals FROM v_problem_posts ORDER BY post_id").rows
    assert rows == [("p1", ["pain"]), ("p3", ["pain"]), ("p4", ["pain"]), ("p5", ["pain"])]


def test_opportunities_rank_each_posts_newest_assessment(athena: LocalAthena) -> None:
    result = athena.query(
        "SELECT opportunity_rank, post_id, opportunity_score, prompt_version, subreddit, title FROM v_opportunities"
    )
    assert result.rows == [
        (1, "p1", 80.0, "opportunity-v2", "saas", "title p1"),  # v2 supersedes p1's v1 score of 70
        (1, "p5", 80.0, "opportunity-v1", "startups", "title p5"),
        (3, "p3", 60.0, "opportunity-v1", "startups", "title p3"),
    ]  # p4's assessment failed: no score, no rank


def test_subreddit_daily_counts_posts_problems_and_engagement(athena: LocalAthena) -> None:
    rows = athena.query(
        "SELECT subreddit, created_month, day, posts, problem_posts, problem_share, comments, avg_score, "
        "round(avg_sentiment, 6) FROM v_subreddit_daily ORDER BY day, subreddit"
    ).rows
    assert rows == [
        ("saas", "2026-11", date(2026, 11, 2), 2, 1, 0.5, 6, 15.0, 0.0),
        ("startups", "2026-11", date(2026, 11, 3), 1, 1, 1.0, 1, 5.0, -0.2),
        ("saas", "2026-11", date(2026, 11, 9), 1, 1, 1.0, 0, 1.0, 0.0),
        ("startups", "2026-11", date(2026, 11, 10), 1, 1, 1.0, 3, 3.0, 0.1),
        ("saas", "2026-12", date(2026, 12, 1), 1, 0, 0.0, 0, 7.0, 0.3),
    ]


def test_trending_terms_compare_each_week_with_the_one_before(athena: LocalAthena) -> None:
    rows = athena.query(
        "SELECT week, term, problem_posts, previous_week_posts, change FROM v_trending_problem_terms "
        "ORDER BY week, term"
    ).rows
    assert rows == [
        (date(2026, 11, 2), "equity", 1, 0, 1),
        (date(2026, 11, 2), "invoicing", 1, 0, 1),
        (date(2026, 11, 2), "stripe", 1, 0, 1),
        (date(2026, 11, 9), "equity", 1, 1, 0),
        (date(2026, 11, 9), "invoicing", 2, 1, 1),
    ]  # "launch" is a keyword of p2 only, which is not a problem post


def test_run_costs_add_up_each_runs_ledger(athena: LocalAthena) -> None:
    rows = athena.query(
        "SELECT run_id, scored_date, posts, scored, failed, deferred, model_calls, input_tokens, round(cost_usd, 6) "
        "FROM v_run_costs ORDER BY run_id"
    ).rows
    assert rows == [
        ("r1", "2026-11-04", 3, 2, 1, 0, 4, 3000, 0.006),
        ("r2", "2026-11-11", 3, 2, 0, 1, 2, 2000, 0.005),
    ]


def test_an_empty_lake_has_every_table_and_view_with_no_rows(tmp_path: Path) -> None:
    athena = LocalAthena(tmp_path)
    for name in [table.name for table in QUERIED_TABLES] + [view.name for view in athena_views()]:
        assert athena.query(f"SELECT count(*) FROM {name}").rows == [(0,)], name  # noqa: S608 (our own names)


def test_athena_functions_are_translated_for_duckdb(athena: LocalAthena) -> None:
    # Trino spellings with no DuckDB twin of the same name: translated, and the answer is the same.
    sql = (
        "SELECT date_add('day', 7, DATE '2026-11-02'), cardinality(ARRAY['a', 'b']), "
        "array_join(ARRAY['a', 'b'], '+'), from_unixtime(0), regexp_like('abc', 'b')"
    )
    # Two differences of type, not of value: DuckDB's date_add gives a timestamp at midnight where Trino's
    # gives a date (the views only compare it with dates), and from_unixtime is a UTC instant in both.
    assert athena.query(sql).rows == [(datetime(2026, 11, 9), 2, "a+b", datetime(1970, 1, 1, tzinfo=UTC), True)]
    with pytest.raises(ValueError, match="not Athena SQL"):
        to_duckdb("SELECT FROM WHERE")


def test_lakehouse_sql_prints_a_table_csv_or_json(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT opportunity_rank, post_id FROM v_opportunities LIMIT 2"
    assert main(["sql", "--lake", str(lake), query]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["opportunity_rank", "post_id"]
    assert [line.split() for line in table[2:]] == [["1", "p1"], ["1", "p5"], ["(2", "rows)"]]
    assert main(["sql", "--lake", str(lake), "--format", "csv", query]) == 0
    assert capsys.readouterr().out.splitlines() == ["opportunity_rank,post_id", "1,p1", "1,p5"]
    assert main(["sql", "--lake", str(lake), "--format", "json", query]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"opportunity_rank": 1, "post_id": "p1"},
        {"opportunity_rank": 1, "post_id": "p5"},
    ]


def test_lakehouse_sql_names_the_problem_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--lake", str(tmp_path / "nowhere"), "SELECT 1"]) == 2
    assert "no lake at" in capsys.readouterr().err
    assert main(["sql", "--lake", str(tmp_path), "SELECT * FROM no_such_table"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("lakehouse sql: the query failed: Catalog Error: Table with name no_such_table")
    assert "Traceback" not in error
