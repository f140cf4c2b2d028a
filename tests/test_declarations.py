"""One declaration per table: a column added to ``lakehouse.tables`` reaches every consumer with no other edit.

The child process edits the declarations before anything imports them (as an edit of the file
would), then runs the consumers as they are: the Reddit parser and the raw Parquet writer, the
Spark job end to end, and the Glue catalog's columns.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

_CHILD = """
import json, sys
from pathlib import Path
from datetime import UTC, datetime

import lakehouse.tables as tables
from lakehouse.tables import Column, ColumnType

# The edit under test: Reddit's "gilded" count into raw, carried into processed posts.
tables.RAW_POSTS = tables.RAW_POSTS.with_column(Column("gilded", ColumnType.BIGINT, field="gilded"), before="payload")
tables.PROCESSED_POSTS = tables.PROCESSED_POSTS.with_column(
    Column("gilded", ColumnType.BIGINT, source="gilded"), before="created_month"
)

from glue_jobs.process_posts.local_entry import local_spark, run_local
from infra.constructs.processed_catalog import CATALOG_TABLES, catalog_columns
from lakehouse.domain.reddit import parse_post
from lakehouse.lake.store import LocalObjectStore
from lakehouse.lake.zones import POST_SCHEMA, write_snapshot_set

lake = Path(sys.argv[1])
post = {"id": "g1", "subreddit": "python", "title": "How do I fix this?", "created_utc": 1.7e9, "gilded": 3}
row = parse_post(post)
wrong = parse_post({**post, "gilded": "three"})
fetched = datetime.fromtimestamp(1.7e9 + 60, UTC)
row |= {"fetched_at": fetched, "run_id": "r1", "source_endpoint": "/r/python/new"}
write_snapshot_set(
    LocalObjectStore(lake / "raw"), table="posts", subreddit="python", fetch_date="2023-11-14", run_id="r1",
    rows=[row], schema=POST_SCHEMA,
)
summary = run_local(lake, job_run="j1", now_epoch=1.7e9 + 3600, spark=local_spark(cores=1, shuffle_partitions=1))
import pyarrow.dataset as ds
processed = ds.dataset(lake / "processed" / "posts", format="parquet", partitioning="hive").to_table().to_pylist()
print(json.dumps({
    "parsed": row["gilded"],
    "wrong_type": wrong.reason,
    "raw_schema": "gilded" in POST_SCHEMA.names,
    "processed": [r["gilded"] for r in processed],
    "balanced": summary["posts"]["balanced"],
    "catalog": [c.name for c in catalog_columns(CATALOG_TABLES[0])][-4:],
}))
"""


def test_a_column_added_to_the_declarations_reaches_parser_writer_job_and_catalog(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "lake")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])

    assert facts["parsed"] == 3
    assert facts["wrong_type"] == "t3 gilded 'three' is not a bigint"
    assert facts["raw_schema"]
    assert facts["processed"] == [3]
    assert facts["balanced"]
    assert facts["catalog"] == ["snapshot_run_id", "first_seen_at", "processed_job_run", "gilded"]
