"""Reddit objects as the pipeline reads them: one schema for posts and comments, one validation.

praw's models raise on payloads Reddit really sends (``author: null``, no ``subreddit``), so
stages read the raw JSON. A valid object becomes a typed row; an invalid one becomes a
``Quarantined`` value with the reason and the payload exactly as received.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from lakehouse.domain.patterns import EARLIEST_CREATED_UTC as EARLIEST_CREATED_UTC
from lakehouse.domain.patterns import ID_REGEX
from lakehouse.tables import RAW_COMMENTS, RAW_POSTS, ColumnType, Reader, Table

JsonObject = dict[str, Any]

_ID = re.compile(ID_REGEX)


@dataclass(frozen=True, slots=True)
class Quarantined:
    kind: str
    object_id: str | None
    reason: str
    payload: str


# orjson reads integers past 64 bits as floats: where one could be (19 digits in a row), the
# standard library reads. Digits mapped to "0", the rest to " ": two C passes, ~0.25 ms a page
# (a regex takes ~7 ms).
_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19


def read_json(body: bytes) -> Any:
    """Reddit's JSON as ``json.loads`` reads it, ~3x faster (orjson) where that is exactly the same.

    orjson reads an integer past 64 bits as a float and refuses a lone surrogate escape or a
    number past the double range; such bodies, and every body with a run of 19 digits, are read
    by the standard library, so no value changes on the way in.
    """
    if _NINETEEN_DIGITS not in body.translate(_DIGITS_ONLY):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


def payload_text(obj: Any) -> str:
    """The object as JSON text, exactly what Reddit sent (key order kept, unicode unescaped).

    orjson writes the same text as ``json.dumps(ensure_ascii=False)`` (but for the spelling of
    some exponents: ``2.5e-7`` for ``2.5e-07``), ~10x faster. What it refuses
    (integers beyond 64 bits, a lone UTF-16 surrogate, which UTF-8 cannot hold) the standard
    library writes, with non-ASCII escaped where a lone surrogate would otherwise be lost.
    """
    try:
        return orjson.dumps(obj).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        try:
            text.encode()
        except UnicodeEncodeError:
            return json.dumps(obj, separators=(",", ":"))
        return text


_INVALID = object()  # a value present but not of its column's type


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else _INVALID


def _double(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _INVALID
    number = float(value)
    return number if math.isfinite(number) else _INVALID


def _bigint(value: Any) -> Any:
    """An int64 value (Parquet's): an integer, or a float without a fraction, within 64 bits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**63 else _INVALID
    number = _double(value)
    if number is _INVALID or not number.is_integer() or not -(2.0**63) <= number < 2.0**63:
        return _INVALID
    return int(number)


def _boolean(value: Any) -> Any:
    return value if isinstance(value, bool) else _INVALID


_READ_TYPE: dict[ColumnType, Callable[[Any], Any]] = {
    ColumnType.STRING: _string,
    ColumnType.DOUBLE: _double,
    ColumnType.BIGINT: _bigint,
    ColumnType.BOOLEAN: _boolean,
}


def _edited(value: Any) -> Any:
    """``edited`` is ``false``, ``true`` (old objects: edited, time unknown) or the epoch of the edit."""
    return None if isinstance(value, bool) else _double(value)


def _post_fullname(value: Any) -> Any:
    return value[3:] if isinstance(value, str) and value.startswith("t3_") and len(value) > 3 else _INVALID


# Readers other than "a value of the column's type", and what they expect (for the reason).
_READ: dict[Reader, tuple[Callable[[Any], Any], str]] = {
    Reader.EDITED: (_edited, "false, true or an epoch"),
    Reader.POST_FULLNAME: (_post_fullname, "submission fullname (t3_...)"),
}


class _Field(NamedTuple):
    column: str
    field: str
    read: Callable[[Any], Any]
    required: bool
    expected: str


@dataclass(frozen=True, slots=True)
class _Reading:
    """How to read one table's objects: its declared fields, and the columns that take the whole payload."""

    fields: tuple[_Field, ...]
    payload_columns: tuple[str, ...]


def _reading(table: Table) -> _Reading:
    fields = []
    for c in table.columns:
        if c.field is not None:
            read, expected = _READ.get(c.reader) or (_READ_TYPE[c.type], c.type.value)
            fields.append(_Field(c.name, c.field, read, not c.nullable, expected))
    payload = tuple(c.name for c in table.columns if c.reader is Reader.PAYLOAD)
    return _Reading(tuple(fields), payload)


# Built once per declaration, looked up by identity: hashing a Table per object would cost more
# than reading the object (~10 us against ~5 us a post).
_READINGS: dict[int, tuple[Table, _Reading]] = {}


def _reading_of(table: Table) -> _Reading:
    known = _READINGS.get(id(table))
    if known is None or known[0] is not table:
        known = _READINGS[id(table)] = (table, _reading(table))
    return known[1]


def _typed_row(data: JsonObject, kind: str, fields: tuple[_Field, ...]) -> JsonObject | str:
    """The object's declared fields, typed; or the reason one cannot be (the field named)."""
    row: JsonObject = {}
    get = data.get
    for column, field, read, required, expected in fields:
        value = get(field)
        if value is None or (required and value == ""):
            if required:
                return f"{kind} has no {field}"
            row[column] = None
            continue
        typed = read(value)
        if typed is _INVALID:
            return f"{kind} {field} {_shown(value)} is not a {expected}"
        row[column] = typed
    return row


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _identity(obj: Any, kind: str) -> tuple[JsonObject | None, str | None, str | None]:
    """The object, its id and a reason it cannot be read at all (or None)."""
    if not isinstance(obj, dict):
        return None, None, f"{kind} payload is not a JSON object"
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not _ID.fullmatch(object_id):
        return obj, None, f"{kind} id {object_id!r} is not a base36 Reddit id"
    created = _double(obj.get("created_utc"))
    if created is _INVALID:
        return obj, object_id, f"{kind} created_utc {obj.get('created_utc')!r} is not a number"
    return obj, object_id, None


def _parse(obj: Any, table: Table, payload_of: Callable[[JsonObject], Any]) -> JsonObject | Quarantined:
    kind = table.kind or table.name
    data, object_id, reason = _identity(obj, kind)
    if reason is None and data is not None:
        reading = _reading_of(table)
        typed = _typed_row(data, kind, reading.fields)
        if not isinstance(typed, str):
            for column in reading.payload_columns:
                typed[column] = payload_text(payload_of(data))
            return typed
        reason = typed
    return Quarantined(kind, object_id, reason or f"unreadable {kind}", payload_text(obj))


def parse_post(obj: Any, table: Table = RAW_POSTS) -> JsonObject | Quarantined:
    """A t3 ``data`` object as a raw-zone post row (without run metadata), or the reason it cannot be one.

    Every field the raw declaration names is read with its type; a field present with a value
    of another type (a string ``score``, an object for ``num_comments``) quarantines the object,
    naming the field: it never lands as a null.
    """
    return _parse(obj, table, _whole)


def parse_comment(obj: Any, table: Table = RAW_COMMENTS) -> JsonObject | Quarantined:
    """A t1 ``data`` object as a raw-zone comment row, or the reason it cannot be one (replies are not kept)."""
    return _parse(obj, table, _without_replies)


def _whole(data: JsonObject) -> JsonObject:
    return data


def _without_replies(data: JsonObject) -> JsonObject:
    return {k: v for k, v in data.items() if k != "replies"} if isinstance(data.get("replies"), dict) else data


def listing_children(listing: Any, kind: str) -> tuple[list[Any], list[Quarantined]]:
    """The ``data`` objects of a Listing's children of ``kind``; anything else is quarantined."""
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), dict):
        return [], [Quarantined(kind, None, "response is not a Listing", payload_text(listing))]
    children = listing["data"].get("children")
    if not isinstance(children, list):
        return [], [Quarantined(kind, None, "Listing has no children array", payload_text(listing))]
    objects: list[Any] = []
    bad: list[Quarantined] = []
    for child in children:
        if isinstance(child, dict) and child.get("kind") == kind:
            objects.append(child.get("data"))
        elif isinstance(child, dict) and child.get("kind") == "more":
            continue  # "load more comments" stubs carry no content
        else:
            got = child.get("kind") if isinstance(child, dict) else type(child).__name__
            bad.append(
                Quarantined(kind, None, f"Listing child of kind {got!r} where {kind} was expected", payload_text(child))
            )
    return objects, bad


def flatten_comment_tree(children: list[Any]) -> list[Any]:
    """Comments of a ``/comments/{id}`` tree, depth first, each once (replies are nested Listings)."""
    flat: list[Any] = []
    stack = list(reversed(children))
    while stack:
        comment = stack.pop()
        flat.append(comment)
        replies = comment.get("replies") if isinstance(comment, dict) else None
        if isinstance(replies, dict):
            nested, _ = listing_children(replies, "t1")
            stack.extend(reversed(nested))
    return flat
