"""Pure DataFrame -> DataFrame transforms of the processing job (no awsglue import: testable locally).

The order the job applies them: normalize -> validate (bad rows to quarantine) -> latest
snapshot per id -> filter what nobody should analyse (counted, with reasons) -> enrich and
scrub PII (one pandas UDF over the shared domain code) -> merge with what processed holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.process_posts import schema
from lakehouse.domain.enrich import sentiment, text_signals
from lakehouse.domain.patterns import ID_REGEX, REMOVED_MARKERS
from lakehouse.domain.pii import Pseudonymizer, scrub_text
from lakehouse.domain.problem_rule import RULE_VERSION, match_problem
from lakehouse.domain.reddit import EARLIEST_CREATED_UTC
from lakehouse.tables import MONTH_PARTITION, PROCESSED_COMMENTS, PROCESSED_POSTS, RAW_COMMENTS, RAW_POSTS, Table

# A post may be created a little "in the future" of the job's clock (clock skew between hosts).
FUTURE_SKEW_SECONDS = 3600
PARTITION_COLUMN = MONTH_PARTITION

# Raw columns and their types (a column missing from an older raw file is added as null), and the
# fields read from the payload (absent from older payloads: the corpus spans 2005-2026 -> null).
RAW_POST_COLUMNS = schema.input_columns(RAW_POSTS)
RAW_COMMENT_COLUMNS = schema.input_columns(RAW_COMMENTS)
PAYLOAD_POST_FIELDS = schema.payload_columns(PROCESSED_POSTS)


def created_month(created_utc: str = "created_utc") -> Column:
    """The partition a row lives in: the UTC month it was created (never changes for a post)."""
    return F.date_format(F.timestamp_seconds(created_utc), "yyyy-MM")


@dataclass(frozen=True, slots=True)
class FilterSettings:
    """What nobody should analyse. Each exclusion is counted by reason; the rest is flagged, not dropped."""

    drop_promoted: bool = True
    drop_stickied: bool = True
    drop_removed_content: bool = True


def normalize(raw: DataFrame, columns: dict[str, T.DataType]) -> DataFrame:
    """Exactly ``columns``, typed; any missing from an older file become null, extra ones are ignored."""
    present = set(raw.columns)
    return raw.select(
        *[
            (F.col(name).cast(dtype) if name in present else F.lit(None).cast(dtype)).alias(name)
            for name, dtype in columns.items()
        ]
    )


def normalize_posts(raw: DataFrame) -> DataFrame:
    """Typed raw posts, plus the processed columns read from the payload."""
    posts = normalize(raw, RAW_POST_COLUMNS)
    for name, (path, dtype) in PAYLOAD_POST_FIELDS.items():
        posts = posts.withColumn(name, F.get_json_object("payload", path).cast(dtype))
    return posts


def _first_failure(checks: Sequence[tuple[str, Column]]) -> Column:
    """The name of the first failed check, or null: ``checks`` are (reason, condition that must hold)."""
    reason = F.lit(None).cast(T.StringType())
    for name, holds in reversed(checks):
        reason = F.when(~F.coalesce(holds, F.lit(False)), F.lit(name)).otherwise(reason)
    return reason


def validate(df: DataFrame, checks: Sequence[tuple[str, Column]]) -> tuple[DataFrame, DataFrame]:
    """Split into rows passing every check and rows with ``reason`` (the first failed check)."""
    flagged = df.withColumn("_reason", _first_failure(checks))
    valid = flagged.where(F.col("_reason").isNull()).drop("_reason")
    invalid = flagged.where(F.col("_reason").isNotNull()).withColumnRenamed("_reason", "reason")
    return valid, invalid


def _payload_field_typed(name: str, path: str, dtype: T.DataType) -> tuple[str, Column]:
    """A payload field present with a value of another type would land as a null: it quarantines instead."""
    text = F.get_json_object("payload", path)
    return (f"{name} is not a {dtype.simpleString()}", text.isNull() | F.col(name).isNotNull())


def post_checks(now_epoch: float) -> list[tuple[str, Column]]:
    created = F.col("created_utc")
    return [
        ("id is not a base36 Reddit id", F.col("id").rlike(ID_REGEX)),
        ("subreddit is missing", F.length(F.trim(F.col("subreddit_name"))) > 0),
        ("title is missing", F.col("title").isNotNull()),
        ("created_utc is missing", created.isNotNull()),
        ("created_utc is before Reddit existed", created >= F.lit(EARLIEST_CREATED_UTC)),
        ("created_utc is in the future", created <= F.lit(now_epoch + FUTURE_SKEW_SECONDS)),
        ("num_comments is negative", F.coalesce(F.col("num_comments"), F.lit(0)) >= 0),
        ("upvote_ratio is outside [0, 1]", F.coalesce(F.col("upvote_ratio"), F.lit(0.5)).between(0.0, 1.0)),
        ("fetched_at is missing", F.col("fetched_at").isNotNull()),
        *(_payload_field_typed(name, path, dtype) for name, (path, dtype) in PAYLOAD_POST_FIELDS.items()),
    ]


def comment_checks(now_epoch: float) -> list[tuple[str, Column]]:
    created = F.col("created_utc")
    return [
        ("id is not a base36 Reddit id", F.col("id").rlike(ID_REGEX)),
        ("post_id is not a base36 Reddit id", F.col("post_id").rlike(ID_REGEX)),
        ("created_utc is missing", created.isNotNull()),
        ("created_utc is before Reddit existed", created >= F.lit(EARLIEST_CREATED_UTC)),
        ("created_utc is in the future", created <= F.lit(now_epoch + FUTURE_SKEW_SECONDS)),
        ("fetched_at is missing", F.col("fetched_at").isNotNull()),
    ]


def latest_snapshot(df: DataFrame, key: str = "id") -> DataFrame:
    """One row per ``key``: the latest fetch wins (engagement only grows); ties go to the higher score."""
    order = Window.partitionBy(key).orderBy(
        F.col("fetched_at").desc(), F.col("score").desc_nulls_last(), F.col("run_id").desc()
    )
    return df.withColumn("_rank", F.row_number().over(order)).where(F.col("_rank") == 1).drop("_rank")


def filter_posts(df: DataFrame, settings: FilterSettings) -> tuple[DataFrame, DataFrame]:
    """Split into posts to keep and posts nobody should analyse, each with its ``reason``."""
    rules: list[tuple[str, Column]] = []
    if settings.drop_promoted:
        rules.append(("promoted", F.coalesce(F.col("promoted"), F.lit(False))))
    if settings.drop_stickied:
        rules.append(("stickied", F.coalesce(F.col("stickied"), F.lit(False))))
    if settings.drop_removed_content:
        removed_body = F.col("selftext").isin(*REMOVED_MARKERS)
        rules.append(("content removed", removed_body & F.col("removed_by_category").isNotNull()))
    reason = F.lit(None).cast(T.StringType())
    for name, excluded in reversed(rules):
        reason = F.when(excluded, F.lit(name)).otherwise(reason)
    flagged = df.withColumn("_reason", reason)
    kept = flagged.where(F.col("_reason").isNull()).drop("_reason")
    dropped = flagged.where(F.col("_reason").isNotNull()).withColumnRenamed("_reason", "reason")
    return kept, dropped


POST_TEXT_SCHEMA = schema.enrichment_schema(PROCESSED_POSTS)


def _post_text_udf(pii_key: bytes) -> object:
    pseudonyms = Pseudonymizer(pii_key)

    @F.pandas_udf(POST_TEXT_SCHEMA)  # type: ignore[call-overload]
    def post_text(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for title, body, url, permalink, domain, flair, subreddit, author in batch.itertuples(
                index=False, name=None
            ):
                # The rule reads the words as written; only its output and the scrubbed text leave.
                problem = match_problem(title, body)
                signals = text_signals(title, body)
                rows.append(
                    {
                        "subreddit": pseudonyms.subreddit(subreddit, author),
                        "title": scrub_text(title, author),
                        "body": scrub_text(body, author),
                        "url": pseudonyms.scrub_profile_subreddits(scrub_text(url, author), author),
                        "permalink": pseudonyms.scrub_profile_subreddits(scrub_text(permalink, author), author),
                        "domain": scrub_text(domain, author),
                        "author_hash": pseudonyms.author(author),
                        "flair": scrub_text(flair, author),
                        "is_problem": problem.is_problem,
                        "problem_signals": list(problem.signals),
                        **signals.as_dict(),
                    }
                )
            yield _frame(rows, POST_TEXT_SCHEMA)

    return post_text


def _frame(rows: Sequence[Mapping[str, Any]], struct: T.StructType) -> pd.DataFrame:
    """The enrichment batch as the declared struct; a declared column the step does not fill is an error."""
    names = struct.fieldNames()
    if rows and rows[0].keys() != set(names):
        raise ValueError(f"enrichment returned {sorted(rows[0])}, the declaration names {sorted(names)}")
    return pd.DataFrame(rows, columns=names)


def _lineage(job_run: str) -> dict[str, Column]:
    """The job's own columns, shared by posts and comments: timestamps, snapshot lineage, partition."""
    return {
        "created_at": F.timestamp_seconds("created_utc"),
        # edited_utc is the edit's epoch; old objects say only ``"edited": true``.
        "edited": F.col("edited_utc").isNotNull()
        | F.coalesce(F.get_json_object("payload", "$.edited") == "true", F.lit(False)),
        "snapshot_fetched_at": F.col("fetched_at"),
        "snapshot_run_id": F.col("run_id"),
        "first_seen_at": F.col("fetched_at"),
        "processed_job_run": F.lit(job_run),
        PARTITION_COLUMN: created_month(),
    }


def enrich_posts(df: DataFrame, pii_key: bytes, job_run: str, table: Table = PROCESSED_POSTS) -> DataFrame:
    """Flag problems, derive text signals, scrub PII; no raw author, e-mail or phone survives."""
    udf = _post_text_udf(pii_key)
    text = udf(  # type: ignore[operator]
        F.struct("title", "selftext", "url", "permalink", "domain", "link_flair_text", "subreddit_name", "author")
    )
    jobs = _lineage(job_run) | {"problem_rule_version": F.lit(RULE_VERSION)}
    return df.withColumn(schema.ENRICHMENT_STRUCT, text).select(*schema.output_select(table, jobs))


COMMENT_TEXT_SCHEMA = schema.enrichment_schema(PROCESSED_COMMENTS)


def _comment_text_udf(pii_key: bytes) -> object:
    pseudonyms = Pseudonymizer(pii_key)

    @F.pandas_udf(COMMENT_TEXT_SCHEMA)  # type: ignore[call-overload]
    def comment_text(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for body, subreddit, author in batch.itertuples(index=False, name=None):
                rows.append(
                    {
                        "body": scrub_text(body, author),
                        "subreddit": pseudonyms.subreddit(subreddit, author) if subreddit else None,
                        "author_hash": pseudonyms.author(author),
                        "sentiment": sentiment(body) if body and body not in REMOVED_MARKERS else 0.0,
                    }
                )
            yield _frame(rows, COMMENT_TEXT_SCHEMA)

    return comment_text


def enrich_comments(df: DataFrame, pii_key: bytes, job_run: str, table: Table = PROCESSED_COMMENTS) -> DataFrame:
    udf = _comment_text_udf(pii_key)
    text = udf(F.struct("body", "subreddit_name", "author"))  # type: ignore[operator]
    return df.withColumn(schema.ENRICHMENT_STRUCT, text).select(*schema.output_select(table, _lineage(job_run)))


def merge_current(existing: DataFrame | None, incoming: DataFrame, key: str) -> DataFrame:
    """What processed holds for the touched partitions, updated by this run: one row per ``key``.

    The newest snapshot wins; ``first_seen_at`` keeps the earliest sighting across both.
    """
    if existing is None:
        return incoming
    both = existing.select(*incoming.columns).unionByName(incoming)
    first_seen = F.min("first_seen_at").over(Window.partitionBy(key))
    order = Window.partitionBy(key).orderBy(
        F.col("snapshot_fetched_at").desc(), F.col("score").desc_nulls_last(), F.col("snapshot_run_id").desc()
    )
    return (
        both.withColumn("_first_seen", first_seen)
        .withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") == 1)
        .withColumn("first_seen_at", F.col("_first_seen"))
        .drop("_rank", "_first_seen")
    )
