"""The raw payload text: the JSON Reddit sent, whatever values it holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakehouse.domain.reddit import Quarantined, parse_comment, parse_post, payload_text

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


_POST = {"id": "abc1", "subreddit": "x", "title": "t", "created_utc": 1.7e9, "score": 3, "num_comments": 2}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("score", "12", "t3 score '12' is not a bigint"),
        ("num_comments", {"count": 2}, "t3 num_comments {'count': 2} is not a bigint"),
        ("score", 1e30, "t3 score 1e+30 is not a bigint"),
        ("num_comments", 2**64, "t3 num_comments 18446744073709551616 is not a bigint"),
        ("over_18", "false", "t3 over_18 'false' is not a boolean"),
        ("upvote_ratio", "0.9", "t3 upvote_ratio '0.9' is not a double"),
        ("title", 42, "t3 title 42 is not a string"),
        ("edited", "yesterday", "t3 edited 'yesterday' is not a false, true or an epoch"),
    ],
)
def test_a_core_field_of_the_wrong_type_quarantines_the_post_naming_the_field(
    field: str, value: Any, reason: str
) -> None:
    quarantined = parse_post({**_POST, field: value})

    assert isinstance(quarantined, Quarantined)
    assert quarantined.reason == reason
    assert json.loads(quarantined.payload)[field] == value  # the payload exactly as received


def test_null_and_absent_fields_are_nulls_and_old_edited_true_is_no_edit_time() -> None:
    row = parse_post({**_POST, "score": None, "edited": True})

    assert isinstance(row, dict)
    assert (row["score"], row["num_comments"], row["edited_utc"], row["upvote_ratio"]) == (None, 2, None, None)


@pytest.mark.parametrize("link_id", ["abc", "t1_abc", "t3_"])
def test_a_comment_whose_link_names_no_submission_is_quarantined(link_id: str) -> None:
    quarantined = parse_comment({"id": "c1", "created_utc": 1.7e9, "link_id": link_id})

    assert isinstance(quarantined, Quarantined)
    assert quarantined.reason == f"t1 link_id {link_id!r} is not a submission fullname (t3_...)"
