"""A synthetic Reddit: deterministic, realistic, and cheap enough to serve a million posts.

The package is split by purpose: ``ids`` (stable hashes, base36 ids), ``vocabulary`` (the
``data/*.json`` word tables, read once), ``profiles`` (subreddits and their rates), ``authors``
(the pool of usernames), ``writing`` (titles, bodies, comment text), ``markup`` (slugs, markdown
HTML), ``plans`` (what each post and comment will be), ``render`` (the JSON objects at ``now``)
and ``corpus`` (``SyntheticCorpus``, which ties them together). The names importers use live here.
"""

from __future__ import annotations

from lakehouse_tools.replay.synthetic.authors import AUTOMODERATOR
from lakehouse_tools.replay.synthetic.corpus import DEFAULT_END, SyntheticCorpus
from lakehouse_tools.replay.synthetic.ids import DAY, to_base36
from lakehouse_tools.replay.synthetic.plans import MAX_COMMENTS_PER_POST, PostLabel
from lakehouse_tools.replay.synthetic.profiles import DEFAULT_PROFILES, SubredditProfile

__all__ = [
    "AUTOMODERATOR",
    "DAY",
    "DEFAULT_END",
    "DEFAULT_PROFILES",
    "MAX_COMMENTS_PER_POST",
    "PostLabel",
    "SubredditProfile",
    "SyntheticCorpus",
    "to_base36",
]
