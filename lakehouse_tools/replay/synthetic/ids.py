"""Stable hashes that seed every random choice, and the base36 ids Reddit hands out as time passes."""

from __future__ import annotations

import re
from hashlib import blake2b

from lakehouse.domain.patterns import ID_REGEX

DAY = 86_400.0

# Reddit ids are base36 counters shared by the whole site. Anchored on real objects of 2025-2026
# (t3_1skh9xm at 1776080568 and t1_optfyql at 1780620715), extrapolated at the site's measured pace.
_POST_ID_ANCHOR = (1_776_080_568.0, 3_903_816_257)
POSTS_PER_SECOND_SITEWIDE = 18.0
_COMMENT_ID_ANCHOR = (1_780_620_715.0, 53_803_884_189)
_COMMENTS_PER_SECOND_SITEWIDE = 124.0
_COMMENT_SLOTS_PER_POST = 512  # comment id = base + post index * slots + comment index: unique by construction

# One salt per random stream (a post's plan, its comment arrivals, ...), mixed into the seed so they differ.
SALT_INDEX = 0x1D
SALT_POST = 0x5B
SALT_ARRIVALS = 0xC0
SALT_THREAD = 0xC2
SALT_COMMENT = 0xC1
SALT_AUTHOR = 0xA7
_MASK64 = (1 << 64) - 1
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_TRIPLES36 = [a + b + c for a in BASE36 for b in BASE36 for c in BASE36]
_36_3, _36_6, _36_9 = 36**3, 36**6, 36**9
ID_SHAPE = re.compile(ID_REGEX)  # the runtime's own rule for a Reddit id


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 rounds): stable across runs and PYTHONHASHSEED."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = ((h ^ (part & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK64
        h ^= h >> 29
    return h


def text_hash(text: str) -> int:
    """A 64-bit hash of text that, unlike ``hash()``, is the same in every process."""
    return int.from_bytes(blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def to_base36(number: int) -> str:
    """Reddit's id spelling: lowercase base36 without leading zeros."""
    if 0 < number < _36_9:  # every id of this century: three table lookups, fast enough for a million
        high, rest = divmod(number, _36_6)
        middle, low = divmod(rest, _36_3)
        return (_TRIPLES36[high] + _TRIPLES36[middle] + _TRIPLES36[low]).lstrip("0")
    if number <= 0:
        return "0"
    digits = []
    while number:
        number, digit = divmod(number, 36)
        digits.append(BASE36[digit])
    return "".join(reversed(digits))


def post_id_at(t: float) -> int:
    """The site-wide post counter at instant ``t``."""
    anchor_t, anchor_id = _POST_ID_ANCHOR
    return max(36**5, int(anchor_id + (t - anchor_t) * POSTS_PER_SECOND_SITEWIDE))


def comment_id_at(t: float) -> int:
    """The site-wide comment counter at instant ``t``."""
    anchor_t, anchor_id = _COMMENT_ID_ANCHOR
    return max(36**6, int(anchor_id + (t - anchor_t) * _COMMENTS_PER_SECOND_SITEWIDE))


def comment_id_of(base: int, k: int, j: int) -> str:
    """The id of comment ``j`` of post ``k``, in a corpus whose comment counter starts at ``base``."""
    return to_base36(base + k * _COMMENT_SLOTS_PER_POST + j)
