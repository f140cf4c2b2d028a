"""``lakehouse run`` end to end through ingestion: the real corpus, fault storms, incremental reruns."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from lakehouse_tools.local.runner import RunOptions, run
from lakehouse_tools.replay.server import ReplayOptions
from tests.conftest import REAL_CORPUS_DIR

pytestmark = pytest.mark.e2e

SYNTHETIC = {"subreddits": ["python", "SaaS"], "days": 4}
NOW = 1_793_491_200.0  # the synthetic corpus's end


def _ingest(lake: Path, source: str, run_id: str, **options: Any) -> dict[str, Any]:
    """``lakehouse run --until ingest`` at the synthetic corpus's end."""
    return run(RunOptions(source=source, lake=lake, now=NOW, run_id=run_id, until="ingest", **options))


def _raw_posts(lake: Path) -> list[dict[str, Any]]:
    return ds.dataset(lake / "raw" / "posts", format="parquet", partitioning="hive").to_table().to_pylist()


@pytest.mark.real_corpus
def test_real_corpus_ingests_every_listed_submission_exactly_once(tmp_path: Path) -> None:
    if not REAL_CORPUS_DIR.exists():
        pytest.skip(f"real corpus absent: {REAL_CORPUS_DIR}")
    summary = run(RunOptions(source=f"replay:{REAL_CORPUS_DIR}", lake=tmp_path, subreddits=("ALL",)))

    assert summary["ok"], summary["stages"]["ingest"]["failed"]
    with gzip.open(REAL_CORPUS_DIR / "submissions.jsonl.gz", "rt") as lines:
        corpus = [json.loads(line) for line in lines]
    with_subreddit = {post["id"] for post in corpus if post.get("subreddit")}
    rows = _raw_posts(tmp_path)
    per_id = Counter(row["id"] for row in rows)
    assert set(per_id) == with_subreddit
    assert max(per_id.values()) == 1
    ingest = summary["stages"]["ingest"]
    assert ingest["subreddits"] == 686
    assert summary["corpus"] == {"posts": 3943, "unlisted_posts": 5}
    assert summary["reconciliation"]["ingest"]["balanced"]
    assert ingest["posts_written"] == len(with_subreddit)
    assert summary["reddit_requests"]["/r/AskReddit/new"] == 6
    quarantine = tmp_path / "quarantine"
    reasons = ds.dataset(quarantine, format="parquet", partitioning="hive").to_table().column("reason").to_pylist()
    assert len(reasons) == ingest["quarantined"]
    assert all(reasons)


def test_fault_storm_lands_the_same_ids_as_a_clean_run(tmp_path: Path) -> None:
    def ingest(lake: Path, replay: ReplayOptions) -> dict[str, Any]:
        return _ingest(
            lake,
            "synthetic:9",
            "storm-test",
            replay=replay,
            synthetic=SYNTHETIC,
            retry_base_seconds=0.001,
            max_requests=300,
        )

    clean = ingest(tmp_path / "clean", ReplayOptions())
    stormy = ingest(tmp_path / "stormy", ReplayOptions(inject_429=0.3, inject_5xx=0.05, seed=5, retry_after_seconds=0))

    assert clean["ok"]
    assert stormy["ok"], stormy["stages"]["ingest"]["failed"]
    assert stormy["stages"]["ingest"]["rate_limit_waits"] > 0
    assert stormy["replay_server"]["statuses"].get("429", 0) > 0
    assert sorted(r["id"] for r in _raw_posts(tmp_path / "stormy")) == sorted(
        r["id"] for r in _raw_posts(tmp_path / "clean")
    )


def test_concurrent_ingestion_lands_what_one_at_a_time_lands_and_logs_each_invocation(tmp_path: Path) -> None:
    subreddits = ["python", "SaaS", "dataengineering", "startups", "smallbusiness"]

    def ingest(lake: Path, concurrency: int) -> dict[str, Any]:
        return _ingest(
            lake, "synthetic:4", "threads", synthetic={"subreddits": subreddits, "days": 2}, concurrency=concurrency
        )

    one = ingest(tmp_path / "one", 1)
    four = ingest(tmp_path / "four", 4)

    assert four["ok"]

    def without_tokens(requests: dict[str, int]) -> dict[str, int]:  # each thread has its own OAuth token
        return {path: count for path, count in requests.items() if path != "/api/v1/access_token"}

    assert four["stages"]["ingest"]["posts_written"] == one["stages"]["ingest"]["posts_written"]
    assert four["stages"]["ingest"]["comments"] == one["stages"]["ingest"]["comments"]
    assert without_tokens(four["reddit_requests"]) == without_tokens(one["reddit_requests"])
    landed = {(r["id"], r["score"], r["num_comments"]) for r in _raw_posts(tmp_path / "four")}
    assert landed == {(r["id"], r["score"], r["num_comments"]) for r in _raw_posts(tmp_path / "one")}
    by_subreddit = four["stages"]["ingest"]["by_subreddit"]
    assert sorted(name.lower() for name in by_subreddit) == sorted(name.lower() for name in subreddits)
    lines = [json.loads(line) for line in (tmp_path / "four" / "logs" / "threads" / "ingest.jsonl").open()]
    metrics = [line for line in lines if "_aws" in line]  # one EMF blob per invocation
    assert sorted(m["posts_written"] for m in metrics) == sorted([c["posts_written"]] for c in by_subreddit.values())
    ingested = [line for line in lines if line.get("message") == "ingested"]
    assert sorted(line["subreddit"] for line in ingested) == sorted(by_subreddit)
    for line in ingested:  # each invocation's log line names its own subreddit, not another thread's
        assert line["counts"] == {name: by_subreddit[line["subreddit"]][name] for name in line["counts"]}


def test_cli_reruns_are_incremental_and_the_summary_counts_requests_by_path(tmp_path: Path) -> None:
    lake = tmp_path / "lake"

    def cli(now: float, summary: Path) -> dict[str, Any]:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "lakehouse_tools.cli",
                "run",
                "--source",
                "synthetic:3",
                "--lake",
                str(lake),
                "--subreddits",
                "python,SaaS",
                "--now",
                str(now),
                "--until",
                "ingest",
                "--days",
                "4",
                "--summary-json",
                str(summary),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        return json.loads(summary.read_text())

    first = cli(NOW - 6 * 3600, tmp_path / "first.json")
    second = cli(NOW, tmp_path / "second.json")

    assert set(first["reddit_requests"]) >= {"/r/python/new", "/r/SaaS/new"}
    assert all(path.startswith("/") for path in second["reddit_requests"])
    assert second["stages"]["ingest"]["listing_pages"] == 2  # six hours of posts: one page per subreddit
    assert 0 < second["stages"]["ingest"]["new_posts"] < first["stages"]["ingest"]["new_posts"]
    assert second["stages"]["ingest"]["refreshed_posts"] > 0
    assert second["reconciliation"]["ingest"]["balanced"]
    assert {"ingest", "total"} <= set(second["timings_seconds"])
