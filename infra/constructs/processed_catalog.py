"""The lake in the Glue Data Catalog: one database, one table per dataset analysts query.

``processed_posts`` and ``processed_comments`` are partitioned by ``created_month`` (``yyyy-MM``,
the UTC month a post was created) and use Athena partition projection: a new month is
queryable the moment the job writes it, with no crawler, ``MSCK REPAIR`` or ``ADD PARTITION``
step to forget. ``post_exclusions`` holds one directory per job run (``job_run=<id>``); run ids
cannot be enumerated, so its partition is *injected*: a query names the run it reconciles. In the
analytics zone, ``opportunity_scores`` is projected over the prompt versions the scorer ships (an
enum) and ``llm_costs`` over its days (``yyyy-MM-dd``). The Publish step adds the views.

The columns derive from the tables' one declaration (``lakehouse.tables``), as the job's output
select does: a column added there reaches the job and the catalog alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lakehouse.domain.patterns import EARLIEST_CREATED_UTC
from lakehouse.serving import QUERIED_TABLES
from lakehouse.tables import MONTH_PARTITION, PROMPT_PARTITION, SCORED_DATE_PARTITION, ColumnType, Table
from lambdas.score.prompt import PROMPTS_DIR

__all__ = ["CATALOG_TABLES", "FIRST_REDDIT_MONTH", "ProcessedCatalog", "catalog_columns"]

_TYPES: Mapping[ColumnType, glue.Type] = MappingProxyType(
    {
        ColumnType.STRING: glue.Schema.STRING,
        ColumnType.DOUBLE: glue.Schema.DOUBLE,
        ColumnType.BIGINT: glue.Schema.BIG_INT,
        ColumnType.INT: glue.Schema.INTEGER,
        ColumnType.BOOLEAN: glue.Schema.BOOLEAN,
        ColumnType.TIMESTAMP: glue.Schema.TIMESTAMP,
        ColumnType.STRING_ARRAY: glue.Schema.array(glue.Schema.STRING),
    }
)
# Reddit opened in June 2005; no post can be older.
FIRST_REDDIT_MONTH = datetime.fromtimestamp(EARLIEST_CREATED_UTC, UTC).strftime("%Y-%m")
CATALOG_TABLES: tuple[Table, ...] = QUERIED_TABLES
# The ledger's first possible day: scoring arrived in December 2026.
FIRST_SCORED_DATE = "2026-12-01"


def prompt_versions() -> list[str]:
    """Every prompt version the scorer ships (``lambdas/score/prompts/<version>/``): the scores' partitions."""
    return sorted(path.name for path in PROMPTS_DIR.iterdir() if path.is_dir())


def catalog_columns(table: Table) -> list[glue.Column]:
    """The table's columns inside its files (the partition is the table's partition key)."""
    return [glue.Column(name=column.name, type=_TYPES[column.type]) for column in table.file_columns]


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
        analytics_bucket: s3.IBucket,
        removal_policy: cdk.RemovalPolicy,
        specs: Sequence[Table] = CATALOG_TABLES,
    ) -> None:
        """Tables are metadata only: removing them never touches the objects in the zones' buckets."""
        super().__init__(scope, construct_id)
        self.database = glue.Database(
            self,
            "Database",
            database_name=database_name,
            description="Reddit lakehouse tables for Athena: processed posts, comments and exclusions, opportunity "
            "scores and the LLM cost ledger, and the analysts' views.",
            removal_policy=removal_policy,
        )
        self.tables = MappingProxyType(
            {
                spec.name: self._table(
                    spec, {"processed": processed_bucket, "analytics": analytics_bucket}[spec.zone], removal_policy
                )
                for spec in specs
            }
        )

    def _table(self, spec: Table, bucket: s3.IBucket, removal_policy: cdk.RemovalPolicy) -> glue.S3Table:
        location = f"s3://{bucket.bucket_name}/{spec.prefix}/"
        partition = spec.partition
        if partition is None:
            raise ValueError(f"{spec.name}: a catalog table here is partitioned (projection needs a key)")
        if partition == MONTH_PARTITION:
            projection = glue.PartitionProjectionConfiguration.date(
                min=FIRST_REDDIT_MONTH,
                max="NOW",
                format="yyyy-MM",
                step=glue.DateProjectionStep(interval=1, interval_unit=glue.DateIntervalUnit.MONTHS),
            )
        elif partition == PROMPT_PARTITION:
            projection = glue.PartitionProjectionConfiguration.enum(values=prompt_versions())
        elif partition == SCORED_DATE_PARTITION:
            projection = glue.PartitionProjectionConfiguration.date(
                min=FIRST_SCORED_DATE,
                max="NOW",
                format="yyyy-MM-dd",
                step=glue.DateProjectionStep(interval=1, interval_unit=glue.DateIntervalUnit.DAYS),
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
            columns=catalog_columns(spec),
            partition_keys=[glue.Column(name=partition, type=_TYPES[spec.column(partition).type])],
            partition_projection={partition: projection},
            parameters={
                # Hive-style directories (created_month=2024-05/), exactly as Spark's partitionBy writes them.
                "storage.location.template": f"{location}{partition}=${{{partition}}}/",
                "classification": "parquet",
            },
            # The objects are SSE-KMS (S3 decrypts them); has_encrypted_data is for client-side encryption.
            has_encrypted_data=False,
        )
        table.apply_removal_policy(removal_policy)
        return table
