"""The pipeline's alarms and dashboard as synthesized, on a tiny stand-in stack (no logical ids written down)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Capture, Match

from infra.constructs.nag import flatten_cfn_reference
from infra.constructs.pipeline_monitoring import BUDGET_EXHAUSTED_HOURS, MAX_SUCCESS_WINDOW_HOURS, PipelineMonitoring
from lakehouse import metrics

pytestmark = pytest.mark.cdk

ENVIRONMENT = "dev"
PREFIX = "reddit-lakehouse-dev"
WINDOW_HOURS = 6
JOB_NAME = f"{PREFIX}-process-posts"
ALARM_KEYS = {
    "executions_failed",
    "executions_timed_out",
    "executions_aborted",
    "no_recent_success",
    "score_errors",
    "score_budget_reached",
    "verify_errors",
    "verify_throttles",
    "schedule_dead_letters",
    "reddit_cap_hits",
    "reconciliation_failures",
}
NO_SUCCESS = f"{PREFIX}-no-recent-success"


@dataclass(frozen=True)
class Synthesized:
    """One stand-in stack: its template, the construct, and the resolved references alarms should name."""

    template: assertions.Template
    monitoring: PipelineMonitoring
    topic: Any
    state_machine_arn: Any
    verify_function: Any
    score_function: Any
    ingest_function: Any
    queue_name: Any
    existing_alarm_arn: Any


def _stand_in_stack(*, schedule_enabled: bool, window: int = WINDOW_HOURS) -> Synthesized:
    """One app each: an app cannot grow after its first synthesis."""
    stack = cdk.Stack(cdk.App(), "Monitored")
    topic = sns.Topic(stack, "Topic")
    state_machine = sfn.StateMachine(
        stack, "StateMachine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Pass"))
    )
    ingest, score, verify = (
        lambda_.Function(
            stack,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        for construct_id in ("Ingest", "Score", "Verify")
    )
    queue = sqs.Queue(stack, "SchedulerDeadLetters")
    existing = cloudwatch.Alarm(
        stack,
        "Existing",
        alarm_name="existing-stage-alarm",
        metric=ingest.metric_errors(),
        threshold=1,
        evaluation_periods=1,
    )
    monitoring = PipelineMonitoring(
        stack,
        "Monitoring",
        resource_prefix=PREFIX,
        environment=ENVIRONMENT,
        alarm_topic=topic,
        state_machine=state_machine,
        ingest_function=ingest,
        score_function=score,
        verify_function=verify,
        processing_job_name=JOB_NAME,
        scheduler_dead_letter_queue=queue,
        success_window_hours=window,
        schedule_enabled=schedule_enabled,
        existing_alarms=[existing],
    )
    return Synthesized(
        template=assertions.Template.from_stack(stack),
        monitoring=monitoring,
        topic=stack.resolve(topic.topic_arn),
        state_machine_arn=stack.resolve(state_machine.state_machine_arn),
        verify_function=stack.resolve(verify.function_name),
        score_function=stack.resolve(score.function_name),
        ingest_function=stack.resolve(ingest.function_name),
        queue_name=stack.resolve(queue.queue_name),
        existing_alarm_arn=stack.resolve(existing.alarm_arn),
    )


@pytest.fixture(scope="module")
def stacks() -> dict[bool, Synthesized]:
    """``schedule_enabled`` -> its stand-in stack."""
    return {enabled: _stand_in_stack(schedule_enabled=enabled) for enabled in (True, False)}


@pytest.fixture(scope="module")
def enabled(stacks: dict[bool, Synthesized]) -> Synthesized:
    return stacks[True]


def _alarm(built: Synthesized, name: str, props: dict[str, Any]) -> None:
    """The alarm ``name`` exists with ``props`` and notifies the topic."""
    built.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"AlarmName": name, "AlarmActions": [built.topic], **props},
    )


def _pipeline_alarms(built: Synthesized) -> dict[str, dict[str, Any]]:
    found = built.template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": Match.string_like_regexp(f"^{PREFIX}-")}}
    )
    return {resource["Properties"]["AlarmName"]: resource["Properties"] for resource in found.values()}


ONE_OR_MORE_IN_5_MINUTES = {
    "Threshold": 1,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "EvaluationPeriods": 1,
    "Period": 300,
    "TreatMissingData": "notBreaching",
}


# --------------------------------------------------------------------------- alarms


def test_the_construct_exposes_exactly_the_pipeline_alarms(enabled: Synthesized) -> None:
    assert set(enabled.monitoring.alarms) == ALARM_KEYS
    names = {f"{PREFIX}-{key.replace('_', '-')}" for key in ALARM_KEYS}
    alarms = _pipeline_alarms(enabled)
    assert set(alarms) == names  # none of the stages' own alarms again
    for name, props in alarms.items():
        assert props["AlarmActions"] == [enabled.topic], name
        assert len(props.get("AlarmDescription", "")) > 40, name  # says what it means and what to check


@pytest.mark.parametrize(
    ("name", "metric_name"),
    [
        ("executions-failed", "ExecutionsFailed"),
        ("executions-timed-out", "ExecutionsTimedOut"),
        ("executions-aborted", "ExecutionsAborted"),
    ],
)
def test_a_failed_timed_out_or_aborted_run_alarms(enabled: Synthesized, name: str, metric_name: str) -> None:
    _alarm(
        enabled,
        f"{PREFIX}-{name}",
        {
            "Namespace": "AWS/States",
            "MetricName": metric_name,
            "Dimensions": [{"Name": "StateMachineArn", "Value": enabled.state_machine_arn}],
            "Statistic": "Sum",
            **ONE_OR_MORE_IN_5_MINUTES,
        },
    )


def test_no_successful_run_in_the_window_alarms_and_silence_counts(enabled: Synthesized) -> None:
    _alarm(
        enabled,
        NO_SUCCESS,
        {
            "Namespace": "AWS/States",
            "MetricName": "ExecutionsSucceeded",
            "Dimensions": [{"Name": "StateMachineArn", "Value": enabled.state_machine_arn}],
            "Statistic": "Sum",
            "Period": 3600,
            "EvaluationPeriods": WINDOW_HOURS,
            "DatapointsToAlarm": WINDOW_HOURS,
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
            "ActionsEnabled": True,
            "AlarmDescription": Match.string_like_regexp(f"last {WINDOW_HOURS} hours"),
        },
    )


def test_with_the_schedule_off_the_no_success_alarm_stays_quiet(stacks: dict[bool, Synthesized]) -> None:
    disabled = stacks[False]
    _alarm(
        disabled,
        NO_SUCCESS,
        {
            "ActionsEnabled": False,
            "TreatMissingData": "breaching",
            "AlarmDescription": Match.string_like_regexp("Actions disabled: the schedule is switched off"),
        },
    )
    # Only that one is silenced: a failed run started by hand still pages.
    quiet = {name for name, props in _pipeline_alarms(disabled).items() if props.get("ActionsEnabled") is False}
    assert quiet == {NO_SUCCESS}
    assert "disabled" not in _pipeline_alarms(stacks[True])[NO_SUCCESS]["AlarmDescription"]


@pytest.mark.parametrize("window", [0, MAX_SUCCESS_WINDOW_HOURS + 1])
def test_a_window_cloudwatch_cannot_evaluate_is_refused(window: int) -> None:
    with pytest.raises(ValueError, match="success_window_hours"):
        _stand_in_stack(schedule_enabled=True, window=window)


@pytest.mark.parametrize(("name", "metric_name"), [("verify-errors", "Errors"), ("verify-throttles", "Throttles")])
def test_verify_function_errors_and_throttles_alarm(enabled: Synthesized, name: str, metric_name: str) -> None:
    _alarm(
        enabled,
        f"{PREFIX}-{name}",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": metric_name,
            "Dimensions": [{"Name": "FunctionName", "Value": enabled.verify_function}],
            "Statistic": "Sum",
            **ONE_OR_MORE_IN_5_MINUTES,
        },
    )


def test_score_function_errors_alarm(enabled: Synthesized) -> None:
    _alarm(
        enabled,
        f"{PREFIX}-score-errors",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": enabled.score_function}],
            "Statistic": "Sum",
            **ONE_OR_MORE_IN_5_MINUTES,
        },
    )


def test_a_budget_reached_three_hours_in_a_row_alarms_the_backlog_is_not_draining(enabled: Synthesized) -> None:
    dimensions = Capture()
    _alarm(
        enabled,
        f"{PREFIX}-score-budget-reached",
        {
            "Namespace": metrics.NAMESPACE,
            "MetricName": str(metrics.ScoreMetric.BUDGET_EXHAUSTED),
            "Dimensions": dimensions,
            "Statistic": "Maximum",
            "Period": 3600,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            # An hour without a run says nothing about the budget.
            "TreatMissingData": "notBreaching",
        },
    )
    assert BUDGET_EXHAUSTED_HOURS == 3
    assert {d["Name"]: d["Value"] for d in dimensions.as_array()} == {
        "service": metrics.SCORE_SERVICE,
        metrics.ENVIRONMENT_DIMENSION: ENVIRONMENT,
    }
    description = _pipeline_alarms(enabled)[f"{PREFIX}-score-budget-reached"]["AlarmDescription"]
    for remedy in ("llm.budget_usd_per_run", "batch", "accept the backlog"):
        assert remedy in description


def test_a_scheduler_dead_letter_alarms(enabled: Synthesized) -> None:
    _alarm(
        enabled,
        f"{PREFIX}-schedule-dead-letters",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": enabled.queue_name}],
            "Statistic": "Maximum",
            **ONE_OR_MORE_IN_5_MINUTES,
        },
    )


@pytest.mark.parametrize(
    ("name", "metric_name", "service", "statistic", "period"),
    [
        ("reddit-cap-hits", metrics.IngestMetric.CAP_HITS, metrics.INGEST_SERVICE, "Sum", 3600),
        (
            "reconciliation-failures",
            metrics.RunMetric.RECONCILIATION_FAILURES,
            metrics.VERIFY_SERVICE,
            "Maximum",
            300,
        ),
    ],
)
def test_pipeline_metrics_alarm_as_their_publisher_emits_them(
    enabled: Synthesized, name: str, metric_name: str, service: str, statistic: str, period: int
) -> None:
    dimensions = Capture()
    _alarm(
        enabled,
        f"{PREFIX}-{name}",
        {
            "Namespace": metrics.NAMESPACE,
            "MetricName": str(metric_name),
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": period,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    )
    assert {d["Name"]: d["Value"] for d in dimensions.as_array()} == {
        "service": service,
        metrics.ENVIRONMENT_DIMENSION: ENVIRONMENT,
    }


def test_cap_hits_says_what_was_lost_and_what_to_change(enabled: Synthesized) -> None:
    description = _pipeline_alarms(enabled)[f"{PREFIX}-reddit-cap-hits"]["AlarmDescription"]
    for phrase in ("1,000", "missed", "more often"):
        assert phrase in description


# --------------------------------------------------------------------------- dashboard


@pytest.fixture(scope="module")
def dashboard(enabled: Synthesized) -> dict[str, Any]:
    """The dashboard body with references written ``<LogicalId.Attr>`` (a JSON string literal each)."""
    name = Capture()
    body = Capture()
    enabled.template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": name, "DashboardBody": body}
    )
    assert name.as_string() == f"{PREFIX}-pipeline"
    delimiter, parts = body.as_object()["Fn::Join"]
    # Literal parts verbatim (they hold the JSON's braces); each reference as ``<LogicalId.Attr>``.
    text = delimiter.join(part if isinstance(part, str) else flatten_cfn_reference(part) for part in parts)
    rendered: dict[str, Any] = json.loads(text)
    return rendered


def _metric_lines(dashboard: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of every graphed metric."""
    for widget in dashboard["widgets"]:
        for line in widget["properties"].get("metrics", []):
            fields = [field for field in line if not isinstance(field, dict)]
            namespace, metric_name, *dims = fields
            assert "." not in (namespace, metric_name), "expected full metric lines, no repeat shorthand"
            yield namespace, metric_name, dict(zip(dims[::2], dims[1::2], strict=True))


def test_dashboard_graphs_every_stage_metric_for_this_environment(dashboard: dict[str, Any]) -> None:
    lines = list(_metric_lines(dashboard))
    ours = {(name, dims.get("service")) for namespace, name, dims in lines if namespace == metrics.NAMESPACE}
    # Reconciliation failures are an alarm; Reddit requests are graphed from the ingest function's own count.
    run_metrics = set(metrics.RunMetric) - {
        metrics.RunMetric.RECONCILIATION_FAILURES,
        metrics.RunMetric.REDDIT_REQUESTS,
    }
    ingest_metrics = {
        metrics.IngestMetric.REDDIT_REQUESTS,
        metrics.IngestMetric.RATE_LIMIT_WAITS,
        metrics.IngestMetric.CAP_HITS,
    }
    score_metrics = {
        metrics.ScoreMetric.COST_USD,
        metrics.ScoreMetric.BUDGET_EXHAUSTED,
        metrics.ScoreMetric.MODEL_CALLS,
        metrics.ScoreMetric.POSTS_SCORED,
        metrics.ScoreMetric.POSTS_FAILED,
        metrics.ScoreMetric.POSTS_DEFERRED,
        metrics.ScoreMetric.POSTS_WAITING,
    }
    assert ours == (
        {(str(m), metrics.VERIFY_SERVICE) for m in run_metrics}
        | {(str(m), metrics.INGEST_SERVICE) for m in ingest_metrics}
        | {(str(m), metrics.SCORE_SERVICE) for m in score_metrics}
    )
    for namespace, name, dims in lines:
        if namespace == metrics.NAMESPACE:
            assert dims[metrics.ENVIRONMENT_DIMENSION] == ENVIRONMENT, name


def test_dashboard_shows_executions_durations_and_the_glue_job(enabled: Synthesized, dashboard: dict[str, Any]) -> None:
    lines = {(namespace, name, tuple(sorted(dims.items()))) for namespace, name, dims in _metric_lines(dashboard)}
    machine = flatten_cfn_reference(enabled.state_machine_arn)
    for metric_name in ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionTime"):
        assert ("AWS/States", metric_name, (("StateMachineArn", machine),)) in lines
    for function in (enabled.ingest_function, enabled.score_function, enabled.verify_function):
        assert ("AWS/Lambda", "Duration", (("FunctionName", flatten_cfn_reference(function)),)) in lines
    assert any(namespace == "Glue" and ("JobName", JOB_NAME) in dims for namespace, _, dims in lines)


def test_dashboard_alarm_status_lists_every_alarm_including_the_stages(
    enabled: Synthesized, dashboard: dict[str, Any]
) -> None:
    (widget,) = [widget for widget in dashboard["widgets"] if widget["type"] == "alarm"]
    stack = cdk.Stack.of(enabled.monitoring)
    expected = [stack.resolve(alarm.alarm_arn) for alarm in enabled.monitoring.alarms.values()]
    expected.append(enabled.existing_alarm_arn)
    assert sorted(widget["properties"]["alarms"]) == sorted(flatten_cfn_reference(arn) for arn in expected)


def test_dashboard_graphs_what_scoring_costs_and_does(dashboard: dict[str, Any]) -> None:
    graphed = {
        (name, line[-1].get("stat") if isinstance(line[-1], dict) else None)
        for widget in dashboard["widgets"]
        for line in widget["properties"].get("metrics", [])
        if line[0] == metrics.NAMESPACE and (name := line[1]) in set(metrics.ScoreMetric)
    }
    assert graphed == {
        (metrics.ScoreMetric.COST_USD, "Sum"),
        (metrics.ScoreMetric.BUDGET_EXHAUSTED, "Maximum"),
        (metrics.ScoreMetric.MODEL_CALLS, "Sum"),
        (metrics.ScoreMetric.POSTS_SCORED, "Sum"),
        (metrics.ScoreMetric.POSTS_FAILED, "Sum"),
        (metrics.ScoreMetric.POSTS_DEFERRED, "Sum"),
        # The backlog after each run is a level: the hour's largest, not a sum over its runs.
        (metrics.ScoreMetric.POSTS_WAITING, "Maximum"),
    }


def test_dashboard_rows_fit_the_grid(dashboard: dict[str, Any]) -> None:
    widgets = dashboard["widgets"]
    # health, volume, Reddit, scoring, cost, execution time
    assert len({widget["y"] for widget in widgets}) == 6
    for widget in widgets:
        assert widget["x"] + widget["width"] <= 24, widget["properties"].get("title")
