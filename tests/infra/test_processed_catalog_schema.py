"""The catalog's columns are what the job writes: checked against the transforms' own output schema.

Spark infers the enriched schema from the plan alone (nothing runs over an empty frame), so
this costs only the shared SparkSession. A column added to ``enrich_posts`` without a catalog
change, or a type that drifts (``int`` vs ``bigint``), fails here instead of in Athena.
"""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from glue_jobs.process_posts import transforms
from glue_jobs.process_posts.local_entry import local_spark
from infra.constructs.processed_catalog import PROCESSED_COMMENTS, PROCESSED_POSTS, TableSpec

pytestmark = pytest.mark.spark

KEY = b"catalog-schema-test-key-32-bytes"


@pytest.fixture(scope="module")
def spark() -> SparkSession:
    # Same settings as tests/glue_jobs' session: getOrCreate then shares one JVM per test run.
    return local_spark(cores=2, shuffle_partitions=2)


def _empty(spark: SparkSession, columns: dict[str, T.DataType]) -> DataFrame:
    schema = T.StructType([T.StructField(name, dtype) for name, dtype in columns.items()])
    return spark.createDataFrame([], schema)


def _as_written(spec: TableSpec) -> list[tuple[str, str]]:
    """Columns in file order, then the partition column Spark's partitionBy moves into the path."""
    return [*spec.columns, (spec.partition, "string")]


def _schema(frame: DataFrame) -> list[tuple[str, str]]:
    return [(field.name, field.dataType.simpleString()) for field in frame.schema.fields]


def test_processed_posts_columns_match_enrich_posts(spark: SparkSession) -> None:
    raw = _empty(spark, transforms.RAW_POST_COLUMNS)
    enriched = transforms.enrich_posts(transforms.normalize_posts(raw), KEY)
    assert _schema(enriched) == _as_written(PROCESSED_POSTS)


def test_processed_comments_columns_match_enrich_comments(spark: SparkSession) -> None:
    raw = _empty(spark, transforms.RAW_COMMENT_COLUMNS)
    enriched = transforms.enrich_comments(transforms.normalize(raw, transforms.RAW_COMMENT_COLUMNS), KEY)
    assert _schema(enriched) == _as_written(PROCESSED_COMMENTS)
