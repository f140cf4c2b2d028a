"""The raw-zone Parquet writer: what goes in reads back, typed, with what Parquet cannot hold made holdable."""

from __future__ import annotations

import io
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.lake.zones import COMMENT_SCHEMA, POST_SCHEMA, QUARANTINE_SCHEMA, to_parquet

FETCHED_AT = datetime(2026, 11, 22, 23, 6, 44, 123_456, tzinfo=UTC)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _read(data: bytes) -> Any:
    return pq.read_table(io.BytesIO(data))


def _comment(**values: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "post_id": "p1",
        "created_utc": 1.7e9,
        "payload": "{}",
        "fetched_at": FETCHED_AT,
        "run_id": "r1",
        "source_endpoint": "/comments/p1",
        **values,
    }


_OPTIONAL_TEXT = st.none() | st.text()
_COMMENTS = st.lists(
    st.builds(
        _comment,
        id=st.text(min_size=1),
        parent_id=_OPTIONAL_TEXT,
        author=_OPTIONAL_TEXT,
        body=_OPTIONAL_TEXT,
        created_utc=st.floats(allow_nan=False, allow_infinity=False),
        edited_utc=st.none() | st.floats(allow_nan=False, allow_infinity=False),
        score=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
        stickied=st.none() | st.booleans(),
        payload=st.text(),
        fetched_at=st.datetimes(timezones=st.just(UTC)),
    ),
    min_size=1,
    max_size=40,
)


@settings(deadline=None)  # the first example pays for loading the Parquet reader
@given(_COMMENTS)
def test_comment_rows_read_back_as_written(rows: list[dict[str, Any]]) -> None:
    table = _read(to_parquet(rows, COMMENT_SCHEMA))

    assert table.schema == COMMENT_SCHEMA
    for row, back in zip(rows, table.to_pylist(), strict=True):
        for name in ("parent_id", "author", "body", "payload"):
            # a lone UTF-16 surrogate is one U+FFFD per code point
            assert back[name] == (None if row[name] is None else _LONE_SURROGATE.sub("\ufffd", row[name]))
        for name in ("created_utc", "edited_utc", "score", "stickied", "run_id"):
            assert back[name] == row[name]
        assert back["subreddit_name"] is None  # a key the row does not have is null
        assert back["fetched_at"] == row["fetched_at"] - timedelta(microseconds=row["fetched_at"].microsecond % 1000)


def test_values_parquet_cannot_hold_land_as_null_or_replacement_and_the_payload_is_kept() -> None:
    payload = '{"title": "half an emoji \\ud83d", "score": 1e400}'
    row = _comment(
        body="half an emoji \ud83d here",
        score=2**64,
        edited_utc=math.inf,
        payload=payload,
    )

    back = _read(to_parquet([row, _comment(score=5, edited_utc=math.nan)], COMMENT_SCHEMA)).to_pylist()

    assert back[0]["body"] == "half an emoji \ufffd here"
    assert (back[0]["score"], back[0]["edited_utc"], back[1]["edited_utc"]) == (None, None, None)
    assert back[0]["payload"] == payload
    assert back[1]["score"] == 5  # the rest of the column is untouched


def test_a_value_of_the_wrong_type_is_an_error_naming_the_column() -> None:
    with pytest.raises(TypeError, match="'score'"):
        to_parquet([_comment(score="12")], COMMENT_SCHEMA)
    with pytest.raises(TypeError, match="'stickied'"):
        to_parquet([_comment(stickied=1)], COMMENT_SCHEMA)
    with pytest.raises(TypeError, match="'body'"):
        to_parquet([_comment(body=12)], COMMENT_SCHEMA)


def test_naive_timestamps_mean_utc_and_no_rows_is_an_empty_file_of_the_schema() -> None:
    naive = _read(to_parquet([_comment(fetched_at=datetime(2026, 1, 2, 3, 4, 5))], COMMENT_SCHEMA))
    empty = _read(to_parquet([], POST_SCHEMA))

    assert naive.column("fetched_at")[0].as_py() == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (empty.num_rows, empty.schema) == (0, POST_SCHEMA)


def test_quarantine_rows_keep_reason_and_payload() -> None:
    row = {
        "stage": "ingest",
        "kind": "t3",
        "object_id": None,
        "reason": "t3 has no subreddit",
        "payload": '{"id": "x"}',
        "fetched_at": FETCHED_AT,
        "run_id": "r",
        "source_endpoint": "/r/x/new",
    }

    back = _read(to_parquet([row], QUARANTINE_SCHEMA))

    assert back.schema == QUARANTINE_SCHEMA
    assert back.to_pylist()[0] == row | {"fetched_at": FETCHED_AT.replace(microsecond=123_000)}
