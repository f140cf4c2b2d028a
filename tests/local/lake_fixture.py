"""A lake written by hand with the declared schemas, small enough to work each expected row out on paper.

Six posts over two ISO weeks and two months, from two runs (r1: p1-p3, r2: p4-p6), two comments, five
assessments (p1's v1 superseded by a newer prompt version, p4's failed) and the ledger of both runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.lake.zones import arrow_schema
from lakehouse.tables import (
    LLM_COSTS,
    OPPORTUNITY_DIMENSIONS,
    OPPORTUNITY_SCORES,
    PROCESSED_COMMENTS,
    PROCESSED_POSTS,
    Table,
)


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
        "snapshot_run_id": "r1" if at < _at(8) else "r2",
        "snapshot_fetched_at": at,
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


COMMENTS = [
    {
        "comment_id": "c1",
        "post_id": "p1",
        "body": "same here",
        "created_utc": _at(2, 11).timestamp(),
        "created_at": _at(2, 11),
        "score": 2,
        "snapshot_run_id": "r1",
        "snapshot_fetched_at": _at(2, 11),
        "created_month": "2026-11",
    },
    {
        "comment_id": "c2",
        "post_id": "p4",
        "body": "me too",
        "created_utc": _at(9, 13).timestamp(),
        "created_at": _at(9, 13),
        "score": 1,
        "snapshot_run_id": "r2",
        "snapshot_fetched_at": _at(9, 13),
        "created_month": "2026-11",
    },
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


def write_lake(root: Path) -> Path:
    _write(root, PROCESSED_POSTS, POSTS)
    _write(root, PROCESSED_COMMENTS, COMMENTS)
    _write(root, OPPORTUNITY_SCORES, SCORES, "scores.parquet")
    _write(root, LLM_COSTS, LEDGER)
    return root
