"""``lakehouse run``: the pipeline's state machine, executed locally, against a replay server or real Reddit.

Sources:
- ``synthetic[:SEED]``: the synthetic corpus behind an in-process replay server;
- ``replay:DIR``: a directory corpus (e.g. ../shared/reddit-real) behind one;
- ``reddit``: real Reddit (REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET / REDDIT_USER_AGENT), or any
  Reddit-compatible endpoint with ``--reddit-url`` (a replay server started separately).

The lake is a directory: ``raw/``, ``processed/``, ``quarantine/``, ``runs/`` (run manifests),
``state/`` (cursors, bookmarks), ``logs/``. Reruns on the same lake are incremental; a rerun with
the same ``--run-id`` redoes only what did not finish. The order of the stages is the synthesized
state machine's (``lakehouse_tools.local.definition``), walked by
``lakehouse_tools.local.state_machine``; each task runs the code the cloud runs (see
:class:`_LocalStages`), with the environment the CDK stack gives it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar, cast

from glue_jobs.process_posts.arguments import JobArguments
from infra.config import EnvironmentConfig, load_environment
from lakehouse.lake.store import LocalObjectStore
from lakehouse.pipeline import (
    INGEST_ITERATION_STATE,
    LOAD_STATUS_STATE,
    NOTIFY_STATE,
    RunManifests,
    Stage,
    check_run_id,
)
from lakehouse.serving import warehouse_tables
from lakehouse_tools.local.definition import synthesized_definition
from lakehouse_tools.local.state_machine import LocalStateMachine
from lakehouse_tools.replay.corpus import Corpus, DirectoryCorpus, open_corpus
from lakehouse_tools.replay.options import ReplayOptions
from lambdas.ingest.settings import RequestShare, RetryPolicy, RuntimeSettings
from lambdas.score.settings import Backend, BatchPolicy, ScoreSettings
from lambdas.verify.settings import VerifySettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from lakehouse_tools.replay.server import ReplayServer

STAGES = tuple(stage.value for stage in Stage)  # --until / --fail-after; the order is the definition's
SCORERS = tuple(backend.value for backend in Backend)  # --scorer
DEFAULT_SCORER = Backend.HEURISTIC.value  # offline: no model can be reached or downloaded
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
    until: str | None = None  # the last stage to run (None: all of them)
    fail_after: str | None = None  # fail the run just after this stage's writes (drills and tests)
    scorer: str = DEFAULT_SCORER  # bedrock: the environment's model, with the user's AWS credentials
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
        for flag, stage in (("--until", self.until), ("--fail-after", self.fail_after)):
            if stage is not None and stage not in STAGES:
                raise ValueError(f"{flag} must be one of {', '.join(STAGES)}, got {stage!r}")
        if self.scorer not in SCORERS:
            raise ValueError(f"--scorer must be one of {', '.join(SCORERS)}, got {self.scorer!r}")
        if self.concurrency < 1:
            raise ValueError(f"--concurrency must be at least 1, got {self.concurrency}")


@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """What Powertools reads from a Lambda context, for in-process invocations."""

    function_name: str = "reddit-lakehouse-local-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:reddit-lakehouse-local-ingest"
    aws_request_id: str = "local"


@contextmanager
def environment_variables(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in os.environ while the block runs (as a Lambda sees its configuration), then restored."""
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
    return cdk_environment(options.env, options.config_path)


def cdk_environment(name: str, config_path: Path = CDK_JSON) -> EnvironmentConfig:
    """One environment of cdk.json, validated as ``cdk synth`` validates it."""
    try:
        context = json.loads(config_path.read_text())["context"]
    except FileNotFoundError:
        raise FileNotFoundError(f"no {config_path}: environments are declared in cdk.json") from None
    return load_environment(context, name)


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
        runs_uri=str(lake / "runs"),
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


def run(options: RunOptions, *, definition: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Execute the state machine locally, up to ``options.until``; return the run summary (--summary-json).

    ``definition``: the state machine to walk; by default the one the CDK app synthesizes for
    ``options.env`` (tests hand in an altered copy to show the order is the definition's).
    """
    started = time.monotonic()
    config = environment_config(options)
    if definition is None:
        definition = synthesized_definition(options.env, config_path=options.config_path)
    corpus = _corpus_for(options.source, options.synthetic)
    run_started_at = options.now if options.now is not None else time.time()
    run_id = check_run_id(
        options.run_id or "local-" + datetime.fromtimestamp(run_started_at, UTC).strftime("%Y%m%dT%H%M%SZ")
    )
    start_time = datetime.fromtimestamp(run_started_at, UTC).isoformat()
    lake = options.lake.resolve()
    lake.mkdir(parents=True, exist_ok=True)
    replay_options = ReplayOptions(**{**options.replay.__dict__, "now": options.now})
    server_context = _replay_server(corpus, replay_options) if corpus is not None else nullcontext(None)
    summary: dict[str, Any] = {
        "run_id": run_id,
        "run_started_at": start_time,
        "source": options.source,
        "environment": config.name,
        "lake": str(lake),
        "stages": {},
        "timings_seconds": {},
    }
    with server_context as server:
        base_url = server.url if server is not None else options.reddit_url
        subreddits = _subreddits(options, corpus, config)
        stages = _LocalStages(
            options, config, ingest_settings(options, config, lake, base_url, subreddits), lake, run_id
        )
        machine = LocalStateMachine(
            definition,
            stages.tasks(),
            max_concurrency=options.concurrency,
            until=_state_of(options.until),
            fail_after=_state_of(options.fail_after),
            around=stages.environments(),
        )
        execution = machine.start(
            {"run_id": run_id, "subreddits": subreddits, "run_started_at": start_time},
            name=run_id,
            start_time=start_time,
        )
        if server is not None:
            summary["replay_server"] = server.stats()
    summary["states"] = execution.states
    summary["execution"] = {"status": execution.status, "error": execution.error, "cause": execution.cause}
    for state in execution.durations:
        if (stage := Stage.of_state(state)) is not None:
            # A stage with no summary ran as a Pass: nothing to do here (Load with the warehouse switched off).
            summary["stages"][stage.value] = stages.summaries.get(stage, {NOTHING_TO_DO: True})
            summary["timings_seconds"][stage.value] = execution.durations[state]
    summary["reddit_requests"] = dict(sorted(stages.requests.items()))
    summary["model_calls"] = _model_calls(summary["stages"].get(Stage.SCORE.value))
    if isinstance(corpus, DirectoryCorpus):
        summary["corpus"] = {"posts": corpus.post_count, "unlisted_posts": len(corpus.unlisted)}
    summary["reconciliation"] = _reconcile(summary["stages"])
    summary["timings_seconds"]["total"] = round(time.monotonic() - started, 3)
    # The verify step judges failed subreddits against the environment's tolerance; a run stopped
    # before it (--until) is ok only if none failed.
    unjudged = Stage.VERIFY.value not in summary["stages"] and summary["stages"].get("ingest", {}).get("failed")
    summary["ok"] = (
        execution.status == "SUCCEEDED"
        and not unjudged
        and all(check["balanced"] for check in summary["reconciliation"].values())
    )
    return summary


def _state_of(stage: str | None) -> str | None:
    return None if stage is None else Stage(stage).state_name


NOTHING_TO_DO = "nothing_to_do"
"""The summary of a stage that ran as a Pass state."""


class _LocalStages:
    """Each task state of the definition, implemented by the code the cloud runs, in-process.

    Ingest calls the ingest Lambda's handler per subreddit (the Map's iterations, concurrently)
    with the environment the stack gives it; Process runs the Glue job's code on Spark local
    mode; Verify calls the verify Lambda's handler; the failure notice goes to the lake's logs and
    stderr instead of SNS. Each stage's logs (what CloudWatch would get) go to
    ``logs/<run_id>/<stage>.jsonl`` in the lake.
    """

    def __init__(
        self, options: RunOptions, config: EnvironmentConfig, settings: RuntimeSettings, lake: Path, run_id: str
    ) -> None:
        self.options, self.config, self.settings, self.lake, self.run_id = options, config, settings, lake, run_id
        self.summaries: dict[Stage, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self._ingested: dict[str, dict[str, Any] | str] = {}
        self._lock = threading.Lock()
        self._ingest_handler: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None
        self._process_passes = 0

    def tasks(self) -> dict[str, Callable[[Any], Any]]:
        return {
            INGEST_ITERATION_STATE: self.ingest_subreddit,
            Stage.PROCESS.state_name: self.process,
            Stage.SCORE.state_name: self.score,
            Stage.PUBLISH.state_name: self.publish,
            Stage.LOAD.state_name: self.load,
            LOAD_STATUS_STATE: self.load_status,
            Stage.VERIFY.state_name: self.verify,
            NOTIFY_STATE: self.notify,
        }

    def environments(self) -> dict[str, Callable[[], AbstractContextManager[Any]]]:
        return {
            Stage.INGEST.state_name: self._ingest_environment,
            Stage.SCORE.state_name: self._score_environment,
            Stage.VERIFY.state_name: self._verify_environment,
        }

    def _log(self, stage: Stage) -> TextIO:
        path = self.lake / "logs" / self.run_id / f"{stage.value}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a", encoding="utf-8")

    # ---------------------------------------------------------------- ingest

    @contextmanager
    def _ingest_environment(self) -> Iterator[None]:
        """The function's environment and log stream for the whole Map (its iterations run in threads)."""
        with (
            environment_variables(self.settings.to_env()),
            self._log(Stage.INGEST) as log,
            _logs_to(log, _ingest_loggers),
            redirect_stdout(log),
        ):
            from lambdas.ingest.handler import handler, tune_process  # imported in _logs_to, in the function's env

            if self.options.tune_process:
                tune_process()
            self._ingest_handler = handler
            try:
                yield
            finally:
                self.summaries[Stage.INGEST] = self._ingest_summary()

    def ingest_subreddit(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        event = dict(parameters["Payload"])
        assert self._ingest_handler is not None, "the Ingest state's environment was not entered"
        try:
            output = self._ingest_handler(event, cast("LambdaContext", LocalLambdaContext()))
        except Exception as exc:  # recorded for the summary; the state machine's Catch records it too
            with self._lock:
                self._ingested[event["subreddit"]] = f"{type(exc).__name__}: {exc}"
            raise
        with self._lock:
            self._ingested[event["subreddit"]] = output
            if not output.get("recorded"):
                self.requests.update(output["requests"])
        return {"Payload": output, "StatusCode": 200}

    def _ingest_summary(self) -> dict[str, Any]:
        totals: Counter[str] = Counter()
        written: Counter[str] = Counter()
        per_subreddit: dict[str, Any] = {}
        failed: dict[str, str] = {}
        skipped: dict[str, str] = {}
        for subreddit, output in self._ingested.items():
            if isinstance(output, str):  # one subreddit's failure must not hide the others' results
                failed[subreddit] = output
                continue
            totals.update(output["counts"])
            totals["cap_hits"] += int(output["cap_hit"])
            totals["rate_limit_waits"] += output["rate_limit_waits"]
            totals["retries"] += output["retries"]
            totals["recorded"] += int(bool(output.get("recorded")))
            reconciliation = output["reconciliation"]
            written.update({key: reconciliation[key] for key in ("received", "raw_rows", "quarantined", "duplicates")})
            written["unbalanced"] += int(not reconciliation["balanced"])
            per_subreddit[subreddit] = {
                "status": output["status"],
                **output["counts"],
                "cap_hit": output["cap_hit"],
                "budget_exhausted": output["budget_exhausted"],
                "requests": 0 if output.get("recorded") else sum(output["requests"].values()),
                "recorded": bool(output.get("recorded")),
            }
            if output["status"] == "skipped":
                skipped[subreddit] = output["error"]
            elif output["status"] != "ok":
                failed[subreddit] = output["error"] or output["status"]
        return {
            "subreddits": len(self._ingested),
            **dict(sorted(totals.items())),
            "written": dict(written),
            "failed": failed,
            "skipped": skipped,
            "by_subreddit": per_subreddit,
        }

    # ---------------------------------------------------------------- process

    def process(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The Glue job's code on Spark local mode; answers as ``glue:startJobRun.sync`` does (the job run)."""
        from glue_jobs.process_posts.io import ProcessedTableUnreadable
        from glue_jobs.process_posts.local_entry import run_local
        from glue_jobs.process_posts.quality import DataQualityError

        arguments = parameters["Arguments"]
        run_id = arguments[JobArguments.flag("run_id")]
        started_at = datetime.fromisoformat(arguments[JobArguments.flag("run_started_at")].replace("Z", "+00:00"))
        self._process_passes += 1
        job_run_id = f"local-{run_id}-{self._process_passes}"
        started = time.monotonic()
        try:
            counts = run_local(self.lake, job_run=run_id, now_epoch=started_at.timestamp(), job_run_id=job_run_id)
        except DataQualityError as breach:
            self.summaries[Stage.PROCESS] = {"error": str(breach), "quality_breaches": breach.breaches}
            raise
        except ProcessedTableUnreadable as unreadable:
            self.summaries[Stage.PROCESS] = {"error": str(unreadable)}
            raise
        self.summaries[Stage.PROCESS] = counts
        return {"Id": job_run_id, "JobRunState": "SUCCEEDED", "ExecutionTime": round(time.monotonic() - started)}

    # ---------------------------------------------------------------- score

    def score_settings(self) -> ScoreSettings:
        """The scoring function's settings as deployed, on the lake's directories; batch inference is
        off locally (its jobs take hours and write to S3)."""
        policy = replace(self.config.llm.policy, batch=BatchPolicy(enabled=False))
        return ScoreSettings(
            environment=self.config.name,
            processed_uri=str(self.lake / "processed"),
            analytics_uri=str(self.lake / "analytics"),
            runs_uri=str(self.lake / "runs"),
            backend=Backend(self.options.scorer),
            policy=policy,
        )

    @contextmanager
    def _score_environment(self) -> Iterator[None]:
        with (
            environment_variables(self.score_settings().to_env()),
            self._log(Stage.SCORE) as log,
            _logs_to(log, _score_loggers),
            redirect_stdout(log),
        ):
            yield

    def score(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        from lambdas.score.handler import clear_clients, handler

        clear_clients()  # another run in this process may have scored another lake
        try:
            output = handler(dict(parameters["Payload"]), cast("LambdaContext", LocalLambdaContext()))
        except Exception as exc:
            self.summaries[Stage.SCORE] = {"error": f"{type(exc).__name__}: {exc}"}
            raise
        recorded = RunManifests(LocalObjectStore(self.lake / "runs")).read(self.run_id, Stage.SCORE) or {}
        self.summaries[Stage.SCORE] = recorded | {"recorded": output["recorded"]}
        return {"Payload": output, "StatusCode": 200}

    # ---------------------------------------------------------------- publish and load

    def publish(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The publish function's work on Athena's stand-in: the views in DuckDB, the export under
        ``exports/run_id=<run_id>/`` of the lake, the load's statements rendered for the local warehouse."""
        from lakehouse_tools.local.sql import LocalAthena  # duckdb and sqlglot: only a run that publishes
        from lakehouse_tools.local.warehouse import LOCAL_COPY_ROLE
        from lambdas.publish.publish import PublishRequest, publish_run

        exports = self.lake / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        athena = LocalAthena(self.lake)
        try:
            output = publish_run(
                PublishRequest.from_event(parameters["Payload"]),
                engine=athena,
                runs=RunManifests(LocalObjectStore(self.lake / "runs")),
                exports=LocalObjectStore(exports),
                exports_uri=f"{exports.as_posix()}/",
                copy_role_arn=LOCAL_COPY_ROLE,
            )
        except Exception as exc:
            self.summaries[Stage.PUBLISH] = {"error": f"{type(exc).__name__}: {exc}"}
            raise
        finally:
            athena.close()
        self.summaries[Stage.PUBLISH] = {
            key: output[key] for key in ("views", "export_uri", "exported_rows", "recorded")
        }
        return {"Payload": output, "StatusCode": 200}

    def load(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """BatchExecuteStatement's stand-in: the statements run on the lake's warehouse file, in one
        transaction, before it answers (so the status it is asked next is FINISHED)."""
        from lakehouse_tools.local.warehouse import WAREHOUSE_FILE, LocalWarehouse

        warehouse = LocalWarehouse(self.lake / WAREHOUSE_FILE)
        try:
            warehouse.execute_batch(list(parameters["Sqls"]))
            rows = {
                table: warehouse.query(f"SELECT count(*) FROM lakehouse.{table}").rows[0][0]  # noqa: S608
                for table in warehouse_tables()
            }
        except Exception as exc:
            self.summaries[Stage.LOAD] = {"error": f"{type(exc).__name__}: {exc}"}
            raise
        finally:
            warehouse.close()
        self.summaries[Stage.LOAD] = {"statements": len(parameters["Sqls"]), "warehouse_rows": rows}
        return {"Id": f"local-{self.run_id}-load"}

    def load_status(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return {"Id": parameters["Id"], "Status": "FINISHED"}

    # ---------------------------------------------------------------- verify

    @contextmanager
    def _verify_environment(self) -> Iterator[None]:
        settings = VerifySettings(
            environment=self.config.name,
            runs_uri=str(self.lake / "runs"),
            tolerated_failure_percentage=self.config.orchestration.tolerated_failure_percentage,
            ingest_memory_mb=self.config.ingest.memory_mb,
        )
        with (
            environment_variables(settings.to_env()),
            self._log(Stage.VERIFY) as log,
            _logs_to(log, _verify_loggers),
            redirect_stdout(log),
        ):
            yield

    def verify(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        from lambdas.verify.handler import handler

        try:
            output = handler(dict(parameters["Payload"]), cast("LambdaContext", LocalLambdaContext()))
        finally:
            recorded = RunManifests(LocalObjectStore(self.lake / "runs")).read(self.run_id, Stage.VERIFY)
            self.summaries[Stage.VERIFY] = recorded or {"error": "the verify step wrote no manifest"}
        return {"Payload": output, "StatusCode": 200}

    # ---------------------------------------------------------------- failure notice

    def notify(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """SNS's stand-in: the notice goes to ``logs/<run_id>/notifications.jsonl`` and stderr."""
        notice = {"subject": parameters.get("Subject"), "message": parameters["Message"]}
        with (self.lake / "logs" / self.run_id / "notifications.jsonl").open("a", encoding="utf-8") as log:
            log.write(json.dumps(notice) + "\n")
        print(f"NOTIFY {notice['subject']}: {notice['message']}", file=sys.stderr)
        return {"MessageId": f"local-{self.run_id}"}


@contextmanager
def _logs_to(stream: TextIO, loggers_of: Callable[[], list[logging.Logger]]) -> Iterator[None]:
    """Point a function's log handlers at ``stream`` for a run, as CloudWatch takes stdout.

    Powertools binds a handler to the ``sys.stdout`` of the moment it builds it (the first import),
    so a second run in the same process would otherwise log into the first run's closed file.
    """
    handlers = [h for log in loggers_of() for h in log.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    try:
        yield
    finally:
        for h, old in zip(handlers, previous, strict=True):
            if old is not None:
                h.setStream(old)


def _ingest_loggers() -> list[logging.Logger]:
    from lambdas.ingest import handler, ingest  # Powertools reads its settings (the environment) here

    return [logging.getLogger(handler.logger.name), ingest.logger]


def _score_loggers() -> list[logging.Logger]:
    from lambdas.score import handler

    return [logging.getLogger(handler.logger.name)]


def _model_calls(score: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's model calls and their cost (zero on a rerun of a scored run: it calls no backend)."""
    if not score or "error" in score or score.get(NOTHING_TO_DO):
        return {"calls": 0, "cost_usd": 0.0}
    recorded = bool(score.get("recorded"))
    return {
        "backend": score["backend"],
        "model_id": score["model_id"],
        "prompt_version": score["prompt_version"],
        "calls": 0 if recorded else score["model_calls"],
        "input_tokens": 0 if recorded else score["input_tokens"],
        "output_tokens": 0 if recorded else score["output_tokens"],
        "cost_usd": 0.0 if recorded else score["cost_usd"],
        "recorded": recorded,
    }


def _verify_loggers() -> list[logging.Logger]:
    from lambdas.verify import handler

    return [logging.getLogger(handler.logger.name)]


def _reconcile(stages: Mapping[str, Any]) -> dict[str, Any]:
    checks = {"ingest": _reconcile_ingest(stages["ingest"])} if "ingest" in stages else {}
    process = stages.get("process")
    if process and "error" not in process:
        for table in ("posts", "comments"):
            counts = process[table]
            checks[f"process_{table}"] = {
                "rule": "raw snapshots read = rows read back from processed, exclusions and quarantine "
                "+ superseded snapshots",
                **counts,
            }
    # The verify step's checks across stages (coverage, each stage's balance, raw -> process).
    for name, check in stages.get("verify", {}).get("checks", {}).items():
        checks[f"verify_{name}"] = {"balanced": check["ok"], **check}
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
