"""The pipeline's state machine: one Standard workflow runs every stage of a run, in order.

    Start run -> Resolve run -> Ingest (Map: Ingest subreddit) -> Process (Glue, .sync)
      -> Score (Lambda) -> Publish (Lambda: views, UNLOAD) -> Load (Data API, polled) -> Verify -> Succeeded
    any task's failure -> <Stage> failed -> Notify failure (SNS) -> Run failed

Load sends the statements Publish rendered (DDL, COPY into staging, dedupe, MERGE) as one
BatchExecuteStatement, one transaction, then asks DescribeStatement every few seconds (the Data API
has no ``.sync``) until it is FINISHED, or fails the run when it FAILED or was ABORTED. An
environment with the warehouse switched off keeps a Load state that does nothing.

Input ``{"run_id"?, "subreddits"?, "run_started_at"?}``: the run id defaults to the execution's
name, the subreddits to the environment's, the start to the execution's. State names come from
:class:`lakehouse.pipeline.Stage`; the local run walks this same definition (synthesized) and maps
each task to the stage's local implementation by name.

Stages pass references, not data: each writes its run manifest and returns a few fields
(``ResultSelector``), so the state stays far below the 256 KB payload limit. Every stage is
idempotent per run id (a finished one finds its manifest and does nothing), so a new execution
with the same run id (and the original ``run_started_at``) finishes a failed run. A redrive is safe
too, but resumes at the terminal Fail state: every failure is caught, to send the notice first.

Ingest iterations catch their own failure into a ``failed`` entry: an inline Map has no tolerated
failure threshold (that is a Distributed Map's), so the run goes on to process what the other
subreddits fetched, and Verify fails the run when more subreddits failed than the environment
tolerates. Rerun such a run with the same run id: the subreddits that finished are not asked again.

Score runs one invocation at a time (the function reserves a concurrency of 1, so overlapping runs never
pay for the same post): a run that finds another run's scorer busy is throttled, and waits it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from glue_jobs.process_posts.arguments import JobArguments
from infra.config import GlueConfig, OrchestrationConfig
from infra.constructs.encrypted_log_group import EncryptedLogGroup
from infra.constructs.key_grants import via_service
from infra.constructs.nag import acknowledge, iam5_resource_finding
from lakehouse.pipeline import INGEST_ITERATION_STATE, LOAD_STATUS_STATE, LOAD_WAIT_STATE, NOTIFY_STATE, Stage

__all__ = [
    "DATA_API_TRANSIENT_ERRORS",
    "LAMBDA_TRANSIENT_ERRORS",
    "SCORE_TASK_MARGIN",
    "LoadTarget",
    "PipelineStateMachine",
    "throttle_attempts_covering",
]

# Lambda's own failures (not the function's): worth retrying quickly, with jitter.
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"
# The ingest function's own loud failure (Reddit kept failing after the gateway's retries, or what
# was written did not reconcile): one more try after a pause, then the iteration records the failure.
INGEST_FAILED = "IngestFailed"
# Glue: another run of the job is still going (one writer at a time), or Glue itself hiccuped.
GLUE_BUSY_ERRORS = ("Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException")
GLUE_TRANSIENT_ERRORS = ("Glue.InternalServiceException", "Glue.OperationTimeoutException")
SNS_TRANSIENT_ERRORS = ("SNS.InternalErrorException", "SNS.ThrottledException", "SNS.KMSThrottlingException")
# What the Map hands each iteration; the ingest handler's event (lambdas.ingest.ingest.IngestRequest).
_RUN = "$.run"
# Waiting out a function whose reserved concurrency another run holds.
_THROTTLE_INTERVAL = cdk.Duration.seconds(30)
_THROTTLE_BACKOFF = 2.0
_THROTTLE_MAX_DELAY = cdk.Duration.minutes(5)
_INGEST_THROTTLE_ATTEMPTS = 6
SCORE_TASK_MARGIN = cdk.Duration.minutes(1)
_LOAD_DONE = "Load done?"
# The Data API's throttling and its service's hiccups: worth retrying.
DATA_API_TRANSIENT_ERRORS = ("RedshiftData.ThrottlingException", "RedshiftData.InternalServerException")


@dataclass(frozen=True)
class LoadTarget:
    """Where Load sends the warehouse's statements (Redshift Serverless, through the Data API)."""

    workgroup_name: str
    workgroup_arn: str
    database: str
    poll: cdk.Duration


def _retry_throttled(task: sfn.TaskStateBase, max_attempts: int) -> None:
    """Throttled: the function's reserved concurrency is taken (another run's invocations, which run for
    minutes). Wait them out, well past the quick retries of Lambda's own hiccups."""
    task.add_retry(
        errors=[LAMBDA_THROTTLED],
        interval=_THROTTLE_INTERVAL,
        max_attempts=max_attempts,
        backoff_rate=_THROTTLE_BACKOFF,
        max_delay=_THROTTLE_MAX_DELAY,
        jitter_strategy=sfn.JitterType.FULL,
    )


def throttle_attempts_covering(busy: cdk.Duration) -> int:
    """How many throttle retries wait out a busy function for ``busy``, with full jitter.

    Full jitter waits a random share of each delay, half of it on average: the delays (30 s doubling up
    to 5 minutes) must add up to twice ``busy`` for the retries to outlast it on average.
    """
    wanted = 2 * busy.to_seconds()
    delay, total, attempts = _THROTTLE_INTERVAL.to_seconds(), 0.0, 0
    while total < wanted:
        total += min(delay, _THROTTLE_MAX_DELAY.to_seconds())
        delay *= _THROTTLE_BACKOFF
        attempts += 1
    return attempts


def _retry_transient(task: sfn.TaskStateBase, errors: Sequence[str]) -> None:
    task.add_retry(
        errors=list(errors),
        interval=cdk.Duration.seconds(2),
        max_attempts=5,
        backoff_rate=2.0,
        max_delay=cdk.Duration.seconds(60),
        jitter_strategy=sfn.JitterType.FULL,
    )


class PipelineStateMachine(Construct):
    """The workflow of one environment's runs, its encrypted execution logs and its X-Ray traces."""

    state_machine: sfn.StateMachine
    log_group: EncryptedLogGroup

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        environment: str,
        subreddits: Sequence[str],
        orchestration: OrchestrationConfig,
        glue: GlueConfig,
        ingest_function: lambda_.IFunction,
        processing_job_name: str,
        score_function: lambda_.Function,
        publish_function: lambda_.Function,
        load_target: LoadTarget | None,
        verify_function: lambda_.IFunction,
        alarm_topic: sns.ITopic,
        encryption_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        """``score_function``: its timeout is the Score task's, and how long its throttle retries wait.

        ``load_target``: the warehouse, or None where it is switched off (Load then does nothing)."""
        super().__init__(scope, construct_id)
        name = f"{resource_prefix}-pipeline"
        notify = self._notify(resource_prefix, alarm_topic)

        start = sfn.Pass(
            self,
            "Start run",
            comment="The run's defaults: the execution's name and start, the environment's subreddits.",
            parameters={
                "defaults": {
                    "run_id": sfn.JsonPath.string_at("$$.Execution.Name"),
                    "run_started_at": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                    "subreddits": list(subreddits),
                },
                "given": sfn.JsonPath.object_at("$"),
            },
        )
        resolve = sfn.Pass(
            self,
            "Resolve run",
            comment="What the input names wins over the defaults.",
            parameters={
                "run": sfn.JsonPath.json_merge(sfn.JsonPath.object_at("$.defaults"), sfn.JsonPath.object_at("$.given"))
            },
        )

        ingest = self._ingest(ingest_function, orchestration, notify)
        process = self._process(processing_job_name, notify)
        score = self._score(score_function, notify)
        publish = self._publish(publish_function, notify)
        verify = self._verify(verify_function, glue, notify)
        load_start, load_end = self._load(load_target, notify, verify)

        chain = sfn.Chain.start(start).next(resolve).next(ingest).next(process).next(score).next(publish)
        chain = chain.next(load_start)
        if load_end is not None:
            load_end.next(verify)
        verify.next(sfn.Succeed(self, "Succeeded"))

        self.log_group = EncryptedLogGroup(
            self,
            "LogGroup",
            # /aws/vendedlogs/: CloudWatch Logs' resource policy for vended logs stays small.
            log_group_name=f"/aws/vendedlogs/states/{name}",
            encryption_key=encryption_key,
            retention_in_days=log_retention_days,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            comment=f"One run of the Reddit lakehouse ({environment}): ingest, process, score, publish, load, verify.",
            definition_body=sfn.DefinitionBody.from_chainable(chain),
            timeout=cdk.Duration.minutes(orchestration.execution_timeout_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                # Execution data holds stage outputs and error causes, which may quote post text.
                include_execution_data=False,
            ),
        )
        # The alarm topic is encrypted with the lake key: publishing the notice needs a data key, for this
        # topic only (the SNS integration grants sns:Publish alone).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="EncryptFailureNotice",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": {
                        **via_service("sns", cdk.Stack.of(self).region),
                        "kms:EncryptionContext:aws:sns:topicArn": alarm_topic.topic_arn,
                    }
                },
            )
        )
        cfn_machine = self.state_machine.node.default_child
        assert isinstance(cfn_machine, sfn.CfnStateMachine)
        # W3005: the L2 both DependsOn and GetAtt's its role; harmless, not ours to change.
        cfn_machine.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        self._acknowledge_service_wildcards(ingest_function, score_function, publish_function, verify_function)
        if load_target is not None:
            self._allow_load(load_target)

    # ------------------------------------------------------------------ stages

    def _ingest(
        self, function: lambda_.IFunction, orchestration: OrchestrationConfig, notify: sfn.IChainable
    ) -> sfn.Map:
        iteration = tasks.LambdaInvoke(
            self,
            INGEST_ITERATION_STATE,
            lambda_function=function,
            payload=sfn.TaskInput.from_json_path_at("$"),
            result_selector={
                "subreddit": sfn.JsonPath.string_at("$.Payload.subreddit"),
                "status": sfn.JsonPath.string_at("$.Payload.status"),
                "manifest": sfn.JsonPath.string_at("$.Payload.manifest"),
                # True when an earlier execution of the run did the work: Verify does not count it again.
                "recorded.$": "$.Payload.recorded",
            },
            retry_on_service_exceptions=False,
        )
        _retry_throttled(iteration, _INGEST_THROTTLE_ATTEMPTS)
        _retry_transient(iteration, LAMBDA_TRANSIENT_ERRORS)
        iteration.add_retry(
            errors=[INGEST_FAILED],
            interval=cdk.Duration.seconds(30),
            max_attempts=1,
            jitter_strategy=sfn.JitterType.FULL,
        )
        recorded = sfn.Pass(
            self,
            "Ingest subreddit failed",
            comment="Recorded, not raised: the other subreddits' data still gets processed; Verify judges.",
            parameters={
                "subreddit": sfn.JsonPath.string_at("$.subreddit"),
                "status": "failed",
                "error": sfn.JsonPath.object_at("$.error"),
            },
        )
        iteration.add_catch(recorded, errors=[sfn.Errors.ALL], result_path="$.error")
        ingest = sfn.Map(
            self,
            Stage.INGEST.state_name,
            comment="One ingest invocation per subreddit, sharing the environment's Reddit budget.",
            items_path=f"{_RUN}.subreddits",
            item_selector={
                "run_id": sfn.JsonPath.string_at(f"{_RUN}.run_id"),
                "run_started_at": sfn.JsonPath.string_at(f"{_RUN}.run_started_at"),
                "subreddit": sfn.JsonPath.string_at("$$.Map.Item.Value"),
            },
            max_concurrency=orchestration.max_concurrency,
            result_path="$.ingest",
        )
        ingest.item_processor(iteration)
        ingest.add_catch(self._caught(Stage.INGEST, notify), errors=[sfn.Errors.ALL], result_path="$.failure")
        return ingest

    def _process(self, job_name: str, notify: sfn.IChainable) -> tasks.GlueStartJobRun:
        process = tasks.GlueStartJobRun(
            self,
            Stage.PROCESS.state_name,
            comment="The processing job, waited for (.sync); it records runs/<run_id>/process.json.",
            glue_job_name=job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object(
                {
                    JobArguments.flag("run_id"): sfn.JsonPath.string_at(f"{_RUN}.run_id"),
                    JobArguments.flag("run_started_at"): sfn.JsonPath.string_at(f"{_RUN}.run_started_at"),
                }
            ),
            result_selector={
                "job_run_id": sfn.JsonPath.string_at("$.Id"),
                "state": sfn.JsonPath.string_at("$.JobRunState"),
                "execution_seconds": sfn.JsonPath.number_at("$.ExecutionTime"),
            },
            result_path="$.process",
        )
        # One writer at a time: wait out a previous run's job rather than fail this run.
        process.add_retry(
            errors=list(GLUE_BUSY_ERRORS),
            interval=cdk.Duration.seconds(60),
            max_attempts=10,
            backoff_rate=1.5,
            max_delay=cdk.Duration.minutes(10),
            jitter_strategy=sfn.JitterType.FULL,
        )
        _retry_transient(process, GLUE_TRANSIENT_ERRORS)
        process.add_catch(self._caught(Stage.PROCESS, notify), errors=[sfn.Errors.ALL], result_path="$.failure")
        return process

    def _score(self, function: lambda_.Function, notify: sfn.IChainable) -> tasks.LambdaInvoke:
        timeout = function.timeout
        if timeout is None:
            raise ValueError("the score function needs an explicit timeout: it is the Score task's too")
        score = tasks.LambdaInvoke(
            self,
            Stage.SCORE.state_name,
            comment="Scores the problem posts with no score yet, within the run's LLM budget; it records "
            "runs/<run_id>/score.json (a rerun finds it and calls no model).",
            lambda_function=function,
            payload=sfn.TaskInput.from_object({"run": sfn.JsonPath.object_at(_RUN)}),
            result_selector={
                "manifest": sfn.JsonPath.string_at("$.Payload.manifest"),
                "recorded.$": "$.Payload.recorded",
                "scored": sfn.JsonPath.number_at("$.Payload.scored"),
                "model_calls": sfn.JsonPath.number_at("$.Payload.model_calls"),
                "cost_usd": sfn.JsonPath.number_at("$.Payload.cost_usd"),
                "budget_exhausted.$": "$.Payload.budget_exhausted",
            },
            result_path="$.score",
            # The function's own timeout and a margin: the function's own timeout error (a Lambda failure the
            # Catch names) arrives first, rather than a task timeout racing a function that is finishing.
            task_timeout=sfn.Timeout.duration(timeout.plus(SCORE_TASK_MARGIN)),
            retry_on_service_exceptions=False,
        )
        # One scorer at a time: another run's may hold it for up to its timeout.
        _retry_throttled(score, throttle_attempts_covering(timeout))
        _retry_transient(score, LAMBDA_TRANSIENT_ERRORS)
        score.add_catch(self._caught(Stage.SCORE, notify), errors=[sfn.Errors.ALL], result_path="$.failure")
        return score

    def _publish(self, function: lambda_.Function, notify: sfn.IChainable) -> tasks.LambdaInvoke:
        publish = tasks.LambdaInvoke(
            self,
            Stage.PUBLISH.state_name,
            comment="Creates or replaces the Athena views and UNLOADs the run's increment to its own export prefix; "
            "it records runs/<run_id>/publish.json with the warehouse load's statements.",
            lambda_function=function,
            payload=sfn.TaskInput.from_object({"run": sfn.JsonPath.object_at(_RUN)}),
            result_selector={
                "manifest": sfn.JsonPath.string_at("$.Payload.manifest"),
                "recorded.$": "$.Payload.recorded",
                "export_uri": sfn.JsonPath.string_at("$.Payload.export_uri"),
                "load_sqls": sfn.JsonPath.list_at("$.Payload.load_sqls"),
            },
            result_path="$.publish",
            retry_on_service_exceptions=False,
        )
        _retry_transient(publish, LAMBDA_TRANSIENT_ERRORS)
        publish.add_catch(self._caught(Stage.PUBLISH, notify), errors=[sfn.Errors.ALL], result_path="$.failure")
        return publish

    def _load(
        self, target: LoadTarget | None, notify: sfn.IChainable, verify: sfn.IChainable
    ) -> tuple[sfn.State, sfn.INextable | None]:
        """The Load stage's first state, and its last (which goes on to Verify), or a Pass where it is off."""
        if target is None:
            off = sfn.Pass(self, Stage.LOAD.state_name, comment="The warehouse is switched off in this environment.")
            return off, off
        failed = self._caught(Stage.LOAD, notify)
        load = tasks.CallAwsService(
            self,
            Stage.LOAD.state_name,
            comment="Sends the run's load (Publish rendered it) to the warehouse as one transaction.",
            service="redshiftdata",
            action="batchExecuteStatement",
            iam_action="redshift-data:BatchExecuteStatement",
            iam_resources=[target.workgroup_arn],
            parameters={
                "WorkgroupName": target.workgroup_name,
                "Database": target.database,
                "Sqls": sfn.JsonPath.list_at("$.publish.load_sqls"),
                "StatementName": sfn.JsonPath.format("{}-load", sfn.JsonPath.string_at(f"{_RUN}.run_id")),
            },
            result_selector={"statement_id": sfn.JsonPath.string_at("$.Id")},
            result_path="$.load",
        )
        wait = sfn.Wait(self, LOAD_WAIT_STATE, time=sfn.WaitTime.duration(target.poll))
        status = tasks.CallAwsService(
            self,
            LOAD_STATUS_STATE,
            comment="Where the load stands (the Data API has no .sync).",
            service="redshiftdata",
            action="describeStatement",
            iam_action="redshift-data:DescribeStatement",
            # DescribeStatement takes a statement id, not a resource: the Data API lets a caller see only its own.
            iam_resources=["*"],
            parameters={"Id": sfn.JsonPath.string_at("$.load.statement_id")},
            result_selector={
                "status": sfn.JsonPath.string_at("$.Status"),
                "detail": sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$")),
            },
            result_path="$.load.describe",
        )
        for task in (load, status):
            _retry_transient(task, DATA_API_TRANSIENT_ERRORS)
            task.add_catch(failed, errors=[sfn.Errors.ALL], result_path="$.failure")
        statement_failed = sfn.Pass(
            self,
            "Load statement failed",
            comment="The warehouse rolled the load back: fail the run with Redshift's own words.",
            parameters={
                "Error": "StatementFailed",
                "Cause": sfn.JsonPath.string_at("$.load.describe.detail"),
            },
            result_path="$.failure",
        ).next(failed)
        finished = sfn.Pass(self, "Load finished", comment="The run's increment is in the warehouse.")
        load.next(wait).next(status).next(
            sfn.Choice(self, _LOAD_DONE)
            .when(sfn.Condition.string_equals("$.load.describe.status", "FINISHED"), finished)
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_equals("$.load.describe.status", "FAILED"),
                    sfn.Condition.string_equals("$.load.describe.status", "ABORTED"),
                ),
                statement_failed,
            )
            .otherwise(wait)
        )
        return load, finished

    def _allow_load(self, target: LoadTarget) -> None:
        """The Data API authenticates the state machine as itself: temporary database credentials, for this
        workgroup only."""
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="WarehouseCredentials",
                actions=["redshift-serverless:GetCredentials"],
                resources=[target.workgroup_arn],
            )
        )

    def _verify(self, function: lambda_.IFunction, glue: GlueConfig, notify: sfn.IChainable) -> tasks.LambdaInvoke:
        verify = tasks.LambdaInvoke(
            self,
            Stage.VERIFY.state_name,
            comment="Checks the run's reconciliation across stages; publishes freshness, volume and cost.",
            lambda_function=function,
            payload=sfn.TaskInput.from_object(
                {
                    "run": sfn.JsonPath.object_at(_RUN),
                    "ingest": sfn.JsonPath.list_at("$.ingest"),
                    "process": {
                        "job_run_id": sfn.JsonPath.string_at("$.process.job_run_id"),
                        "execution_seconds": sfn.JsonPath.number_at("$.process.execution_seconds"),
                        "workers": glue.number_of_workers,
                        "worker_type": glue.worker_type,
                    },
                }
            ),
            result_selector={
                "manifest": sfn.JsonPath.string_at("$.Payload.manifest"),
                "ok": sfn.JsonPath.string_at("$.Payload.ok"),
            },
            result_path="$.verify",
            retry_on_service_exceptions=False,
        )
        _retry_transient(verify, LAMBDA_TRANSIENT_ERRORS)
        verify.add_catch(self._caught(Stage.VERIFY, notify), errors=[sfn.Errors.ALL], result_path="$.failure")
        return verify

    # ------------------------------------------------------------------ failure path

    def _caught(self, stage: Stage, notify: sfn.IChainable) -> sfn.IChainable:
        """Name the failed stage for the notice, then notify."""
        return sfn.Pass(
            self,
            f"{stage.state_name} failed",
            result=sfn.Result.from_string(stage.state_name),
            result_path="$.failed_state",
        ).next(notify)

    def _notify(self, resource_prefix: str, topic: sns.ITopic) -> sfn.IChainable:
        failed = sfn.Fail(
            self,
            "Run failed",
            comment="The run fails with the failed stage and its error (e.g. Process.States.TaskFailed), so the "
            "execution alarms fire. The stage prefixes the error: a custom error may not start with 'States.'.",
            error_path=sfn.JsonPath.format(
                "{}.{}", sfn.JsonPath.string_at("$.failed_state"), sfn.JsonPath.string_at("$.failure.Error")
            ),
            cause_path="$.failure.Cause",
        )
        notify = tasks.SnsPublish(
            self,
            NOTIFY_STATE,
            topic=topic,
            subject=f"{resource_prefix}: a pipeline run failed",
            # No apostrophe in the text: States.Format quotes its template with them.
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "Run {} failed in state {} with {}: {}. Execution {}. To finish the run once the cause is "
                    "fixed, start a new execution with the input run_id {} and run_started_at {}: the stages "
                    "that finished find their manifests and do nothing. A redrive would only resume at the "
                    "final Fail state of this execution.",
                    sfn.JsonPath.string_at(f"{_RUN}.run_id"),
                    sfn.JsonPath.string_at("$.failed_state"),
                    sfn.JsonPath.string_at("$.failure.Error"),
                    sfn.JsonPath.string_at("$.failure.Cause"),
                    sfn.JsonPath.string_at("$$.Execution.Id"),
                    sfn.JsonPath.string_at(f"{_RUN}.run_id"),
                    sfn.JsonPath.string_at(f"{_RUN}.run_started_at"),
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        _retry_transient(notify, SNS_TRANSIENT_ERRORS)
        # A notice that cannot be sent must not hide the failure: the run fails either way (and alarms).
        notify.add_catch(failed, errors=[sfn.Errors.ALL], result_path="$.notify_error")
        return notify.next(failed)

    def _acknowledge_service_wildcards(self, *functions: lambda_.IFunction) -> None:
        policy = self.state_machine.role.node.try_find_child("DefaultPolicy")
        if not isinstance(policy, iam.Policy):
            raise RuntimeError("the state machine's role no longer has a default policy")
        for function in functions:
            acknowledge(
                policy,
                iam5_resource_finding(self, f"{function.function_arn}:*"),
                "lambda:InvokeFunction on the function's versions and aliases (<arn>:*), as the Lambda "
                "integration grants it; the function itself is named.",
            )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs' log delivery "
            "(CreateLogDelivery, ...) have no resource-level permissions; Step Functions needs both for "
            "tracing and execution logs. The Data API's DescribeStatement takes a statement id, not a resource "
            "(a caller sees only its own statements).",
        )
