"""Bytes of Parquet each analyst query reads, against the total of the tables it reads: pruning at work.

    .venv/bin/python bench/serving_scan.py [--rows 100000] [--days 365] [--out bench/.out]

**The lake** is a year of synthetic traffic made by the product's own code: ``raw_fixture.py`` writes
the raw zone (``--rows`` post snapshots over ``--days`` days, 20 subreddits, one ingestion run a day),
the processing job as shipped (``run_local`` on Spark, 2 cores) refines it into the processed zone, and
the score stage (heuristic backend) writes the analytics zone. It is built once into
``<out>/serving-<rows>-<days>d/`` and reused while the job, the fixture and the scorer are unchanged
(delete the directory, or pass ``--rebuild``, after changing how the job writes).

**The queries** are what an analyst asks of each view, and of the table itself, for the last 7 days
of the lake; each filters on ``created_month`` (the partition, as the README tells analysts to) and on
the time column. Each runs on a fresh DuckDB session of ``LocalAthena`` (the views transpiled from
``sql/athena/views`` as ``lakehouse sql`` runs them) with DuckDB's profiler on; *read* is the
profiler's ``io.total_bytes_read`` (footers, column chunks, dictionary pages actually read), *total* the
size of every Parquet file of the tables the query names. DuckDB prunes as Athena does (Hive partitions
from the path, columns from the projection, row groups from their min/max statistics), so the share is
a proxy for what Athena bills, which rounds each query up to 10 MB.

Prints one table, with the ratio against the 3% target, and ``--json PATH`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import raw_fixture  # noqa: E402
from lakehouse.serving import QUERIED_TABLES  # noqa: E402
from lakehouse.tables import Table  # noqa: E402

TARGET_SHARE = 0.03
BUILD_VERSION = 1  # bump when the lake must be rebuilt for a reason the inputs below do not show
CORES = 2


@dataclass(frozen=True)
class AnalystQuery:
    name: str
    tables: tuple[str, ...]  # what the query reads, views resolved to their tables
    sql: str  # with {month} (the first month of the window), {day} and {since} (its first instant)


QUERIES = (
    AnalystQuery(
        "v_problem_posts",
        ("processed_posts",),
        "SELECT subreddit, title, score, num_comments FROM v_problem_posts "
        "WHERE created_month >= '{month}' AND created_at >= TIMESTAMP '{since}' ORDER BY score DESC LIMIT 50",
    ),
    AnalystQuery(
        "v_opportunities",
        ("processed_posts", "opportunity_scores"),
        "SELECT opportunity_rank, subreddit, title, opportunity_score, tier FROM v_opportunities "
        "WHERE created_month >= '{month}' AND created_at >= TIMESTAMP '{since}' ORDER BY opportunity_rank LIMIT 20",
    ),
    AnalystQuery(
        "v_subreddit_daily",
        ("processed_posts",),
        "SELECT subreddit, day, posts, problem_share FROM v_subreddit_daily "
        "WHERE created_month >= '{month}' AND day >= DATE '{day}' ORDER BY subreddit, day",
    ),
    AnalystQuery(
        "v_trending_problem_terms",
        ("processed_posts",),
        "SELECT week, term, problem_posts, change FROM v_trending_problem_terms "
        "WHERE week >= DATE '{day}' ORDER BY change DESC LIMIT 20",
    ),
    AnalystQuery(
        "v_run_costs",
        ("llm_costs",),
        "SELECT run_id, model_id, posts, cost_usd FROM v_run_costs WHERE scored_date >= '{day}' ORDER BY run_id",
    ),
    AnalystQuery(
        "problem posts per subreddit (table)",
        ("processed_posts",),
        "SELECT subreddit, count(*) AS problem_posts, avg(sentiment) AS sentiment FROM processed_posts "
        "WHERE created_month >= '{month}' AND created_at >= TIMESTAMP '{since}' AND is_problem "
        "GROUP BY subreddit ORDER BY problem_posts DESC",
    ),
)


@dataclass(frozen=True)
class Measured:
    query: str
    rows: int
    table_bytes: int
    bytes_read: int
    share: float
    seconds: float


def _table(name: str) -> Table:
    return next(table for table in QUERIED_TABLES if table.name == name)


def table_bytes(lake: Path, name: str) -> int:
    table = _table(name)
    return sum(path.stat().st_size for path in (lake / table.zone / table.prefix).rglob("*.parquet"))


def _inputs(rows: int, days: int) -> dict[str, Any]:
    """What the built lake depends on: a change to any of these rebuilds it."""
    from lakehouse.domain.problem_rule import RULE_VERSION

    sources = ["glue_jobs/process_posts", "lambdas/score", "lakehouse/tables.py", "lakehouse/domain"]
    newest = max(path.stat().st_mtime for source in sources for path in (ROOT / source).rglob("*.py"))
    return {"version": BUILD_VERSION, "rows": rows, "days": days, "rule": RULE_VERSION, "code_mtime": newest}


def build_lake(rows: int, days: int, out: Path, rebuild: bool) -> tuple[Path, datetime]:
    """The processed and analytics zones of a year of traffic, built by the job and the score stage."""
    raw, fixture = raw_fixture.ensure(rows, out, days=days)
    lake = out / f"serving-{rows}-{days}d"
    marker = lake / "built.json"
    end = datetime.fromtimestamp(fixture.now_epoch, UTC)
    inputs = _inputs(rows, days)
    if not rebuild and marker.is_file() and json.loads(marker.read_text()).get("inputs") == inputs:
        return lake, end
    shutil.rmtree(lake, ignore_errors=True)
    shutil.copytree(raw / "posts", lake / "raw" / "posts", copy_function=os.link)
    started = time.perf_counter()
    _process(lake, fixture.now_epoch)
    processed = time.perf_counter()
    scored = _score(lake, end)
    marker.write_text(
        json.dumps(
            {
                "inputs": inputs,
                "process_seconds": round(processed - started, 1),
                "score_seconds": round(time.perf_counter() - processed, 1),
                "scored": scored,
            }
        )
    )
    return lake, end


def _process(lake: Path, now: float) -> None:
    from glue_jobs.process_posts import local_entry

    spark = local_entry.local_spark(cores=CORES)
    try:
        local_entry.run_local(lake, job_run="bench-serving", now_epoch=now, spark=spark)
    finally:
        spark.stop()


def _score(lake: Path, end: datetime) -> dict[str, Any]:
    """One scoring run over everything processed, as the local run invokes the function."""
    from lakehouse_tools.local.runner import DEFAULT_ENV, LocalLambdaContext, cdk_environment, environment_variables
    from lambdas.score.handler import clear_clients, handler
    from lambdas.score.settings import Backend, BatchPolicy, ScoreSettings

    config = cdk_environment(DEFAULT_ENV)
    settings = ScoreSettings(
        environment=config.name,
        processed_uri=str(lake / "processed"),
        analytics_uri=str(lake / "analytics"),
        runs_uri=str(lake / "runs"),
        backend=Backend.HEURISTIC,
        policy=replace(config.llm.policy, batch=BatchPolicy(enabled=False)),  # batch jobs take hours
    )
    event = {"run": {"run_id": "bench-serving", "run_started_at": end.isoformat()}}
    with environment_variables(settings.to_env()):
        clear_clients()
        return dict(handler(event, LocalLambdaContext(function_name="bench-score")))  # type: ignore[arg-type]


def measure(lake: Path, end: datetime, query: AnalystQuery) -> Measured:
    from lakehouse_tools.local.sql import LocalAthena

    since = (end - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    sql = query.sql.format(month=since.strftime("%Y-%m"), day=since.date().isoformat(), since=since.strftime("%F %T"))
    athena = LocalAthena(lake)
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "profile.json"
        athena.connection.execute("SET enable_external_file_cache = false")
        athena.connection.execute("PRAGMA enable_profiling = 'json'")
        athena.connection.execute(f"PRAGMA profiling_output = '{profile}'")
        started = time.perf_counter()
        result = athena.query(sql)
        seconds = time.perf_counter() - started
        athena.close()
        read = int(json.loads(profile.read_text())["io"]["total_bytes_read"])
    total = sum(table_bytes(lake, name) for name in query.tables)
    return Measured(query.name, len(result.rows), total, read, read / total, round(seconds, 3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="raw post snapshots (default 100,000)")
    parser.add_argument("--days", type=int, default=365, help="days of traffic, one run a day (default 365)")
    parser.add_argument("--out", type=Path, default=raw_fixture.DEFAULT_OUT_ROOT, help="cache directory")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the lake even if it is current")
    parser.add_argument("--json", type=Path, help="also write the measured rows here")
    args = parser.parse_args(argv)
    lake, end = build_lake(args.rows, args.days, args.out, args.rebuild)
    measured = [measure(lake, end, query) for query in QUERIES]

    print(f"lake: {lake} ({args.days} days to {end:%F}, the last 7 days queried); target: read <= 3% of the tables")
    print(f"{'query':<38} {'rows':>5} {'table MiB':>10} {'read MiB':>9} {'share':>7} {'x target':>9}")
    for row in measured:
        print(
            f"{row.query:<38} {row.rows:>5} {row.table_bytes / 2**20:>10.2f} {row.bytes_read / 2**20:>9.3f} "
            f"{row.share:>7.2%} {row.share / TARGET_SHARE:>9.2f}"
        )
    worst = max(measured, key=lambda row: row.share)
    print(f"worst: {worst.query} at {worst.share:.2%} ({worst.share / TARGET_SHARE:.2f}x the 3% target)")
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in measured], indent=1) + "\n")
    return 0 if worst.share <= TARGET_SHARE else 1


if __name__ == "__main__":
    raise SystemExit(main())
