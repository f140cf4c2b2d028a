"""Raw-zone rows for tests, shaped exactly as ingestion writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.lake.zones import COMMENT_SCHEMA, POST_SCHEMA, to_parquet

CREATED = 1_793_000_000.0  # 2026-10-26


def raw_post(post_id: str, **overrides: Any) -> dict[str, Any]:
    payload = {"id": post_id, "title": overrides.get("title", f"post {post_id}"), "num_crossposts": 0, "locked": False}
    row: dict[str, Any] = {
        "id": post_id,
        "subreddit_name": "Python",
        "author": "real_author_name",
        "author_fullname": "t2_abc",
        "title": f"post {post_id}",
        "selftext": "just sharing",
        "url": f"https://www.reddit.com/r/Python/comments/{post_id}/x/",
        "permalink": f"/r/Python/comments/{post_id}/x/",
        "domain": "self.Python",
        "created_utc": CREATED,
        "edited_utc": None,
        "score": 1,
        "upvote_ratio": 1.0,
        "num_comments": 0,
        "over_18": False,
        "stickied": False,
        "is_self": True,
        "promoted": None,
        "distinguished": None,
        "link_flair_text": None,
        "removed_by_category": None,
        "payload": json.dumps(payload),
        "fetched_at": datetime.fromtimestamp(CREATED + 3600, UTC),
        "run_id": "run-1",
        "source_endpoint": "/r/Python/new",
    }
    row.update(overrides)
    return row


def raw_comment(comment_id: str, post_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": comment_id,
        "post_id": post_id,
        "parent_id": f"t3_{post_id}",
        "subreddit_name": "Python",
        "author": "commenter_name",
        "author_fullname": "t2_def",
        "body": "have you tried turning it off and on",
        "created_utc": CREATED + 60,
        "edited_utc": None,
        "score": 2,
        "depth": 0,
        "stickied": False,
        "distinguished": None,
        "payload": json.dumps({"id": comment_id}),
        "fetched_at": datetime.fromtimestamp(CREATED + 3600, UTC),
        "run_id": "run-1",
        "source_endpoint": f"/comments/{post_id}",
    }
    row.update(overrides)
    return row


def write_raw(lake: Path, name: str, posts: list[dict[str, Any]], comments: list[dict[str, Any]] | None = None) -> None:
    """Write a raw object the way ingestion lays them out."""
    target = lake / "raw" / "posts" / "subreddit=python" / "fetch_date=2026-10-26" / f"{name}.part-00000.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(to_parquet(posts, POST_SCHEMA))
    if comments:
        target = lake / "raw" / "comments" / "subreddit=python" / "fetch_date=2026-10-26" / f"{name}.part-00000.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(to_parquet(comments, COMMENT_SCHEMA))
