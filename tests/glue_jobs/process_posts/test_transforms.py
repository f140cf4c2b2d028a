"""The job's pure transforms on the shared local SparkSession."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from glue_jobs.process_posts import transforms
from lakehouse.domain.pii import DEVELOPMENT_KEY
from lakehouse.lake.zones import POST_SCHEMA, to_parquet
from tests.glue_jobs.process_posts.rows import CREATED, raw_post

pytestmark = pytest.mark.spark
NOW = CREATED + 86400


def _raw(spark: SparkSession, tmp_path: Path, rows: list[dict[str, Any]], name: str = "raw") -> DataFrame:
    """Rows as the job reads them: a Parquet object in the raw zone's schema."""
    path = tmp_path / f"{name}.parquet"
    path.write_bytes(to_parquet(rows, POST_SCHEMA))
    return transforms.normalize_posts(spark.read.parquet(str(path)))


def test_normalize_adds_columns_older_raw_files_lack_and_reads_payload_fields(
    spark: SparkSession, tmp_path: Path
) -> None:
    old = spark.createDataFrame(
        [("abc1", "Python", "t", CREATED, '{"id": "abc1"}')],
        ["id", "subreddit_name", "title", "created_utc", "payload"],
    )

    posts = transforms.normalize_posts(old.withColumn("brand_new_reddit_field", old.id))

    row = posts.collect()[0]
    assert row["removed_by_category"] is None
    assert row["num_crossposts"] is None  # absent from the 2010 payload
    assert "brand_new_reddit_field" not in posts.columns
    assert posts.schema["score"].dataType.typeName() == "long"


def test_validation_names_the_first_broken_rule(spark: SparkSession, tmp_path: Path) -> None:
    rows = [
        raw_post("good1"),
        raw_post("BAD-ID"),
        raw_post("future1", created_utc=NOW + 10 * 86400),
        raw_post("ancient1", created_utc=1_000_000_000.0),
        raw_post("nosub1", subreddit_name="  "),
        raw_post("ratio1", upvote_ratio=1.5),
    ]
    posts = _raw(spark, tmp_path, rows)

    valid, invalid = transforms.validate(posts, transforms.post_checks(NOW))

    assert [r["id"] for r in valid.collect()] == ["good1"]
    reasons = {r["id"]: r["reason"] for r in invalid.collect()}
    assert reasons == {
        "BAD-ID": "id is not a base36 Reddit id",
        "future1": "created_utc is in the future",
        "ancient1": "created_utc is before Reddit existed",
        "nosub1": "subreddit is missing",
        "ratio1": "upvote_ratio is outside [0, 1]",
    }


def test_latest_snapshot_wins(spark: SparkSession, tmp_path: Path) -> None:
    early = datetime.fromtimestamp(CREATED + 60, UTC)
    late = datetime.fromtimestamp(CREATED + 7200, UTC)
    rows = [
        raw_post("abc1", score=5, fetched_at=early, run_id="r1"),
        raw_post("abc1", score=42, fetched_at=late, run_id="r2"),
        raw_post("abc2", score=1, fetched_at=early, run_id="r1"),
    ]

    latest = transforms.latest_snapshot(_raw(spark, tmp_path, rows))

    assert sorted((r["id"], r["score"], r["run_id"]) for r in latest.collect()) == [
        ("abc1", 42, "r2"),
        ("abc2", 1, "r1"),
    ]


def test_filters_count_their_reasons_and_keep_the_rest(spark: SparkSession, tmp_path: Path) -> None:
    rows = [
        raw_post("keep1"),
        raw_post("ad1", promoted=True),
        raw_post("pin1", stickied=True),
        raw_post("gone1", selftext="[removed]", removed_by_category="moderator"),
        raw_post("gone2", selftext="[deleted]", removed_by_category=None),  # author left, content stays analysable
    ]

    kept, dropped = transforms.filter_posts(_raw(spark, tmp_path, rows), transforms.FilterSettings())

    assert sorted(r["id"] for r in kept.collect()) == ["gone2", "keep1"]
    assert {r["id"]: r["reason"] for r in dropped.collect()} == {
        "ad1": "promoted",
        "pin1": "stickied",
        "gone1": "content removed",
    }
    kept_all, _ = transforms.filter_posts(
        _raw(spark, tmp_path, rows, "again"),
        transforms.FilterSettings(drop_promoted=False, drop_stickied=False, drop_removed_content=False),
    )
    assert kept_all.count() == 5


def test_enrichment_flags_problems_and_scrubs_personal_data(spark: SparkSession, tmp_path: Path) -> None:
    rows = [
        raw_post(
            "pii1",
            title="Is there a tool that syncs invoices? Email me at jane.doe@example.com",
            selftext="I'm so frustrated. Call +1 555-013-4567 or ping u/helper_bob or me (u/jane_doe_99), "
            "see instagram.com/janedoe",
            author="jane_doe_99",
        ),
        raw_post("calm1", title="No problem! Here's my cat", selftext="", author="[deleted]"),
        raw_post("user1", subreddit_name="u_jane_doe_99", permalink="/r/u_jane_doe_99/comments/user1/x/"),
    ]

    out = {
        r["post_id"]: r
        for r in transforms.enrich_posts(_raw(spark, tmp_path, rows), DEVELOPMENT_KEY, "job-1").collect()
    }

    pii = out["pii1"]
    assert pii["is_problem"]
    assert "request" in pii["problem_signals"]
    assert "jane" not in (pii["title"] + pii["body"]).lower()
    assert "[email]" in pii["title"]
    assert "[phone]" in pii["body"]
    assert "u/[user]" in pii["body"]
    assert "u/[author]" in pii["body"]  # the author's own name, wherever it stands
    assert "[personal-link]" in pii["body"]
    assert pii["author_hash"] != "jane_doe_99"
    assert len(pii["author_hash"]) == 32
    assert pii["language"] == "en"
    assert -1 <= pii["sentiment"] <= 1
    assert not out["calm1"]["is_problem"]
    assert out["calm1"]["author_hash"] is None
    assert "jane" not in out["user1"]["subreddit"] + out["user1"]["permalink"]
    assert out["user1"]["subreddit"].startswith("u_")
    assert pii["created_month"] == "2026-10"
    assert all(r["problem_rule_version"] for r in out.values())


def test_author_pseudonyms_are_stable_and_keyed(spark: SparkSession, tmp_path: Path) -> None:
    rows = [raw_post("a1", author="Same_Person"), raw_post("a2", author="same_person")]
    one = {
        r["author_hash"]
        for r in transforms.enrich_posts(_raw(spark, tmp_path, rows), DEVELOPMENT_KEY, "job-1").collect()
    }
    other_key = transforms.enrich_posts(_raw(spark, tmp_path, rows, "b"), b"another-key-of-16-bytes-or-more", "job-1")
    assert len(one) == 1
    assert one.isdisjoint({r["author_hash"] for r in other_key.collect()})


def test_merge_keeps_one_current_row_and_the_first_sighting(spark: SparkSession, tmp_path: Path) -> None:
    first = transforms.enrich_posts(_raw(spark, tmp_path, [raw_post("m1", score=1)], "first"), DEVELOPMENT_KEY, "job-1")
    later = datetime.fromtimestamp(CREATED + 99_000, UTC)
    second = transforms.enrich_posts(
        _raw(spark, tmp_path, [raw_post("m1", score=9, fetched_at=later, run_id="r9")], "second"),
        DEVELOPMENT_KEY,
        "job-2",
    )

    merged = transforms.merge_current(first, second, "post_id").collect()

    assert len(merged) == 1
    assert merged[0]["score"] == 9
    assert merged[0]["snapshot_run_id"] == "r9"
    assert merged[0]["first_seen_at"] == datetime.fromtimestamp(CREATED + 3600, UTC).replace(tzinfo=None)


def test_payload_is_valid_json_for_every_test_row() -> None:
    assert json.loads(raw_post("x")["payload"])["id"] == "x"
