"""What scoring reads (processed problem posts and their comments) and writes (scores, the ledger).

Everything goes through injected :class:`~lakehouse.lake.store.ObjectStore` values, so the same
code reads S3 in the Lambda and the lake's directories locally. The layout is
``lambdas.score.layout``; the columns are ``lakehouse.tables`` (``OPPORTUNITY_SCORES``,
``LLM_COSTS``).

The current scores of a prompt version are one Parquet object, rewritten whole at each checkpoint:
S3 replaces an object atomically, so a reader (Athena, a rerun) sees the table before or after a
checkpoint, never half of one. The ledger only grows: each checkpoint adds a part, so what was paid
stays on record even when a crash loses the checkpoint's scores.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.lake.store import ObjectStore, get_listed
from lakehouse.lake.zones import arrow_schema
from lakehouse.tables import (
    LLM_COSTS,
    OPPORTUNITY_SCORES,
    PROCESSED_COMMENTS,
    PROCESSED_POSTS,
    PROMPT_PARTITION,
    SCORED_DATE_PARTITION,
)
from lambdas.score.assessment import PostContext
from lambdas.score.layout import COSTS_PREFIX, SCORES_FILE, SCORES_PREFIX
from lambdas.score.prompt import truncate
from lambdas.score.settings import ScoringPolicy

__all__ = ["LEDGER_SCHEMA", "SCORES_SCHEMA", "ScoreKey", "ScoreStore", "content_hash"]

# The columns inside the files: a table's partition column lives in its path only (arrow_schema leaves it out).
SCORES_SCHEMA = arrow_schema(OPPORTUNITY_SCORES)
LEDGER_SCHEMA = arrow_schema(LLM_COSTS)
_POST_COLUMNS = (
    "post_id",
    "subreddit",
    "title",
    "body",
    "created_utc",
    "score",
    "num_comments",
    "upvote_ratio",
    "sentiment",
    "problem_signals",
    "keywords",
    "has_question",
    "word_count",
)
_COMMENT_COLUMNS = ("comment_id", "post_id", "body", "score")
# Comments that say nothing the model could quote.
_EMPTY_COMMENTS = frozenset({"", "[deleted]", "[removed]"})
_PART = re.compile(r"\.part-(\d{5})\.parquet$")


def content_hash(title: str, body: str) -> str:
    """What identifies a post's content for scoring: its title and body as processed (PII-scrubbed).

    Comments are left out on purpose: they keep arriving, and a new comment must not buy a new score.
    """
    return hashlib.sha256(f"{title}\x1f{body}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ScoreKey:
    """What a stored score was made from: a post's content, under one prompt version, by one model."""

    prompt_version: str
    content_hash: str
    model_id: str


class ScoreStore:
    """The processed zone (read) and the analytics zone (scores and ledger) of one lake."""

    def __init__(self, processed: ObjectStore, analytics: ObjectStore) -> None:
        self.processed = processed
        self.analytics = analytics

    # ------------------------------------------------------------------ processed (read)

    def problem_posts(self, policy: ScoringPolicy) -> list[PostContext]:
        """Every processed problem post, its body truncated as the model will see it, without comments."""
        posts: list[PostContext] = []
        for table in self._tables(PROCESSED_POSTS.prefix, _POST_COLUMNS, pc.field("is_problem")):
            for row in table.to_pylist():
                title, body = row["title"] or "", row["body"] or ""
                posts.append(
                    PostContext(
                        post_id=row["post_id"],
                        content_hash=content_hash(title, body),
                        subreddit=row["subreddit"] or "",
                        title=title,
                        body=truncate(body, policy.max_body_tokens),
                        created_utc=row["created_utc"] or 0.0,
                        score=row["score"] or 0,
                        num_comments=row["num_comments"] or 0,
                        upvote_ratio=row["upvote_ratio"],
                        sentiment=row["sentiment"],
                        problem_signals=tuple(row["problem_signals"] or ()),
                        keywords=tuple(row["keywords"] or ()),
                        has_question=bool(row["has_question"]),
                        word_count=row["word_count"] or 0,
                    )
                )
        return posts

    def top_comments(self, post_ids: Iterable[str], policy: ScoringPolicy) -> dict[str, tuple[str, ...]]:
        """The highest-scored comments of each post (ties by comment id), truncated, at most ``top_comments``."""
        wanted = sorted(set(post_ids))
        if not wanted or policy.top_comments == 0:
            return {}
        found: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        selection = pc.field("post_id").isin(wanted)
        for table in self._tables(PROCESSED_COMMENTS.prefix, _COMMENT_COLUMNS, selection):
            for row in table.to_pylist():
                body = (row["body"] or "").strip()
                if body not in _EMPTY_COMMENTS:
                    found[row["post_id"]].append((-(row["score"] or 0), row["comment_id"], body))
        return {
            post_id: tuple(
                truncate(body, policy.max_comment_tokens) for _, _, body in sorted(rows)[: policy.top_comments]
            )
            for post_id, rows in found.items()
        }

    def _tables(self, prefix: str, columns: Sequence[str], selection: pc.Expression) -> Iterable[pa.Table]:
        for key in self.processed.list(f"{prefix}/"):
            name = key.rsplit("/", 1)[-1]
            if not name.endswith(".parquet") or name.startswith((".", "_")):
                continue  # Spark's checksums and markers
            data = self.processed.get(key)
            if data is None:  # replaced by a newer job run since the listing (on S3 that answers 403: the run
                continue  # fails, and its retry lists again)
            yield pq.read_table(pa.BufferReader(data), columns=list(columns), filters=selection)

    # ------------------------------------------------------------------ scores

    def scores_key(self, prompt_version: str) -> str:
        return f"{SCORES_PREFIX}{PROMPT_PARTITION}={quote(prompt_version, safe='-_.')}/{SCORES_FILE}"

    def prompt_versions(self) -> list[str]:
        marker = f"{SCORES_PREFIX}{PROMPT_PARTITION}="
        return sorted(
            {
                unquote(key[len(marker) :].split("/", 1)[0])
                for key in self.analytics.list(marker)
                if key.endswith(SCORES_FILE)
            }
        )

    def current_scores(self, prompt_version: str) -> list[dict[str, Any]]:
        data = get_listed(self.analytics, self.scores_key(prompt_version))
        if data is None:
            return []
        rows = pq.read_table(pa.BufferReader(data), schema=SCORES_SCHEMA).to_pylist()
        return [row | {PROMPT_PARTITION: prompt_version} for row in rows]

    def score_index(self) -> dict[str, list[ScoreKey]]:
        """What every post was scored from, across prompt versions: the selection's memory."""
        index: dict[str, list[ScoreKey]] = defaultdict(list)
        for version in self.prompt_versions():
            data = self.analytics.get(self.scores_key(version))
            if data is None:
                continue
            table = pq.read_table(pa.BufferReader(data), columns=["post_id", "content_hash", "model_id"])
            for row in table.to_pylist():
                index[row["post_id"]].append(ScoreKey(version, row["content_hash"], row["model_id"]))
        return index

    def write_scores(self, prompt_version: str, rows: Mapping[str, Mapping[str, Any]]) -> str:
        """Replace the prompt version's current scores with ``rows`` (by post id), sorted for stable files."""
        ordered = [dict(rows[post_id]) for post_id in sorted(rows)]
        return self.analytics.put(self.scores_key(prompt_version), _parquet(ordered, SCORES_SCHEMA))

    # ------------------------------------------------------------------ ledger

    def ledger_prefix(self, scored_date: str) -> str:
        return f"{COSTS_PREFIX}{SCORED_DATE_PARTITION}={scored_date}/"

    def ledger_keys(self, scored_date: str, run_id: str) -> list[str]:
        return self.analytics.list(f"{self.ledger_prefix(scored_date)}{quote(run_id, safe='-_.')}.part-")

    def append_ledger(self, scored_date: str, run_id: str, rows: Sequence[Mapping[str, Any]]) -> str:
        """Add one part to the run's ledger (never overwriting one: each part is money spent)."""
        numbers = [int(match.group(1)) for key in self.ledger_keys(scored_date, run_id) if (match := _PART.search(key))]
        part = max(numbers, default=-1) + 1
        key = f"{self.ledger_prefix(scored_date)}{quote(run_id, safe='-_.')}.part-{part:05d}.parquet"
        return self.analytics.put(key, _parquet([dict(row) for row in rows], LEDGER_SCHEMA))

    def ledger_rows(self, scored_date: str, run_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for key in self.ledger_keys(scored_date, run_id):
            data = self.analytics.get(key)
            if data is not None:
                rows.extend(pq.read_table(pa.BufferReader(data), schema=LEDGER_SCHEMA).to_pylist())
        return rows


def _parquet(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> bytes:
    table = pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
