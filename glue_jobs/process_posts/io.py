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
from pyspark.sql import types as T

from glue_jobs.process_posts.schema import SPARK_TYPES
from glue_jobs.process_posts.transforms import PARTITION_COLUMN
from lakehouse.tables import EXCLUSIONS_PREFIX, PROCESS_QUARANTINE_PREFIX, RUN_PARTITION, Table

# Rows per output file: ~100-250 MB of Parquet for posts, well above the small-file zone.
MAX_RECORDS_PER_FILE = 500_000


@dataclass(frozen=True, slots=True)
class LakePaths:
    """Table roots, as ``s3://bucket/prefix`` on Glue or local paths/``file://`` URIs locally."""

    processed: str
    quarantine: str

    def table(self, table: Table) -> str:
        """A processed table's root."""
        return f"{self.processed.rstrip('/')}/{table.prefix}"

    @property
    def exclusions(self) -> str:
        return f"{self.processed.rstrip('/')}/{EXCLUSIONS_PREFIX}"

    def process_quarantine(self, table: Table) -> str:
        return f"{self.quarantine.rstrip('/')}/{PROCESS_QUARANTINE_PREFIX}/{table.prefix}"


class ProcessedTableUnreadable(Exception):
    """A processed table exists but cannot be read: rewriting its months from new rows alone would lose data."""


def table_struct(table: Table) -> T.StructType:
    """The Spark schema of a processed table as the job writes it (file columns, then the partition)."""
    return T.StructType([T.StructField(column.name, SPARK_TYPES[column.type]) for column in table.columns])


def path_exists(spark: SparkSession, path: str) -> bool:
    """Whether anything is stored at ``path`` (Hadoop's view: local, file:// or s3://); a failed probe raises."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return bool(hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hadoop_path))


def read_parquet_files(spark: SparkSession, files: list[str]) -> DataFrame | None:
    """The given Parquet files as one DataFrame; schemas that drifted over time are merged."""
    if not files:
        return None
    return spark.read.option("mergeSchema", "true").parquet(*files)


def read_current(spark: SparkSession, root: str, months: list[str], table: Table) -> DataFrame | None:
    """What a processed table holds for ``months``, materialised; None only where the table does not exist yet.

    "No table yet" is a path that does not exist. Anything else that stops the read (a denied
    listing, a file that is no Parquet, a root that is no directory) raises
    :class:`ProcessedTableUnreadable` naming the path, before the job writes anything: the
    dynamic partition overwrite would otherwise rewrite those months from the new rows alone.
    """
    if not months:
        return None
    try:
        if not path_exists(spark, root):
            return None
        current = spark.read.schema(table_struct(table)).parquet(root).where(F.col(PARTITION_COLUMN).isin(months))
        return current.localCheckpoint(eager=True)
    except Exception as exc:
        raise ProcessedTableUnreadable(
            f"cannot read processed table {root} (months {', '.join(months)}): {exc}"
        ) from exc


def stored_months(spark: SparkSession, root: str, table: Table, months: list[str]) -> DataFrame | None:
    """What ``root`` now holds for ``months``, read from storage (not from the frame that was written)."""
    if not months or not path_exists(spark, root):
        return None
    return spark.read.schema(table_struct(table)).parquet(root).where(F.col(PARTITION_COLUMN).isin(months))


def count_run_rows(spark: SparkSession, root: str, job_run: str) -> int:
    """Rows one job run set aside under ``root`` (see :func:`write_run_rows`), read back from storage."""
    path = run_rows_path(root, job_run)
    return spark.read.parquet(path).count() if path_exists(spark, path) else 0


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
    df.coalesce(1).write.mode("overwrite").parquet(run_rows_path(root, job_run))


def run_rows_path(root: str, job_run: str) -> str:
    return f"{root.rstrip('/')}/{RUN_PARTITION}={job_run}"
