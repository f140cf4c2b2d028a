"""What the replay server serves: a corpus of Reddit objects, real or synthetic.

A corpus answers three questions at a virtual instant ``now``: which posts a
subreddit lists (newest first), what a post looks like, and what its comments
are. Objects are served verbatim, malformed ones included: robustness of the
stages that read them is tested against what Reddit really sends.
"""

from __future__ import annotations

import bisect
import gzip
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

JsonObject = dict[str, Any]

_SUBREDDIT_IN_PERMALINK = re.compile(r"^/r/([^/]+)/", re.IGNORECASE)


@dataclass(slots=True)
class SubredditIndex:
    """The posts of one subreddit ordered oldest first, for O(log n) paging at any ``now``."""

    name: str
    created: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, name: str, posts: Iterable[tuple[float, str]]) -> SubredditIndex:
        ordered = sorted(posts)
        index = cls(name=name, created=[c for c, _ in ordered], ids=[i for _, i in ordered])
        index.position = {post_id: n for n, post_id in enumerate(index.ids)}
        return index

    def visible_count(self, now: float) -> int:
        """How many posts exist at ``now`` (they are the first n of the oldest-first order)."""
        return bisect.bisect_right(self.created, now)


class Corpus(Protocol):
    """The source of every object the replay server sends."""

    def subreddits(self) -> list[str]:
        """Subreddit names as the corpus spells them."""
        ...

    def index(self, subreddit: str) -> SubredditIndex | None:
        """The listing index of a subreddit, matched case-insensitively; None if unknown."""
        ...

    def submission(self, post_id: str, now: float) -> JsonObject | None:
        """The t3 ``data`` object as Reddit would send it at ``now``; None if unknown or not yet posted."""
        ...

    def comments(self, post_id: str, now: float) -> list[JsonObject]:
        """The t1 ``data`` objects of a post visible at ``now``, oldest first, flat (``parent_id`` links them)."""
        ...


def sortable_created(obj: JsonObject) -> float:
    """created_utc as a float where it can be read; unreadable ones sort as the oldest and are always visible."""
    value = obj.get("created_utc")
    try:
        created = float(value)  # type: ignore[arg-type]  # any JSON scalar may arrive; failures are handled
    except (TypeError, ValueError):
        return -math.inf
    return created if math.isfinite(created) else -math.inf


def listed_subreddit(obj: JsonObject) -> str | None:
    """The subreddit whose listing shows a post: its ``subreddit``, else the one its permalink names."""
    name = obj.get("subreddit")
    if isinstance(name, str) and name:
        return name
    prefixed = obj.get("subreddit_name_prefixed")
    if isinstance(prefixed, str) and prefixed.lower().startswith("r/"):
        return prefixed[2:]
    permalink = obj.get("permalink")
    if isinstance(permalink, str) and (match := _SUBREDDIT_IN_PERMALINK.match(permalink)):
        return match.group(1)
    return None


def _read_jsonl(path: Path) -> Iterator[JsonObject | str]:
    """Each line as a JSON object; a line that is not one is yielded as its text (served as-is)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                yield line.rstrip("\n")
                continue
            yield obj if isinstance(obj, dict) else line.rstrip("\n")


def _find(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.jsonl", directory / f"{stem}.jsonl.gz"):
        if candidate.exists():
            return candidate
    return None


class DirectoryCorpus:
    """A directory of recorded objects: submissions.jsonl[.gz] and optionally comments.jsonl[.gz].

    Posts that name no subreddit (Reddit's promoted posts, for one) appear in no listing;
    ``/api/info`` and ``/comments/{id}`` still serve them. ``unlisted`` counts them.
    """

    def __init__(self, directory: Path) -> None:
        submissions = _find(directory, "submissions")
        if submissions is None:
            raise FileNotFoundError(f"{directory} holds no submissions.jsonl or submissions.jsonl.gz")
        self.directory = directory
        self._posts: dict[str, JsonObject] = {}
        self.unlisted: list[str] = []
        self.unreadable_lines = 0
        by_subreddit: dict[str, list[tuple[float, str]]] = {}
        names: dict[str, str] = {}
        for obj in _read_jsonl(submissions):
            if isinstance(obj, str) or not isinstance(obj.get("id"), str):
                self.unreadable_lines += 1
                continue
            post_id = obj["id"]
            self._posts[post_id] = obj
            subreddit = listed_subreddit(obj)
            if subreddit is None:
                self.unlisted.append(post_id)
                continue
            key = subreddit.lower()
            names.setdefault(key, subreddit)
            by_subreddit.setdefault(key, []).append((sortable_created(obj), post_id))
        self._indexes = {key: SubredditIndex.build(names[key], posts) for key, posts in by_subreddit.items()}
        self._comments: dict[str, list[JsonObject]] = {}
        comments = _find(directory, "comments")
        if comments is not None:
            for obj in _read_jsonl(comments):
                if isinstance(obj, str):
                    self.unreadable_lines += 1
                    continue
                link_id = obj.get("link_id")
                if isinstance(link_id, str) and link_id.startswith("t3_"):
                    self._comments.setdefault(link_id[3:], []).append(obj)
            for thread in self._comments.values():
                thread.sort(key=sortable_created)

    def subreddits(self) -> list[str]:
        return sorted((index.name for index in self._indexes.values()), key=str.lower)

    def index(self, subreddit: str) -> SubredditIndex | None:
        return self._indexes.get(subreddit.lower())

    def submission(self, post_id: str, now: float) -> JsonObject | None:
        post = self._posts.get(post_id)
        if post is None or sortable_created(post) > now:
            return None
        return post

    def comments(self, post_id: str, now: float) -> list[JsonObject]:
        return [c for c in self._comments.get(post_id, []) if sortable_created(c) <= now]

    @property
    def post_count(self) -> int:
        return len(self._posts)


def open_corpus(source: str, **synthetic_options: Any) -> Corpus:
    """A corpus from a SOURCE argument: a directory, or ``synthetic[:SEED]``."""
    if source == "synthetic" or source.startswith("synthetic:"):
        from lakehouse_tools.replay.synthetic import SyntheticCorpus

        _, _, seed_text = source.partition(":")
        try:
            seed = int(seed_text) if seed_text else 0
        except ValueError as exc:
            raise ValueError(f"synthetic seed must be an integer, got {seed_text!r}") from exc
        return SyntheticCorpus(seed=seed, **synthetic_options)
    directory = Path(source)
    if not directory.is_dir():
        raise FileNotFoundError(f"corpus {source!r} is neither a directory nor synthetic[:SEED]")
    return DirectoryCorpus(directory)
