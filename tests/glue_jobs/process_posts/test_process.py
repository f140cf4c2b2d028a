"""The whole job on a small lake: reconciliation, idempotent reruns, the quality gate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from pyspark.sql import SparkSession

from glue_jobs.process_posts import process
from glue_jobs.process_posts.io import ProcessedTableUnreadable
from glue_jobs.process_posts.local_entry import run_local
from glue_jobs.process_posts.quality import DataQualityError
from tests.glue_jobs.process_posts.rows import CREATED, raw_comment, raw_post, write_raw

pytestmark = pytest.mark.spark
NOW = CREATED + 86400


def _processed(lake: Path, table: str = "posts") -> list[dict[str, object]]:
    return ds.dataset(lake / "processed" / table, format="parquet", partitioning="hive").to_table().to_pylist()


def test_first_run_reconciles_and_a_rerun_over_overlapping_raw_adds_no_duplicate(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    write_raw(
        lake,
        "run-1",
        [raw_post("p1"), raw_post("p2", stickied=True), raw_post("BAD"), raw_post("p3", title="How do I fix this?")],
        [raw_comment("c1", "p1"), raw_comment("c2", "p3", body="email me: a.b@example.org")],
    )

    first = run_local(lake, job_run="job-1", now_epoch=NOW, spark=spark)

    assert first["posts"] == {
        "raw": 4,
        "quarantined": 1,
        "superseded": 0,
        "filtered": 1,
        "processed": 2,
        "current_rows": 2,
        "current_rows_stored": 2,
        "balanced": True,
    }
    assert first["filtered_by_reason"] == {"stickied": 1}
    assert first["quarantined_by_reason"] == {"t3: id is not a base36 Reddit id": 1}
    assert sorted(r["post_id"] for r in _processed(lake)) == ["p1", "p3"]
    assert "[email]" in next(r["body"] for r in _processed(lake, "comments") if r["comment_id"] == "c2")

    later = datetime.fromtimestamp(CREATED + 50_000, UTC)
    write_raw(lake, "run-2", [raw_post("p1", score=77, fetched_at=later, run_id="run-2"), raw_post("p4")])
    second = run_local(lake, job_run="job-2", now_epoch=NOW, spark=spark)

    assert second["raw_objects_read"] == 1  # the bookmark skips what job-1 read
    rows = _processed(lake)
    assert sorted(r["post_id"] for r in rows) == ["p1", "p3", "p4"]
    assert next(r for r in rows if r["post_id"] == "p1")["score"] == 77
    quarantine = ds.dataset(lake / "quarantine" / "process" / "posts", format="parquet", partitioning="hive")
    assert quarantine.to_table().column("reason").to_pylist() == ["id is not a base36 Reddit id"]


def test_reprocessing_the_same_raw_changes_nothing(spark: SparkSession, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_raw(lake, "run-1", [raw_post("p1"), raw_post("p2")])
    run_local(lake, job_run="job-1", now_epoch=NOW, spark=spark)
    before = sorted(_processed(lake), key=lambda r: str(r["post_id"]))
    (lake / "state" / "bookmarks" / "process_posts.json").unlink()  # as if the bookmark never advanced

    again = run_local(lake, job_run="job-1", now_epoch=NOW, spark=spark)

    assert again["posts"]["balanced"]
    assert sorted(_processed(lake), key=lambda r: str(r["post_id"])) == before


def test_gate_fails_with_the_rule_and_numbers_when_duplicates_slip_past_dedupe(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    write_raw(lake, "run-1", [raw_post("p1"), raw_post("p2")])
    run_local(lake, job_run="job-1", now_epoch=NOW, spark=spark)
    write_raw(lake, "run-2", [raw_post("p1", score=5, run_id="run-2")])
    monkeypatch.setattr(
        process.transforms,
        "merge_current",
        lambda existing, incoming, key: existing.select(*incoming.columns).unionByName(incoming),
    )

    with pytest.raises(DataQualityError, match=r"unique_ids\[posts\]: 1 of 3 output rows"):
        run_local(lake, job_run="job-2", now_epoch=NOW, spark=spark)

    assert sorted(r["post_id"] for r in _processed(lake)) == ["p1", "p2"]  # nothing written past the gate
    bookmark = (lake / "state" / "bookmarks" / "process_posts.json").read_text()
    assert "run-2" not in bookmark  # the failed run's input will be read again


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", ["a file where the table's directory is", "every data file unreadable"])
def test_a_processed_table_that_cannot_be_read_fails_the_job_before_anything_is_written(
    spark: SparkSession, tmp_path: Path, damage: str
) -> None:
    lake = tmp_path / "lake"
    write_raw(lake, "run-1", [raw_post("p1"), raw_post("p2")])
    run_local(lake, job_run="job-1", now_epoch=NOW, spark=spark)
    posts = lake / "processed" / "posts"
    if damage.startswith("a file"):
        for path in sorted(posts.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        posts.rmdir()
        posts.write_bytes(b"not a directory of Parquet files")
    else:  # no checksum file to catch it: the bytes themselves are no Parquet
        for path in posts.rglob("*"):
            if path.name.startswith("."):
                path.unlink()
            elif path.is_file():
                path.write_bytes(b"PAR1 garbage, not a footer")
    before = _tree(lake / "processed")
    write_raw(lake, "run-2", [raw_post("p1", score=9, run_id="run-2"), raw_post("p3", run_id="run-2")])

    with pytest.raises(ProcessedTableUnreadable, match=rf"cannot read processed table {posts}"):
        run_local(lake, job_run="job-2", now_epoch=NOW, spark=spark)

    assert _tree(lake / "processed") == before
    assert "run-2" not in (lake / "state" / "bookmarks" / "process_posts.json").read_text()


def test_a_writer_that_drops_a_row_fails_the_reconciliation(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    write_raw(lake, "run-1", [raw_post("p1"), raw_post("p2"), raw_post("p3")])
    write_current = process.io.write_current
    monkeypatch.setattr(process.io, "write_current", lambda df, root: write_current(df.where("post_id != 'p2'"), root))

    with pytest.raises(DataQualityError, match=r"reconciliation\[posts\]: raw 3 != processed 2 \+ filtered 0"):
        run_local(lake, job_run="job-1", now_epoch=NOW, spark=spark)

    assert not (lake / "state" / "bookmarks" / "process_posts.json").exists()  # the rerun reads it all again


def test_a_rewrite_that_loses_a_row_an_earlier_run_wrote_fails_the_reconciliation(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    write_raw(lake, "run-1", [raw_post("p1"), raw_post("p2")])
    run_local(lake, job_run="job-1", now_epoch=NOW, spark=spark)
    write_raw(lake, "run-2", [raw_post("p3", run_id="run-2")])  # the same month: p1 and p2 are rewritten too
    write_current = process.io.write_current
    monkeypatch.setattr(process.io, "write_current", lambda df, root: write_current(df.where("post_id != 'p1'"), root))

    with pytest.raises(DataQualityError, match=r"rewritten_months\[posts\]: 2 of 3 current rows stored"):
        run_local(lake, job_run="job-2", now_epoch=NOW, spark=spark)

    assert "run-2" not in (lake / "state" / "bookmarks" / "process_posts.json").read_text()


def test_a_rerun_under_the_same_job_run_id_counts_nothing_twice(spark: SparkSession, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_raw(lake, "run-1", [raw_post("p1"), raw_post("p2")])
    run_local(lake, job_run="local-1", now_epoch=NOW, spark=spark)
    write_raw(lake, "run-2", [raw_post("p3", run_id="run-2")])

    again = run_local(lake, job_run="local-1", now_epoch=NOW, spark=spark)

    assert (again["posts"]["raw"], again["posts"]["processed"], again["posts"]["superseded"]) == (1, 1, 0)
    assert (again["posts"]["current_rows"], again["posts"]["current_rows_stored"]) == (3, 3)
