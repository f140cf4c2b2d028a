"""The raw and quarantine zones: Parquet schemas, object keys and the writer.

Layout (Hive-style, so Athena, Glue and Spark read it as partitions)::

    raw/posts/subreddit=<sub>/fetch_date=<YYYY-MM-DD>/<run_id>.part-00000.parquet
    raw/comments/subreddit=<sub>/fetch_date=<YYYY-MM-DD>/<run_id>.part-00000.parquet
    quarantine/ingest/subreddit=<sub>/fetch_date=<YYYY-MM-DD>/<run_id>.part-00000.parquet

``<sub>`` is the lower-cased subreddit, percent-encoded (``<TEST_SUBREDDIT>`` and
``reddit.com`` are real names); ``fetch_date`` is the date the run started, so a rerun of the
same run lands in the same place. One invocation writes one snapshot set per subreddit and
run: rewriting it overwrites the same object names and removes stale parts, so a rerun never
duplicates. The partition columns live in the path only, never inside the files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.domain.reddit import Quarantined
from lakehouse.lake.store import ObjectStore

ROWS_PER_PART = 50_000

_RUN_METADATA = [
    pa.field("fetched_at", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("source_endpoint", pa.string(), nullable=False),
]

POST_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("subreddit_name", pa.string(), nullable=False),
        pa.field("author", pa.string()),
        pa.field("author_fullname", pa.string()),
        pa.field("title", pa.string(), nullable=False),
        pa.field("selftext", pa.string()),
        pa.field("url", pa.string()),
        pa.field("permalink", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("created_utc", pa.float64(), nullable=False),
        pa.field("edited_utc", pa.float64()),
        pa.field("score", pa.int64()),
        pa.field("upvote_ratio", pa.float64()),
        pa.field("num_comments", pa.int64()),
        pa.field("over_18", pa.bool_()),
        pa.field("stickied", pa.bool_()),
        pa.field("is_self", pa.bool_()),
        pa.field("promoted", pa.bool_()),
        pa.field("distinguished", pa.string()),
        pa.field("link_flair_text", pa.string()),
        pa.field("removed_by_category", pa.string()),
        pa.field("payload", pa.string(), nullable=False),
        *_RUN_METADATA,
    ]
)

COMMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("post_id", pa.string(), nullable=False),
        pa.field("parent_id", pa.string()),
        pa.field("subreddit_name", pa.string()),
        pa.field("author", pa.string()),
        pa.field("author_fullname", pa.string()),
        pa.field("body", pa.string()),
        pa.field("created_utc", pa.float64(), nullable=False),
        pa.field("edited_utc", pa.float64()),
        pa.field("score", pa.int64()),
        pa.field("depth", pa.int64()),
        pa.field("stickied", pa.bool_()),
        pa.field("distinguished", pa.string()),
        pa.field("payload", pa.string(), nullable=False),
        *_RUN_METADATA,
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("stage", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("object_id", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("payload", pa.string(), nullable=False),
        *_RUN_METADATA,
    ]
)

POSTS_PREFIX = "posts"
COMMENTS_PREFIX = "comments"
INGEST_QUARANTINE_PREFIX = "ingest"


def subreddit_partition(subreddit: str) -> str:
    """The partition value of a subreddit: lower-cased and percent-encoded (Hive unescapes it)."""
    return quote(subreddit.lower(), safe="")


def partition_prefix(table: str, subreddit: str, fetch_date: str) -> str:
    return f"{table}/subreddit={subreddit_partition(subreddit)}/fetch_date={fetch_date}/"


def fetch_date_of(run_started_at: datetime) -> str:
    return run_started_at.astimezone(UTC).strftime("%Y-%m-%d")


def to_parquet(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> bytes:
    table = pa.Table.from_pylist(list(rows), schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def write_snapshot_set(
    store: ObjectStore,
    *,
    table: str,
    subreddit: str,
    fetch_date: str,
    run_id: str,
    rows: Sequence[dict[str, Any]],
    schema: pa.Schema,
) -> list[str]:
    """Write one run's rows for one subreddit as ``<run_id>.part-NNNNN.parquet``; remove stale parts.

    Returns the URIs written. Writing nothing still clears stale parts of an earlier attempt.
    """
    prefix = partition_prefix(table, subreddit, fetch_date)
    run_prefix = f"{prefix}{_safe_run_id(run_id)}.part-"
    uris = []
    keys = []
    for part, start in enumerate(range(0, len(rows), ROWS_PER_PART)):
        key = f"{run_prefix}{part:05d}.parquet"
        uris.append(store.put(key, to_parquet(rows[start : start + ROWS_PER_PART], schema)))
        keys.append(key)
    for stale in set(store.list(run_prefix)) - set(keys):
        store.delete(stale)
    return uris


def quarantine_rows(
    items: Sequence[tuple[Quarantined, str]], *, stage: str, run_id: str, fetched_at: datetime
) -> list[dict[str, Any]]:
    """Quarantine rows from (value, source endpoint) pairs."""
    return [
        {
            "stage": stage,
            "kind": item.kind,
            "object_id": item.object_id,
            "reason": item.reason,
            "payload": item.payload,
            "fetched_at": fetched_at,
            "run_id": run_id,
            "source_endpoint": endpoint,
        }
        for item, endpoint in items
    ]


def _safe_run_id(run_id: str) -> str:
    return quote(run_id, safe="-_.")
