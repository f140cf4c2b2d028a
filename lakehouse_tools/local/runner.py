"""``lakehouse run``: the pipeline's stages in order, locally, against a replay server or real Reddit.

Sources:
- ``synthetic[:SEED]``: the synthetic corpus behind an in-process replay server;
- ``replay:DIR``: a directory corpus (e.g. ../shared/reddit-real) behind one;
- ``reddit``: real Reddit (REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET / REDDIT_USER_AGENT), or any
  Reddit-compatible endpoint with ``--reddit-url`` (a replay server started separately).

The lake is a directory: ``raw/``, ``quarantine/``, ``state/`` (cursors). Reruns on the same lake
are incremental. Each stage runs the code the cloud runs: ingestion calls the ingest Lambda's
handler once per subreddit, with the environment the CDK stack would give it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar, cast

from infra.config import EnvironmentConfig, load_environment
from lakehouse_tools.replay.corpus import Corpus, DirectoryCorpus, open_corpus
from lakehouse_tools.replay.options import ReplayOptions
from lambdas.ingest.settings import RequestShare, RetryPolicy, RuntimeSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from lakehouse_tools.replay.server import ReplayServer

STAGES = ("ingest", "process")
DEFAULT_ENV = "dev"
CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
# Subreddits ingested at once, as the cloud's concurrent invocations do: while Reddit prepares
# one subreddit's page, another's is parsed and written. Pacing is shared (one process pacer).
# Two keep both sides busy against the replay server; a third adds ~8 MiB of peak memory on a
# 10k-post run and, against the benchmark's pre-rendering server, no speed (2 cores).
DEFAULT_CONCURRENCY = 2


@dataclass(frozen=True)
class RunOptions:
    source: str
    lake: Path
    subreddits: tuple[str, ...] | None = None  # None: every subreddit of a replay corpus
    now: float | None = None
    run_id: str | None = None
    until: str = STAGES[-1]
    reddit_url: str | None = None
    replay: ReplayOptions = field(default_factory=ReplayOptions)
    synthetic: Mapping[str, Any] = field(default_factory=dict)
    # The environment of cdk.json the run takes its settings from; the fields below override them.
    env: str = DEFAULT_ENV
    config_path: Path = CDK_JSON
    max_requests: int | None = None  # default: the environment's per-invocation share (as deployed)
    requests_per_minute: float | None = None  # None: unpaced against a replay server, the env's rate on Reddit
    retry_base_seconds: float | None = None
    overlap_seconds: float | None = None
    refresh_max_age_hours: float | None = None
    max_comments_per_post: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    # Tune the garbage collector as a Lambda container does (process-wide: the CLI's choice, not a library's).
    tune_process: bool = False

    def __post_init__(self) -> None:
        if self.until not in STAGES:
            raise ValueError(f"--until must be one of {', '.join(STAGES)}, got {self.until!r}")
        if self.concurrency < 1:
            raise ValueError(f"--concurrency must be at least 1, got {self.concurrency}")


@dataclass(frozen=True, slots=True)
class _LambdaContext:
    """What Powertools reads from a Lambda context, for in-process invocations."""

    function_name: str = "reddit-lakehouse-local-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:reddit-lakehouse-local-ingest"
    aws_request_id: str = "local"


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _replay_server(corpus: Corpus, options: ReplayOptions) -> AbstractContextManager[ReplayServer]:
    from lakehouse_tools.replay.server import running  # only a replay source needs a server (http.server)

    return running(corpus, options)


def _corpus_for(source: str, synthetic: Mapping[str, Any]) -> Corpus | None:
    if source.startswith("synthetic"):
        return open_corpus(source, **synthetic)
    if source.startswith("replay:"):
        return open_corpus(source.removeprefix("replay:"))
    if source == "reddit":
        return None
    raise ValueError(f"--source must be synthetic[:SEED], replay:DIR or reddit, got {source!r}")


def environment_config(options: RunOptions) -> EnvironmentConfig:
    """The cdk.json environment the run takes its settings from (``--env``, dev by default)."""
    try:
        context = json.loads(options.config_path.read_text())["context"]
    except FileNotFoundError:
        raise FileNotFoundError(f"no {options.config_path}: the local run reads its settings from cdk.json") from None
    return load_environment(context, options.env)


def ingest_settings(
    options: RunOptions, config: EnvironmentConfig, lake: Path, base_url: str | None, subreddits: list[str]
) -> RuntimeSettings:
    """The ingest function's settings for this run: the environment's, as deployed, then the flags.

    The per-invocation request budget is planned as the deployed one is (the environment's rate
    shared by the run's subreddits, over the function's timeout). Pacing differs on purpose: the local run paces its
    whole process to the environment's rate against Reddit, and not at all against a replay
    server unless its ``--rate-limit`` asks for it (the stand-in has no limit of its own).
    """
    share = RequestShare.plan(
        total_requests_per_minute=config.ingest.requests_per_minute,
        concurrency=max(1, len(subreddits)),
        timeout_seconds=config.ingest.timeout_seconds,
    )
    ingest = config.ingest.runtime()
    ingest = replace(
        ingest,
        overlap_seconds=_given(options.overlap_seconds, ingest.overlap_seconds),
        refresh_max_age_seconds=_given(
            None if options.refresh_max_age_hours is None else options.refresh_max_age_hours * 3600,
            ingest.refresh_max_age_seconds,
        ),
        max_comments_per_post=_given(options.max_comments_per_post, ingest.max_comments_per_post),
    )
    retry = RetryPolicy()
    paced = options.requests_per_minute
    if paced is None and options.source == "reddit" and not options.reddit_url:
        paced = float(config.ingest.requests_per_minute)
    return RuntimeSettings(
        environment=config.name,
        raw_uri=str(lake / "raw"),
        quarantine_uri=str(lake / "quarantine"),
        cursor_table=None,
        cursor_uri=str(lake / "state"),
        reddit_secret_arn=None,
        reddit_base_url=base_url,
        ingest=ingest,
        retry=replace(retry, base_seconds=_given(options.retry_base_seconds, retry.base_seconds)),
        max_requests=_given(options.max_requests, share.max_requests),
        requests_per_minute=paced or None,
        log_level=os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
    )


_T = TypeVar("_T")


def _given(flag: _T | None, default: _T) -> _T:
    return default if flag is None else flag


def _subreddits(options: RunOptions, corpus: Corpus | None, config: EnvironmentConfig) -> list[str]:
    wanted = options.subreddits
    if wanted and [name.upper() for name in wanted] != ["ALL"]:
        return list(wanted)
    if corpus is not None:
        return corpus.subreddits()
    if options.reddit_url:
        import urllib.request  # ~30 ms to import, for this one call

        with urllib.request.urlopen(f"{options.reddit_url.rstrip('/')}/_corpus", timeout=30) as response:  # noqa: S310  # a URL the user named
            return list(json.loads(response.read())["subreddits"])
    if wanted:
        raise ValueError("--subreddits ALL needs a replay corpus; name the subreddits for --source reddit")
    return list(config.subreddits)


def run(options: RunOptions) -> dict[str, Any]:
    """Run the stages up to ``options.until``; return the run summary (also what --summary-json writes)."""
    started = time.monotonic()
    config = environment_config(options)
    corpus = _corpus_for(options.source, options.synthetic)
    run_started_at = options.now if options.now is not None else time.time()
    run_id = options.run_id or "local-" + datetime.fromtimestamp(run_started_at, UTC).strftime("%Y%m%dT%H%M%SZ")
    lake = options.lake.resolve()
    lake.mkdir(parents=True, exist_ok=True)
    replay_options = ReplayOptions(**{**options.replay.__dict__, "now": options.now})
    server_context = _replay_server(corpus, replay_options) if corpus is not None else nullcontext(None)
    summary: dict[str, Any] = {
        "run_id": run_id,
        "run_started_at": datetime.fromtimestamp(run_started_at, UTC).isoformat(),
        "source": options.source,
        "environment": config.name,
        "lake": str(lake),
        "stages": {},
        "timings_seconds": {},
    }
    with server_context as server:
        base_url = server.url if server is not None else options.reddit_url
        subreddits = _subreddits(options, corpus, config)
        settings = ingest_settings(options, config, lake, base_url, subreddits)
        stage_started = time.monotonic()
        summary["stages"]["ingest"], requests = _ingest(options, settings, lake, subreddits, run_id, run_started_at)
        summary["timings_seconds"]["ingest"] = round(time.monotonic() - stage_started, 3)
        summary["reddit_requests"] = requests
        if server is not None:
            summary["replay_server"] = server.stats()
    if STAGES.index(options.until) >= STAGES.index("process"):
        stage_started = time.monotonic()
        summary["stages"]["process"] = _process(lake, run_id, run_started_at)
        summary["timings_seconds"]["process"] = round(time.monotonic() - stage_started, 3)
    if isinstance(corpus, DirectoryCorpus):
        summary["corpus"] = {"posts": corpus.post_count, "unlisted_posts": len(corpus.unlisted)}
    summary["reconciliation"] = _reconcile(summary["stages"])
    summary["timings_seconds"]["total"] = round(time.monotonic() - started, 3)
    summary["ok"] = (
        not summary["stages"]["ingest"]["failed"]
        and "error" not in summary["stages"].get("process", {})
        and all(check["balanced"] for check in summary["reconciliation"].values())
    )
    return summary


def _process(lake: Path, run_id: str, run_started_at: float) -> dict[str, Any]:
    """The Glue job's code on Spark local mode; a gate breach or an unreadable table is reported, not raised."""
    from glue_jobs.process_posts.io import ProcessedTableUnreadable
    from glue_jobs.process_posts.local_entry import run_local
    from glue_jobs.process_posts.quality import DataQualityError

    try:
        return run_local(lake, job_run=run_id, now_epoch=run_started_at)
    except DataQualityError as breach:
        return {"error": str(breach), "quality_breaches": breach.breaches}
    except ProcessedTableUnreadable as unreadable:
        return {"error": str(unreadable)}


def _ingest(
    options: RunOptions,
    settings: RuntimeSettings,
    lake: Path,
    subreddits: list[str],
    run_id: str,
    run_started_at: float,
) -> tuple[dict[str, Any], dict[str, int]]:
    env = settings.to_env()
    # What CloudWatch would receive (structured logs and EMF metrics) goes to a file in the lake.
    log_path = lake / "logs" / run_id / "ingest.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    totals: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    per_subreddit: dict[str, Any] = {}
    failed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    written: Counter[str] = Counter()
    with _environment(env), log_path.open("a", encoding="utf-8") as log, _logs_to(log), redirect_stdout(log):
        from lambdas.ingest.handler import handler, tune_process  # imported in _logs_to, in the function's env

        if options.tune_process:
            tune_process()

        context = cast("LambdaContext", _LambdaContext())  # the attributes Powertools reads, duck-typed

        def invoke(subreddit: str) -> dict[str, Any]:
            return handler({"run_id": run_id, "subreddit": subreddit, "run_started_at": run_started_at}, context)

        for subreddit, output in _each(invoke, subreddits, options.concurrency):
            if isinstance(output, Exception):  # one subreddit's failure must not hide the others' results
                failed[subreddit] = f"{type(output).__name__}: {output}"
                continue
            totals.update(output["counts"])
            totals["cap_hits"] += int(output["cap_hit"])
            totals["rate_limit_waits"] += output["rate_limit_waits"]
            totals["retries"] += output["retries"]
            requests.update(output["requests"])
            reconciliation = output["reconciliation"]
            written.update({key: reconciliation[key] for key in ("received", "raw_rows", "quarantined", "duplicates")})
            written["unbalanced"] += int(not reconciliation["balanced"])
            per_subreddit[subreddit] = {
                "status": output["status"],
                **output["counts"],
                "cap_hit": output["cap_hit"],
                "budget_exhausted": output["budget_exhausted"],
                "requests": sum(output["requests"].values()),
            }
            if output["status"] == "skipped":
                skipped[subreddit] = output["error"]
            elif output["status"] != "ok":
                failed[subreddit] = output["error"] or output["status"]
    stage = {
        "subreddits": len(subreddits),
        **dict(sorted(totals.items())),
        "written": dict(written),
        "failed": failed,
        "skipped": skipped,
        "by_subreddit": per_subreddit,
    }
    return stage, dict(sorted(requests.items()))


@contextmanager
def _logs_to(stream: TextIO) -> Iterator[None]:
    """Point the ingest function's log handlers at ``stream`` for a run, as CloudWatch takes stdout.

    Powertools binds a handler to the ``sys.stdout`` of the moment it builds it (the first import),
    so a second run in the same process would otherwise log into the first run's closed file.
    """
    from lambdas.ingest import handler, ingest  # Powertools reads its settings (the environment) here

    loggers = [logging.getLogger(handler.logger.name), ingest.logger]
    handlers = [h for log in loggers for h in log.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    try:
        yield
    finally:
        for h, old in zip(handlers, previous, strict=True):
            if old is not None:
                h.setStream(old)


def _each(
    invoke: Callable[[str], dict[str, Any]], subreddits: list[str], concurrency: int
) -> Iterator[tuple[str, dict[str, Any] | Exception]]:
    """Each subreddit with its invocation's output or exception, in the order asked, ``concurrency`` at a time."""

    def attempt(subreddit: str) -> dict[str, Any] | Exception:
        try:
            return invoke(subreddit)
        except Exception as exc:
            return exc

    if concurrency <= 1 or len(subreddits) <= 1:
        yield from zip(subreddits, map(attempt, subreddits), strict=True)
        return
    with ThreadPoolExecutor(max_workers=min(concurrency, len(subreddits))) as pool:
        yield from zip(subreddits, pool.map(attempt, subreddits), strict=True)


def _reconcile(stages: Mapping[str, Any]) -> dict[str, Any]:
    checks = {"ingest": _reconcile_ingest(stages["ingest"])}
    process = stages.get("process")
    if process and "error" not in process:
        for table in ("posts", "comments"):
            counts = process[table]
            checks[f"process_{table}"] = {
                "rule": "raw snapshots read = rows read back from processed, exclusions and quarantine "
                "+ superseded snapshots",
                **counts,
            }
    return checks


def _reconcile_ingest(ingest: Mapping[str, Any]) -> dict[str, Any]:
    """Each invocation's own reconciliation (received from Reddit vs rows read back from what it wrote), summed."""
    from lambdas.ingest.ingest import RECONCILIATION_RULE  # pyarrow and praw: only once a run has ingested

    written = ingest.get("written", {})
    received, landed = written.get("received", 0), written.get("raw_rows", 0)
    quarantined, duplicates = written.get("quarantined", 0), written.get("duplicates", 0)
    return {
        "rule": RECONCILIATION_RULE,
        "received": received,
        "raw_rows": landed,
        "quarantined": quarantined,
        "duplicates": duplicates,
        "balanced": not written.get("unbalanced") and received == landed + quarantined + duplicates,
    }
