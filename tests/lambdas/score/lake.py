"""A processed zone written as the processing job writes it (month partitions, Parquet), for scoring tests."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.lake.zones import arrow_schema
from lakehouse.tables import MONTH_PARTITION, OPPORTUNITY_DIMENSIONS, PROCESSED_COMMENTS, PROCESSED_POSTS, Table
from lambdas.score.settings import ScoringPolicy, TokenPrice

WEIGHTS = dict(zip(OPPORTUNITY_DIMENSIONS, (0.25, 0.25, 0.2, 0.15, 0.15), strict=True))


def policy(**overrides: Any) -> ScoringPolicy:
    values: dict[str, Any] = {
        "model_id": "amazon.nova-lite-v1:0",
        "price": TokenPrice(0.06, 0.24),
        "budget_usd_per_run": 1.0,
        "weights": WEIGHTS,
        "max_concurrency": 2,
        "checkpoint_every": 3,
    } | overrides
    return ScoringPolicy(**values)


def post(post_id: str, **values: Any) -> dict[str, Any]:
    return {
        "post_id": post_id,
        "subreddit": "SaaS",
        "title": f"Invoicing clients takes me hours every week ({post_id})",
        "body": "I struggle with invoicing every month, it is a real pain. Is there a tool for this?",
        "created_utc": 1_790_000_000.0 + int(post_id.removeprefix("p") or 0),
        "score": 12,
        "num_comments": 2,
        "upvote_ratio": 0.9,
        "sentiment": -0.4,
        "is_problem": True,
        "problem_signals": ["struggle"],
        "keywords": ["invoicing", "clients"],
        "has_question": True,
        "word_count": 20,
    } | values


def comment(comment_id: str, post_id: str, body: str, score: int = 1) -> dict[str, Any]:
    return {"comment_id": comment_id, "post_id": post_id, "body": body, "score": score}


def write_processed(lake: Path, posts: Sequence[dict[str, Any]], comments: Sequence[dict[str, Any]] = ()) -> None:
    """Replace the processed zone's posts and comments (one file each, as a job run would leave them)."""
    for table, rows in ((PROCESSED_POSTS, posts), (PROCESSED_COMMENTS, comments)):
        directory = lake / "processed" / table.prefix / f"{MONTH_PARTITION}=2026-10"
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.parquet"):
            old.unlink()
        (directory / "part-00000-test.c000.snappy.parquet").write_bytes(_parquet(table, rows))
        (directory / ".part-00000-test.c000.snappy.parquet.crc").write_bytes(b"crc")


def _parquet(table: Table, rows: Sequence[dict[str, Any]]) -> bytes:
    schema = arrow_schema(table)
    schema = pa.schema([field.with_nullable(True) for field in schema if field.name != MONTH_PARTITION])
    data = pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)
    sink = io.BytesIO()
    pq.write_table(data, sink)
    return sink.getvalue()
