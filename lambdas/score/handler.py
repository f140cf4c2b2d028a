"""The scoring Lambda: the Score step of a run. Assess the problem posts with no score yet, within budget.

Event: ``{"run": {"run_id", "run_started_at", ...}}`` (see ``ScoreRequest``). It writes scores and
ledger rows to the analytics zone, ``runs/<run_id>/score.json``, and one EMF metrics blob, then
returns ``{"manifest", "recorded", "scored", "failed", "deferred", "waiting", "model_calls",
"cost_usd", "budget_exhausted", "batch"}``. A run whose manifest exists was scored already: a rerun
or a redrive returns it (``recorded``) and calls no backend.

It raises :class:`ScoringDegraded` (after the metrics, without a manifest, so a rerun tries the
throttled posts again) when most assessments of a run failed or were throttled away: a model that stopped answering the
schema, or a quota that no longer fits, must reach the alarms rather than fill the table with
failures. What stops every post (access denied, an unknown model) raises from the backend itself.

The local run invokes it in-process on the lake's directories with the heuristic backend: boto3 is
imported only for what needs AWS.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakehouse.lake.store import ObjectStore, open_store
from lakehouse.metrics import ENVIRONMENT_DIMENSION, NAMESPACE, SCORE_SERVICE, ScoreMetric
from lakehouse.pipeline import RunManifests, Stage
from lambdas.score.assessment import ScoringBackend
from lambdas.score.prompt import Prompt
from lambdas.score.score import BatchJobs, ScoreRequest, ScoreResult, score_run
from lambdas.score.settings import Backend, ScoreSettings
from lambdas.score.store import ScoreStore

__all__ = ["ScoringDegraded", "clear_clients", "handler"]

logger = Logger(service=SCORE_SERVICE)

# A run with at least this many assessments, more than half of them failed or throttled, is degraded.
_DEGRADED_MIN_ATTEMPTS = 5
_DEGRADED_SHARE = 0.5


class ScoringDegraded(Exception):
    """Most of the run's assessments failed validation or were throttled: the model or its quota needs a look."""


@dataclass(frozen=True)
class _Clients:
    runs: RunManifests
    store: ScoreStore
    backend: ScoringBackend
    batch: BatchJobs | None


_clients: dict[ScoreSettings, _Clients] = {}


def _connect(settings: ScoreSettings) -> _Clients:
    uris = (settings.runs_uri, settings.processed_uri, settings.analytics_uri)
    s3 = None
    if any(uri.startswith("s3://") for uri in uris):
        import boto3  # ~0.35 s to import: only when the lake is in S3

        s3 = boto3.client("s3")

    def store(uri: str) -> ObjectStore:
        return open_store(uri, s3_client=s3)

    prompt = Prompt.load()
    backend: ScoringBackend
    if settings.backend is Backend.HEURISTIC:
        from lambdas.score.heuristic import HeuristicBackend

        backend = HeuristicBackend()
    else:
        import boto3
        from botocore.config import Config

        from lambdas.score.bedrock import BedrockBackend

        # botocore's own retries off: the backend's jittered retries are the ones that count and defer.
        runtime = boto3.client("bedrock-runtime", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        backend = BedrockBackend(runtime, settings.policy, prompt)
    batch: BatchJobs | None = None
    if settings.backend is Backend.BEDROCK and settings.policy.batch.enabled:
        import boto3

        from lambdas.score.batch import BatchInference

        batch = BatchInference(
            bedrock=boto3.client("bedrock"),
            quotas=boto3.client("service-quotas"),
            store=store(settings.analytics_uri),
            bucket_uri=settings.analytics_uri,
            policy=settings.policy,
            prompt=prompt,
            job_prefix=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", f"lakehouse-{settings.environment}-score"),
        )
    return _Clients(
        runs=RunManifests(store(settings.runs_uri)),
        store=ScoreStore(store(settings.processed_uri), store(settings.analytics_uri)),
        backend=backend,
        batch=batch,
    )


def _clients_for(settings: ScoreSettings) -> _Clients:
    """The clients for ``settings``, built on first use (once per Lambda container)."""
    if settings not in _clients:
        _clients[settings] = _connect(settings)
    return _clients[settings]


def clear_clients() -> None:
    """Forget the clients (tests that change the environment or the backend between invocations)."""
    _clients.clear()


def _publish_metrics(result: ScoreResult, environment: str) -> None:
    """One EMF blob per invocation, written with one write (print() splits the line from its newline)."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=SCORE_SERVICE)
    metrics.add_dimension(name=ENVIRONMENT_DIMENSION, value=environment)
    manifest = result.to_manifest()
    values = {
        ScoreMetric.POSTS_SCORED: manifest["scored"] + result.batch.get("scored", 0),
        ScoreMetric.POSTS_FAILED: manifest["failed"] + result.batch.get("failed", 0),
        ScoreMetric.POSTS_DEFERRED: manifest["deferred"] + manifest["left_for_next_run"],
        ScoreMetric.POSTS_WAITING: manifest["still_waiting"],
        ScoreMetric.MODEL_CALLS: result.model_calls,
        ScoreMetric.INPUT_TOKENS: result.input_tokens,
        ScoreMetric.OUTPUT_TOKENS: result.output_tokens,
        ScoreMetric.COST_USD: manifest["cost_usd"],
        ScoreMetric.BUDGET_EXHAUSTED: int(result.budget_exhausted),
        ScoreMetric.BATCH_RECORDS_SUBMITTED: result.batch.get("submitted", 0),
        ScoreMetric.BATCH_RECORDS_COLLECTED: result.batch.get("collected", 0),
    }
    for metric, value in values.items():
        unit = MetricUnit.NoUnit if metric is ScoreMetric.COST_USD else MetricUnit.Count
        metrics.add_metric(name=metric, unit=unit, value=value)
    sys.stdout.write(json.dumps(metrics.serialize_metric_set(), separators=(",", ":")) + "\n")


def _degraded(result: ScoreResult) -> str | None:
    attempted = result.statuses["scored"] + result.statuses["failed"] + result.statuses["deferred"]
    bad = result.statuses["failed"] + result.statuses["deferred"]
    if attempted >= _DEGRADED_MIN_ATTEMPTS and bad > attempted * _DEGRADED_SHARE:
        return (
            f"{result.statuses['failed']} of {attempted} assessments failed validation and "
            f"{result.statuses['deferred']} were throttled or unavailable ({result.model_id}): see the ledger's "
            "failure_reason. Throttled posts are retried by the next run; failed answers stay recorded with "
            "their reason (a new model or prompt version scores them again)"
        )
    return None


def output(manifest_uri: str, document: dict[str, Any], *, recorded: bool) -> dict[str, Any]:
    """The step's output: small, so the state stays far below Step Functions' payload limit."""
    return {
        "manifest": manifest_uri,
        "recorded": recorded,
        **{key: document[key] for key in ("scored", "failed", "deferred", "model_calls", "cost_usd")},
        "waiting": document["still_waiting"],
        "budget_exhausted": document["budget_exhausted"],
        "batch": document.get("batch", {}),
    }


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ScoreRequest.from_event(event)
    logger.append_keys(run_id=request.run_id)
    settings = ScoreSettings.from_env()
    clients = _clients_for(settings)
    recorded = clients.runs.read(request.run_id, Stage.SCORE)
    if recorded is not None:
        logger.info("run already scored", extra={"manifest": clients.runs.uri(request.run_id, Stage.SCORE)})
        return output(clients.runs.uri(request.run_id, Stage.SCORE), recorded, recorded=True)
    result = score_run(
        request,
        store=clients.store,
        backend=clients.backend,
        policy=settings.policy,
        prompt=Prompt.load(),
        batch=clients.batch,
        clock=time.time,
    )
    _publish_metrics(result, settings.environment)
    if problem := _degraded(result):
        logger.error("scoring degraded", extra={"problem": problem, **result.to_manifest()})
        raise ScoringDegraded(problem)
    document = result.to_manifest()
    manifest = clients.runs.write(request.run_id, Stage.SCORE, document)
    logger.info("run scored", extra=document)
    return output(manifest, document, recorded=False)
