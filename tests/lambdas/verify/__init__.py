"""Run manifests as the stages write them, built from a few numbers (shared by the verify tests)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lakehouse.pipeline import RunManifests, Stage

EVENT: dict[str, Any] = json.loads((Path(__file__).parent / "events" / "verify_event.json").read_text())
RUN_ID: str = EVENT["run"]["run_id"]
NOW = 1_793_500_000.0  # the verify time of every pure test (2026-11-01T02:26:40Z)


def ingest_manifest(
    subreddit: str,
    *,
    posts: int = 10,
    comments: int = 20,
    quarantined: int = 1,
    duplicates: int = 0,
    requests: Mapping[str, int] | None = None,
    duration_seconds: float = 10.0,
    newest_post_created_utc: float | None = NOW - 600,
    balanced: bool = True,
    status: str = "ok",
) -> dict[str, Any]:
    """What ``IngestResult.to_output()`` records for one subreddit (the keys verify reads, and a few more)."""
    received = posts + comments + quarantined + duplicates
    return {
        "subreddit": subreddit,
        "status": status,
        "counts": {
            "listing_pages": 1,
            "listed_posts": posts,
            "new_posts": posts,
            "refreshed_posts": 0,
            "posts_written": posts,
            "comments": comments,
            "quarantined": quarantined,
            "objects_received": received,
            "duplicates": duplicates,
        },
        "cap_hit": False,
        "requests": dict(requests if requests is not None else {f"/r/{subreddit}/new": 1, "/api/info": 1}),
        "duration_seconds": duration_seconds,
        "reconciliation": {
            "rule": "objects received from Reddit = raw rows written + quarantined + duplicates dropped in the run",
            "received": received if balanced else received + 2,
            "raw_rows": posts + comments,
            "quarantined": quarantined,
            "duplicates": duplicates,
            "balanced": balanced,
        },
        "newest_post_created_utc": newest_post_created_utc,
    }


def zone(raw: int, *, quarantined: int = 0, filtered: int = 0, superseded: int = 0, balanced: bool = True) -> dict:
    """One table's ``ZoneCounts`` of a pass, as the job records it (with its ``balanced`` verdict)."""
    processed = raw - quarantined - filtered - superseded
    return {
        "raw": raw,
        "quarantined": quarantined,
        "superseded": superseded,
        "filtered": filtered,
        "processed": processed if balanced else processed - 1,
        "current_rows": processed,
        "current_rows_stored": processed,
        "balanced": balanced,
    }


def job_pass(
    job_run_id: str = "jr_0123456789abcdef", *, posts: dict | None = None, comments: dict | None = None
) -> dict:
    return {
        "job_run_id": job_run_id,
        "posts": posts if posts is not None else zone(20, filtered=4, quarantined=1),
        "comments": comments if comments is not None else zone(40, filtered=10),
        "quality_breaches": [],
    }


def process_manifest(
    ingest: Mapping[str, Mapping[str, Any]], *, passes: Sequence[dict] | None = None, run_id: str = RUN_ID
) -> dict[str, Any]:
    """The job's manifest for a run that read exactly what ``ingest`` wrote (change it to break that)."""
    by_table: dict[str, dict[str, int]] = {"posts": {}, "comments": {}}
    for manifest in ingest.values():
        name = str(manifest["subreddit"]).lower()
        by_table["posts"][name] = manifest["counts"]["posts_written"]
        by_table["comments"][name] = manifest["counts"]["comments"]
    return {
        "passes": list(passes) if passes is not None else [job_pass()],
        "raw_rows_by_run": {table: {run_id: counts} for table, counts in by_table.items()},
    }


def balanced_run() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The event's run: python and SaaS ingested, startups skipped (nothing written), Entrepreneur failed."""
    ingest = {
        "python": ingest_manifest("python", duration_seconds=12.0, newest_post_created_utc=NOW - 900),
        "SaaS": ingest_manifest("SaaS", posts=5, comments=0, quarantined=0, duration_seconds=8.0),
        "startups": ingest_manifest(
            "startups",
            posts=0,
            comments=0,
            quarantined=0,
            requests={"/r/startups/new": 1},
            duration_seconds=0.5,
            newest_post_created_utc=None,
            status="skipped",
        ),
    }
    return ingest, process_manifest(ingest)


def write_run(runs: RunManifests, ingest: Mapping[str, dict[str, Any]], process: dict[str, Any] | None) -> None:
    """Record the run as the stages do (through ``RunManifests``)."""
    for subreddit, manifest in ingest.items():
        runs.write(RUN_ID, Stage.INGEST, manifest, part=subreddit)
    if process is not None:
        runs.write(RUN_ID, Stage.PROCESS, process)
