"""Which subreddits a corpus holds, how busy each one is and how its posts behave."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lakehouse_tools.replay.synthetic.vocabulary import load


@dataclass(frozen=True, slots=True)
class SubredditProfile:
    """How busy a subreddit is and how its posts behave; rates are posts per day."""

    name: str
    posts_per_day: float
    subscribers: int
    problem_share: float
    link_share: float
    median_score: float
    score_spread: float
    median_comments: float
    flairs: tuple[str, ...] = ()
    titles_only: bool = False
    removal_share: float = 0.04
    automod_comment: str | None = None
    suggested_sort: str | None = None


_TABLE = load("subreddits")

# Relative rates follow the real subreddits (AskReddit dwarfs the niche ones); absolute rates are scaled
# down so the default corpus (about 38k posts over 14 days) builds in well under a second.
DEFAULT_PROFILES: tuple[SubredditProfile, ...] = tuple(SubredditProfile(**fields) for fields in _TABLE["default"])


def generic_profile(name: str) -> SubredditProfile:
    """A subreddit the defaults do not know: middling activity, general flairs."""
    return SubredditProfile(name, **_TABLE["generic"])


def profiles_for(subreddits: Sequence[str] | None) -> list[SubredditProfile]:
    """The profiles of the named subreddits, first spelling of each kept; the defaults when None."""
    if subreddits is None:
        return list(DEFAULT_PROFILES)
    known = {p.name.lower(): p for p in DEFAULT_PROFILES}
    chosen: dict[str, SubredditProfile] = {}
    for name in subreddits:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]{2,21}", name):
            raise ValueError(f"not a subreddit name: {name!r}")
        chosen.setdefault(name.lower(), known.get(name.lower(), generic_profile(name)))
    if not chosen:
        raise ValueError("subreddits must name at least one subreddit")
    return list(chosen.values())
