"""The data files beside this package, read once at import, and the words its people write.

Every table is JSON in ``data/`` (shipped as package data) so the vocabulary can grow without
touching code. Lists become tuples: the tables are shared by every corpus and must not change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

_PACKAGE = __name__.rpartition(".")[0]


def load(name: str) -> Any:
    """The parsed ``data/<name>.json``, with every list frozen into a tuple."""
    text = resources.files(_PACKAGE).joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    return _frozen(json.loads(text))


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class Topic:
    """What the people of a subreddit talk about."""

    roles: tuple[str, ...]  # who is asking, one sentence
    tasks: tuple[str, ...]  # gerund phrases people struggle with
    tools: tuple[str, ...]
    builds: tuple[str, ...]  # things people show off
    questions: tuple[str, ...]  # discussion titles that are not problems
    author_flairs: tuple[str, ...]
    link_domains: tuple[str, ...]


_TOPIC_TABLE = load("topics")
GENERAL_TOPIC = Topic(**_TOPIC_TABLE["general"])
_TOPICS: dict[str, Topic] = {name: Topic(**fields) for name, fields in _TOPIC_TABLE["by_subreddit"].items()}


def topic_for(name: str) -> Topic:
    """The topic of a subreddit by name, any case; subreddits without one of their own get the general one."""
    return _TOPICS.get(name.lower(), GENERAL_TOPIC)


class PostTexts(NamedTuple):
    """Title and body templates of posts; ``{placeholders}`` are filled from ``fill_choices`` and the topic."""

    problem_titles: tuple[str, ...]
    problem_pain: tuple[str, ...]
    problem_tried: tuple[str, ...]
    shortcomings: tuple[str, ...]
    script_shortcomings: tuple[str, ...]
    problem_asks: tuple[str, ...]
    python_snippet: str
    decoy_titles: tuple[str, ...]
    decoy_bodies: tuple[str, ...]
    showcase_titles: tuple[str, ...]
    showcase_features: tuple[str, ...]
    showcase_body: str
    discussion_fillers: tuple[str, ...]
    milestone_titles: tuple[str, ...]
    milestone_body: str
    news_titles: tuple[str, ...]
    news_body: str
    opinion_title: str
    opinion_body: str
    mod_threads: tuple[tuple[str, str], ...]  # (title, body)
    edit_notes: tuple[str, ...]
    fill_choices: dict[str, tuple[Any, ...]]


class AskTitles(NamedTuple):
    """Titles of subreddits whose posts are only a title, such as AskReddit."""

    problem_titles: tuple[str, ...]
    openers: tuple[str, ...]
    things: tuple[tuple[str, str], ...]  # (thing, past participle) for the openers
    others: tuple[str, ...]
    decoys: tuple[str, ...]


class CommentTexts(NamedTuple):
    """What commenters write; ``automod`` maps a profile's ``automod_comment`` to the bot's text."""

    on_problem: tuple[str, ...]
    generic: tuple[str, ...]
    replies: tuple[str, ...]
    ask_answers: tuple[str, ...]
    edit_notes: tuple[str, ...]
    automod: dict[str, str]
    automod_fallback: str


class UnicodeTexts(NamedTuple):
    """Non-ASCII text planted on purpose: the stages must carry it through intact."""

    title_emoji: tuple[str, ...]
    signoffs: tuple[str, ...]


class PiiTexts(NamedTuple):
    """What planted personal data is made of: the scrubbers are measured on finding it."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    area_codes: tuple[int, ...]
    post_templates: tuple[str, ...]
    comment_templates: tuple[str, ...]


class UsernameParts(NamedTuple):
    """The words Reddit-style usernames are assembled from."""

    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]


POSTS = PostTexts(**load("posts"))
ASK = AskTitles(**load("ask_titles"))
COMMENTS = CommentTexts(**load("comments"))
UNICODE = UnicodeTexts(**load("unicode"))
PII = PiiTexts(**load("pii"))
USERNAMES = UsernameParts(**load("usernames"))
