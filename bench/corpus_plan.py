"""The benchmark's corpus: the same synthetic Reddit for the orchestrator and every replay server process.

Every piece is a pure function of (posts, seed), so a server process rebuilt from the same arguments
serves exactly what the orchestrator planned the clocks and the checks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lakehouse_tools.replay.synthetic import SyntheticCorpus

# Reddit lists at most 1,000 items; ~700 posts a subreddit keeps every one well under it at the
# corpus end (the multinomial spread is about +/-30 posts), so a first full run can read them all.
POSTS_PER_SUBREDDIT = 700
LISTING_CAP = 1000
FULL_SHARE = 0.95


def subreddit_names(posts: int) -> list[str]:
    """``sub000``, ``sub001``, ... enough of them for about POSTS_PER_SUBREDDIT posts each."""
    count = max(1, math.ceil(posts / POSTS_PER_SUBREDDIT))
    return [f"sub{n:03d}" for n in range(count)]


def build_corpus(posts: int, seed: int) -> SyntheticCorpus:
    return SyntheticCorpus(seed=seed, subreddits=subreddit_names(posts), posts=posts)


@dataclass(frozen=True)
class CorpusPlan:
    """The clocks of the two scenarios and what each tool must have landed after them."""

    posts: int
    seed: int
    subreddits: list[str]
    full_now: float  # the created_utc of the post at the 95th percentile: ~95% of posts exist
    end_now: float  # the corpus end: every post exists
    visible_full: int
    visible_end: int
    largest_subreddit: int

    @property
    def new_in_incremental(self) -> int:
        return self.visible_end - self.visible_full


def plan(posts: int, seed: int) -> CorpusPlan:
    corpus = build_corpus(posts, seed)
    names = corpus.subreddits()
    indexes = [corpus.index(name) for name in names]
    created = sorted(t for index in indexes if index is not None for t in index.created)
    if not created:
        raise ValueError("the corpus has no posts")
    full_now = created[max(0, math.ceil(FULL_SHARE * len(created)) - 1)]
    end_now = max(corpus.end, created[-1])
    largest = max(len(index.ids) for index in indexes if index is not None)
    if largest >= LISTING_CAP:
        raise ValueError(f"a subreddit holds {largest} posts, over the {LISTING_CAP}-item listing cap")
    return CorpusPlan(
        posts=posts,
        seed=seed,
        subreddits=names,
        full_now=full_now,
        end_now=end_now,
        visible_full=sum(index.visible_count(full_now) for index in indexes if index is not None),
        visible_end=sum(index.visible_count(end_now) for index in indexes if index is not None),
        largest_subreddit=largest,
    )
