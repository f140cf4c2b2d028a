"""Verify a run: the checks across its stages' manifests, and the metrics CloudWatch gets once per run.

Each stage reconciled itself already (ingest per subreddit, the processing job per pass); this step
checks what no single stage can see: that every subreddit of the run finished or failed within
tolerance, that every stage's own reconciliation held, and that what ingestion wrote is what
processing read. The manifests are the source of truth for counts; the event only says which
subreddits failed in this execution and how the Glue job ran (for its cost).

No AWS here: :func:`read_manifests` goes through the injected :class:`RunManifests`, and
:func:`verify_run` is pure (the clock is an argument). The handler writes the result, publishes its
metrics, and only then raises :class:`RunNotReconciled`, so alarms and the state machine's Catch see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from lakehouse.metrics import RunMetric
from lakehouse.pipeline import RunManifests, Stage

__all__ = [
    "DPU_PER_WORKER",
    "GLUE_USD_PER_DPU_HOUR",
    "LAMBDA_ARM64_USD_PER_GB_SECOND",
    "Check",
    "CheckName",
    "ProcessRun",
    "RunEvidence",
    "RunNotReconciled",
    "VerifyPolicy",
    "VerifyRequest",
    "VerifyResult",
    "read_manifests",
    "verify_run",
]

# Prices for the cost estimate: AWS us-east-1 list prices, on-demand, no free tier. Glue ETL jobs
# (Spark, standard execution class) per DPU-hour; Lambda on arm64 per GB-second (first pricing tier).
GLUE_USD_PER_DPU_HOUR = 0.44
LAMBDA_ARM64_USD_PER_GB_SECOND = 0.0000133334
# DPUs a Glue worker of each type counts for (Glue's worker types; others leave DPU-hours unknown).
DPU_PER_WORKER: Mapping[str, float] = MappingProxyType(
    {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}
)
_SECONDS_PER_HOUR = 3600
_MB_PER_GB = 1024
_INGEST_STATUSES = frozenset({"ok", "skipped", "failed"})


class CheckName(StrEnum):
    """The run's checks, in the order they are made; values are the manifest's and the output's keys."""

    INGEST_COVERAGE = "ingest_coverage"
    INGEST_RECONCILIATION = "ingest_reconciliation"
    PROCESS_RECONCILIATION = "process_reconciliation"
    RAW_TO_PROCESS = "raw_to_process"


@dataclass(frozen=True, slots=True)
class Check:
    """One check's verdict, the numbers it was made on, and a line that states them (the error quotes it)."""

    name: CheckName
    ok: bool
    numbers: Mapping[str, Any]
    summary: str

    def to_manifest(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary, **self.numbers}


class RunNotReconciled(Exception):
    """The run's stages do not reconcile; the message names each failed check with its numbers.

    The state machine catches it by this name (Lambda reports the exception's class as the error).
    """

    def __init__(self, run_id: str, failed: Sequence[Check]) -> None:
        self.run_id = run_id
        self.failed = tuple(failed)
        names = ", ".join(check.name.value for check in self.failed)
        details = "; ".join(check.summary for check in self.failed)
        super().__init__(f"run {run_id} does not reconcile ({len(self.failed)} failed: {names}): {details}")


@dataclass(frozen=True, slots=True)
class ProcessRun:
    """How the processing job ran in this execution; any of it may be unknown (a local or moto run)."""

    job_run_id: str | None = None
    execution_seconds: float | None = None
    workers: int | None = None
    worker_type: str | None = None

    @classmethod
    def from_event(cls, process: Mapping[str, Any] | None) -> ProcessRun:
        process = process or {}
        seconds, workers = process.get("execution_seconds"), process.get("workers")
        return cls(
            job_run_id=_optional_text(process, "job_run_id"),
            execution_seconds=None if seconds is None else _number(seconds, "process.execution_seconds"),
            workers=None if workers is None else int(_number(workers, "process.workers")),
            worker_type=_optional_text(process, "worker_type"),
        )

    @property
    def dpu_hours(self) -> float | None:
        """What Glue bills: execution time x workers x DPUs per worker; None when any of it is unknown."""
        dpu_per_worker = DPU_PER_WORKER.get(self.worker_type or "")
        if self.execution_seconds is None or self.workers is None or dpu_per_worker is None:
            return None
        return self.execution_seconds / _SECONDS_PER_HOUR * self.workers * dpu_per_worker


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """The state machine's event: the run, what the ingest Map reported, how the job ran."""

    run_id: str
    subreddits: tuple[str, ...]
    failed: Mapping[str, Mapping[str, Any]]  # subreddit -> the Map iteration's error {Error, Cause}
    process: ProcessRun = field(default_factory=ProcessRun)
    run_started_at: datetime | None = None
    # Subreddits an earlier execution of the run ingested (their manifest was found): the run's
    # metrics count what this execution did, so a rerun does not add them to the dashboards again.
    earlier: frozenset[str] = frozenset()

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> VerifyRequest:
        run = event.get("run")
        if not isinstance(run, Mapping) or not isinstance(run.get("run_id"), str) or not run["run_id"]:
            raise ValueError("the verify event needs run.run_id")
        subreddits = run.get("subreddits")
        if not isinstance(subreddits, list) or not all(isinstance(name, str) and name for name in subreddits):
            raise ValueError("the verify event needs run.subreddits, a list of subreddit names")
        failed: dict[str, Mapping[str, Any]] = {}
        earlier: set[str] = set()
        for entry in event.get("ingest") or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("subreddit"), str):
                raise ValueError(f"an ingest entry needs a subreddit: {entry!r}")
            status = entry.get("status")
            if status not in _INGEST_STATUSES:
                raise ValueError(f"ingest entry for r/{entry['subreddit']} has unknown status {status!r}")
            if status == "failed":
                failed[entry["subreddit"]] = dict(entry.get("error") or {})
            if entry.get("recorded") is True:
                earlier.add(_key(entry["subreddit"]))
        started = run.get("run_started_at")
        return cls(
            run_id=run["run_id"],
            subreddits=tuple(subreddits),
            failed=failed,
            process=ProcessRun.from_event(event.get("process")),
            run_started_at=_instant(started) if started else None,
            earlier=frozenset(earlier),
        )


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What the checks tolerate and what prices the run (from the function's settings)."""

    tolerated_failure_percentage: float
    ingest_memory_mb: int


@dataclass(frozen=True, slots=True)
class RunEvidence:
    """The run's manifests as the stages wrote them: ingest's by subreddit (part name), process's or None."""

    ingest: Mapping[str, Mapping[str, Any]]
    process: Mapping[str, Any] | None


def read_manifests(runs: RunManifests, run_id: str) -> RunEvidence:
    """Every manifest a run's stages wrote so far (the only reads verify makes)."""
    return RunEvidence(ingest=runs.parts(run_id, Stage.INGEST), process=runs.read(run_id, Stage.PROCESS))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The checks and the run's metrics: what verify.json records and the handler publishes."""

    request: VerifyRequest
    verified_at: float
    checks: tuple[Check, ...]
    metrics: Mapping[RunMetric, float]
    cost: Mapping[str, float | None]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def error(self) -> RunNotReconciled:
        return RunNotReconciled(self.request.run_id, self.failed)

    def to_manifest(self) -> dict[str, Any]:
        """verify.json: every check with its numbers, the metrics, and what the cost estimate is made of."""
        started = self.request.run_started_at
        return {
            "ok": self.ok,
            "verified_at": datetime.fromtimestamp(self.verified_at, UTC).isoformat(),
            "run_started_at": started.isoformat() if started else None,
            "subreddits": list(self.request.subreddits),
            "checks": {check.name.value: check.to_manifest() for check in self.checks},
            "metrics": self.metric_values(),
            "cost": dict(self.cost),
            "process_run": {
                "job_run_id": self.request.process.job_run_id,
                "execution_seconds": self.request.process.execution_seconds,
                "workers": self.request.process.workers,
                "worker_type": self.request.process.worker_type,
            },
        }

    def to_output(self, manifest: str) -> dict[str, Any]:
        """What the state machine gets: small, the details are in the manifest."""
        return {
            "manifest": manifest,
            "ok": self.ok,
            "checks": {check.name.value: check.ok for check in self.checks},
            "metrics": self.metric_values(),
        }

    def metric_values(self) -> dict[str, float]:
        return {metric.value: value for metric, value in self.metrics.items()}


def verify_run(request: VerifyRequest, evidence: RunEvidence, *, policy: VerifyPolicy, now: float) -> VerifyResult:
    """Check the run's manifests against each other and measure the run; ``now`` is the verify time (epoch)."""
    passes = _passes(evidence.process)
    coverage, failed = _coverage(request, evidence.ingest, policy)
    checks = (
        coverage,
        _ingest_reconciliation(evidence.ingest),
        _process_reconciliation(request.run_id, evidence.process, passes),
        _raw_to_process(request.run_id, evidence.ingest, evidence.process),
    )
    # Freshness from every manifest; volume, requests and cost from what this execution did (a rerun
    # finds earlier executions' manifests and earlier passes, which their own metrics counted).
    all_manifests = list(evidence.ingest.values())
    manifests = [m for name, m in evidence.ingest.items() if _key(name) not in request.earlier]
    this_pass = [p for p in passes if p.get("job_run_id") == request.process.job_run_id]
    cost = _cost(request.process, manifests, policy)
    counts = [_mapping(manifest.get("counts")) for manifest in manifests]
    metrics: dict[RunMetric, float] = {}
    newest = [
        _number(manifest["newest_post_created_utc"], "newest_post_created_utc")
        for manifest in all_manifests
        if manifest.get("newest_post_created_utc") is not None
    ]
    if newest:
        metrics[RunMetric.FRESHNESS] = round(now - max(newest), 3)
    metrics |= {
        RunMetric.POSTS_INGESTED: _total(counts, "posts_written"),
        RunMetric.COMMENTS_INGESTED: _total(counts, "comments"),
        RunMetric.POSTS_PROCESSED: _total((_mapping(p.get("posts")) for p in this_pass), "processed"),
        RunMetric.COMMENTS_PROCESSED: _total((_mapping(p.get("comments")) for p in this_pass), "processed"),
        RunMetric.QUARANTINED: _total(counts, "quarantined")
        + _total((_mapping(p.get(table)) for p in this_pass for table in ("posts", "comments")), "quarantined"),
        RunMetric.SUBREDDITS_FAILED: len(failed),
        RunMetric.REDDIT_REQUESTS: _total((_mapping(m.get("requests")) for m in manifests), None),
    }
    if cost["glue_dpu_hours"] is not None:
        metrics[RunMetric.GLUE_DPU_HOURS] = cost["glue_dpu_hours"]
    metrics[RunMetric.ESTIMATED_COST_USD] = cost["total_usd"] or 0.0
    metrics[RunMetric.RECONCILIATION_FAILURES] = sum(not check.ok for check in checks)
    return VerifyResult(request=request, verified_at=now, checks=checks, metrics=metrics, cost=cost)


def _cost(process: ProcessRun, manifests: Sequence[Mapping[str, Any]], policy: VerifyPolicy) -> dict[str, float | None]:
    """The run's compute at list prices: the Glue job's DPU-hours (when known) and ingest's GB-seconds."""
    dpu_hours = process.dpu_hours
    ingest_seconds = sum(_number(m.get("duration_seconds") or 0, "duration_seconds") for m in manifests)
    gb_seconds = ingest_seconds * policy.ingest_memory_mb / _MB_PER_GB
    glue_usd = (dpu_hours or 0.0) * GLUE_USD_PER_DPU_HOUR
    ingest_usd = gb_seconds * LAMBDA_ARM64_USD_PER_GB_SECOND
    return {
        "glue_dpu_hours": dpu_hours,
        "glue_usd": glue_usd,
        "ingest_seconds": ingest_seconds,
        "ingest_gb_seconds": gb_seconds,
        "ingest_usd": ingest_usd,
        "total_usd": glue_usd + ingest_usd,
    }


# --------------------------------------------------------------------------- the checks


def _coverage(
    request: VerifyRequest, ingest: Mapping[str, Mapping[str, Any]], policy: VerifyPolicy
) -> tuple[Check, list[str]]:
    """Every subreddit finished (a manifest) or was reported failed, and few enough failed.

    A subreddit reported failed whose manifest exists after all (it failed after recording, or an
    earlier execution of the run recorded it) counts as recorded: its data is in the lake.
    """
    recorded_keys = {_key(name) for name in ingest}
    failed_keys = {_key(name) for name in request.failed}
    recorded = [name for name in request.subreddits if _key(name) in recorded_keys]
    unrecorded = [name for name in request.subreddits if _key(name) not in recorded_keys]
    failed = [name for name in unrecorded if _key(name) in failed_keys]
    missing = [name for name in unrecorded if _key(name) not in failed_keys]
    expected = len(request.subreddits)
    failed_percentage = 100 * len(failed) / expected if expected else 0.0
    within = failed_percentage <= policy.tolerated_failure_percentage
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} of {expected} subreddits have no manifest and were not reported failed: {_subs(missing)}"
        )
    if not within:
        problems.append(
            f"{len(failed)} of {expected} subreddits failed ({failed_percentage:.1f}% > tolerated "
            f"{policy.tolerated_failure_percentage:g}%): {_subs(failed)}"
        )
    summary = (
        "ingest_coverage: " + "; ".join(problems)
        if problems
        else f"ingest_coverage: {len(recorded)} of {expected} subreddits recorded, {len(failed)} failed "
        f"({failed_percentage:.1f}% <= tolerated {policy.tolerated_failure_percentage:g}%)"
    )
    numbers = {
        "expected": expected,
        "recorded": len(recorded),
        "failed": failed,
        "missing": missing,
        "failed_percentage": round(failed_percentage, 3),
        "tolerated_failure_percentage": policy.tolerated_failure_percentage,
        "errors": {name: dict(request.failed.get(name, {})) for name in failed},
    }
    return Check(CheckName.INGEST_COVERAGE, not problems, numbers, summary), failed


def _ingest_reconciliation(ingest: Mapping[str, Mapping[str, Any]]) -> Check:
    """Each subreddit's own rule held when it ran: received = raw rows + quarantined + duplicates."""
    unbalanced: dict[str, dict[str, Any]] = {}
    for name, manifest in sorted(ingest.items()):
        reconciliation = _mapping(manifest.get("reconciliation"))
        if reconciliation.get("balanced") is not True:
            unbalanced[name] = {
                key: reconciliation.get(key) for key in ("received", "raw_rows", "quarantined", "duplicates")
            }
    summary = "ingest_reconciliation: " + (
        "; ".join(
            f"r/{name} received {n['received']} != raw rows {n['raw_rows']} + quarantined {n['quarantined']} "
            f"+ duplicates {n['duplicates']}"
            for name, n in unbalanced.items()
        )
        if unbalanced
        else f"{len(ingest)} manifests balanced"
    )
    return Check(
        CheckName.INGEST_RECONCILIATION,
        not unbalanced,
        {"manifests": len(ingest), "unbalanced": unbalanced},
        summary,
    )


def _process_reconciliation(
    run_id: str, process: Mapping[str, Any] | None, passes: Sequence[Mapping[str, Any]]
) -> Check:
    """The job recorded the run, and every pass of it (a rerun appends one) balanced posts and comments."""
    if process is None:
        return Check(
            CheckName.PROCESS_RECONCILIATION,
            False,
            {"found": False, "passes": 0, "unbalanced": []},
            f"process_reconciliation: no process manifest for run {run_id}",
        )
    unbalanced: list[dict[str, Any]] = []
    for number, job_pass in enumerate(passes, start=1):
        tables = {
            table: dict(counts)
            for table in ("posts", "comments")
            if (counts := _mapping(job_pass.get(table))).get("balanced") is not True
        }
        if tables:
            unbalanced.append({"pass": number, "job_run_id": job_pass.get("job_run_id"), "tables": tables})
    numbers = {"found": True, "passes": len(passes), "unbalanced": unbalanced}
    if not passes:
        return Check(
            CheckName.PROCESS_RECONCILIATION,
            False,
            numbers,
            f"process_reconciliation: the process manifest of run {run_id} records no pass",
        )
    summary = "process_reconciliation: " + (
        "; ".join(
            f"pass {entry['pass']} ({entry['job_run_id']}) {table} unbalanced: {_counts(counts)}"
            for entry in unbalanced
            for table, counts in entry["tables"].items()
        )
        if unbalanced
        else f"{len(passes)} passes balanced"
    )
    return Check(CheckName.PROCESS_RECONCILIATION, not unbalanced, numbers, summary)


def _raw_to_process(run_id: str, ingest: Mapping[str, Mapping[str, Any]], process: Mapping[str, Any] | None) -> Check:
    """What ingestion wrote for the run is what processing read of it, subreddit by subreddit.

    The job counts raw rows by snapshot run id and lower-cased subreddit, merged over its passes.
    Rows it read of a subreddit with no manifest (one that failed after writing) are reported, not failed.
    """
    by_run = _mapping(_mapping(process).get("raw_rows_by_run"))
    read = {table: _mapping(_mapping(by_run.get(table)).get(run_id)) for table in ("posts", "comments")}
    written: dict[str, dict[str, int]] = {}
    for manifest_name, manifest in ingest.items():
        name = str(manifest.get("subreddit") or manifest_name)
        counts = _mapping(manifest.get("counts"))
        totals = written.setdefault(_key(name), {"posts": 0, "comments": 0})
        totals["posts"] += int(_number(counts.get("posts_written", 0), "posts_written"))
        totals["comments"] += int(_number(counts.get("comments", 0), "comments"))
    compared: dict[str, dict[str, int]] = {}
    mismatched: dict[str, dict[str, int]] = {}
    for key, totals in sorted(written.items()):
        pair = {
            "posts_written": totals["posts"],
            "posts_read": int(_number(read["posts"].get(key, 0), "raw_rows_by_run")),
            "comments_written": totals["comments"],
            "comments_read": int(_number(read["comments"].get(key, 0), "raw_rows_by_run")),
        }
        compared[key] = pair
        if pair["posts_written"] != pair["posts_read"] or pair["comments_written"] != pair["comments_read"]:
            mismatched[key] = pair
    unrecorded = {
        key: {table: int(_number(read[table].get(key, 0), "raw_rows_by_run")) for table in ("posts", "comments")}
        for key in sorted(set(read["posts"]) | set(read["comments"]))
        if key not in written
    }
    summary = "raw_to_process: " + (
        "; ".join(
            f"r/{key} posts written {n['posts_written']} vs read {n['posts_read']}, "
            f"comments written {n['comments_written']} vs read {n['comments_read']}"
            for key, n in mismatched.items()
        )
        if mismatched
        else f"{len(compared)} subreddits read as written"
    )
    numbers = {"by_subreddit": compared, "mismatched": list(mismatched), "read_without_manifest": unrecorded}
    return Check(CheckName.RAW_TO_PROCESS, not mismatched, numbers, summary)


# --------------------------------------------------------------------------- helpers


def _passes(process: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    passes = _mapping(process).get("passes") or []
    if not isinstance(passes, list):
        raise ValueError(f"the process manifest's passes must be a list, got {type(passes).__name__}")
    return [_mapping(job_pass) for job_pass in passes]


def _key(subreddit: str) -> str:
    """Subreddit names are case-insensitive (the job lower-cases them too)."""
    return subreddit.lower()


def _subs(names: Sequence[str]) -> str:
    return ", ".join(f"r/{name}" for name in names)


def _counts(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items() if key != "balanced")


def _total(tables: Iterable[Mapping[str, Any]], key: str | None) -> int:
    """The sum of ``key`` over ``tables`` (absent: 0), or of all their values (``key`` None)."""
    return sum(
        int(_number(value, key or "count"))
        for table in tables
        for value in (table.values() if key is None else [table.get(key, 0)])
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    """A manifest's sub-document, or an empty one where it is absent (null)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"expected an object in the run manifest, got {value!r}")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _optional_text(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    return None if value is None or value == "" else str(value)


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"run.run_started_at must be an ISO-8601 string, got {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
