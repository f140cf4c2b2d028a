"""The raw payload text: the JSON Reddit sent, whatever values it holds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lakehouse.domain.reddit import parse_post, payload_text

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**100), max_value=2**100)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # any code point, lone surrogates included
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(_JSON)
def test_payload_text_reads_back_as_the_same_json_and_is_valid_utf8(value: Any) -> None:
    text = payload_text(value)

    assert json.loads(text.encode("utf-8")) == value


def test_payload_text_keeps_key_order_and_writes_unicode_unescaped() -> None:
    assert payload_text({"z": "é 😀", "a": [1, 2.5, None, True]}) == '{"z":"é 😀","a":[1,2.5,null,true]}'


def test_a_post_with_out_of_range_numbers_keeps_them_in_the_payload_only() -> None:
    row = parse_post(
        {"id": "abc1", "subreddit": "x", "title": "t", "created_utc": 1.7e9, "score": 1e30, "num_comments": 2**64}
    )

    assert isinstance(row, dict)
    assert row["score"] is None
    assert row["num_comments"] is None
    assert json.loads(row["payload"])["num_comments"] == 2**64
