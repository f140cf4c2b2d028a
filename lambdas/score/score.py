"""Score a run: select the problem posts with no score yet, assess as many as the budget allows, record.

A post needs a score when no stored score was made from its content (``content_hash``), by the
configured model, under the current prompt version; with ``rescore_on_new_prompt`` off, a score
under an earlier prompt version counts too. A failed assessment (an answer that stayed invalid
after its repair) is recorded with its reason and counts as done: the same content, prompt and
model would fail the same way, and a rerun must never pay twice. A deferred one (throttled after
every retry, or no budget left) is not recorded, and the post waits for the next run.

Newest posts go first (fresh pain is worth more than an old backlog); batch inference takes a
backlog when it is larger than the model's minimum records per job (see ``lambdas.score.batch``),
its expected cost reserved in this run's budget; a later run collects its answers.

Scores and ledger rows are written every ``checkpoint_every`` assessments, so a crash loses at most
that many answers (which the next attempt then pays for again, and the ledger shows it).

No AWS here: the stores, the backend, the batch jobs and the clock are arguments.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from lakehouse.pipeline import check_run_id
from lakehouse.tables import OPPORTUNITY_DIMENSIONS, PROMPT_PARTITION, SCORED_DATE_PARTITION
from lambdas.score.assessment import (
    BUDGET_DEFERRAL,
    Assessment,
    BatchUnavailable,
    Budget,
    PostContext,
    ScoringBackend,
)
from lambdas.score.prompt import Prompt
from lambdas.score.settings import ScoringPolicy
from lambdas.score.store import ScoreKey, ScoreStore

__all__ = ["BatchJobs", "ScoreRequest", "ScoreResult", "needs_score", "score_run"]

logger = logging.getLogger(__name__)


class BatchJobs(Protocol):
    """Bedrock batch inference as scoring uses it (``lambdas.score.batch.BatchInference``)."""

    def min_records(self) -> int: ...

    def in_flight(self) -> set[tuple[str, str]]: ...

    def submit(self, run_id: str, posts: Sequence[PostContext]) -> dict[str, Any]: ...

    def collect(self, current: Mapping[tuple[str, str], PostContext]) -> list[tuple[PostContext, Assessment]]: ...

    def mark_collected(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    run_id: str
    run_started_at: datetime

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ScoreRequest:
        """The state machine's payload ``{"run": {"run_id", "run_started_at", ...}}``."""
        try:
            run = event["run"]
            started = datetime.fromisoformat(str(run["run_started_at"]).replace("Z", "+00:00"))
            run_id = check_run_id(str(run["run_id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the score event needs run.run_id and run.run_started_at (ISO 8601): {exc}") from exc
        return cls(run_id=run_id, run_started_at=started if started.tzinfo else started.replace(tzinfo=UTC))

    @property
    def scored_date(self) -> str:
        return self.run_started_at.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass
class ScoreResult:
    """What a run's scoring did and cost: the manifest's body, the summary's stage, the metrics' source."""

    backend: str
    model_id: str
    prompt_version: str
    budget_usd: float
    problem_posts: int = 0
    already_scored: int = 0
    waiting: int = 0  # posts that needed a score when the run began
    in_flight: int = 0  # posts in earlier runs' batch jobs, not yet answered
    statuses: Counter[str] = field(default_factory=Counter)  # scored / failed / deferred, on demand
    left_for_next_run: int = 0  # never sent: the budget ran out first
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    budget_exhausted: bool = False
    checkpoints: int = 0
    batch: dict[str, Any] = field(default_factory=dict)

    def add(self, assessment: Assessment) -> None:
        if assessment.deferred and assessment.deferred.startswith(BUDGET_DEFERRAL):
            self.left_for_next_run += 1
        else:
            self.statuses[assessment.status] += 1
        self.model_calls += assessment.model_calls
        self.input_tokens += assessment.input_tokens
        self.output_tokens += assessment.output_tokens
        self.cost_usd += assessment.cost_usd

    @property
    def still_waiting(self) -> int:
        """Posts without a score after this run (in batch jobs or not sent): the backlog."""
        return self.waiting + self.in_flight - self.statuses["scored"] - self.statuses["failed"]

    def to_manifest(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model_id": self.model_id,
            "prompt_version": self.prompt_version,
            "problem_posts": self.problem_posts,
            "already_scored": self.already_scored,
            "waiting": self.waiting,
            "in_flight": self.in_flight,
            "scored": self.statuses["scored"],
            "failed": self.statuses["failed"],
            "deferred": self.statuses["deferred"],
            "left_for_next_run": self.left_for_next_run,
            "still_waiting": self.still_waiting,
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "budget_usd": self.budget_usd,
            "budget_exhausted": self.budget_exhausted,
            "checkpoints": self.checkpoints,
            "batch": self.batch,
        }


def needs_score(
    post: PostContext, scored: Sequence[ScoreKey], *, model_id: str, prompt_version: str, rescore: bool
) -> bool:
    """Whether ``post`` has no score from its content by ``model_id`` (under this prompt, or any when not rescoring)."""
    return not any(
        key.content_hash == post.content_hash
        and key.model_id == model_id
        and (key.prompt_version == prompt_version or not rescore)
        for key in scored
    )


def score_run(
    request: ScoreRequest,
    *,
    store: ScoreStore,
    backend: ScoringBackend,
    policy: ScoringPolicy,
    prompt: Prompt,
    batch: BatchJobs | None = None,
    clock: Callable[[], float],
) -> ScoreResult:
    result = ScoreResult(backend.backend.value, backend.model_id, prompt.version, policy.budget_usd_per_run)
    budget = Budget(policy.budget_usd_per_run)
    posts = store.problem_posts(policy)
    result.problem_posts = len(posts)
    index = store.score_index()
    current = {row["post_id"]: row for row in store.current_scores(prompt.version)}
    recorder = _Recorder(store, request, prompt.version, policy, current, clock, result)

    by_key = {(post.post_id, post.content_hash): post for post in posts}
    in_flight: set[tuple[str, str]] = set()
    if batch is not None:
        collected = batch.collect(by_key)
        for post, assessment in collected:
            recorder.record(post, assessment, backend_name=backend.backend.value, model_id=backend.model_id)
            index.setdefault(post.post_id, []).append(ScoreKey(prompt.version, post.content_hash, backend.model_id))
        recorder.checkpoint()
        batch.mark_collected()  # only once the answers are stored: a crash before reads them again
        in_flight = batch.in_flight()
        result.batch["collected"] = len(collected)
        result.in_flight = len(in_flight & by_key.keys())

    waiting = [
        post
        for post in posts
        if needs_score(
            post,
            index.get(post.post_id, ()),
            model_id=backend.model_id,
            prompt_version=prompt.version,
            rescore=policy.rescore_on_new_prompt,
        )
        and (post.post_id, post.content_hash) not in in_flight
    ]
    waiting.sort(key=lambda post: (-post.created_utc, post.post_id))
    result.already_scored = len(posts) - len(waiting) - len(in_flight & by_key.keys())
    result.waiting = len(waiting)
    if waiting:
        comments = store.top_comments([post.post_id for post in waiting], policy)
        waiting = [replace(post, comments=comments.get(post.post_id, ())) for post in waiting]
    if batch is not None and policy.batch.enabled:
        waiting = _submit_batch(request, waiting, backend, policy, batch, budget, result)

    try:
        _assess_on_demand(waiting, backend, budget, policy, recorder, result)
    finally:  # what was paid for is on record even when a call raised
        recorder.checkpoint()
    result.budget_exhausted = budget.exhausted
    return result


def _submit_batch(
    request: ScoreRequest,
    waiting: list[PostContext],
    backend: ScoringBackend,
    policy: ScoringPolicy,
    batch: BatchJobs,
    budget: Budget,
    result: ScoreResult,
) -> list[PostContext]:
    """Send a backlog to a batch job when it is large enough; return what is left for on-demand calls.

    Batch is an economy, never a condition: a quota that cannot be read, or a model family batch does not
    know, leaves every post on demand (logged, and in the manifest's ``batch.skipped``).
    """
    if not waiting:
        return waiting
    try:
        minimum = batch.min_records()
    except (BatchUnavailable, ValueError) as exc:
        logger.error("batch inference skipped: %s", exc)
        result.batch["skipped"] = str(exc)
        return waiting
    result.batch["min_records"] = minimum
    if len(waiting) < minimum:
        return waiting
    per_post = [backend.reservation_usd(post) * policy.batch.price_factor for post in waiting]
    affordable, spend = 0, 0.0
    for cost in per_post[: policy.batch.max_records_per_job]:
        if spend + cost > policy.budget_usd_per_run:
            break
        affordable, spend = affordable + 1, spend + cost
    if affordable < minimum:
        result.batch["skipped"] = f"the budget pays for {affordable} records, fewer than the minimum {minimum}"
        return waiting
    if not budget.reserve(spend):
        return waiting
    try:
        job = batch.submit(request.run_id, waiting[:affordable])
    except (BatchUnavailable, ValueError) as exc:  # e.g. a model family batch has no record format for
        budget.settle(spend, 0.0)
        logger.error("batch inference skipped: %s", exc)
        result.batch["skipped"] = str(exc)
        return waiting
    if job.get("already_submitted"):  # this run's job exists (a rerun): its records are in flight already
        budget.settle(spend, 0.0)
        return waiting
    budget.settle(spend, spend)  # the job's expected cost: paid when Bedrock runs it, counted now
    result.batch.update(submitted=len(job["records"]), job=job.get("job_arn"), expected_cost_usd=round(spend, 6))
    submitted = {(record["post_id"], record["content_hash"]) for record in job["records"].values()}
    return [post for post in waiting if (post.post_id, post.content_hash) not in submitted]


def _assess_on_demand(
    waiting: Sequence[PostContext],
    backend: ScoringBackend,
    budget: Budget,
    policy: ScoringPolicy,
    recorder: _Recorder,
    result: ScoreResult,
) -> None:
    """Assess in newest-first order, ``max_concurrency`` at a time, until the budget refuses a call."""
    queue = iter(waiting)
    sent = 0
    raised: BaseException | None = None
    with futures.ThreadPoolExecutor(max_workers=policy.max_concurrency, thread_name_prefix="score") as pool:
        running: dict[futures.Future[Assessment], PostContext] = {}
        stop = False
        while True:
            while not stop and len(running) < policy.max_concurrency:
                post = next(queue, None)
                if post is None:
                    break
                running[pool.submit(backend.assess, post, budget)] = post
                sent += 1
            if not running:
                break
            done, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in done:
                post = running.pop(future)
                try:
                    assessment = future.result()
                except Exception as exc:  # what stops every post (access denied): the calls in flight finish and
                    raised, stop = raised or exc, True  # are recorded, then it raises
                    sent -= 1
                    continue
                if assessment.deferred and budget.exhausted:
                    stop = True
                recorder.record(post, assessment, backend_name=backend.backend.value, model_id=backend.model_id)
    result.left_for_next_run += len(waiting) - sent
    if raised is not None:
        raise raised


class _Recorder:
    """Turns assessments into score and ledger rows, and writes them at each checkpoint."""

    def __init__(
        self,
        store: ScoreStore,
        request: ScoreRequest,
        prompt_version: str,
        policy: ScoringPolicy,
        current: dict[str, dict[str, Any]],
        clock: Callable[[], float],
        result: ScoreResult,
    ) -> None:
        self.store, self.request, self.prompt_version, self.policy = store, request, prompt_version, policy
        self.current, self.clock, self.result = current, clock, result
        self.ledger: list[dict[str, Any]] = []
        self.pending = 0

    def record(self, post: PostContext, assessment: Assessment, *, backend_name: str, model_id: str) -> None:
        if assessment.mode == "on_demand":
            self.result.add(assessment)
        else:
            self.result.batch[assessment.status] = self.result.batch.get(assessment.status, 0) + 1
            self.result.model_calls += assessment.model_calls
            self.result.input_tokens += assessment.input_tokens
            self.result.output_tokens += assessment.output_tokens
            self.result.cost_usd += assessment.cost_usd
        if assessment.model_calls == 0 and assessment.deferred:
            return  # nothing was sent or paid: not a ledger row
        usage = {
            "post_id": post.post_id,
            "content_hash": post.content_hash,
            "model_id": model_id,
            "backend": backend_name,
            "mode": assessment.mode,
            "status": assessment.status,
            "failure_reason": assessment.failure or assessment.deferred,
            "model_calls": assessment.model_calls,
            "input_tokens": assessment.input_tokens,
            "output_tokens": assessment.output_tokens,
            "cost_usd": assessment.cost_usd,
            "scored_at": datetime.fromtimestamp(self.clock(), UTC),
            "run_id": self.request.run_id,
            PROMPT_PARTITION: self.prompt_version,
        }
        self.ledger.append(usage | {SCORED_DATE_PARTITION: self.request.scored_date})
        if not assessment.deferred:
            self.current[post.post_id] = usage | _score_columns(post, assessment, self.policy)
        self.pending += 1
        if self.pending >= self.policy.checkpoint_every:
            self.checkpoint()

    def checkpoint(self) -> None:
        if not self.pending:
            return
        # Ledger first: a crash between the two writes leaves the payment on record and the post unscored
        # (scored again by the next attempt), never a score whose cost is missing.
        self.store.append_ledger(self.request.scored_date, self.request.run_id, self.ledger)
        self.store.write_scores(self.prompt_version, self.current)
        self.ledger, self.pending = [], 0
        self.result.checkpoints += 1


def _score_columns(post: PostContext, assessment: Assessment, policy: ScoringPolicy) -> dict[str, Any]:
    columns: dict[str, Any] = {"subreddit": post.subreddit, "created_utc": post.created_utc}
    answer = assessment.answer
    if answer is None:  # failed: the reason is kept, no score is made up
        return columns | dict.fromkeys(OPPORTUNITY_DIMENSIONS) | {"core_functions": [], "evidence": []}
    score = policy.opportunity_score(answer.dimensions)
    return (
        columns
        | dict(answer.dimensions)
        | {
            "is_opportunity": answer.is_opportunity,
            "opportunity_reason": answer.opportunity_reason,
            "opportunity_score": score,
            "tier": policy.tiers.of(score, is_opportunity=answer.is_opportunity),
            "app_concept": answer.app_concept,
            "core_functions": list(answer.core_functions),
            "target_user": answer.target_user,
            "evidence": list(answer.evidence),
        }
    )
