"""The job's I/O: where raw snapshots come from and where processed, excluded and quarantined rows go.

Both entry points share it. Processed tables are Hive-partitioned by ``created_month``
(``yyyy-MM``): analysts query date ranges, and within a month files are sorted by subreddit and
time so Parquet row-group statistics prune a one-subreddit query. A run rewrites only the
months it touched (dynamic partition overwrite), each as few files as its size needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from glue_jobs.process_posts.transforms import PARTITION_COLUMN

# Rows per output file: ~100-250 MB of Parquet for posts, well above the small-file zone.
MAX_RECORDS_PER_FILE = 500_000


@dataclass(frozen=True, slots=True)
class LakePaths:
    """Table roots, as ``s3://bucket/prefix`` on Glue or local paths/``file://`` URIs locally."""

    processed: str
    quarantine: str

    @property
    def posts(self) -> str:
        return f"{self.processed.rstrip('/')}/posts"

    @property
    def comments(self) -> str:
        return f"{self.processed.rstrip('/')}/comments"

    @property
    def exclusions(self) -> str:
        return f"{self.processed.rstrip('/')}/post_exclusions"

    @property
    def process_quarantine(self) -> str:
        return f"{self.quarantine.rstrip('/')}/process"


def read_parquet_files(spark: SparkSession, files: list[str]) -> DataFrame | None:
    """The given Parquet files as one DataFrame; schemas that drifted over time are merged."""
    if not files:
        return None
    return spark.read.option("mergeSchema", "true").parquet(*files)


def read_current(spark: SparkSession, root: str, months: list[str]) -> DataFrame | None:
    """What a processed table holds for ``months``; None if the table does not exist yet."""
    if not months:
        return None
    try:
        table = spark.read.parquet(root)
    except AnalysisException:
        return None
    return table.where(F.col(PARTITION_COLUMN).isin(months))


def write_current(df: DataFrame, root: str) -> None:
    """Replace the months present in ``df`` (and only those) with ``df``'s rows."""
    (
        df.repartition(PARTITION_COLUMN)
        .sortWithinPartitions("subreddit", "created_utc")
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .option("maxRecordsPerFile", MAX_RECORDS_PER_FILE)
        .partitionBy(PARTITION_COLUMN)
        .parquet(root)
    )


def write_run_rows(df: DataFrame, root: str, job_run: str) -> None:
    """Rows one job run set aside (quarantine, exclusions): ``root/job_run=<id>/``, rewritten by a rerun."""
    df.coalesce(1).write.mode("overwrite").parquet(f"{root.rstrip('/')}/job_run={job_run}")
