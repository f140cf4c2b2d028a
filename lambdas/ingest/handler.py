"""The ingest Lambda: parse the event, build the clients once per container, run ``ingest_subreddit``.

Event: ``{"run_id": ..., "subreddit": ..., "run_started_at": ISO-8601 or epoch}``.
Output: counts, the objects written and the Reddit requests by path (see ``IngestResult``), and
``manifest``: where the same output is recorded for the run (``lakehouse.pipeline``). An
invocation that finds its manifest (a rerun or redrive of a run whose subreddit is done) returns
it with ``recorded: true`` and asks nothing of Reddit.

Thread-safe, so the local run can invoke it for several subreddits at once as the cloud does
(one container each): clients are cached per thread, log keys are set per thread, and every
invocation emits its own EMF metrics blob.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakehouse.lake.store import ObjectStore, open_store
from lakehouse.metrics import ENVIRONMENT_DIMENSION, INGEST_SERVICE, NAMESPACE, IngestMetric
from lakehouse.pipeline import RunManifests, Stage
from lambdas.ingest.cursors import CursorStore, DynamoCursorStore, LakeCursorStore
from lambdas.ingest.ingest import IngestRequest, IngestResult, ingest_subreddit
from lambdas.ingest.reddit_gateway import (
    RedditConnection,
    RedditCredentials,
    RedditGateway,
    RequestBudget,
    RequestLog,
    connect,
    process_pacer,
)
from lambdas.ingest.settings import RuntimeSettings

logger = Logger(service=INGEST_SERVICE)
copy_config_to_registered_loggers(source_logger=logger, include={"lambdas.ingest.ingest"})


@dataclass
class _Clients:
    """What a container reuses across invocations: stores, cursor state and the praw session."""

    raw: ObjectStore
    quarantine: ObjectStore
    runs: RunManifests
    cursors: CursorStore
    reddit: RedditConnection


def _credentials(settings: RuntimeSettings) -> RedditCredentials:
    """From Secrets Manager on AWS; else REDDIT_CLIENT_ID/SECRET/USER_AGENT; a replay server takes any."""
    if settings.reddit_secret_arn:
        from aws_lambda_powertools.utilities import parameters  # boto3 only where AWS is used

        secret = parameters.get_secret(settings.reddit_secret_arn, transform="json", max_age=300)
        if not isinstance(secret, dict):
            raise ValueError("the Reddit secret must be JSON with client_id, client_secret, user_agent")
        return RedditCredentials(secret["client_id"], secret["client_secret"], secret["user_agent"])
    env = os.environ
    if env.get("REDDIT_CLIENT_ID") and env.get("REDDIT_CLIENT_SECRET"):
        return RedditCredentials(
            env["REDDIT_CLIENT_ID"],
            env["REDDIT_CLIENT_SECRET"],
            env.get("REDDIT_USER_AGENT", "reddit-lakehouse/0.1 (ingest)"),
        )
    if settings.reddit_base_url:
        return RedditCredentials("replay-client", "replay-secret", "reddit-lakehouse/0.1 (replay)")
    raise ValueError("no Reddit credentials: set REDDIT_SECRET_ARN or REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET")


def _aws_client(service: str) -> Any:
    import boto3  # ~0.35 s and 22 MiB to import: only when ingestion really talks to AWS

    return boto3.client(service)


_per_thread = threading.local()


def _clients(settings: RuntimeSettings) -> _Clients:
    """This thread's clients for ``settings``, built on first use (once per Lambda container)."""
    cache: dict[RuntimeSettings, _Clients] = _per_thread.__dict__.setdefault("clients", {})
    if settings not in cache:
        cache[settings] = _connect(settings)
    return cache[settings]


def clear_clients() -> None:
    """Forget this thread's clients (tests that change the environment between invocations)."""
    _per_thread.__dict__.pop("clients", None)


def _connect(settings: RuntimeSettings) -> _Clients:
    s3 = _aws_client("s3") if "s3://" in settings.raw_uri + settings.quarantine_uri + settings.runs_uri else None
    cursors: CursorStore
    if settings.cursor_table:
        cursors = DynamoCursorStore(_aws_client("dynamodb"), settings.cursor_table)
    else:
        assert settings.cursor_uri is not None
        cursors = LakeCursorStore(open_store(settings.cursor_uri, s3_client=s3))
    return _Clients(
        raw=open_store(settings.raw_uri, s3_client=s3),
        quarantine=open_store(settings.quarantine_uri, s3_client=s3),
        runs=RunManifests(open_store(settings.runs_uri, s3_client=s3)),
        cursors=cursors,
        reddit=connect(_credentials(settings), base_url=settings.reddit_base_url),
    )


def _endpoint(path: str) -> str:
    """A metric-friendly endpoint name: ``/r/x/new`` -> listing, ``/comments/id`` -> comments."""
    if path.endswith("/new"):
        return "listing"
    if path.startswith("/comments/"):
        return "comments"
    return path.strip("/").replace("/", "_")


def _publish_metrics(result: IngestResult, environment: str) -> None:
    """One EMF blob per invocation (an ``EphemeralMetrics``: concurrent invocations never mix)."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=INGEST_SERVICE)
    metrics.add_dimension(name=ENVIRONMENT_DIMENSION, value=environment)
    counts = result.to_output()["counts"]
    for metric in (
        IngestMetric.LISTING_PAGES,
        IngestMetric.NEW_POSTS,
        IngestMetric.REFRESHED_POSTS,
        IngestMetric.COMMENTS,
        IngestMetric.QUARANTINED,
        IngestMetric.POSTS_WRITTEN,
    ):
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=counts[metric])
    metrics.add_metric(name=IngestMetric.REDDIT_REQUESTS, unit=MetricUnit.Count, value=sum(result.requests.values()))
    by_endpoint: Counter[str] = Counter()
    for path, count in result.requests.items():
        by_endpoint[_endpoint(path)] += count
    for endpoint, count in by_endpoint.items():
        metrics.add_metric(name=f"requests_{endpoint}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name=IngestMetric.RATE_LIMIT_WAITS, unit=MetricUnit.Count, value=result.rate_limit_waits)
    metrics.add_metric(name=IngestMetric.CAP_HITS, unit=MetricUnit.Count, value=int(result.cap_hit))
    skipped = int(result.status == "skipped")
    metrics.add_metric(name=IngestMetric.SUBREDDITS_SKIPPED, unit=MetricUnit.Count, value=skipped)
    metrics.add_metric(name=IngestMetric.DURATION, unit=MetricUnit.Seconds, value=result.duration_seconds)
    # One write per blob (print() writes the line and its newline separately, which threads interleave).
    sys.stdout.write(json.dumps(metrics.serialize_metric_set(), separators=(",", ":")) + "\n")


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = IngestRequest.from_event(event)
    logger.thread_safe_append_keys(run_id=request.run_id, subreddit=request.subreddit)
    settings = RuntimeSettings.from_env()
    clients = _clients(settings)
    recorded = clients.runs.read(request.run_id, Stage.INGEST, request.subreddit)
    if recorded is not None:
        logger.info("already ingested for this run: returning its manifest", extra={"status": recorded["status"]})
        return recorded | {
            "manifest": clients.runs.uri(request.run_id, Stage.INGEST, request.subreddit),
            "recorded": True,
        }
    log = RequestLog()
    clients.reddit.track(log)
    gateway = RedditGateway(
        clients.reddit.reddit,
        budget=RequestBudget(settings.max_requests, process_pacer(settings.requests_per_minute)),
        log=log,
        retry=settings.retry,
    )
    result = ingest_subreddit(
        request,
        settings=settings.ingest,
        gateway=gateway,
        raw=clients.raw,
        quarantine=clients.quarantine,
        cursors=clients.cursors,
    )
    output = result.to_output()
    # Written only now, after the data and the cursor: a crash before this line re-runs the invocation.
    manifest = clients.runs.write(request.run_id, Stage.INGEST, output, part=request.subreddit)
    _publish_metrics(result, settings.environment)
    logger.info("ingested", extra=output | {"objects": len(result.objects)})
    return output | {"manifest": manifest, "recorded": False}


def tune_process() -> None:
    """Garbage-collector settings for a process that runs invocations; called by whoever starts one.

    A listing page parses into ~10,000 Python objects. At CPython's default gen-0 threshold (700
    allocations) that is ~15 collections a page, each re-walking what survived. The imported modules
    live as long as the container: freeze them out of every collection, and collect the young
    generation every 20,000 allocations (A/B on the benchmark's 100k incremental run: ~8% less CPU).
    Process-wide, so never done by importing this module elsewhere: the Lambda runtime (below) and
    ``lakehouse run`` call it; tests and other importers keep their own settings.
    """
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


if os.environ.get("AWS_LAMBDA_RUNTIME_API"):  # set by the Lambda runtime only: this is its cold start
    tune_process()
