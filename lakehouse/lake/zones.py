"""The raw and quarantine zones: Parquet schemas, object keys and the writer.

Layout (Hive-style, so Athena, Glue and Spark read it as partitions)::

    raw/posts/subreddit=<sub>/fetch_date=<YYYY-MM-DD>/<run_id>.part-00000.parquet
    raw/comments/subreddit=<sub>/fetch_date=<YYYY-MM-DD>/<run_id>.part-00000.parquet
    quarantine/ingest/subreddit=<sub>/fetch_date=<YYYY-MM-DD>/<run_id>.part-00000.parquet

``<sub>`` is the lower-cased subreddit, percent-encoded (``<TEST_SUBREDDIT>`` and
``reddit.com`` are real names); ``fetch_date`` is the date the run started, so a rerun of the
same run lands in the same place. One invocation writes one snapshot set per subreddit and
run: rewriting it overwrites the same object names and removes stale parts, so a rerun never
duplicates. The partition columns live in the path only, never inside the files.
"""

from __future__ import annotations

import functools
import io
import math
import operator
import re
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.domain.reddit import Quarantined
from lakehouse.lake.store import ObjectStore
from lakehouse.tables import INGEST_QUARANTINE, RAW_COMMENTS, RAW_POSTS, ColumnType, Table

ROWS_PER_PART = 50_000

_ARROW_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.DOUBLE: pa.float64(),
    ColumnType.BIGINT: pa.int64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.TIMESTAMP: pa.timestamp("ms", tz="UTC"),
    # The analytics zone's tables only (raw rows never hold them: to_parquet refuses them).
    ColumnType.INT: pa.int32(),
    ColumnType.STRING_ARRAY: pa.list_(pa.string()),
}


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet schema of a table written with pyarrow, derived from its declaration (``lakehouse.tables``)."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in table.file_columns])


POST_SCHEMA = arrow_schema(RAW_POSTS)
COMMENT_SCHEMA = arrow_schema(RAW_COMMENTS)
QUARANTINE_SCHEMA = arrow_schema(INGEST_QUARANTINE)
# Free text is unique per row: a dictionary never pays, and min/max statistics prune nothing and
# copy two whole texts into every footer (a 100-post file: 35 KB instead of 47 KB, 25% less time).
FREE_TEXT_COLUMNS = frozenset(
    c.name for t in (RAW_POSTS, RAW_COMMENTS, INGEST_QUARANTINE) for c in t.columns if c.free_text
)
POSTS_PREFIX = RAW_POSTS.prefix
COMMENTS_PREFIX = RAW_COMMENTS.prefix
INGEST_QUARANTINE_PREFIX = INGEST_QUARANTINE.prefix


def subreddit_partition(subreddit: str) -> str:
    """The partition value of a subreddit: lower-cased and percent-encoded (Hive unescapes it)."""
    return quote(subreddit.lower(), safe="")


def partition_prefix(table: str, subreddit: str, fetch_date: str) -> str:
    return f"{table}/subreddit={subreddit_partition(subreddit)}/fetch_date={fetch_date}/"


def fetch_date_of(run_started_at: datetime) -> str:
    return run_started_at.astimezone(UTC).strftime("%Y-%m-%d")


def to_parquet(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> bytes:
    """Rows as one zstd Parquet object of ``schema``; keys outside the schema are ignored, a missing key is null.

    Columns are built straight from Arrow buffers (``array`` and UTF-8 bytes), not with ``pa.array``
    or ``Table.from_pylist``, which import pandas wherever it is installed (~0.3 s and ~40 MiB for a
    process that never uses it): per 100 posts ~0.6 ms, against ~1.7 ms through Arrow's JSON reader.
    A value Parquet cannot hold (a lone UTF-16 surrogate in text, an integer beyond 64 bits, an
    infinite or NaN float) is made holdable in its typed column (U+FFFD, null); the payload keeps
    what Reddit sent. A value of the wrong type is a ``TypeError`` that names the column.

    Files carry no dictionaries and no Arrow schema blob: a part holds one subreddit and run, so a
    dictionary saves nothing zstd does not, and Parquet's own schema (UTC timestamps, required
    fields) reads back as ``schema``. Free-text columns carry no min/max statistics either.
    """
    table = _arrow_table(rows, schema) if rows else pa.Table.from_batches([], schema=schema)
    coded = [name for name in schema.names if name not in FREE_TEXT_COLUMNS]
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", use_dictionary=False, write_statistics=coded, store_schema=False)
    return sink.getvalue()


def _arrow_table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    try:
        records = list(map(operator.itemgetter(*schema.names), rows))
    except KeyError:  # a row without some column: null there
        records = [tuple(row.get(name) for name in schema.names) for row in rows]
    columns = [_column(field, values) for field, values in zip(schema, zip(*records, strict=True), strict=True)]
    return pa.Table.from_arrays(columns, schema=schema)


def _column(field: pa.Field, values: tuple[Any, ...]) -> pa.Array:
    kind = field.type
    try:
        if kind == pa.string():
            return _strings(values)
        if kind == pa.float64():
            return _fixed_width(kind, *_floats(values))
        if kind == pa.int64():
            return _fixed_width(kind, *_integers(values))
        if kind == pa.bool_():
            return _booleans(values)
        if kind == _ARROW_TYPES[ColumnType.TIMESTAMP]:
            milliseconds = array("q", [0 if value is None else _epoch_milliseconds(value) for value in values])
            return _fixed_width(kind, milliseconds, values)
    except (TypeError, AttributeError) as exc:
        raise TypeError(f"column {field.name!r} ({kind}): {exc}") from None
    raise TypeError(f"column {field.name!r}: {kind} is not a raw-zone type")


def _strings(values: tuple[Any, ...]) -> pa.Array:
    try:
        encoded = [b"" if value is None else value.encode() for value in values]
    except UnicodeEncodeError:
        encoded = [b"" if value is None else _holdable(value).encode() for value in values]
    offsets = array("i", accumulate(map(len, encoded), initial=0))  # a part stays far below 2 GiB of text
    validity, nulls = _validity(values)
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded)), validity, nulls
    )


def _floats(values: tuple[Any, ...]) -> tuple[array[float], tuple[Any, ...]]:
    """The column's doubles, and its values with what Parquet cannot hold (inf, NaN) as None."""
    data = array("d", [0.0 if value is None else value for value in values])
    if all(map(math.isfinite, data)):
        return data, values
    held = tuple(value if value is not None and math.isfinite(value) else None for value in values)
    return array("d", [0.0 if value is None else value for value in held]), held


def _integers(values: tuple[Any, ...]) -> tuple[array[int], tuple[Any, ...]]:
    """The column's int64 values, and its values with what Parquet cannot hold (past 64 bits) as None."""
    try:
        return array("q", [0 if value is None else value for value in values]), values
    except OverflowError:
        held = tuple(
            value if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX else None for value in values
        )
        return array("q", [0 if value is None else value for value in held]), held


def _fixed_width(kind: pa.DataType, data: array[Any], values: tuple[Any, ...]) -> pa.Array:
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(data)], nulls)


def _booleans(values: tuple[Any, ...]) -> pa.Array:
    if any(type(value) is not bool for value in values if value is not None):
        raise TypeError("expected true, false or null")
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, _bitmap([v is True for v in values])], nulls)


def _validity(values: Sequence[Any]) -> tuple[pa.Buffer | None, int]:
    nulls = values.count(None)
    return (_bitmap([value is not None for value in values]), nulls) if nulls else (None, 0)


def _bitmap(bits: list[bool]) -> pa.Buffer:
    """Arrow's bit-packed layout: bit i of the buffer (least significant first) is ``bits[i]``."""
    number = int("".join(["1" if bit else "0" for bit in reversed(bits)]) or "0", 2)
    return pa.py_buffer(number.to_bytes((len(bits) + 7) // 8, "little"))


@functools.lru_cache(maxsize=16)  # a snapshot set's rows share one fetched_at
def _epoch_milliseconds(value: datetime) -> int:
    """Milliseconds since the epoch, the raw zone's precision (naive means UTC)."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _holdable(value: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", value)


def write_snapshot_set(
    store: ObjectStore,
    *,
    table: str,
    subreddit: str,
    fetch_date: str,
    run_id: str,
    rows: Sequence[dict[str, Any]],
    schema: pa.Schema,
) -> list[str]:
    """Write one run's rows for one subreddit as ``<run_id>.part-NNNNN.parquet``; remove stale parts.

    Returns the keys written. Writing nothing still clears stale parts of an earlier attempt.
    """
    prefix = partition_prefix(table, subreddit, fetch_date)
    run_prefix = f"{prefix}{_safe_run_id(run_id)}.part-"
    keys = []
    for part, start in enumerate(range(0, len(rows), ROWS_PER_PART)):
        key = f"{run_prefix}{part:05d}.parquet"
        store.put(key, to_parquet(rows[start : start + ROWS_PER_PART], schema))
        keys.append(key)
    for stale in set(store.list(run_prefix)) - set(keys):
        store.delete(stale)
    return keys


def stored_rows(store: ObjectStore, keys: Sequence[str]) -> int:
    """Rows the objects at ``keys`` hold, read back from their Parquet footers: what is durably there."""
    total = 0
    for key in keys:
        data = store.get(key)
        if data is None:
            raise FileNotFoundError(f"{store.uri}{key} was written but cannot be read back")
        total += pq.read_metadata(pa.BufferReader(data)).num_rows
    return total


def quarantine_rows(
    items: Sequence[tuple[Quarantined, str]], *, stage: str, run_id: str, fetched_at: datetime
) -> list[dict[str, Any]]:
    """Quarantine rows from (value, source endpoint) pairs."""
    return [
        {
            "stage": stage,
            "kind": item.kind,
            "object_id": item.object_id,
            "reason": item.reason,
            "payload": item.payload,
            "fetched_at": fetched_at,
            "run_id": run_id,
            "source_endpoint": endpoint,
        }
        for item, endpoint in items
    ]


def _safe_run_id(run_id: str) -> str:
    return quote(run_id, safe="-_.")
