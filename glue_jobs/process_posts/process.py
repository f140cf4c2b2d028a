"""The job's work, shared by the Glue and the local entry point: raw snapshots in, processed out.

Idempotent: processing the same raw snapshots again yields the same processed rows (the latest
snapshot wins, merged with what processed holds), the same exclusions and the same quarantine
objects. The caller advances its bookmark only after this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from glue_jobs.process_posts import io, schema, transforms
from glue_jobs.process_posts.quality import QualityReport, ZoneCounts, inspect_output
from glue_jobs.process_posts.transforms import PARTITION_COLUMN, FilterSettings
from lakehouse.tables import POST_EXCLUSIONS, PROCESS_QUARANTINE, PROCESSED_COMMENTS, PROCESSED_POSTS, Table


@dataclass(frozen=True)
class ProcessSettings:
    job_run: str
    now_epoch: float
    pii_key: bytes = field(repr=False)
    filters: FilterSettings = field(default_factory=FilterSettings)


@dataclass
class ProcessResult:
    report: QualityReport
    filtered_by_reason: dict[str, int]
    quarantined_by_reason: dict[str, int]
    months_written: dict[str, list[str]]
    # Raw rows read, by table, then the snapshot's run id and lower-cased subreddit (the verify step's
    # check that every row a run ingested reached processing).
    raw_rows_by_run: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "posts": vars(self.report.posts) | {"balanced": self.report.posts.balanced},
            "comments": vars(self.report.comments) | {"balanced": self.report.comments.balanced},
            "filtered_by_reason": self.filtered_by_reason,
            "quarantined_by_reason": self.quarantined_by_reason,
            "months_written": self.months_written,
            "output_rows": self.report.output_rows,
            "quality_breaches": self.report.breaches(),
            "raw_rows_by_run": self.raw_rows_by_run,
        }


def _quarantine_rows(invalid: DataFrame, kind: str, job_run: str) -> DataFrame:
    jobs = {"stage": F.lit("process"), "kind": F.lit(kind), "job_run_id": F.lit(job_run)}
    rows = invalid.withColumnRenamed("id", "object_id")
    return rows.select(*schema.output_select(PROCESS_QUARANTINE, jobs, with_partition=False))


def _by_reason(df: DataFrame) -> dict[str, int]:
    return {row["reason"]: int(row["count"]) for row in df.groupBy("reason").count().collect()}


def _months(df: DataFrame) -> list[str]:
    """The ``created_month`` partitions ``df``'s rows belong to (from created_utc: no UDF runs)."""
    return sorted(row[0] for row in df.select(transforms.created_month()).distinct().collect())


@dataclass
class _Table:
    """One processed table's pass through a run: what it received, what it must write, and where."""

    table: Table
    received: DataFrame
    valid: DataFrame
    invalid: DataFrame
    latest: DataFrame
    kept: DataFrame
    merged: DataFrame
    months: list[str]
    root: str
    quarantine_root: str


def _prepare(
    raw: DataFrame, table: Table, paths: io.LakePaths, settings: ProcessSettings, *, posts: bool
) -> tuple[_Table, DataFrame | None]:
    """Validate, dedupe, (posts: filter,) enrich and merge one table's new raw snapshots; write nothing."""
    received = (
        transforms.normalize_posts(raw) if posts else transforms.normalize(raw, transforms.RAW_COMMENT_COLUMNS)
    ).cache()
    checks = transforms.post_checks(settings.now_epoch) if posts else transforms.comment_checks(settings.now_epoch)
    valid, invalid = transforms.validate(received, checks)
    latest = transforms.latest_snapshot(valid).cache()
    excluded: DataFrame | None = None
    kept = latest
    if posts:
        kept, excluded = transforms.filter_posts(latest, settings.filters)
    # Spread the Python UDF over every core: small inputs otherwise collapse into one partition.
    spread = kept.repartition(kept.sparkSession.sparkContext.defaultParallelism)
    enrich = transforms.enrich_posts if posts else transforms.enrich_comments
    enriched = enrich(spread, settings.pii_key, settings.job_run, table)
    months = _months(kept)
    root = paths.table(table)
    current = io.read_current(received.sparkSession, root, months, table)
    merged = transforms.merge_current(current, enriched, table.key or "").localCheckpoint(eager=True)
    prepared = _Table(
        table, received, valid, invalid, latest, kept, merged, months, root, paths.process_quarantine(table)
    )
    return prepared, excluded


_SNAPSHOT = ("snapshot_fetched_at", "snapshot_run_id")


def _reconcile(item: _Table, excluded: DataFrame | None, paths: io.LakePaths, job_run: str) -> ZoneCounts:
    """What the run received against what it durably wrote, read back from storage, plus what it set aside.

    ``processed`` counts the stored rows that are this run's snapshots (matched by id, fetch time
    and fetch run, so a rerun under the same job run id counts nothing twice). ``superseded`` is
    what the run was right not to write: older snapshots of a post it also read, and snapshots
    older than the one processed already held. ``current_rows`` / ``current_rows_stored`` hold the
    touched months whole (every row the merge kept, carried over from earlier runs included) against
    what those months hold after the write, so a rewrite that loses an older row fails too.
    """
    spark = item.received.sparkSession
    key = item.table.key or ""
    source_key = item.table.column(key).source
    snapshots = item.kept.select(
        F.col(str(source_key)).alias(key), F.col("fetched_at").alias(_SNAPSHOT[0]), F.col("run_id").alias(_SNAPSHOT[1])
    )
    matched = [key, *_SNAPSHOT]
    wins = item.merged.join(snapshots, matched, "left_semi").count()
    stored = io.stored_months(spark, item.root, item.table, item.months)
    return ZoneCounts(
        raw=item.received.count(),
        quarantined=io.count_run_rows(spark, item.quarantine_root, job_run),
        superseded=item.valid.count() - item.latest.count() + item.kept.count() - wins,
        filtered=io.count_run_rows(spark, paths.exclusions, job_run) if excluded is not None else 0,
        processed=stored.join(snapshots, matched, "left_semi").count() if stored is not None else 0,
        current_rows=item.merged.count(),
        current_rows_stored=stored.count() if stored is not None else 0,
    )


def process_raw(
    raw_posts: DataFrame | None,
    raw_comments: DataFrame | None,
    *,
    paths: io.LakePaths,
    settings: ProcessSettings,
) -> ProcessResult:
    """Validate, dedupe, filter, enrich and scrub new raw snapshots; merge them into processed; gate; reconcile.

    The gate (unique ids, keys, ranges, PII residue) decides before anything is written; the
    reconciliation reads back what was written and fails the run (the caller keeps its bookmark,
    so the rerun rewrites the same months) when anything received is unaccounted for.
    """
    report = QualityReport()
    filtered_by_reason: dict[str, int] = {}
    quarantined_by_reason: dict[str, int] = {}
    prepared: list[tuple[_Table, DataFrame | None]] = []
    raw_rows_by_run: dict[str, dict[str, dict[str, int]]] = {}
    for raw, table, kind in ((raw_posts, PROCESSED_POSTS, "t3"), (raw_comments, PROCESSED_COMMENTS, "t1")):
        if raw is None:
            continue
        item, excluded = _prepare(raw, table, paths, settings, posts=table is PROCESSED_POSTS)
        raw_rows_by_run[table.prefix] = _rows_by_run(item.received)  # cached: no second read of raw
        text_columns = [c.name for c in table.columns if c.free_text]
        inspect_output(report, table.prefix, item.merged, table.key or "", text_columns)
        quarantined_by_reason |= {f"{kind}: {k}": v for k, v in _by_reason(item.invalid).items()}
        if excluded is not None:
            filtered_by_reason = _by_reason(excluded)
        prepared.append((item, excluded))

    # The gate decides before anything reaches the processed tables.
    report.enforce()
    for item, excluded in prepared:
        io.write_current(item.merged, item.root)
        if excluded is not None:
            io.write_run_rows(_exclusions(excluded), paths.exclusions, settings.job_run)
        io.write_run_rows(
            _quarantine_rows(item.invalid, item.table.kind or "", settings.job_run),
            item.quarantine_root,
            settings.job_run,
        )
    for item, excluded in prepared:
        setattr(report, item.table.prefix, _reconcile(item, excluded, paths, settings.job_run))
    report.enforce()
    months_written = {item.table.prefix: item.months for item, _ in prepared}
    return ProcessResult(report, filtered_by_reason, quarantined_by_reason, months_written, raw_rows_by_run)


def _rows_by_run(raw: DataFrame) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    subreddit = F.lower(F.coalesce(F.col("subreddit_name"), F.lit("")))
    for row in raw.groupBy("run_id", subreddit.alias("subreddit")).count().collect():
        counts.setdefault(row["run_id"], {})[row["subreddit"]] = int(row["count"])
    return counts


def _exclusions(excluded: DataFrame) -> DataFrame:
    jobs = {
        "reason": F.col("reason"),
        "snapshot_run_id": F.col("run_id"),
        PARTITION_COLUMN: transforms.created_month(),
    }
    return excluded.select(*schema.output_select(POST_EXCLUSIONS, jobs, with_partition=False))
