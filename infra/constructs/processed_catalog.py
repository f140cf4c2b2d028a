"""The processed zone in the Glue Data Catalog: one database, one table per dataset the job writes.

``processed_posts`` and ``processed_comments`` are partitioned by ``created_month`` (``yyyy-MM``,
the UTC month a post was created) and use Athena partition projection: a new month is
queryable the moment the job writes it, with no crawler, ``MSCK REPAIR`` or ``ADD PARTITION``
step to forget. ``post_exclusions`` holds one directory per job run (``job_run=<id>``); run ids
cannot be enumerated, so its partition is *injected*: a query names the run it reconciles.

The column lists are the job's output schema written down once here; a Spark test holds them
to what ``glue_jobs.process_posts.transforms`` actually produces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

__all__ = [
    "EXCLUSIONS_PREFIX",
    "FIRST_REDDIT_MONTH",
    "MONTH_PARTITION",
    "POST_EXCLUSIONS",
    "PROCESSED_COMMENTS",
    "PROCESSED_POSTS",
    "ProcessedCatalog",
    "TableSpec",
    "database_name",
]

Columns = tuple[tuple[str, str], ...]
"""(name, Hive type as Athena and Spark's ``simpleString()`` spell it)."""

MONTH_PARTITION = "created_month"
RUN_PARTITION = "job_run"
# Reddit opened in June 2005; no post can be older (lakehouse.domain.reddit.EARLIEST_CREATED_UTC).
FIRST_REDDIT_MONTH = "2005-06"
EXCLUSIONS_PREFIX = "post_exclusions"

_POST_COLUMNS: Columns = (
    ("post_id", "string"),
    ("subreddit", "string"),
    ("title", "string"),
    ("body", "string"),
    ("url", "string"),
    ("permalink", "string"),
    ("domain", "string"),
    ("author_hash", "string"),
    ("created_utc", "double"),
    ("created_at", "timestamp"),
    ("edited", "boolean"),
    ("score", "bigint"),
    ("upvote_ratio", "double"),
    ("num_comments", "bigint"),
    ("num_crossposts", "bigint"),
    ("over_18", "boolean"),
    ("is_self", "boolean"),
    ("is_video", "boolean"),
    ("locked", "boolean"),
    ("spoiler", "boolean"),
    ("distinguished", "string"),
    ("flair", "string"),
    ("is_problem", "boolean"),
    ("problem_signals", "array<string>"),
    ("problem_rule_version", "string"),
    ("sentiment", "double"),
    ("language", "string"),
    ("title_chars", "int"),
    ("body_chars", "int"),
    ("word_count", "int"),
    ("has_question", "boolean"),
    ("has_link", "boolean"),
    ("keywords", "array<string>"),
    ("snapshot_fetched_at", "timestamp"),
    ("snapshot_run_id", "string"),
    ("first_seen_at", "timestamp"),
)
_COMMENT_COLUMNS: Columns = (
    ("comment_id", "string"),
    ("post_id", "string"),
    ("parent_id", "string"),
    ("subreddit", "string"),
    ("body", "string"),
    ("author_hash", "string"),
    ("created_utc", "double"),
    ("created_at", "timestamp"),
    ("edited", "boolean"),
    ("score", "bigint"),
    ("depth", "bigint"),
    ("stickied", "boolean"),
    ("distinguished", "string"),
    ("sentiment", "double"),
    ("snapshot_fetched_at", "timestamp"),
    ("snapshot_run_id", "string"),
    ("first_seen_at", "timestamp"),
)
# glue_jobs.process_posts.process: the excluded posts' id, reason and month, one directory per run.
_EXCLUSION_COLUMNS: Columns = (
    ("post_id", "string"),
    ("reason", "string"),
    ("snapshot_run_id", "string"),
    ("created_month", "string"),
)

_TYPES: Mapping[str, glue.Type] = MappingProxyType(
    {
        "string": glue.Schema.STRING,
        "double": glue.Schema.DOUBLE,
        "bigint": glue.Schema.BIG_INT,
        "int": glue.Schema.INTEGER,
        "boolean": glue.Schema.BOOLEAN,
        "timestamp": glue.Schema.TIMESTAMP,
        "array<string>": glue.Schema.array(glue.Schema.STRING),
    }
)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One processed dataset: its table name, S3 prefix, columns and Hive-style partition column."""

    name: str
    prefix: str
    columns: Columns
    partition: str
    description: str


PROCESSED_POSTS = TableSpec(
    name="processed_posts",
    prefix="posts",
    columns=_POST_COLUMNS,
    partition=MONTH_PARTITION,
    description="One current, PII-scrubbed, enriched row per Reddit post; partitioned by UTC creation month.",
)
PROCESSED_COMMENTS = TableSpec(
    name="processed_comments",
    prefix="comments",
    columns=_COMMENT_COLUMNS,
    partition=MONTH_PARTITION,
    description="One current, PII-scrubbed row per Reddit comment; partitioned by UTC creation month.",
)
POST_EXCLUSIONS = TableSpec(
    name="post_exclusions",
    prefix=EXCLUSIONS_PREFIX,
    columns=_EXCLUSION_COLUMNS,
    partition=RUN_PARTITION,
    description=(
        "Posts a processing run filtered out, with the reason, for reconciliation. "
        "Partition projection is injected: every query must filter job_run = '<Glue job run id>'."
    ),
)


def database_name(project: str, environment: str) -> str:
    """``reddit_lakehouse_dev``: Athena identifiers take underscores, not the resource names' hyphens."""
    return f"{project}_{environment}".replace("-", "_")


class ProcessedCatalog(Construct):
    """The Glue database of one environment and the processed zone's tables in it."""

    database: glue.Database
    tables: Mapping[str, glue.S3Table]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        database_name: str,
        processed_bucket: s3.IBucket,
        removal_policy: cdk.RemovalPolicy,
        specs: Sequence[TableSpec] = (PROCESSED_POSTS, PROCESSED_COMMENTS, POST_EXCLUSIONS),
    ) -> None:
        """Tables are metadata only: removing them never touches the objects in ``processed_bucket``."""
        super().__init__(scope, construct_id)
        self.database = glue.Database(
            self,
            "Database",
            database_name=database_name,
            description="Reddit lakehouse tables for Athena: the processed zone (posts, comments, exclusions).",
            removal_policy=removal_policy,
        )
        self.tables = MappingProxyType(
            {spec.name: self._table(spec, processed_bucket, removal_policy) for spec in specs}
        )

    def _table(self, spec: TableSpec, bucket: s3.IBucket, removal_policy: cdk.RemovalPolicy) -> glue.S3Table:
        location = f"s3://{bucket.bucket_name}/{spec.prefix}/"
        if spec.partition == MONTH_PARTITION:
            projection = glue.PartitionProjectionConfiguration.date(
                min=FIRST_REDDIT_MONTH,
                max="NOW",
                format="yyyy-MM",
                step=glue.DateProjectionStep(interval=1, interval_unit=glue.DateIntervalUnit.MONTHS),
            )
        else:
            projection = glue.PartitionProjectionConfiguration.injected()
        table = glue.S3Table(
            self,
            "".join(part.title() for part in spec.name.split("_")),
            database=self.database,
            table_name=spec.name,
            description=spec.description,
            storage=glue.S3TableStorage.from_bucket(bucket),
            s3_prefix=f"{spec.prefix}/",
            data_format=glue.DataFormat.PARQUET,
            columns=[glue.Column(name=name, type=_TYPES[type_]) for name, type_ in spec.columns],
            partition_keys=[glue.Column(name=spec.partition, type=glue.Schema.STRING)],
            partition_projection={spec.partition: projection},
            parameters={
                # Hive-style directories (created_month=2024-05/), exactly as Spark's partitionBy writes them.
                "storage.location.template": f"{location}{spec.partition}=${{{spec.partition}}}/",
                "classification": "parquet",
            },
            # The objects are SSE-KMS (S3 decrypts them); has_encrypted_data is for client-side encryption.
            has_encrypted_data=False,
        )
        table.apply_removal_policy(removal_policy)
        return table
