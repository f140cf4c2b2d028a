"""The job's Spark schemas, derived from the lake's declarations (``lakehouse.tables``): no column list here.

- input: a raw table's columns with their Spark types (``normalize`` selects exactly these);
- payload fields: processed columns read from the raw JSON payload (``$.locked``);
- enrichment: the struct the per-post Python step returns (its columns, in declaration order);
- output: the select that turns a prepared frame into a processed table, column by column from
  its source (a raw column, the payload, the enrichment struct, or an expression of the job).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.tables import ColumnType, Computed, Table

SPARK_TYPES: Mapping[ColumnType, T.DataType] = {
    ColumnType.STRING: T.StringType(),
    ColumnType.DOUBLE: T.DoubleType(),
    ColumnType.BIGINT: T.LongType(),
    ColumnType.INT: T.IntegerType(),
    ColumnType.BOOLEAN: T.BooleanType(),
    ColumnType.TIMESTAMP: T.TimestampType(),
    ColumnType.STRING_ARRAY: T.ArrayType(T.StringType()),
}
ENRICHMENT_STRUCT = "_text"


def input_columns(table: Table) -> dict[str, T.DataType]:
    """A raw table's file columns and their Spark types."""
    return {column.name: SPARK_TYPES[column.type] for column in table.file_columns}


def payload_columns(table: Table) -> dict[str, tuple[str, T.DataType]]:
    """Processed columns read from the raw payload: name -> (JSONPath, Spark type)."""
    return {
        column.name: (column.source, SPARK_TYPES[column.type])
        for column in table.columns
        if isinstance(column.source, str) and column.source.startswith("$.")
    }


def enrichment_schema(table: Table) -> T.StructType:
    """What the enrichment step returns for ``table``: its columns computed in Python, in order."""
    return T.StructType(
        [T.StructField(c.name, SPARK_TYPES[c.type]) for c in table.columns if c.source is Computed.ENRICHMENT]
    )


def output_select(
    table: Table, expressions: Mapping[str, SparkColumn], *, with_partition: bool = True
) -> list[SparkColumn]:
    """The select producing ``table`` (file columns, then the partition) from a prepared frame.

    ``expressions`` holds the job's own columns (:attr:`Computed.JOB`); one the declaration names
    but the job does not compute is an error naming it, never a silent null. A column without a
    source is the prepared frame's column of the same name. ``with_partition=False`` leaves out a
    partition the writer puts in the path itself (one directory per job run).
    """
    columns = table.columns if with_partition else table.file_columns
    missing = [c.name for c in columns if c.source is Computed.JOB and c.name not in expressions]
    if missing:
        raise ValueError(f"{table.name}: the job computes no expression for {', '.join(missing)}")
    select = []
    for column in columns:
        source = column.source
        if source is Computed.JOB:
            value = expressions[column.name]
        elif source is Computed.ENRICHMENT:
            value = F.col(f"{ENRICHMENT_STRUCT}.{column.name}")
        elif isinstance(source, str) and source.startswith("$."):
            value = F.col(column.name)
        else:
            value = F.col(source or column.name)
        select.append(value.cast(SPARK_TYPES[column.type]).alias(column.name))
    return select
