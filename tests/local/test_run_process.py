"""Ingest + process of the real corpus: one clean row per post, nothing personal, counts that add up."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from lakehouse_tools.local.runner import RunOptions, run
from tests.conftest import REAL_CORPUS_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.real_corpus]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _table(lake: Path, *parts: str) -> list[dict[str, Any]]:
    return ds.dataset(lake.joinpath(*parts), format="parquet", partitioning="hive").to_table().to_pylist()


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    if not (REAL_CORPUS_DIR / "submissions.jsonl.gz").exists():
        pytest.skip(f"real corpus absent: {REAL_CORPUS_DIR}")
    with gzip.open(REAL_CORPUS_DIR / "submissions.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, corpus: list[dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    lake = tmp_path_factory.mktemp("real") / "lake"
    first = run(RunOptions(source=f"replay:{REAL_CORPUS_DIR}", lake=lake, run_id="first"))
    assert first["ok"], first
    # A second run over overlapping raw data: forget the cursors, so ingestion fetches every post again.
    shutil.rmtree(lake / "state" / "cursors")
    second = run(RunOptions(source=f"replay:{REAL_CORPUS_DIR}", lake=lake, run_id="second"))
    assert second["ok"], second
    return lake, second


def test_one_row_per_unique_valid_post_even_after_overlapping_raw(
    lake: tuple[Path, dict[str, Any]], corpus: list[dict[str, Any]]
) -> None:
    root, second = lake
    posts = _table(root, "processed", "posts")
    per_id = Counter(row["post_id"] for row in posts)
    assert max(per_id.values()) == 1
    listed = {p["id"] for p in corpus if p.get("subreddit")}
    excluded = {row["post_id"] for row in _table(root, "processed", "post_exclusions")}
    assert set(per_id) | excluded == listed
    assert set(per_id).isdisjoint(excluded)
    process = second["stages"]["process"]
    assert process["posts"]["raw"] == len(listed)  # the second run's snapshots, read once
    assert all(check["balanced"] for check in second["reconciliation"].values())
    assert second["reconciliation"]["process_posts"]["superseded"] == 0


def test_no_email_address_and_no_authors_name_reaches_processed(
    lake: tuple[Path, dict[str, Any]], corpus: list[dict[str, Any]]
) -> None:
    root, _ = lake
    emails = {e for post in corpus for f in ("title", "selftext") for e in EMAIL.findall(post.get(f) or "")}
    assert len(emails) == 6
    by_id = {post["id"]: post for post in corpus}
    posts = _table(root, "processed", "posts")
    comments = _table(root, "processed", "comments")
    text = "\n".join(str(value) for row in posts + comments for value in row.values() if isinstance(value, str | list))
    assert not [email for email in emails if email in text]
    account_ids = {post["author_fullname"] for post in corpus if post.get("author_fullname")}
    assert not [account for account in account_ids if account in text]
    for row in posts:  # no row names its own author, in any column
        author = by_id[row["post_id"]].get("author")
        for column, value in row.items():
            if isinstance(value, str) and author and len(author) >= 3 and author != "[deleted]":
                assert not re.search(rf"(?<![\w-]){re.escape(author)}(?![\w-])", value, re.IGNORECASE), (
                    row["post_id"],
                    column,
                )
    assert all(row["author_hash"] is None or len(row["author_hash"]) == 32 for row in posts)
