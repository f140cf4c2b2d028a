"""Scoring a run: which posts are sent, what is written, what is never paid twice."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakehouse.lake.store import LocalObjectStore
from lakehouse.tables import OPPORTUNITY_DIMENSIONS
from lambdas.score.assessment import Answer, Assessment, BatchUnavailable, Budget, PostContext
from lambdas.score.prompt import Prompt
from lambdas.score.score import ScoreRequest, score_run
from lambdas.score.settings import Backend, BatchPolicy, ScoringPolicy
from lambdas.score.store import ScoreStore
from tests.lambdas.score.lake import comment, policy, post, write_processed

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@dataclass
class FakeBackend:
    """Answers every post (quoting its title) at a fixed cost a call; fails the ids it is told to."""

    cost: float = 0.01
    failing: frozenset[str] = frozenset()
    throttled: frozenset[str] = frozenset()
    model_id: str = "fake-model"
    backend: Backend = Backend.BEDROCK
    seen: list[PostContext] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reservation_usd(self, post: PostContext) -> float:
        return self.cost

    def assess(self, post: PostContext, budget: Budget) -> Assessment:
        if not budget.reserve(self.cost):
            return Assessment(deferred="budget")
        with self.lock:
            self.seen.append(post)
        if post.post_id in self.throttled:
            budget.settle(self.cost, 0.0)
            return Assessment(deferred="ThrottlingException after 6 attempts")
        budget.settle(self.cost, self.cost)
        usage = {"model_calls": 1, "input_tokens": 1000, "output_tokens": 200, "cost_usd": self.cost}
        if post.post_id in self.failing:
            return Assessment(failure="invalid answer after repair: evidence not in the post", **usage)
        answer = Answer(
            is_opportunity=True,
            opportunity_reason="Recurring invoicing pain.",
            dimensions=dict(zip(OPPORTUNITY_DIMENSIONS, (80, 70, 60, 50, 40), strict=True)),
            app_concept="An invoicing assistant.",
            core_functions=("send invoices",),
            target_user="freelancers",
            evidence=(post.title,),
        )
        return Assessment(answer=answer, **usage)


def _run(lake: Path, backend: FakeBackend, scoring: ScoringPolicy, run_id: str = "run-1", **kwargs: Any) -> Any:
    store = ScoreStore(LocalObjectStore(lake / "processed"), LocalObjectStore(lake / "analytics"))
    result = score_run(
        ScoreRequest(run_id, NOW),
        store=store,
        backend=backend,
        policy=scoring,
        prompt=Prompt.load(),
        clock=NOW.timestamp,
        **kwargs,
    )
    return result, store


def test_scores_every_problem_post_once_and_a_rerun_pays_nothing(tmp_path: Path) -> None:
    write_processed(
        tmp_path,
        [post("p1"), post("p2"), post("p3", is_problem=False)],
        [comment("c1", "p1", "Same here, it eats my Fridays.", 5), comment("c2", "p1", "[deleted]", 9)],
    )
    backend = FakeBackend()
    result, store = _run(tmp_path, backend, policy())

    assert sorted(p.post_id for p in backend.seen) == ["p1", "p2"]  # the non-problem post is never sent
    assert {p.post_id: p.comments for p in backend.seen}["p1"] == ("Same here, it eats my Fridays.",)
    scores = {row["post_id"]: row for row in store.current_scores("opportunity-v1")}
    assert set(scores) == {"p1", "p2"}
    assert scores["p1"]["opportunity_score"] == 0.25 * 80 + 0.25 * 70 + 0.2 * 60 + 0.15 * 50 + 0.15 * 40
    assert scores["p1"]["tier"] == "medium"
    assert scores["p1"]["status"] == "scored"
    assert scores["p1"]["model_id"] == "fake-model"
    assert result.model_calls == 2
    assert result.cost_usd == pytest.approx(0.02)

    again = FakeBackend()
    second, store = _run(tmp_path, again, policy(), run_id="run-2")
    assert again.seen == []
    assert second.model_calls == 0
    assert second.already_scored == 2
    assert len(store.current_scores("opportunity-v1")) == 2
    ledger = store.ledger_rows("2026-12-02", "run-1")
    assert len(ledger) == 2
    assert {row["prompt_version"] for row in ledger} == {"opportunity-v1"}  # a column of the ledger's files
    assert store.ledger_rows("2026-12-02", "run-2") == []


def test_an_edited_post_is_scored_again_and_replaces_its_score(tmp_path: Path) -> None:
    write_processed(tmp_path, [post("p1"), post("p2")])
    _run(tmp_path, FakeBackend(), policy())
    write_processed(tmp_path, [post("p1", body="Edited: invoicing is still a real pain for me."), post("p2")])

    backend = FakeBackend()
    _, store = _run(tmp_path, backend, policy(), run_id="run-2")

    assert [p.post_id for p in backend.seen] == ["p1"]
    rows = store.current_scores("opportunity-v1")
    assert len(rows) == 2  # one current score per post and prompt version
    assert {row["post_id"]: row["run_id"] for row in rows} == {"p1": "run-2", "p2": "run-1"}


def test_a_new_model_scores_again_but_a_new_prompt_only_when_the_environment_opts_in(tmp_path: Path) -> None:
    write_processed(tmp_path, [post("p1")])
    _run(tmp_path, FakeBackend(), policy())

    other_model = FakeBackend(model_id="other-model")
    _run(tmp_path, other_model, policy(), run_id="run-2")
    assert [p.post_id for p in other_model.seen] == ["p1"]

    store = ScoreStore(LocalObjectStore(tmp_path / "processed"), LocalObjectStore(tmp_path / "analytics"))
    # The same content scored under an older prompt version counts as scored, unless the env opts in.
    _retag_prompt_version(store, "opportunity-v1", "opportunity-v0")
    same = FakeBackend(model_id="other-model")
    _run(tmp_path, same, policy(), run_id="run-3")
    assert same.seen == []
    opted_in = FakeBackend(model_id="other-model")
    _run(tmp_path, opted_in, policy(rescore_on_new_prompt=True), run_id="run-4")
    assert [p.post_id for p in opted_in.seen] == ["p1"]


def _retag_prompt_version(store: ScoreStore, old: str, new: str) -> None:
    rows = {row["post_id"]: row for row in store.current_scores(old)}
    store.write_scores(new, rows)
    store.analytics.delete(store.scores_key(old))


def test_a_failed_answer_is_recorded_with_its_reason_and_no_score_and_not_paid_again(tmp_path: Path) -> None:
    write_processed(tmp_path, [post("p1"), post("p2")])
    result, store = _run(tmp_path, FakeBackend(failing=frozenset({"p2"})), policy())

    failed = {row["post_id"]: row for row in store.current_scores("opportunity-v1")}["p2"]
    assert failed["status"] == "failed"
    assert "evidence" in failed["failure_reason"]
    assert all(failed[name] is None for name in OPPORTUNITY_DIMENSIONS)
    assert failed["opportunity_score"] is None
    assert failed["tier"] is None
    assert result.statuses["failed"] == 1

    again = FakeBackend()
    _run(tmp_path, again, policy(), run_id="run-2")
    assert again.seen == []


def test_a_throttled_post_is_not_recorded_and_waits_for_the_next_run(tmp_path: Path) -> None:
    write_processed(tmp_path, [post("p1"), post("p2")])
    result, store = _run(tmp_path, FakeBackend(throttled=frozenset({"p1"})), policy())
    assert [row["post_id"] for row in store.current_scores("opportunity-v1")] == ["p2"]
    assert result.statuses["deferred"] == 1
    assert result.still_waiting == 1

    later = FakeBackend()
    _run(tmp_path, later, policy(), run_id="run-2")
    assert [p.post_id for p in later.seen] == ["p1"]


def test_the_budget_stops_the_run_newest_first_and_the_rest_waits(tmp_path: Path) -> None:
    write_processed(tmp_path, [post(f"p{i}") for i in range(1, 11)])
    backend = FakeBackend(cost=0.01)
    result, store = _run(tmp_path, backend, policy(budget_usd_per_run=0.035, max_concurrency=3))

    assert result.cost_usd <= 0.035
    assert len(backend.seen) == 3
    assert sorted(p.post_id for p in backend.seen) == ["p10", "p8", "p9"]  # the newest three
    assert result.budget_exhausted
    assert result.left_for_next_run == 7
    assert result.still_waiting == 7
    assert len(store.current_scores("opportunity-v1")) == 3


def test_checkpoints_write_scores_and_ledger_as_the_run_goes(tmp_path: Path) -> None:
    write_processed(tmp_path, [post(f"p{i}") for i in range(1, 8)])
    result, store = _run(tmp_path, FakeBackend(), policy(checkpoint_every=3))
    assert result.checkpoints == 3  # 3 + 3 + 1
    assert len(store.ledger_keys("2026-12-02", "run-1")) == 3
    assert len(store.ledger_rows("2026-12-02", "run-1")) == 7
    assert len(store.current_scores("opportunity-v1")) == 7


@dataclass
class FakeBatch:
    minimum: int = 3
    submitted: list[list[str]] = field(default_factory=list)
    pending: set[tuple[str, str]] = field(default_factory=set)
    finished: list[PostContext] = field(default_factory=list)
    marked: int = 0
    unavailable: bool = False
    refuse_submit: bool = False

    def min_records(self) -> int:
        if self.unavailable:
            raise BatchUnavailable("no Bedrock service quota named 'q'")
        return self.minimum

    def in_flight(self) -> set[tuple[str, str]]:
        return set(self.pending)

    def submit(self, run_id: str, posts: Sequence[PostContext]) -> dict[str, Any]:
        if self.refuse_submit:
            raise ValueError("batch inference has no record format for model family 'meta'")
        self.submitted.append([p.post_id for p in posts])
        self.pending |= {(p.post_id, p.content_hash) for p in posts}
        self.finished = list(posts)
        return {
            "job_arn": f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{run_id}",
            "records": {p.post_id: {"post_id": p.post_id, "content_hash": p.content_hash} for p in posts},
        }

    def mark_collected(self) -> None:
        self.marked += 1

    def collect(self, current: Mapping[tuple[str, str], PostContext]) -> list[tuple[PostContext, Assessment]]:
        done = [p for p in self.finished if (p.post_id, p.content_hash) in current]
        self.pending.clear()
        self.finished = []
        backend = FakeBackend(cost=0.005)
        return [(p, _as_batch(backend.assess(p, Budget(1.0)))) for p in done]


def _as_batch(assessment: Assessment) -> Assessment:
    return Assessment(
        answer=assessment.answer,
        model_calls=1,
        input_tokens=1000,
        output_tokens=200,
        cost_usd=assessment.cost_usd,
        mode="batch",
    )


def test_a_backlog_goes_to_a_batch_job_and_a_later_run_collects_it_without_paying_on_demand(tmp_path: Path) -> None:
    write_processed(tmp_path, [post(f"p{i}") for i in range(1, 6)])
    batch = FakeBatch(minimum=3)
    scoring = policy(batch=BatchPolicy(enabled=True, min_records_quota_name="quota"))
    on_demand = FakeBackend()
    result, store = _run(tmp_path, on_demand, scoring, batch=batch)
    assert batch.submitted
    assert len(batch.submitted[0]) == 5
    assert on_demand.seen == []
    assert result.batch["submitted"] == 5
    assert store.current_scores("opportunity-v1") == []

    in_flight = FakeBackend()
    _run(tmp_path, in_flight, scoring, run_id="run-2", batch=FakeBatch(minimum=3, pending=set(batch.pending)))
    assert in_flight.seen == []  # posts in a batch job are not paid for on demand meanwhile

    later = FakeBackend()
    collected, store = _run(tmp_path, later, scoring, run_id="run-3", batch=batch)
    assert later.seen == []
    assert collected.batch["collected"] == 5
    rows = store.current_scores("opportunity-v1")
    assert len(rows) == 5
    assert {row["mode"] for row in rows} == {"batch"}


def test_a_quota_that_cannot_be_read_leaves_every_post_on_demand(tmp_path: Path) -> None:
    write_processed(tmp_path, [post(f"p{i}") for i in range(1, 6)])
    on_demand = FakeBackend()
    result, _ = _run(
        tmp_path,
        on_demand,
        policy(batch=BatchPolicy(enabled=True, min_records_quota_name="q")),
        batch=FakeBatch(unavailable=True),
    )
    assert len(on_demand.seen) == 5
    assert "no Bedrock service quota" in result.batch["skipped"]


def test_a_model_batch_cannot_format_for_scores_on_demand_within_the_whole_budget(tmp_path: Path) -> None:
    write_processed(tmp_path, [post(f"p{i}") for i in range(1, 6)])
    on_demand = FakeBackend(cost=0.01)
    result, _ = _run(
        tmp_path,
        on_demand,
        policy(budget_usd_per_run=0.05, batch=BatchPolicy(enabled=True, min_records_quota_name="q")),
        batch=FakeBatch(minimum=3, refuse_submit=True),
    )
    assert len(on_demand.seen) == 5  # the batch's reservation was given back
    assert "model family" in result.batch["skipped"]


@dataclass
class RaisingBackend(FakeBackend):
    """Answers, then meets an error that stops every post (access denied) on one post."""

    fatal: str = "p3"

    def assess(self, post: PostContext, budget: Budget) -> Assessment:
        if post.post_id == self.fatal:
            raise RuntimeError("AccessDeniedException")
        return super().assess(post, budget)


def test_an_error_that_stops_the_run_keeps_what_was_paid_on_record(tmp_path: Path) -> None:
    write_processed(tmp_path, [post(f"p{i}") for i in range(1, 6)])
    backend = RaisingBackend(fatal="p3")
    with pytest.raises(RuntimeError, match="AccessDenied"):
        _run(tmp_path, backend, policy(max_concurrency=1, checkpoint_every=50))
    store = ScoreStore(LocalObjectStore(tmp_path / "processed"), LocalObjectStore(tmp_path / "analytics"))
    paid = {p.post_id for p in backend.seen}
    assert paid == {"p5", "p4"}  # newest first, until the error
    assert {row["post_id"] for row in store.ledger_rows("2026-12-02", "run-1")} == paid
    assert {row["post_id"] for row in store.current_scores("opportunity-v1")} == paid


def test_a_small_increment_goes_on_demand_even_with_batch_enabled(tmp_path: Path) -> None:
    write_processed(tmp_path, [post("p1"), post("p2")])
    batch = FakeBatch(minimum=100)
    on_demand = FakeBackend()
    _run(tmp_path, on_demand, policy(batch=BatchPolicy(enabled=True, min_records_quota_name="q")), batch=batch)
    assert batch.submitted == []
    assert len(on_demand.seen) == 2


def test_the_request_comes_from_the_state_machine_payload() -> None:
    request = ScoreRequest.from_event({"run": {"run_id": "r-1", "run_started_at": "2026-12-02T06:00:00Z"}})
    assert request.scored_date == "2026-12-02"
    with pytest.raises(ValueError, match="run_started_at"):
        ScoreRequest.from_event({"run": {"run_id": "r-1"}})
