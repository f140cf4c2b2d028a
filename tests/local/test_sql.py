"""Athena SQL offline: every view of sql/athena validates as Trino and gives the expected rows on DuckDB.

The fixture lake (``lake_fixture``) is small enough to work each expected row out on paper.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import trino_sql_validator

from lakehouse.serving import QUERIED_TABLES, athena_views
from lakehouse_tools.cli import main
from lakehouse_tools.local.sql import LocalAthena, to_duckdb
from tests.local.lake_fixture import write_lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lake(tmp_path_factory.mktemp("lake"))


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
