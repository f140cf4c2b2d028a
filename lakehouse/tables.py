"""Every table of the lake, declared once: names, types, where each column comes from, where it lives.

The consumers derive what they need from these declarations and write no column list of
their own: the raw zone's Parquet schemas and the Reddit object parser (``lakehouse.lake.zones``,
``lakehouse.domain.reddit``), the Spark job's input types and output select
(``glue_jobs.process_posts.schema``), the Glue Data Catalog tables
(``infra.constructs.processed_catalog``) and, in the serving stages, the Athena and Redshift DDL.
Adding a column here reaches every one of them.

Plain Python on purpose: ``infra`` reads it without importing pyarrow or pyspark.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, StrEnum

__all__ = [
    "COMMENTS",
    "EXCLUSIONS_PREFIX",
    "INGEST_QUARANTINE",
    "LLM_COSTS",
    "MONTH_PARTITION",
    "OPPORTUNITY_DIMENSIONS",
    "OPPORTUNITY_SCORES",
    "POSTS",
    "POST_EXCLUSIONS",
    "PROCESSED_COMMENTS",
    "PROCESSED_POSTS",
    "PROCESS_QUARANTINE",
    "PROCESS_QUARANTINE_PREFIX",
    "PROMPT_PARTITION",
    "RAW_COMMENTS",
    "RAW_POSTS",
    "RUN_PARTITION",
    "SCORED_DATE_PARTITION",
    "Column",
    "ColumnType",
    "Computed",
    "Reader",
    "Table",
]


class ColumnType(StrEnum):
    """A column's type, spelled as Hive, Athena and Spark's ``simpleString()`` spell it."""

    STRING = "string"
    DOUBLE = "double"
    BIGINT = "bigint"
    INT = "int"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    STRING_ARRAY = "array<string>"


class Reader(StrEnum):
    """How a raw column is read from a Reddit object's JSON (``lakehouse.domain.reddit``)."""

    VALUE = "value"  # the field, of the column's type (null when absent or null)
    EDITED = "edited"  # ``edited``: false, true (old posts: edited, time unknown) or the epoch of the edit
    POST_FULLNAME = "post_fullname"  # ``t3_abc`` (a submission's fullname) -> ``abc``
    PAYLOAD = "payload"  # the whole object as JSON text, exactly as received
    RUN = "run"  # written by the stage, not read from Reddit (fetch time, run id, endpoint)


class Computed(Enum):
    """Where a processed column comes from when it is not carried over from a raw column."""

    ENRICHMENT = "enrichment"  # the job's per-post Python step (scrubbed text, problem flag, signals)
    JOB = "job"  # an expression of the job (timestamps, lineage, the partition)


@dataclass(frozen=True, slots=True)
class Column:
    """One column.

    ``field``: for a raw column, the Reddit JSON field it is read from (with ``reader``).
    ``source``: for a processed column, the raw column it carries, a JSONPath into the raw
    payload (``$.locked``), or how the job computes it (:class:`Computed`).
    ``free_text``: unique per row, so Parquet writes it without dictionary and statistics.
    """

    name: str
    type: ColumnType
    nullable: bool = True
    field: str | None = None
    reader: Reader = Reader.VALUE
    source: str | Computed | None = None
    free_text: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A dataset of one zone: its name, the prefix it lives under, its columns, key and partition."""

    name: str
    zone: str
    prefix: str
    columns: tuple[Column, ...]
    key: str | None = None
    partition: str | None = None  # a Hive-style directory (``created_month=2024-05/``), not a file column
    kind: str | None = None  # the Reddit kind it holds (t3, t1)
    description: str = ""

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names {sorted(n for n in names if names.count(n) > 1)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def file_columns(self) -> tuple[Column, ...]:
        """The columns inside the files: the partition column lives in the path only."""
        return tuple(column for column in self.columns if column.name != self.partition)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def with_column(self, column: Column, *, before: str | None = None) -> Table:
        """This table with one more column (before ``before``, else last): how a schema change is tried."""
        columns = list(self.columns)
        index = self.names.index(before) if before else len(columns)
        columns.insert(index, column)
        return replace(self, columns=tuple(columns))


S, D, I64, I32, B, TS, ARR = (
    ColumnType.STRING,
    ColumnType.DOUBLE,
    ColumnType.BIGINT,
    ColumnType.INT,
    ColumnType.BOOLEAN,
    ColumnType.TIMESTAMP,
    ColumnType.STRING_ARRAY,
)

MONTH_PARTITION = "created_month"
RUN_PARTITION = "job_run"
PROMPT_PARTITION = "prompt_version"
SCORED_DATE_PARTITION = "scored_date"
POSTS = "posts"
COMMENTS = "comments"
EXCLUSIONS_PREFIX = "post_exclusions"
INGEST_QUARANTINE_PREFIX = "ingest"
PROCESS_QUARANTINE_PREFIX = "process"

# What every raw row carries about the fetch that produced it.
_RUN_METADATA = (
    Column("fetched_at", TS, nullable=False, reader=Reader.RUN),
    Column("run_id", S, nullable=False, reader=Reader.RUN),
    Column("source_endpoint", S, nullable=False, reader=Reader.RUN),
)

RAW_POSTS = Table(
    name="raw_posts",
    zone="raw",
    prefix=POSTS,
    kind="t3",
    key="id",
    description="What Reddit sent for a submission, per fetch: typed core fields and the whole payload.",
    columns=(
        Column("id", S, nullable=False, field="id"),
        Column("subreddit_name", S, nullable=False, field="subreddit"),
        Column("author", S, field="author"),
        Column("author_fullname", S, field="author_fullname"),
        Column("title", S, nullable=False, field="title", free_text=True),
        Column("selftext", S, field="selftext", free_text=True),
        Column("url", S, field="url", free_text=True),
        Column("permalink", S, field="permalink", free_text=True),
        Column("domain", S, field="domain"),
        Column("created_utc", D, nullable=False, field="created_utc"),
        Column("edited_utc", D, field="edited", reader=Reader.EDITED),
        Column("score", I64, field="score"),
        Column("upvote_ratio", D, field="upvote_ratio"),
        Column("num_comments", I64, field="num_comments"),
        Column("over_18", B, field="over_18"),
        Column("stickied", B, field="stickied"),
        Column("is_self", B, field="is_self"),
        Column("promoted", B, field="promoted"),
        Column("distinguished", S, field="distinguished"),
        Column("link_flair_text", S, field="link_flair_text"),
        Column("removed_by_category", S, field="removed_by_category"),
        Column("payload", S, nullable=False, reader=Reader.PAYLOAD, free_text=True),
        *_RUN_METADATA,
    ),
)

RAW_COMMENTS = Table(
    name="raw_comments",
    zone="raw",
    prefix=COMMENTS,
    kind="t1",
    key="id",
    description="What Reddit sent for a comment, per fetch: typed core fields and the whole payload.",
    columns=(
        Column("id", S, nullable=False, field="id"),
        Column("post_id", S, nullable=False, field="link_id", reader=Reader.POST_FULLNAME),
        Column("parent_id", S, field="parent_id"),
        Column("subreddit_name", S, field="subreddit"),
        Column("author", S, field="author"),
        Column("author_fullname", S, field="author_fullname"),
        Column("body", S, field="body", free_text=True),
        Column("created_utc", D, nullable=False, field="created_utc"),
        Column("edited_utc", D, field="edited", reader=Reader.EDITED),
        Column("score", I64, field="score"),
        Column("depth", I64, field="depth"),
        Column("stickied", B, field="stickied"),
        Column("distinguished", S, field="distinguished"),
        Column("payload", S, nullable=False, reader=Reader.PAYLOAD, free_text=True),
        *_RUN_METADATA,
    ),
)

_QUARANTINE_COLUMNS = (
    Column("stage", S, nullable=False, source=Computed.JOB),
    Column("kind", S, nullable=False, source=Computed.JOB),
    Column("object_id", S),
    Column("reason", S, nullable=False, free_text=True),
    Column("payload", S, nullable=False, free_text=True),
    *_RUN_METADATA,
)
INGEST_QUARANTINE = Table(
    name="ingest_quarantine",
    zone="quarantine",
    prefix=INGEST_QUARANTINE_PREFIX,
    columns=_QUARANTINE_COLUMNS,
    description="Objects ingestion could not type, with the reason and the payload exactly as received.",
)
PROCESS_QUARANTINE = Table(
    name="process_quarantine",
    zone="quarantine",
    prefix=PROCESS_QUARANTINE_PREFIX,
    columns=(*_QUARANTINE_COLUMNS, Column("job_run_id", S, nullable=False, source=Computed.JOB)),
    partition=RUN_PARTITION,
    description="Raw snapshots the processing job refused, with the first broken rule.",
)

E, J = Computed.ENRICHMENT, Computed.JOB

PROCESSED_POSTS = Table(
    name="processed_posts",
    zone="processed",
    prefix=POSTS,
    kind="t3",
    key="post_id",
    partition=MONTH_PARTITION,
    description="One current, PII-scrubbed, enriched row per Reddit post; partitioned by UTC creation month.",
    columns=(
        Column("post_id", S, nullable=False, source="id"),
        Column("subreddit", S, source=E),
        Column("title", S, source=E, free_text=True),
        Column("body", S, source=E, free_text=True),
        Column("url", S, source=E, free_text=True),
        Column("permalink", S, source=E, free_text=True),
        Column("domain", S, source=E),
        Column("author_hash", S, source=E),
        Column("created_utc", D, nullable=False, source="created_utc"),
        Column("created_at", TS, source=J),
        Column("edited", B, source=J),
        Column("score", I64, source="score"),
        Column("upvote_ratio", D, source="upvote_ratio"),
        Column("num_comments", I64, source="num_comments"),
        Column("num_crossposts", I64, source="$.num_crossposts"),
        Column("over_18", B, source="over_18"),
        Column("is_self", B, source="is_self"),
        Column("is_video", B, source="$.is_video"),
        Column("locked", B, source="$.locked"),
        Column("spoiler", B, source="$.spoiler"),
        Column("distinguished", S, source="distinguished"),
        Column("flair", S, source=E),
        Column("is_problem", B, source=E),
        Column("problem_signals", ARR, source=E),
        Column("problem_rule_version", S, source=J),
        Column("sentiment", D, source=E),
        Column("language", S, source=E),
        Column("title_chars", I32, source=E),
        Column("body_chars", I32, source=E),
        Column("word_count", I32, source=E),
        Column("has_question", B, source=E),
        Column("has_link", B, source=E),
        Column("keywords", ARR, source=E),
        Column("snapshot_fetched_at", TS, source=J),
        Column("snapshot_run_id", S, source=J),
        Column("first_seen_at", TS, source=J),
        Column("processed_job_run", S, source=J),
        Column(MONTH_PARTITION, S, nullable=False, source=J),
    ),
)

PROCESSED_COMMENTS = Table(
    name="processed_comments",
    zone="processed",
    prefix=COMMENTS,
    kind="t1",
    key="comment_id",
    partition=MONTH_PARTITION,
    description="One current, PII-scrubbed row per Reddit comment; partitioned by UTC creation month.",
    columns=(
        Column("comment_id", S, nullable=False, source="id"),
        Column("post_id", S, nullable=False, source="post_id"),
        Column("parent_id", S, source="parent_id"),
        Column("subreddit", S, source=E),
        Column("body", S, source=E, free_text=True),
        Column("author_hash", S, source=E),
        Column("created_utc", D, nullable=False, source="created_utc"),
        Column("created_at", TS, source=J),
        Column("edited", B, source=J),
        Column("score", I64, source="score"),
        Column("depth", I64, source="depth"),
        Column("stickied", B, source="stickied"),
        Column("distinguished", S, source="distinguished"),
        Column("sentiment", D, source=E),
        Column("snapshot_fetched_at", TS, source=J),
        Column("snapshot_run_id", S, source=J),
        Column("first_seen_at", TS, source=J),
        Column("processed_job_run", S, source=J),
        Column(MONTH_PARTITION, S, nullable=False, source=J),
    ),
)

POST_EXCLUSIONS = Table(
    name="post_exclusions",
    zone="processed",
    prefix=EXCLUSIONS_PREFIX,
    key="post_id",
    partition=RUN_PARTITION,
    description=(
        "Posts a processing run filtered out, with the reason, for reconciliation. "
        "Partition projection is injected: every query must filter job_run = '<Glue job run id>'."
    ),
    columns=(
        Column("post_id", S, nullable=False, source="id"),
        Column("reason", S, nullable=False, source=J),
        Column("snapshot_run_id", S, source=J),
        Column(MONTH_PARTITION, S, source=J),
        Column(RUN_PARTITION, S, nullable=False, source=J),
    ),
)

# ---------------------------------------------------------------------------- analytics: opportunity scores

OPPORTUNITY_DIMENSIONS = (
    "market_demand",
    "pain_intensity",
    "monetization_potential",
    "market_gap",
    "technical_feasibility",
)
"""The five dimensions a problem post is scored on (0-100 each): the answer schema, the rubric's
sections, the weights of ``cdk.json`` and the score table's columns all follow this tuple."""

# Who scored what, with which model and prompt, and what it cost: shared by the scores and the ledger.
_SCORE_KEY = (
    Column("post_id", S, nullable=False),
    Column("content_hash", S, nullable=False),
    Column("model_id", S, nullable=False),
)
_SCORE_USAGE = (
    Column("backend", S, nullable=False),
    Column("mode", S, nullable=False),  # on_demand | batch
    Column("status", S, nullable=False),  # scored | failed (| deferred in the ledger)
    Column("failure_reason", S, free_text=True),
    Column("model_calls", I32, nullable=False),
    Column("input_tokens", I64, nullable=False),
    Column("output_tokens", I64, nullable=False),
    Column("cost_usd", D, nullable=False),
    Column("scored_at", TS, nullable=False),
    Column("run_id", S, nullable=False),
)

OPPORTUNITY_SCORES = Table(
    name="opportunity_scores",
    zone="analytics",
    prefix="opportunity_scores",
    key="post_id",
    partition=PROMPT_PARTITION,
    description=(
        "One current assessment per problem post and prompt version: the five dimensions, the weighted "
        "opportunity score and tier, the concept, and verbatim evidence; a failed assessment keeps its reason "
        "and no score. Partitioned by prompt version (one object each)."
    ),
    columns=(
        *_SCORE_KEY,
        Column("subreddit", S),
        Column("created_utc", D),
        Column("is_opportunity", B),
        Column("opportunity_reason", S, free_text=True),
        *(Column(name, I32) for name in OPPORTUNITY_DIMENSIONS),
        Column("opportunity_score", D),
        Column("tier", S),
        Column("app_concept", S, free_text=True),
        Column("core_functions", ARR),
        Column("target_user", S, free_text=True),
        Column("evidence", ARR),
        *_SCORE_USAGE,
        Column(PROMPT_PARTITION, S, nullable=False),
    ),
)

LLM_COSTS = Table(
    name="llm_costs",
    zone="analytics",
    prefix="llm_costs",
    partition=SCORED_DATE_PARTITION,
    description=(
        "The scoring ledger: one row per post a run sent to a backend, with its calls, tokens and cost "
        "(what was paid, including answers that failed validation). No post text. Partitioned by the "
        "run's start date."
    ),
    columns=(
        *_SCORE_KEY,
        *_SCORE_USAGE,
        Column(PROMPT_PARTITION, S, nullable=False),
        Column(SCORED_DATE_PARTITION, S, nullable=False),
    ),
)
