"""The local entry point: the same job on Spark local mode over a lake directory.

Glue's job bookmarks become a bookmark file (``state/bookmarks/process_posts.json``) listing
the raw objects already processed; it is rewritten only after the job's output is written, so
a crash before then reprocesses the same objects, which changes nothing already right.
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


def _raw_files(lake: Path, table: str) -> list[str]:
    root = lake / "raw" / table
    return sorted(str(p.relative_to(lake)) for p in root.rglob("*.parquet")) if root.exists() else []


def run_local(
    lake: Path, *, job_run: str, now_epoch: float, spark: SparkSession | None = None, pii_key: bytes = DEVELOPMENT_KEY
) -> dict[str, Any]:
    """Process the raw objects no earlier run processed; return the run's counts."""
    lake = lake.resolve()
    state = LocalObjectStore(lake / "state")
    bookmark = json.loads(state.get(BOOKMARK_KEY) or b'{"processed": []}')
    done = set(bookmark["processed"])
    new_posts = [f for f in _raw_files(lake, "posts") if f not in done]
    new_comments = [f for f in _raw_files(lake, "comments") if f not in done]
    spark = spark or local_spark()
    result = process_raw(
        read_parquet_files(spark, [str(lake / f) for f in new_posts]),
        read_parquet_files(spark, [str(lake / f) for f in new_comments]),
        paths=LakePaths(processed=str(lake / "processed"), quarantine=str(lake / "quarantine")),
        settings=ProcessSettings(job_run=job_run, now_epoch=now_epoch, pii_key=pii_key),
    )
    bookmark["processed"] = sorted(done | set(new_posts) | set(new_comments))
    state.put(BOOKMARK_KEY, json.dumps(bookmark, indent=0).encode())
    return {"raw_objects_read": len(new_posts) + len(new_comments), **result.summary()}
