"""Runs of the synthesized dev state machine on moto's Step Functions interpreter.

The definition is the one the stack deploys (rendered from the template), pointed at moto's
functions, job and topic of the same names. What moto cannot run is scripted, per call: the three
Lambda functions' answers (moto's "simple" Lambda backend never runs code) and Glue's answer to
StartJobRun (moto's job runs succeed at once). Everything else is the interpreter's own doing:
the Map, the retries, the catches, JsonMerge, the SNS notice, the Fail state. The changes to the
definition: every Retry waits one second at most instead of up to minutes (``shorten_retries``), and
the Load stage's two Data API calls answer as Pass states (moto's Redshift Data API has no
BatchExecuteStatement, and its statements never finish): the load is sent, and FINISHED when asked.
"""

from __future__ import annotations

import copy
import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import boto3
import pytest
from aws_cdk import assertions
from moto import mock_aws

from infra.config import EnvironmentConfig
from lakehouse.pipeline import INGEST_ITERATION_STATE, LOAD_STATUS_STATE, NOTIFY_STATE, Stage
from lambdas.ingest.ingest import IngestRequest
from lambdas.score.score import ScoreRequest
from lambdas.verify.verify import VerifyRequest
from tests.infra.state_machines import ACCOUNT, REGION, Targets, follow, render, shorten_retries

pytestmark = pytest.mark.cdk

ENV = "dev"
RUN_TIMEOUT_SECONDS = 60
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
STAGE_STATES = [stage.state_name for stage in Stage]
# moto's Step Functions interpreter needs moto's `stepfunctions` extra, its Glue backend the `glue` one.
MOTO_EXTRAS = {"antlr4": "stepfunctions", "pyparsing": "glue"}


# --------------------------------------------------------------------------- Lambda's answers


@dataclass(frozen=True)
class Returns:
    """The function returns ``payload``."""

    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Raises:
    """The function raises: Lambda answers 200 with ``X-Amz-Function-Error: Unhandled`` and the error as payload."""

    error_type: str
    message: str


@dataclass(frozen=True)
class Throttled:
    """Lambda refuses the invocation (429 TooManyRequestsException): the account or function is out of concurrency."""


Reply = Returns | Raises | Throttled
Answer = Callable[[dict[str, Any], int], Reply]
"""(the event, how many times this same event was sent before) -> what the function does."""


def ingested(event: dict[str, Any], attempt: int) -> Reply:
    """What the ingest handler returns: counts, the objects written, the requests made, and the manifest."""
    run_id, subreddit = event["run_id"], event["subreddit"]
    return Returns(
        {
            "run_id": run_id,
            "subreddit": subreddit,
            "status": "ok",
            "counts": {"new_posts": 250, "posts_written": 250, "comments": 900, "quarantined": 1},
            "objects": [f"s3://raw/posts/subreddit={subreddit}/part-{index:05d}.parquet" for index in range(400)],
            "requests": {f"/comments/{index:x}": 1 for index in range(300)},
            "manifest": f"s3://raw/runs/{run_id}/ingest/{subreddit}.json",
            "recorded": False,
        }
    )


def scored(event: dict[str, Any], attempt: int) -> Reply:
    """What the score handler returns (lambdas.score.handler.output)."""
    return Returns(
        {
            "manifest": f"s3://raw/runs/{event['run']['run_id']}/score.json",
            "recorded": False,
            "scored": 42,
            "failed": 1,
            "deferred": 3,
            "waiting": 7,
            "model_calls": 44,
            "cost_usd": 0.0123,
            "budget_exhausted": True,
            "batch": {"submitted": 0, "collected": 0},
        }
    )


def published(event: dict[str, Any], attempt: int) -> Reply:
    """What the publish handler returns (lambdas.publish.publish.publish_run)."""
    run_id = event["run"]["run_id"]
    return Returns(
        {
            "manifest": f"s3://raw/runs/{run_id}/publish.json",
            "recorded": False,
            "export_uri": f"s3://analytics/exports/run_id={run_id}/",
            "views": ["v_opportunities"],
            "exported_rows": {"posts": 250},
            "load_sqls": ["CREATE SCHEMA IF NOT EXISTS lakehouse", "DELETE FROM lakehouse.stage_posts"],
        }
    )


def verified(event: dict[str, Any], attempt: int) -> Reply:
    return Returns(
        {
            "manifest": f"s3://raw/runs/{event['run']['run_id']}/verify.json",
            "ok": True,
            "checks": {"ingest_reconciles": True},
            "metrics": {"posts_ingested": 1500.0},
        }
    )


class ScriptedLambda:
    """Stands in for moto's simple Lambda backend's ``invoke``: answers by function, event and attempt."""

    def __init__(self, targets: Targets) -> None:
        self.names = {
            targets.ingest_function_arn.rsplit(":", 1)[-1]: "ingest",
            targets.score_function_arn.rsplit(":", 1)[-1]: "score",
            targets.publish_function_arn.rsplit(":", 1)[-1]: "publish",
            targets.verify_function_arn.rsplit(":", 1)[-1]: "verify",
        }
        self.answers: dict[str, Answer] = {
            "ingest": ingested,
            "score": scored,
            "publish": published,
            "verify": verified,
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()  # the Map's iterations invoke from several threads

    def events(self, function: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for name, event in self.calls if name == function]

    def invoke(self, function_name: str, body: str | bytes, response_headers: dict[str, str]) -> bytes:
        from moto.awslambda.exceptions import LambdaClientError

        function = self.names[function_name.rsplit(":", 1)[-1]]
        event = json.loads(body)
        with self._lock:
            attempt = sum(1 for name, sent in self.calls if (name, sent) == (function, event))
            self.calls.append((function, event))
        reply = self.answers[function](event, attempt)
        if isinstance(reply, Throttled):  # moto's response handler turns it into Lambda's 429 answer
            error = LambdaClientError("TooManyRequestsException", "Rate Exceeded.")
            error.code = 429
            raise error
        if isinstance(reply, Raises):
            response_headers["x-amz-function-error"] = "Unhandled"
            payload: Mapping[str, Any] = {
                "errorMessage": reply.message,
                "errorType": reply.error_type,
                "stackTrace": [],
            }
            return json.dumps(payload).encode()
        return json.dumps(reply.payload).encode()


# --------------------------------------------------------------------------- Glue's answers


class JobStart(StrEnum):
    BUSY = "busy"  # ConcurrentRunsExceededException: a previous run of the job is still going
    FAILED = "failed"  # the run starts, then ends FAILED
    SUCCEEDED = "succeeded"  # moto's own behaviour: the run ends SUCCEEDED when first looked at


@dataclass
class ScriptedGlue:
    """Glue's answers to StartJobRun for a run id (``--run_id``), in order; then SUCCEEDED."""

    script: dict[str, list[JobStart]] = field(default_factory=dict)
    starts: list[dict[str, str]] = field(default_factory=list)

    def start_job_run(self, original: Callable[..., str], job: Any, **kwargs: Any) -> str:
        from moto.glue.exceptions import ConcurrentRunsExceededException

        arguments = dict(kwargs.get("arguments") or {})
        self.starts.append(arguments)
        pending = self.script.get(arguments.get("--run_id", ""), [])
        outcome = pending.pop(0) if pending else JobStart.SUCCEEDED
        if outcome is JobStart.BUSY:
            raise ConcurrentRunsExceededException(f"Job with name {job.name} already running")
        job_run_id = original(job, **kwargs)
        if outcome is JobStart.FAILED:
            (run,) = (run for run in job.job_runs if run.job_run_id == job_run_id)
            run.status = "FAILED"
        return job_run_id


# --------------------------------------------------------------------------- an execution


@dataclass(frozen=True)
class Execution:
    description: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.description["status"])

    @property
    def output(self) -> dict[str, Any]:
        return dict(json.loads(self.description["output"]))

    def entered(self) -> list[str]:
        """Every state entered, in order, those of the Map's iterations too."""
        return [
            event["stateEnteredEventDetails"]["name"] for event in self.events if "stateEnteredEventDetails" in event
        ]

    def path(self, definition: Mapping[str, Any]) -> list[str]:
        """The top-level states entered, in order."""
        return [name for name in self.entered() if name in definition["States"]]

    def task_failures(self, resource_type: str) -> list[str]:
        """The errors of the failed task attempts on ``resource_type`` (lambda, glue, sns)."""
        return [
            event["taskFailedEventDetails"]["error"]
            for event in self.events
            if event["type"] == "TaskFailed" and event["taskFailedEventDetails"].get("resourceType") == resource_type
        ]

    def scheduled(self, resource_type: str) -> int:
        return sum(
            1
            for event in self.events
            if event["type"] == "TaskScheduled" and event["taskScheduledEventDetails"]["resourceType"] == resource_type
        )


@dataclass
class Pipeline:
    """The dev state machine in moto, with its scripted functions and job."""

    definition: dict[str, Any]
    targets: Targets
    machine_arn: str
    lambdas: ScriptedLambda
    glue: ScriptedGlue
    client: Any

    def run(self, name: str, given: Mapping[str, Any] | None = None) -> Execution:
        """Start an execution named ``name`` (the run id by default) and wait for it to end."""
        arn = self.client.start_execution(
            stateMachineArn=self.machine_arn, name=name, input=json.dumps(dict(given or {}))
        )["executionArn"]
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while (description := self.client.describe_execution(executionArn=arn))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                entered = Execution(description, self._history(arn)).entered()
                pytest.fail(f"execution {name} still running after {RUN_TIMEOUT_SECONDS} s; entered {entered}")
            time.sleep(0.05)
        return Execution(description, self._history(arn))

    def _history(self, arn: str) -> list[dict[str, Any]]:
        history = self.client.get_execution_history(executionArn=arn, maxResults=1000)
        assert "nextToken" not in history
        return list(history["events"])

    def notices(self) -> list[tuple[str | None, str]]:
        """(subject, message) of every message published to the alarm topic."""
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT][REGION].topics[self.targets.topic_arn]
        return [(subject, message) for _, message, subject, *_ in topic.sent_notifications]

    def job_runs(self) -> list[dict[str, Any]]:
        glue = boto3.client("glue", region_name=REGION)
        return list(glue.get_job_runs(JobName=self.targets.job_name)["JobRuns"])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dev_template(templates: Mapping[str, assertions.Template]) -> dict[str, Any]:
    return dict(templates[ENV].to_json())


@pytest.fixture(scope="module")
def dev_config(configs: Mapping[str, EnvironmentConfig]) -> EnvironmentConfig:
    return configs[ENV]


@pytest.fixture
def moto_as_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put right the two places where moto 5.2.5's interpreter departs from Step Functions; nothing else.

    1. ``$$.Execution.StartTime`` is a ``datetime`` in moto, an ISO 8601 string on AWS
       ("2026-01-01T00:00:00.000Z"). Handed to Glue as an argument, moto's datetime makes botocore's
       request serializer raise "Object of type datetime is not JSON serializable" (a States.Runtime
       error in Process). moto's own type hint says ``str``.
    2. Every ``glue:startJobRun.sync`` task fails in moto with States.Runtime "'NoneType' object has
       no attribute 'interrupt_all'": ``StateTaskServiceCallback._eval_integration_pattern`` calls
       ``callback_endpoint.interrupt_all()`` in a ``finally``, but creates an endpoint only for services
       that also support ``.waitForTaskToken``, which moto's Glue service does not declare. Declaring
       it lets the task register its task token (as AWS gives .sync tasks one, ``$$.Task.Token``), so
       the endpoint exists; the .sync polling of GetJobRun is moto's own.
    """
    missing = [f"{module} (moto[{extra}])" for module, extra in MOTO_EXTRAS.items() if not _importable(module)]
    if missing:
        pytest.fail(
            f"moto cannot execute state machines here: {', '.join(missing)} not installed. requirements-dev.txt "
            "must install moto[...,stepfunctions,glue]"
        )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
        StateTaskServiceGlue,
    )
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    environment_of = ExecutionWorker._get_evaluation_environment

    def with_iso_start_time(worker: Any) -> Any:
        environment = environment_of(worker)
        execution = environment.states.context_object.context_object_data["Execution"]
        started: Any = execution["StartTime"]  # typed str by moto, a datetime in fact
        execution["StartTime"] = started.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return environment

    glue_init = StateTaskServiceGlue.__init__

    def with_task_token(service: Any) -> None:
        glue_init(service)
        service._supported_integration_patterns = {
            *service._supported_integration_patterns,
            ResourceCondition.WaitForTaskToken,
        }

    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_environment", with_iso_start_time)
    monkeypatch.setattr(StateTaskServiceGlue, "__init__", with_task_token)


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ModuleNotFoundError:
        return False
    return True


@pytest.fixture
def pipeline(dev_template: dict[str, Any], moto_as_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.glue.models import FakeJob

    targets = Targets.as_deployed(dev_template)
    definition = _scripted_data_api(shorten_retries(render(dev_template, targets)))
    lambdas, glue = ScriptedLambda(targets), ScriptedGlue()
    monkeypatch.setattr(
        LambdaSimpleBackend,
        "invoke",
        lambda backend, function_name, qualifier, body, headers, response_headers: lambdas.invoke(
            function_name, body, response_headers
        ),
    )
    start_job_run = FakeJob.start_job_run
    monkeypatch.setattr(
        FakeJob, "start_job_run", lambda job, **kwargs: glue.start_job_run(start_job_run, job, **kwargs)
    )

    with mock_aws(config=MOTO_CONFIG):
        role_arn = boto3.client("iam", region_name=REGION).create_role(
            RoleName="pipeline-state-machine",
            AssumeRolePolicyDocument=json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}}]}
            ),
        )["Role"]["Arn"]
        functions = boto3.client("lambda", region_name=REGION)
        for arn in (
            targets.ingest_function_arn,
            targets.score_function_arn,
            targets.publish_function_arn,
            targets.verify_function_arn,
        ):
            created = functions.create_function(
                FunctionName=arn.rsplit(":", 1)[-1],
                Runtime="python3.12",
                Role=role_arn,
                Handler="handler.handler",
                Code={"ZipFile": _zip("handler.py", "def handler(event, context):\n    return event\n")},
            )
            assert created["FunctionArn"] == arn
        job = _resource(dev_template, "AWS::Glue::Job")
        boto3.client("glue", region_name=REGION).create_job(
            Name=targets.job_name,
            Role=role_arn,
            Command={"Name": "glueetl", "ScriptLocation": "s3://stand-in/process_posts.py"},
            ExecutionProperty=job["ExecutionProperty"],
        )
        topic = boto3.client("sns", region_name=REGION).create_topic(Name=targets.topic_arn.rsplit(":", 1)[-1])
        assert topic["TopicArn"] == targets.topic_arn
        client = boto3.client("stepfunctions", region_name=REGION)
        machine_arn = client.create_state_machine(
            name=_resource(dev_template, "AWS::StepFunctions::StateMachine")["StateMachineName"],
            definition=json.dumps(definition),
            roleArn=role_arn,
        )["stateMachineArn"]
        yield Pipeline(definition, targets, machine_arn, lambdas, glue, client)


def _scripted_data_api(definition: dict[str, Any]) -> dict[str, Any]:
    """The Load stage's Data API calls as Pass states with the answers a finished load gives."""
    states = definition["States"]
    for name, result in (
        (Stage.LOAD.state_name, {"statement_id": "stand-in-statement"}),
        (LOAD_STATUS_STATE, {"status": "FINISHED", "detail": "{}"}),
    ):
        task = states[name]
        states[name] = {"Type": "Pass", "Result": result, "ResultPath": task["ResultPath"], "Next": task["Next"]}
    return definition


def _zip(name: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


def _resource(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    (properties,) = (r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type)
    return dict(properties)


def _catch_route(definition: Mapping[str, Any], stage: Stage) -> list[str]:
    """The states a failure of ``stage`` passes through: its catch's target, on to the Fail state."""
    (catch,) = definition["States"][stage.state_name]["Catch"]
    return follow(definition, catch["Next"])


# --------------------------------------------------------------------------- the run that goes well


def test_a_run_ingests_every_subreddit_processes_scores_verifies_and_succeeds(
    pipeline: Pipeline, dev_config: EnvironmentConfig
) -> None:
    execution = pipeline.run("run-2026-01-01T00")  # as the schedule starts it: {} and every default

    assert execution.status == "SUCCEEDED"
    path = execution.path(pipeline.definition)
    assert [name for name in path if Stage.of_state(name) is not None] == STAGE_STATES
    assert NOTIFY_STATE not in path
    assert execution.entered().count(INGEST_ITERATION_STATE) == len(dev_config.subreddits)

    started = execution.output["run"]["run_started_at"]
    ingest_events = pipeline.lambdas.events("ingest")
    assert sorted(ingest_events, key=lambda event: event["subreddit"]) == [
        {"run_id": "run-2026-01-01T00", "subreddit": subreddit, "run_started_at": started}
        for subreddit in sorted(dev_config.subreddits)
    ]
    for event in ingest_events:  # what the ingest handler parses
        ingest_request = IngestRequest.from_event(event)
        assert abs(ingest_request.run_started_at - execution.description["startDate"]).total_seconds() < 1

    (job_run,) = pipeline.job_runs()
    assert job_run["Arguments"] == {"--run_id": "run-2026-01-01T00", "--run_started_at": started}

    run = {"run_id": "run-2026-01-01T00", "run_started_at": started, "subreddits": list(dev_config.subreddits)}
    (score_event,) = pipeline.lambdas.events("score")
    assert score_event == {"run": run}
    score_request = ScoreRequest.from_event(score_event)  # what the score handler parses
    assert score_request.run_id == "run-2026-01-01T00"

    (verify_event,) = pipeline.lambdas.events("verify")
    assert verify_event["run"] == run
    assert verify_event["process"] == {
        "job_run_id": job_run["Id"],
        "execution_seconds": job_run["ExecutionTime"],
        "workers": dev_config.glue.number_of_workers,
        "worker_type": dev_config.glue.worker_type,
    }
    verify_request = VerifyRequest.from_event(verify_event)  # what the verify handler parses
    assert verify_request.failed == {}
    assert sorted(verify_request.subreddits) == sorted(dev_config.subreddits)

    output = execution.output
    # References, not data: the functions returned ~40 KB each, the state keeps their manifests.
    assert len(execution.description["output"]) < 4096
    assert {entry["subreddit"]: entry for entry in output["ingest"]} == {
        subreddit: {
            "subreddit": subreddit,
            "status": "ok",
            "manifest": f"s3://raw/runs/run-2026-01-01T00/ingest/{subreddit}.json",
            "recorded": False,
        }
        for subreddit in dev_config.subreddits
    }
    assert output["process"] == {"job_run_id": job_run["Id"], "state": "SUCCEEDED", "execution_seconds": 123}
    # The manifest and a few counts; the rest (failed, waiting, batch) stays in score.json.
    assert output["score"] == {
        "manifest": "s3://raw/runs/run-2026-01-01T00/score.json",
        "recorded": False,
        "scored": 42,
        "model_calls": 44,
        "cost_usd": 0.0123,
        "budget_exhausted": True,
    }
    assert output["verify"] == {"manifest": "s3://raw/runs/run-2026-01-01T00/verify.json", "ok": True}
    assert pipeline.notices() == []


def test_a_rerun_takes_its_run_id_and_subreddits_from_the_input(pipeline: Pipeline) -> None:
    """An operator reruns a failed run under its own id, for the subreddits that need it."""
    execution = pipeline.run("rerun-of-run-7", {"run_id": "run-7", "subreddits": ["python"]})

    assert execution.status == "SUCCEEDED"
    (ingest_event,) = pipeline.lambdas.events("ingest")
    assert ingest_event["run_id"] == "run-7"
    assert ingest_event["subreddit"] == "python"
    (job_run,) = pipeline.job_runs()
    assert job_run["Arguments"]["--run_id"] == "run-7"
    (score_event,) = pipeline.lambdas.events("score")
    assert score_event["run"]["run_id"] == "run-7"
    (verify_event,) = pipeline.lambdas.events("verify")
    assert verify_event["run"]["run_id"] == "run-7"
    assert verify_event["run"]["subreddits"] == ["python"]


# --------------------------------------------------------------------------- transient errors


def test_a_throttled_ingest_invocation_is_retried_and_the_run_succeeds(pipeline: Pipeline) -> None:
    def throttled_once(event: dict[str, Any], attempt: int) -> Reply:
        return Throttled() if event["subreddit"] == "python" and attempt == 0 else ingested(event, attempt)

    pipeline.lambdas.answers["ingest"] = throttled_once
    execution = pipeline.run("run-throttled")

    assert execution.status == "SUCCEEDED"
    assert execution.task_failures("lambda") == ["Lambda.TooManyRequestsException"]
    # Retried in the same iteration, not a new one: python was asked twice, the others once.
    subreddits = [event["subreddit"] for event in pipeline.lambdas.events("ingest")]
    assert subreddits.count("python") == 2
    assert len(subreddits) == len(set(subreddits)) + 1
    assert {entry["subreddit"]: entry["status"] for entry in execution.output["ingest"]}["python"] == "ok"


def test_a_busy_processing_job_is_waited_out_and_the_run_succeeds(pipeline: Pipeline) -> None:
    """One writer at a time: a previous run's job still going delays this run's job, it does not fail the run."""
    pipeline.glue.script["run-busy"] = [JobStart.BUSY, JobStart.BUSY]
    execution = pipeline.run("run-busy")

    assert execution.status == "SUCCEEDED"
    assert execution.task_failures("glue") == ["Glue.ConcurrentRunsExceededException"] * 2
    assert execution.scheduled("glue") == 3
    assert len(pipeline.job_runs()) == 1  # started once it could be, not three times
    assert NOTIFY_STATE not in execution.entered()


def test_a_scorer_busy_with_another_run_is_waited_out_and_the_run_succeeds(pipeline: Pipeline) -> None:
    """One scorer at a time (reserved concurrency 1): an overlapping run's Score is throttled, then retried."""

    def busy_twice(event: dict[str, Any], attempt: int) -> Reply:
        return Throttled() if attempt < 2 else scored(event, attempt)

    pipeline.lambdas.answers["score"] = busy_twice
    execution = pipeline.run("run-overlapping")

    assert execution.status == "SUCCEEDED"
    assert execution.task_failures("lambda") == ["Lambda.TooManyRequestsException"] * 2
    assert len(pipeline.lambdas.events("score")) == 3
    assert execution.output["score"]["scored"] == 42
    assert NOTIFY_STATE not in execution.entered()


# --------------------------------------------------------------------------- failures


def test_a_degraded_scoring_run_notifies_the_operators_and_fails_with_scores_error(pipeline: Pipeline) -> None:
    def degraded(event: dict[str, Any], attempt: int) -> Reply:
        return Raises("ScoringDegraded", "9 of 12 assessments failed validation and 0 were throttled or unavailable")

    pipeline.lambdas.answers["score"] = degraded
    execution = pipeline.run("run-13")

    assert execution.status == "FAILED"
    assert execution.description["error"] == f"{Stage.SCORE.state_name}.ScoringDegraded"
    path = execution.path(pipeline.definition)
    assert path[path.index(Stage.SCORE.state_name) + 1 :] == _catch_route(pipeline.definition, Stage.SCORE)
    assert len(pipeline.lambdas.events("score")) == 1  # the function's own failure is not retried
    assert pipeline.lambdas.events("verify") == []  # nothing after Score ran
    ((_, message),) = pipeline.notices()
    assert message.startswith("Run run-13 failed in state Score with ScoringDegraded: ")


def test_an_unreconciled_run_notifies_the_operators_and_fails_with_verifys_error(pipeline: Pipeline) -> None:
    def unreconciled(event: dict[str, Any], attempt: int) -> Reply:
        return Raises("RunNotReconciled", "run run-8 does not reconcile: ingest_reconciles (250 written, 249 read)")

    pipeline.lambdas.answers["verify"] = unreconciled
    execution = pipeline.run("run-8")

    assert execution.status == "FAILED"
    # Lambda reports the exception's class as the error, its JSON payload as the cause.
    assert execution.description["error"] == f"{Stage.VERIFY.state_name}.RunNotReconciled"  # the stage, its error
    assert json.loads(execution.description["cause"])["errorMessage"].startswith("run run-8 does not reconcile")
    path = execution.path(pipeline.definition)
    assert path[path.index(Stage.VERIFY.state_name) + 1 :] == _catch_route(pipeline.definition, Stage.VERIFY)
    assert len(pipeline.lambdas.events("verify")) == 1  # the function's own failure is not retried
    ((subject, message),) = pipeline.notices()
    assert subject == "reddit-lakehouse-dev: a pipeline run failed"
    assert message.startswith("Run run-8 failed in state Verify with RunNotReconciled: ")
    assert "run run-8 does not reconcile" in message
    assert execution.description["executionArn"] in message


def test_a_failed_processing_job_notifies_the_operators_and_fails_the_run(pipeline: Pipeline) -> None:
    pipeline.glue.script["run-9"] = [JobStart.FAILED]
    execution = pipeline.run("run-9")

    assert execution.status == "FAILED"
    path = execution.path(pipeline.definition)
    assert path[path.index(Stage.PROCESS.state_name) + 1 :] == _catch_route(pipeline.definition, Stage.PROCESS)
    assert pipeline.lambdas.events("verify") == []  # nothing after Process ran
    ((_, message),) = pipeline.notices()
    assert message.startswith("Run run-9 failed in state Process with States.TaskFailed: ")
    (job_run,) = pipeline.job_runs()
    assert job_run["Id"] in message  # the cause is the failed JobRun


def test_a_failed_processing_job_fails_the_run_with_glues_error(pipeline: Pipeline) -> None:
    """The stage prefixes the error: a Fail state's error may not begin with 'States.' (moto refuses it too)."""
    pipeline.glue.script["run-10"] = [JobStart.FAILED]
    execution = pipeline.run("run-10")

    assert execution.status == "FAILED"
    assert execution.description["error"] == f"{Stage.PROCESS.state_name}.States.TaskFailed"


def test_a_notice_that_cannot_be_sent_does_not_hide_the_failure(pipeline: Pipeline) -> None:
    boto3.client("sns", region_name=REGION).delete_topic(TopicArn=pipeline.targets.topic_arn)
    pipeline.lambdas.answers["verify"] = lambda event, attempt: Raises("RunNotReconciled", "2 checks failed")
    execution = pipeline.run("run-11")

    assert execution.status == "FAILED"
    assert execution.description["error"] == f"{Stage.VERIFY.state_name}.RunNotReconciled"  # not the notice's
    assert execution.task_failures("sns") == ["SNS.NotFoundException"]
    assert execution.path(pipeline.definition)[-1] == _catch_route(pipeline.definition, Stage.VERIFY)[-1]


def test_a_subreddit_that_keeps_failing_is_recorded_and_the_run_goes_on(pipeline: Pipeline) -> None:
    """The other subreddits' data is processed; Verify gets the failure and judges it against the tolerance."""

    def saas_fails(event: dict[str, Any], attempt: int) -> Reply:
        if event["subreddit"] == "SaaS":
            return Raises("IngestFailed", "r/SaaS run run-12: Reddit kept answering 503")
        return ingested(event, attempt)

    pipeline.lambdas.answers["ingest"] = saas_fails
    execution = pipeline.run("run-12")

    assert execution.status == "SUCCEEDED"
    assert [name for name in execution.path(pipeline.definition) if Stage.of_state(name)] == STAGE_STATES
    subreddits = [event["subreddit"] for event in pipeline.lambdas.events("ingest")]
    assert subreddits.count("SaaS") == 2  # IngestFailed gets one more try, then is recorded
    assert execution.task_failures("lambda") == ["IngestFailed", "IngestFailed"]
    (saas,) = (entry for entry in execution.output["ingest"] if entry["subreddit"] == "SaaS")
    assert saas["status"] == "failed"
    assert saas["error"]["Error"] == "IngestFailed"
    assert json.loads(saas["error"]["Cause"])["errorMessage"] == "r/SaaS run run-12: Reddit kept answering 503"
    assert len(pipeline.job_runs()) == 1
    (verify_event,) = pipeline.lambdas.events("verify")
    assert VerifyRequest.from_event(verify_event).failed.keys() == {"SaaS"}


def test_a_load_the_warehouse_rolled_back_notifies_and_fails_the_run_with_redshifts_words(pipeline: Pipeline) -> None:
    definition = copy.deepcopy(pipeline.definition)
    detail = json.dumps({"Status": "FAILED", "Error": "ERROR: Spectrum Scan Error: column count mismatch"})
    definition["States"][LOAD_STATUS_STATE]["Result"] = {"status": "FAILED", "detail": detail}
    role = pipeline.client.describe_state_machine(stateMachineArn=pipeline.machine_arn)["roleArn"]
    arn = pipeline.client.create_state_machine(name="load-fails", definition=json.dumps(definition), roleArn=role)
    failing = Pipeline(
        definition, pipeline.targets, arn["stateMachineArn"], pipeline.lambdas, pipeline.glue, pipeline.client
    )

    execution = failing.run("run-20")

    assert execution.status == "FAILED"
    assert execution.description["error"] == f"{Stage.LOAD.state_name}.StatementFailed"
    assert "column count mismatch" in execution.description["cause"]
    assert pipeline.lambdas.events("verify") == []  # a run whose load failed is not verified
    ((_, message),) = pipeline.notices()
    assert message.startswith("Run run-20 failed in state Load with StatementFailed: ")
