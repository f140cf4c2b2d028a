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

from glue_jobs.process_posts import io, transforms
from glue_jobs.process_posts.quality import QualityReport, ZoneCounts, inspect_output
from glue_jobs.process_posts.transforms import PARTITION_COLUMN, FilterSettings


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

    def summary(self) -> dict[str, Any]:
        return {
            "posts": vars(self.report.posts) | {"balanced": self.report.posts.balanced},
            "comments": vars(self.report.comments) | {"balanced": self.report.comments.balanced},
            "filtered_by_reason": self.filtered_by_reason,
            "quarantined_by_reason": self.quarantined_by_reason,
            "months_written": self.months_written,
            "output_rows": self.report.output_rows,
            "quality_breaches": self.report.breaches(),
        }


def _quarantine_rows(invalid: DataFrame, kind: str, job_run: str) -> DataFrame:
    return invalid.select(
        F.lit("process").alias("stage"),
        F.lit(kind).alias("kind"),
        F.col("id").alias("object_id"),
        "reason",
        "payload",
        "fetched_at",
        "run_id",
        "source_endpoint",
        F.lit(job_run).alias("job_run_id"),
    )


def _by_reason(df: DataFrame) -> dict[str, int]:
    return {row["reason"]: int(row["count"]) for row in df.groupBy("reason").count().collect()}


def _months(df: DataFrame) -> list[str]:
    """The ``created_month`` partitions ``df``'s rows belong to (from created_utc: no UDF runs)."""
    return sorted(row[0] for row in df.select(transforms.created_month()).distinct().collect())


def process_raw(
    raw_posts: DataFrame | None,
    raw_comments: DataFrame | None,
    *,
    paths: io.LakePaths,
    settings: ProcessSettings,
) -> ProcessResult:
    """Validate, dedupe, filter, enrich and scrub new raw snapshots; merge them into processed; gate."""
    report = QualityReport()
    filtered_by_reason: dict[str, int] = {}
    quarantined_by_reason: dict[str, int] = {}
    months_written: dict[str, list[str]] = {}
    current_tables: list[tuple[DataFrame, str]] = []
    set_aside: list[tuple[DataFrame, str]] = []

    if raw_posts is not None:
        posts = transforms.normalize_posts(raw_posts).cache()
        valid, invalid = transforms.validate(posts, transforms.post_checks(settings.now_epoch))
        latest = transforms.latest_snapshot(valid).cache()
        kept, excluded = transforms.filter_posts(latest, settings.filters)
        # Spread the Python UDF over every core: small inputs otherwise collapse into one partition.
        parallelism = kept.sparkSession.sparkContext.defaultParallelism
        enriched = transforms.enrich_posts(kept.repartition(parallelism), settings.pii_key)
        months = _months(kept)
        current = io.read_current(invalid.sparkSession, paths.posts, months)
        merged = transforms.merge_current(current, enriched, "post_id").localCheckpoint(eager=True)
        valid_count = valid.count()
        report.posts = ZoneCounts(
            raw=posts.count(),
            quarantined=invalid.count(),
            superseded=valid_count - latest.count(),
            filtered=excluded.count(),
            processed=kept.count(),
        )
        inspect_output(report, "posts", merged, "post_id", ["title", "body", "url", "permalink"])
        filtered_by_reason = _by_reason(excluded)
        quarantined_by_reason = {f"t3: {k}": v for k, v in _by_reason(invalid).items()}
        months_written["posts"] = months
        current_tables.append((merged, paths.posts))
        exclusions = excluded.select(
            F.col("id").alias("post_id"),
            "reason",
            F.col("run_id").alias("snapshot_run_id"),
            transforms.created_month().alias(PARTITION_COLUMN),
        )
        set_aside.append((exclusions, paths.exclusions))
        set_aside.append((_quarantine_rows(invalid, "t3", settings.job_run), f"{paths.process_quarantine}/posts"))

    if raw_comments is not None:
        comments = transforms.normalize(raw_comments, transforms.RAW_COMMENT_COLUMNS).cache()
        valid_c, invalid_c = transforms.validate(comments, transforms.comment_checks(settings.now_epoch))
        latest_c = transforms.latest_snapshot(valid_c).cache()
        enriched_c = transforms.enrich_comments(
            latest_c.repartition(latest_c.sparkSession.sparkContext.defaultParallelism), settings.pii_key
        )
        months_c = _months(latest_c)
        current_c = io.read_current(invalid_c.sparkSession, paths.comments, months_c)
        merged_c = transforms.merge_current(current_c, enriched_c, "comment_id").localCheckpoint(eager=True)
        report.comments = ZoneCounts(
            raw=comments.count(),
            quarantined=invalid_c.count(),
            superseded=valid_c.count() - latest_c.count(),
            processed=latest_c.count(),
        )
        inspect_output(report, "comments", merged_c, "comment_id", ["body"])
        quarantined_by_reason |= {f"t1: {k}": v for k, v in _by_reason(invalid_c).items()}
        months_written["comments"] = months_c
        current_tables.append((merged_c, paths.comments))
        set_aside.append((_quarantine_rows(invalid_c, "t1", settings.job_run), f"{paths.process_quarantine}/comments"))

    # The gate decides before anything reaches the processed tables.
    report.enforce()
    for frame, root in current_tables:
        io.write_current(frame, root)
    for frame, root in set_aside:
        io.write_run_rows(frame, root, settings.job_run)
    return ProcessResult(report, filtered_by_reason, quarantined_by_reason, months_written)
