"""The local entry point: the same job on Spark local mode over a lake directory.

Glue's job bookmarks become a bookmark file (``state/bookmarks/process_posts.json``) mapping
each raw object already processed to its identity (inode, modification time, size), so an object rewritten since (a
subreddit ingested again under the same run id) is read again, as Glue's S3 bookmarks do. It is
rewritten only after the job's output and its run manifest (``runs/<run_id>/process.json``) are
written, so a crash before then reprocesses the same objects, which changes nothing already right.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from glue_jobs.process_posts.io import LakePaths, read_parquet_files
from glue_jobs.process_posts.process import ProcessSettings, process_raw
from lakehouse.domain.pii import DEVELOPMENT_KEY
from lakehouse.lake.store import LocalObjectStore
from lakehouse.pipeline import RunManifests, record_process_pass

BOOKMARK_KEY = "bookmarks/process_posts.json"


def java17_home() -> str | None:
    """Spark 3.5 needs Java 17; a newer JDK on the same machine breaks it."""
    if (home := os.environ.get("JAVA_HOME")) and "17" in Path(home).name:
        return home
    jvms = Path("/usr/lib/jvm")
    candidates = sorted(p for p in jvms.glob("*17*") if (p / "bin" / "java").is_file()) if jvms.exists() else []
    return str(candidates[0]) if candidates else os.environ.get("JAVA_HOME")


def local_spark(cores: int = 2, shuffle_partitions: int = 8) -> SparkSession:
    """A SparkSession like Glue's executors, on this machine: UTC, dynamic partition overwrite."""
    if java_home := java17_home():
        os.environ["JAVA_HOME"] = java_home
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("reddit-lakehouse-process-posts")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "3g")
        .getOrCreate()
    )


def _raw_files(lake: Path, table: str) -> dict[str, str]:
    """Each raw object of ``table`` (relative to the lake) with its identity: inode, modification time, size.

    Every write replaces the file (a new inode), so a rewrite is seen even where the clock is coarse
    or a copy kept the old modification time.
    """
    root = lake / "raw" / table
    files = sorted(root.rglob("*.parquet")) if root.exists() else []
    return {str(path.relative_to(lake)): _identity(path) for path in files}


def _identity(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}"


def run_local(
    lake: Path,
    *,
    job_run: str,
    now_epoch: float,
    spark: SparkSession | None = None,
    pii_key: bytes = DEVELOPMENT_KEY,
    job_run_id: str = "local",
) -> dict[str, Any]:
    """Process the raw objects no earlier run processed (or rewritten since); return the run's counts.

    ``job_run`` is the pipeline's run id (the lineage column, the run manifest); ``job_run_id``
    stands for Glue's id of this one execution of the job.
    """
    lake = lake.resolve()
    state = LocalObjectStore(lake / "state")
    bookmark = json.loads(state.get(BOOKMARK_KEY) or b'{"processed": {}}')
    raw_posts, raw_comments = _raw_files(lake, "posts"), _raw_files(lake, "comments")
    done: dict[str, str] = bookmark["processed"]
    if isinstance(done, list):  # a lake bookmarked before identities were kept: assume unchanged since
        done = {f: (raw_posts | raw_comments).get(f, "") for f in done}
    new_posts = [f for f, mtime in raw_posts.items() if done.get(f) != mtime]
    new_comments = [f for f, mtime in raw_comments.items() if done.get(f) != mtime]
    spark = spark or local_spark()
    result = process_raw(
        read_parquet_files(spark, [str(lake / f) for f in new_posts]),
        read_parquet_files(spark, [str(lake / f) for f in new_comments]),
        paths=LakePaths(processed=str(lake / "processed"), quarantine=str(lake / "quarantine")),
        settings=ProcessSettings(job_run=job_run, now_epoch=now_epoch, pii_key=pii_key),
    )
    summary = {"raw_objects_read": len(new_posts) + len(new_comments), **result.summary()}
    record_process_pass(RunManifests(LocalObjectStore(lake / "runs")), job_run, summary, job_run_id=job_run_id)
    read = {f: raw_posts[f] for f in new_posts} | {f: raw_comments[f] for f in new_comments}
    bookmark["processed"] = dict(sorted((done | read).items()))
    state.put(BOOKMARK_KEY, json.dumps(bookmark, indent=0).encode())
    return summary
