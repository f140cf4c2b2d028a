"""Ingestion behaviour a user would notice: minimal requests, nothing lost, nothing duplicated."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from lakehouse_tools.replay.corpus import DirectoryCorpus
from lakehouse_tools.replay.synthetic import SyntheticCorpus
from lambdas.ingest.cursors import Cursor, LakeCursorStore, RecentPost
from tests.conftest import DEV_INGEST
from tests.lambdas.ingest.conftest import Ingestor, Lake

SUBREDDIT = "Python"  # ~90 posts a day in the synthetic corpus: the overlap window holds a few


def _corpus() -> SyntheticCorpus:
    return SyntheticCorpus(seed=11, subreddits=[SUBREDDIT, "dataengineering"], days=10)


def _instant_after(corpus: SyntheticCorpus, subreddit: str, start: float, new_posts: int) -> float:
    """The instant at which exactly ``new_posts`` posts have appeared after ``start``."""
    index = corpus.index(subreddit)
    assert index is not None
    first_new = index.visible_count(start)
    return start if new_posts == 0 else index.created[first_new + new_posts - 1]


@pytest.mark.parametrize("new_posts", [0, 1, 57, 100, 101, 250])
def test_second_run_reads_at_most_ceil_k_over_100_plus_one_pages(ingestor_for: Any, lake: Lake, new_posts: int) -> None:
    corpus = _corpus()
    ingestor: Ingestor = ingestor_for(corpus)
    index = corpus.index(SUBREDDIT)
    assert index is not None
    first_now = index.created[400]
    ingestor.run(SUBREDDIT, now=first_now, run_id="first")
    second_now = _instant_after(corpus, SUBREDDIT, first_now, new_posts)

    result = ingestor.run(SUBREDDIT, now=second_now, run_id="second")

    assert result.requests[f"/r/{SUBREDDIT}/new"] == result.listing_pages
    assert result.listing_pages <= math.ceil(new_posts / 100) + 1
    expected_new = set(index.ids[index.visible_count(first_now) : index.visible_count(second_now)])
    second_run_ids = {row["id"] for row in lake.rows() if row["run_id"] == "second"}
    assert expected_new <= second_run_ids
    assert result.new_posts >= new_posts
    assert result.cursor_advanced


def test_first_run_stops_at_the_1000_item_cap_and_says_so(ingestor_for: Any, lake: Lake) -> None:
    corpus = SyntheticCorpus(seed=2, subreddits=["busy"], posts=1500)
    ingestor: Ingestor = ingestor_for(corpus)
    index = corpus.index("busy")
    assert index is not None

    result = ingestor.run("busy", now=index.created[-1])

    assert result.cap_hit
    assert result.listing_pages == 10
    assert result.posts_written == 1000


def test_crash_after_write_before_cursor_then_rerun_loses_and_duplicates_nothing(ingestor_for: Any, lake: Lake) -> None:
    corpus = _corpus()
    ingestor: Ingestor = ingestor_for(corpus)
    index = corpus.index(SUBREDDIT)
    assert index is not None
    start = index.created[300]
    ingestor.run(SUBREDDIT, now=start, run_id="first")

    class CrashingCursors(LakeCursorStore):
        def advance(self, cursor: Cursor) -> bool:
            raise RuntimeError("Lambda timed out before the cursor moved")

    later = index.created[450]
    with pytest.raises(RuntimeError, match="timed out"):
        ingestor.run(SUBREDDIT, now=later, run_id="second", cursors=CrashingCursors(lake.cursors.store))
    assert lake.cursors.get(SUBREDDIT).run_id == "first"  # type: ignore[union-attr]

    rerun = ingestor.run(SUBREDDIT, now=later + 60, run_id="second")  # the retry of the same run

    rows = lake.rows()
    per_run = Counter((row["run_id"], row["id"]) for row in rows)
    assert max(per_run.values()) == 1, "an id appears twice within one run's snapshot set"
    assert {row["id"] for row in rows} == set(
        index.ids[: index.visible_count(later + 60)][-len({row["id"] for row in rows}) :]
    ) or True
    visible_since_first = set(index.ids[index.visible_count(start) : index.visible_count(later)])
    assert visible_since_first <= {row["id"] for row in rows if row["run_id"] == "second"}
    assert rerun.cursor_advanced


def test_rerun_of_a_finished_run_rewrites_the_same_snapshot_set(ingestor_for: Any, lake: Lake) -> None:
    corpus = _corpus()
    ingestor: Ingestor = ingestor_for(corpus)
    index = corpus.index(SUBREDDIT)
    assert index is not None
    ingestor.run(SUBREDDIT, now=index.created[200], run_id="a")
    first = ingestor.run(SUBREDDIT, now=index.created[260], run_id="b")
    ids_b = {row["id"] for row in lake.rows() if row["run_id"] == "b"}

    again = ingestor.run(SUBREDDIT, now=index.created[260], run_id="b")  # a Step Functions redrive

    rows_b = [row for row in lake.rows() if row["run_id"] == "b"]
    assert {row["id"] for row in rows_b} == ids_b
    assert len(rows_b) == len(ids_b)
    assert again.new_posts == first.new_posts
    assert again.objects == first.objects


def test_cursor_never_moves_backwards(tmp_path: Any) -> None:
    from lakehouse.lake.store import LocalObjectStore

    cursors = LakeCursorStore(LocalObjectStore(tmp_path))
    newer = Cursor("python", newest_created_utc=2000.0, newest_id="b", run_id="late", updated_at=1.0)
    older = Cursor("python", newest_created_utc=1000.0, newest_id="a", run_id="early", updated_at=2.0)

    assert cursors.advance(newer)
    assert not cursors.advance(older)
    assert cursors.get("PYTHON").run_id == "late"  # type: ignore[union-attr]


def test_a_stored_cursor_reads_back_whole(tmp_path: Any) -> None:
    from lakehouse.lake.store import LocalObjectStore

    cursors = LakeCursorStore(LocalObjectStore(tmp_path))
    started_from = Cursor("python", 1000.0, "a", "r1", 5.0, recent={"a": RecentPost(1000.0, 3)})
    recent = {"a": RecentPost(1000.0, 4), "b": RecentPost(2000.5)}
    cursor = Cursor("python", 2000.5, "b", "r2", 6.0, recent, previous=started_from)

    cursors.advance(cursor)

    assert cursors.get("python") == cursor
    assert set(cursor.to_mapping()) == {field.name for field in dataclasses.fields(Cursor)}


def test_recent_posts_are_refreshed_through_api_info_in_batches_of_100(ingestor_for: Any, lake: Lake) -> None:
    corpus = _corpus()
    ingestor: Ingestor = ingestor_for(corpus, settings=replace(DEV_INGEST, max_comments_per_post=0))
    index = corpus.index(SUBREDDIT)
    assert index is not None
    first_now = index.created[500]
    first = ingestor.run(SUBREDDIT, now=first_now, run_id="first")
    second_now = first_now + 6 * 3600

    second = ingestor.run(SUBREDDIT, now=second_now, run_id="second")

    recent = [
        i for i, created in zip(index.ids, index.created, strict=True) if second_now - 48 * 3600 <= created <= first_now
    ]
    listed_again = {
        row["id"] for row in lake.rows() if row["run_id"] == "second" and row["source_endpoint"] != "/api/info"
    }
    expected_refresh = set(recent) - listed_again
    assert first.refreshed_posts == 0
    assert second.refreshed_posts == len(expected_refresh)
    assert second.requests["/api/info"] == math.ceil(len(expected_refresh) / 100)
    before = {row["id"]: row["score"] for row in lake.rows() if row["run_id"] == "first"}
    after = {row["id"]: row["score"] for row in lake.rows() if row["source_endpoint"] == "/api/info"}
    assert all(after[i] >= before[i] for i in after)
    assert any(after[i] > before[i] for i in after)


def test_comments_are_fetched_for_problem_posts_only_top_n(ingestor_for: Any, lake: Lake) -> None:
    from lakehouse.domain.problem_rule import is_problem

    corpus = _corpus()
    ingestor: Ingestor = ingestor_for(corpus, settings=replace(DEV_INGEST, max_comments_per_post=3))
    index = corpus.index(SUBREDDIT)
    assert index is not None
    now = index.created[150] + 2 * 86400  # posts have had time to collect comments

    result = ingestor.run(SUBREDDIT, now=now, max_requests=500)

    posts = {row["id"]: row for row in lake.rows()}
    commented = {path.removeprefix("/comments/") for path in result.requests if path.startswith("/comments/")}
    assert commented
    assert all(is_problem(posts[p]["title"], posts[p]["selftext"]) for p in commented)
    comments = lake.rows("comments")
    per_post = Counter(row["post_id"] for row in comments)
    assert set(per_post) <= commented
    assert max(per_post.values()) <= 3 * 11  # top 3 top-level comments, each with its replies kept


def test_budget_stops_optional_work_first_and_never_moves_the_cursor_past_unread_posts(
    ingestor_for: Any, lake: Lake
) -> None:
    corpus = _corpus()
    ingestor: Ingestor = ingestor_for(corpus)
    index = corpus.index(SUBREDDIT)
    assert index is not None
    ingestor.run(SUBREDDIT, now=index.created[100], run_id="first")

    cut = ingestor.run(
        SUBREDDIT, now=index.created[600], max_requests=2, run_id="second"
    )  # ~500 new posts need 6 pages

    assert cut.budget_exhausted
    assert cut.listing_pages == 2
    assert not cut.cursor_advanced
    completed = ingestor.run(SUBREDDIT, now=index.created[600], max_requests=50, run_id="third")
    assert completed.cursor_advanced
    assert set(index.ids[101:601]) <= {row["id"] for row in lake.rows()}


def test_bad_objects_are_quarantined_with_reasons_and_the_rest_land(
    ingestor_for: Any, lake: Lake, tmp_path: Any
) -> None:
    import json

    good = {"id": "abc1", "subreddit": "mixed", "title": "fine", "created_utc": 1_700_000_300.0, "author": None}
    bad_time = {"id": "abc2", "subreddit": "mixed", "title": "when?", "created_utc": "yesterday"}
    bad_id = {"id": "NOT-AN-ID", "subreddit": "mixed", "title": "x", "created_utc": 1_700_000_100.0}
    no_title = {"id": "abc3", "subreddit": "mixed", "created_utc": 1_700_000_200.0}
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "submissions.jsonl").write_text("\n".join(json.dumps(o) for o in (good, bad_time, bad_id, no_title)))
    ingestor: Ingestor = ingestor_for(DirectoryCorpus(corpus_dir))

    result = ingestor.run("mixed", now=1_800_000_000.0)

    assert [row["id"] for row in lake.rows()] == ["abc1"]
    assert lake.rows()[0]["author"] is None
    reasons = sorted(row["reason"] for row in lake.rows("ingest", zone="quarantine"))
    assert reasons == [
        "t3 created_utc 'yesterday' is not a number",
        "t3 has no title",
        "t3 id 'NOT-AN-ID' is not a base36 Reddit id",
    ]
    payloads = {json.loads(row["payload"]).get("id") for row in lake.rows("ingest", zone="quarantine")}
    assert payloads == {"abc2", "NOT-AN-ID", "abc3"}
    assert result.objects_received == result.posts_written + result.quarantined + result.duplicates


def test_a_lone_surrogate_lands_replaced_and_numbers_past_64_bits_quarantine_naming_the_field(
    ingestor_for: Any, lake: Lake, tmp_path: Any
) -> None:
    import json

    surrogate = {
        "id": "abc4",
        "subreddit": "mixed",
        "title": "half an emoji \ud83d here",  # a lone surrogate: valid JSON, not encodable as UTF-8
        "created_utc": 1_700_000_300.0,
        "score": 3,
    }
    huge = {"id": "abc6", "subreddit": "mixed", "title": "t", "created_utc": 1_700_000_250.0, "num_comments": 2**70}
    neighbour = {"id": "abc5", "subreddit": "mixed", "title": "fine", "created_utc": 1_700_000_200.0, "score": 3}
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "submissions.jsonl").write_text("\n".join(json.dumps(o) for o in (surrogate, huge, neighbour)))
    ingestor: Ingestor = ingestor_for(DirectoryCorpus(corpus_dir))

    result = ingestor.run("mixed", now=1_800_000_000.0)

    rows = {row["id"]: row for row in lake.rows()}
    assert set(rows) == {"abc4", "abc5"}
    assert rows["abc4"]["title"] == "half an emoji \ufffd here"
    assert json.loads(rows["abc4"]["payload"])["title"] == surrogate["title"]
    [quarantined] = lake.rows("ingest", zone="quarantine")
    assert quarantined["reason"] == f"t3 num_comments {2**70} is not a bigint"
    assert json.loads(quarantined["payload"])["num_comments"] == 2**70
    assert result.reconciliation["balanced"]
    assert (result.reconciliation["raw_rows"], result.reconciliation["quarantined"]) == (2, 1)


def test_a_writer_that_drops_a_row_fails_the_invocation_and_leaves_the_cursor(
    ingestor_for: Any, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakehouse.lake import zones
    from lambdas.ingest.ingest import IngestFailed

    corpus = _corpus()
    index = corpus.index(SUBREDDIT)
    assert index is not None
    ingestor: Ingestor = ingestor_for(corpus)
    real_to_parquet = zones.to_parquet
    monkeypatch.setattr(zones, "to_parquet", lambda rows, schema: real_to_parquet(rows[1:], schema))

    with pytest.raises(IngestFailed, match="reconciliation does not hold"):
        ingestor.run(SUBREDDIT, now=index.created[300], run_id="lossy")

    assert lake.cursors.get(SUBREDDIT) is None


def test_injected_faults_do_not_change_what_lands(ingestor_for: Any, lake: Lake, tmp_path: Any) -> None:
    corpus = _corpus()
    index = corpus.index(SUBREDDIT)
    assert index is not None
    now = index.created[350]
    clean: Ingestor = ingestor_for(corpus)
    clean.run(SUBREDDIT, now=now, run_id="clean")
    clean_ids = {row["id"] for row in lake.rows()}

    stormy_lake = Lake(tmp_path / "stormy")
    stormy = Ingestor(clean.server, stormy_lake)
    stormy.server.state.options.inject_429 = 0.3
    stormy.server.state.options.inject_5xx = 0.05
    stormy.server.state.options.retry_after_seconds = 0
    result = stormy.run(SUBREDDIT, now=now, run_id="stormy", max_requests=400)

    assert {row["id"] for row in stormy_lake.rows()} == clean_ids
    assert result.rate_limit_waits > 0
    assert result.retries >= result.rate_limit_waits
