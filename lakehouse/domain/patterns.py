"""Patterns and markers every stage agrees on, written once: Python's ``re`` and Spark's Java regex read them alike."""

from __future__ import annotations

# A Reddit id: base36, lower-case (t3_<id>, t1_<id> without the kind prefix).
ID_REGEX = r"^[0-9a-z]{1,13}$"
# An e-mail address: what the scrubber replaces and the quality gate must never find left in text.
EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# What Reddit puts where a body (or an author) was deleted by its writer or removed by moderators.
REMOVED_MARKERS: tuple[str, ...] = ("[removed]", "[deleted]")
# Reddit launched in June 2005; nothing older is a real created_utc (the first month: 2005-06).
EARLIEST_CREATED_UTC = 1_118_000_000.0
