"""Ingest one subreddit for one run: the pure logic behind the ingest Lambda and the local run.

1. Listing: ``/r/{sub}/new``, 100 a page, newest first, until a page reaches the cursor minus
   the overlap window (late-visible posts), the end of the listing, or Reddit's 1,000-item cap.
2. Refresh: recent posts not in this run's listing are re-read through ``/api/info``, 100 a call.
3. Comments: for problem posts (the shared rule) whose comment count grew, the top N comments.
4. Write posts, comments and quarantine rows as this run's snapshot set; only then move the cursor.

Listing pages come first; refresh and comments spend what the request budget has left.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from lakehouse.domain.reddit import (
    Quarantined,
    flatten_comment_tree,
    listing_children,
    parse_comment,
    parse_post,
    payload_text,
)
from lakehouse.lake.store import ObjectStore
from lakehouse.lake.zones import (
    COMMENT_SCHEMA,
    COMMENTS_PREFIX,
    INGEST_QUARANTINE_PREFIX,
    POST_SCHEMA,
    POSTS_PREFIX,
    QUARANTINE_SCHEMA,
    fetch_date_of,
    quarantine_rows,
    stored_rows,
    write_snapshot_set,
)
from lakehouse.pipeline import check_run_id
from lambdas.ingest.cursors import Cursor, CursorStore, RecentPost
from lambdas.ingest.reddit_gateway import (
    BudgetExhausted,
    RedditGateway,
    RedditRefused,
    RedditUnavailable,
    SubredditUnavailable,
)
from lambdas.ingest.settings import IngestSettings

logger = logging.getLogger(__name__)

PAGE_LIMIT = 100
LISTING_CAP = 1000
INFO_BATCH = 100
INFO_PATH = "/api/info"


class IngestFailed(Exception):
    """Reddit failed or refused, or what was written does not reconcile: the invocation fails (alarms, DLQ).

    What was fetched is written; the cursor has not moved, so the next run reads it again.
    """


@dataclass(frozen=True, slots=True)
class IngestRequest:
    run_id: str
    subreddit: str
    run_started_at: datetime

    @classmethod
    def from_event(cls, event: dict[str, Any], *, now: Callable[[], float] = time.time) -> IngestRequest:
        """Parse the state machine's input; ``run_started_at`` defaults to the invocation time."""
        missing = [key for key in ("run_id", "subreddit") if not event.get(key)]
        if missing:
            raise ValueError(f"ingest event lacks {', '.join(missing)}: {sorted(event)}")
        started = event.get("run_started_at")
        if started is None:
            started_at = datetime.fromtimestamp(now(), UTC)
        elif isinstance(started, int | float):
            started_at = datetime.fromtimestamp(float(started), UTC)
        else:
            started_at = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
            if started_at.tzinfo is None:
                started_at = started_at.replace(tzinfo=UTC)
        run_id = check_run_id(str(event["run_id"]))
        return cls(run_id=run_id, subreddit=str(event["subreddit"]), run_started_at=started_at)


@dataclass
class IngestResult:
    run_id: str
    subreddit: str
    status: str = "ok"
    listing_pages: int = 0
    listed_posts: int = 0
    new_posts: int = 0
    refreshed_posts: int = 0
    comments: int = 0
    posts_written: int = 0
    quarantined: int = 0
    objects_received: int = 0
    duplicates: int = 0
    cap_hit: bool = False
    budget_exhausted: bool = False
    cursor_advanced: bool = False
    error: str | None = None
    objects: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    rate_limit_waits: int = 0
    retries: int = 0
    duration_seconds: float = 0.0
    reconciliation: dict[str, Any] = field(default_factory=dict)
    # created_utc of the newest post this run wrote (the verify step's freshness), None if it wrote none.
    newest_post_created_utc: float | None = None

    def to_output(self) -> dict[str, Any]:
        """The state machine's view: counts, the objects written, and what was asked of Reddit."""
        return {
            "run_id": self.run_id,
            "subreddit": self.subreddit,
            "status": self.status,
            "counts": {
                "listing_pages": self.listing_pages,
                "listed_posts": self.listed_posts,
                "new_posts": self.new_posts,
                "refreshed_posts": self.refreshed_posts,
                "posts_written": self.posts_written,
                "comments": self.comments,
                "quarantined": self.quarantined,
                "objects_received": self.objects_received,
                "duplicates": self.duplicates,
            },
            "cap_hit": self.cap_hit,
            "budget_exhausted": self.budget_exhausted,
            "cursor_advanced": self.cursor_advanced,
            "error": self.error,
            "objects": self.objects,
            "requests": self.requests,
            "rate_limit_waits": self.rate_limit_waits,
            "retries": self.retries,
            "duration_seconds": round(self.duration_seconds, 3),
            "reconciliation": self.reconciliation,
            "newest_post_created_utc": self.newest_post_created_utc,
        }


@dataclass
class _Snapshot:
    """What one invocation has fetched so far, deduplicated by id."""

    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments_fetched: dict[str, int] = field(default_factory=dict)  # post id -> its comment count when read
    quarantined: list[tuple[Quarantined, str]] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)

    def add_posts(self, response: Any, endpoint: str, fetched_at: datetime, run_id: str) -> list[dict[str, Any]]:
        objects, bad = listing_children(response, "t3")
        self.received["t3"] += len(objects) + len(bad)
        self.quarantined.extend((item, endpoint) for item in bad)
        rows = []
        for obj in objects:
            parsed = parse_post(obj)
            if isinstance(parsed, Quarantined):
                self.quarantined.append((parsed, endpoint))
                continue
            row = {**parsed, "fetched_at": fetched_at, "run_id": run_id, "source_endpoint": endpoint}
            if parsed["id"] in self.posts:
                self.received["duplicate"] += 1
            else:
                self.posts[parsed["id"]] = row
            rows.append(row)
        return rows

    def add_comments(self, response: Any, endpoint: str, fetched_at: datetime, run_id: str) -> int:
        if not isinstance(response, list) or len(response) != 2:
            self.received["t1"] += 1
            self.quarantined.append(
                (Quarantined("t1", None, "comments response is not [post, comments]", payload_text(response)), endpoint)
            )
            return 0
        top_level, bad = listing_children(response[1], "t1")
        objects = flatten_comment_tree(top_level)
        self.received["t1"] += len(objects) + len(bad)
        self.quarantined.extend((item, endpoint) for item in bad)
        added = 0
        for obj in objects:
            parsed = parse_comment(obj)
            if isinstance(parsed, Quarantined):
                self.quarantined.append((parsed, endpoint))
                continue
            if parsed["id"] in self.comments:
                self.received["duplicate"] += 1
                continue
            self.comments[parsed["id"]] = {
                **parsed,
                "fetched_at": fetched_at,
                "run_id": run_id,
                "source_endpoint": endpoint,
            }
            added += 1
        return added


def ingest_subreddit(
    request: IngestRequest,
    *,
    settings: IngestSettings,
    gateway: RedditGateway,
    raw: ObjectStore,
    quarantine: ObjectStore,
    cursors: CursorStore,
    clock: Callable[[], float] = time.time,
) -> IngestResult:
    started = time.monotonic()
    stored = cursors.get(request.subreddit)
    work = _Invocation(
        request=request,
        settings=settings,
        gateway=gateway,
        cursor=stored.base_for(request.run_id) if stored else None,
        fetched_at=datetime.fromtimestamp(clock(), UTC),
    )
    result = work.result
    failure: Exception | None = None
    listing_complete = False
    try:
        listing_complete = work.read_listing()
        work.refresh()
        work.fetch_comments()
    except BudgetExhausted:
        result.budget_exhausted = True
    except SubredditUnavailable as exc:
        result.status, result.error = "skipped", str(exc)
        logger.warning("r/%s skipped: %s", request.subreddit, exc)
    except (RedditUnavailable, RedditRefused) as exc:
        failure = exc
        result.status, result.error = "failed", str(exc)
        logger.error("r/%s failed: %s", request.subreddit, exc)

    written = work.write(raw, quarantine)
    result.reconciliation = reconcile(result, written)
    if not result.reconciliation["balanced"] and failure is None:
        failure = IngestFailed(f"reconciliation does not hold: {result.reconciliation}")
        result.status, result.error = "failed", str(failure)

    if listing_complete and failure is None:
        result.cursor_advanced = cursors.advance(work.next_cursor(updated_at=clock()))
        if not result.cursor_advanced:
            logger.info("cursor of r/%s not moved: a newer run already moved it further", request.subreddit)
    result.requests = dict(sorted(gateway.log.by_path.items()))
    result.rate_limit_waits = gateway.log.rate_limit_waits
    result.retries = gateway.log.retries
    result.duration_seconds = time.monotonic() - started
    if failure is not None:
        raise IngestFailed(f"r/{request.subreddit} run {request.run_id}: {failure}") from failure
    return result


RECONCILIATION_RULE = "objects received from Reddit = raw rows written + quarantined + duplicates dropped in the run"


def reconcile(result: IngestResult, written: Mapping[str, int]) -> dict[str, Any]:
    """What Reddit sent (counted as it arrived) against what is stored (row counts read back from the objects)."""
    raw_rows = written[POSTS_PREFIX] + written[COMMENTS_PREFIX]
    quarantined = written[INGEST_QUARANTINE_PREFIX]
    return {
        "rule": RECONCILIATION_RULE,
        "received": result.objects_received,
        "raw_rows": raw_rows,
        "quarantined": quarantined,
        "duplicates": result.duplicates,
        "balanced": result.objects_received == raw_rows + quarantined + result.duplicates,
    }


def _children_count(response: Any) -> int:
    try:
        return len(response["data"]["children"])
    except (TypeError, KeyError):
        return 0


@dataclass
class _Invocation:
    """One subreddit's ingestion in one run: what it started from and what it has fetched."""

    request: IngestRequest
    settings: IngestSettings
    gateway: RedditGateway
    cursor: Cursor | None
    fetched_at: datetime
    snapshot: _Snapshot = field(default_factory=_Snapshot)
    listed: set[str] = field(default_factory=set)
    result: IngestResult = field(init=False)

    def __post_init__(self) -> None:
        self.result = IngestResult(run_id=self.request.run_id, subreddit=self.request.subreddit)

    @property
    def run_now(self) -> float:
        return self.request.run_started_at.timestamp()

    @property
    def refresh_horizon(self) -> float:
        """Posts created at or after this instant are recent: refreshed, and kept in the cursor."""
        return self.run_now - self.settings.refresh_max_age_seconds

    def read_listing(self) -> bool:
        """Read the listing down to the cursor; True when the whole new part was read (or the cap stopped it)."""
        path = f"/r/{self.request.subreddit}/new"
        floor = self.cursor.newest_created_utc - self.settings.overlap_seconds if self.cursor else -math.inf
        known = set(self.cursor.recent) if self.cursor else set()
        result = self.result
        after: str | None = None
        seen = 0
        while True:
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if after:
                params["after"] = after
            response = self.gateway.get(path, params)
            result.listing_pages += 1
            rows = self.snapshot.add_posts(response, path, self.fetched_at, self.request.run_id)
            self.listed.update(row["id"] for row in rows)
            children = _children_count(response)
            seen += children
            result.listed_posts += len(rows)
            result.new_posts += sum(1 for row in rows if row["id"] not in known and row["created_utc"] > floor)
            after = response.get("data", {}).get("after") if isinstance(response, dict) else None
            if any(row["created_utc"] <= floor for row in rows):
                return True
            if seen >= LISTING_CAP:
                # Reddit lists 1,000 items at most: whatever is older is out of reach of this listing.
                result.cap_hit = True
                logger.warning(
                    "r/%s: listing cap of %d reached before the cursor; posts may have been missed, poll more often",
                    self.request.subreddit,
                    LISTING_CAP,
                )
                return True
            if not after or children < PAGE_LIMIT:
                return True

    def refresh(self) -> None:
        """Re-read recent posts the listing did not return, 100 per ``/api/info`` call, newest first."""
        if self.cursor is None:
            return
        recent = self.cursor.recent
        stale = sorted(
            (
                pid
                for pid, post in recent.items()
                if post.created_utc >= self.refresh_horizon and pid not in self.listed
            ),
            key=lambda pid: recent[pid].created_utc,
            reverse=True,
        )
        for start in range(0, len(stale), INFO_BATCH):
            batch = stale[start : start + INFO_BATCH]
            response = self.gateway.get(INFO_PATH, {"id": ",".join(f"t3_{post_id}" for post_id in batch)})
            rows = self.snapshot.add_posts(response, INFO_PATH, self.fetched_at, self.request.run_id)
            self.result.refreshed_posts += len(rows)

    def fetch_comments(self) -> None:
        """Top comments of problem posts whose comment count grew, the most grown first."""
        limit = self.settings.max_comments_per_post
        if limit <= 0:
            return
        from lakehouse.domain.problem_rule import is_problem  # ~70 ms of regex compiling, only when comments are on

        fetched_before = {
            pid: post.comments_fetched for pid, post in (self.cursor.recent if self.cursor else {}).items()
        }
        candidates = []
        for post_id, row in self.snapshot.posts.items():
            growth = (row["num_comments"] or 0) - fetched_before.get(post_id, 0)
            if growth > 0 and is_problem(row["title"], row["selftext"]):
                candidates.append((growth, post_id))
        for _, post_id in sorted(candidates, reverse=True):
            path = f"/comments/{post_id}"
            response = self.gateway.get(path, {"limit": limit, "sort": "top", "depth": 1})
            self.snapshot.add_comments(response, path, self.fetched_at, self.request.run_id)
            self.snapshot.comments_fetched[post_id] = self.snapshot.posts[post_id]["num_comments"] or 0

    def write(self, raw: ObjectStore, quarantine: ObjectStore) -> dict[str, int]:
        """This run's snapshot set for the subreddit: posts, comments, quarantine rows.

        Returns the rows each table now holds for this run, read back from the stored objects'
        Parquet footers (not from the lists handed to the writer).
        """
        request, snapshot, result = self.request, self.snapshot, self.result
        common = {
            "subreddit": request.subreddit,
            "fetch_date": fetch_date_of(request.run_started_at),
            "run_id": request.run_id,
        }
        post_rows = list(snapshot.posts.values())
        bad = quarantine_rows(snapshot.quarantined, stage="ingest", run_id=request.run_id, fetched_at=self.fetched_at)
        written: dict[str, int] = {}
        for store, table, rows, schema in (
            (raw, POSTS_PREFIX, post_rows, POST_SCHEMA),
            (raw, COMMENTS_PREFIX, list(snapshot.comments.values()), COMMENT_SCHEMA),
            (quarantine, INGEST_QUARANTINE_PREFIX, bad, QUARANTINE_SCHEMA),
        ):
            keys = write_snapshot_set(store, table=table, rows=rows, schema=schema, **common)
            result.objects += [store.uri.rstrip("/") + "/" + key for key in keys]
            written[table] = stored_rows(store, keys)
        result.posts_written = len(post_rows)
        result.newest_post_created_utc = max((row["created_utc"] for row in post_rows), default=None)
        result.comments = len(snapshot.comments)
        result.quarantined = len(bad)
        result.duplicates = snapshot.received["duplicate"]
        result.objects_received = snapshot.received["t3"] + snapshot.received["t1"]
        return written

    def next_cursor(self, *, updated_at: float) -> Cursor:
        """The high-water mark of the listing, and the recent posts to refresh next time."""
        cursor = self.cursor
        newest_created = cursor.newest_created_utc if cursor else -math.inf
        newest_id = cursor.newest_id if cursor else None
        for post_id, row in self.snapshot.posts.items():
            if row["source_endpoint"] != INFO_PATH and row["created_utc"] > newest_created:
                newest_created, newest_id = row["created_utc"], post_id
        horizon = self.refresh_horizon
        recent = {pid: post for pid, post in (cursor.recent if cursor else {}).items() if post.created_utc >= horizon}
        for post_id, row in self.snapshot.posts.items():
            if row["created_utc"] >= horizon:
                previous = recent.get(post_id)
                fetched = self.snapshot.comments_fetched.get(post_id, previous.comments_fetched if previous else 0)
                recent[post_id] = RecentPost(created_utc=row["created_utc"], comments_fetched=fetched)
        return Cursor(
            subreddit=self.request.subreddit,
            newest_created_utc=newest_created if math.isfinite(newest_created) else 0.0,
            newest_id=newest_id,
            run_id=self.request.run_id,
            updated_at=updated_at,
            recent=recent,
            previous=replace(cursor, previous=None) if cursor else None,
        )
