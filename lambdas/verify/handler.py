"""The verify Lambda: the last step of a run. Read the run's manifests, check them, record and publish.

Event: ``{"run": {"run_id", "run_started_at", "subreddits"}, "ingest": [per subreddit: status and
manifest, or the error], "process": {"job_run_id", "execution_seconds", "workers", "worker_type"}}``
(see ``VerifyRequest``). It writes ``runs/<run_id>/verify.json`` and one EMF metrics blob, then
returns ``{"manifest", "ok", "checks", "metrics"}``, or raises :class:`RunNotReconciled` naming each
failed check: after the manifest and the metrics, so the state machine's Catch notifies and the
reconciliation alarm sees the run. A rerun verifies again and overwrites the manifest (the verdict
on the run as it now stands).

The local run invokes it in-process on a local runs directory: boto3 is imported only for s3://.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakehouse.lake.store import open_store
from lakehouse.metrics import ENVIRONMENT_DIMENSION, NAMESPACE, VERIFY_SERVICE, RunMetric
from lakehouse.pipeline import RunManifests, Stage
from lambdas.verify.settings import VerifySettings
from lambdas.verify.verify import (
    RunNotReconciled,
    VerifyPolicy,
    VerifyRequest,
    VerifyResult,
    read_manifests,
    verify_run,
)

__all__ = ["RunNotReconciled", "clear_clients", "handler"]

logger = Logger(service=VERIFY_SERVICE)

# Every metric is a count but these three.
_UNITS = {
    RunMetric.FRESHNESS: MetricUnit.Seconds,
    RunMetric.GLUE_DPU_HOURS: MetricUnit.NoUnit,
    RunMetric.ESTIMATED_COST_USD: MetricUnit.NoUnit,
}


@dataclass(frozen=True)
class _Clients:
    runs: RunManifests


_clients: dict[VerifySettings, _Clients] = {}


def _connect(settings: VerifySettings) -> _Clients:
    s3 = None
    if settings.runs_uri.startswith("s3://"):
        import boto3  # ~0.35 s to import: only when the manifests are in S3

        s3 = boto3.client("s3")
    return _Clients(runs=RunManifests(open_store(settings.runs_uri, s3_client=s3)))


def _clients_for(settings: VerifySettings) -> _Clients:
    """The clients for ``settings``, built on first use (once per Lambda container)."""
    if settings not in _clients:
        _clients[settings] = _connect(settings)
    return _clients[settings]


def clear_clients() -> None:
    """Forget the clients (tests that change the environment between invocations)."""
    _clients.clear()


def _publish_metrics(result: VerifyResult, environment: str) -> None:
    """One EMF blob per run, written with one write (print() splits the line from its newline)."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=VERIFY_SERVICE)
    metrics.add_dimension(name=ENVIRONMENT_DIMENSION, value=environment)
    for metric, value in result.metrics.items():
        metrics.add_metric(name=metric, unit=_UNITS.get(metric, MetricUnit.Count), value=value)
    sys.stdout.write(json.dumps(metrics.serialize_metric_set(), separators=(",", ":")) + "\n")


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = VerifyRequest.from_event(event)
    logger.append_keys(run_id=request.run_id)
    settings = VerifySettings.from_env()
    runs = _clients_for(settings).runs
    result = verify_run(
        request,
        read_manifests(runs, request.run_id),
        policy=VerifyPolicy(settings.tolerated_failure_percentage, settings.ingest_memory_mb),
        now=time.time(),
    )
    manifest = runs.write(request.run_id, Stage.VERIFY, result.to_manifest())
    _publish_metrics(result, settings.environment)
    output = result.to_output(manifest)
    if not result.ok:
        logger.error("run does not reconcile", extra=output | {"failed": [c.summary for c in result.failed]})
        raise result.error()
    logger.info("run reconciles", extra=output)
    return output
