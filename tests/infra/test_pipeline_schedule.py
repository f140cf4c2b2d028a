"""What starts a run and who hears about it, per environment: the schedule, its dead letters, the alarms, the dashboard.

The schedule replaced the per-subreddit EventBridge rules: one run a tick, fanned out by the
state machine. Resources are found by what they are (the only schedule, state machine, topic of
the stack); no logical id is written down here. A stand-in stack covers the schedule settings the
two environments do not use (a cron in another time zone, a schedule switched off).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn

from infra.config import EnvironmentConfig, ScheduleConfig
from infra.constructs.pipeline_schedule import PipelineSchedule
from tests.infra.conftest import NO_BUNDLING
from tests.infra.state_machines import ACCOUNT, key_actions_denied
from tests.infra.templates import (
    REGION,
    as_list,
    ingest_function,
    key_arn,
    one,
    role_statements,
    schedule_rules,
)

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
# The orchestration alarms an operator is paged by, as PipelineMonitoring names them ({prefix}-{name}).
ORCHESTRATION_ALARMS = (
    "executions-failed",
    "executions-timed-out",
    "executions-aborted",
    "no-recent-success",
    "schedule-dead-letters",
    "reddit-cap-hits",
    "reconciliation-failures",
    "verify-errors",
    "verify-throttles",
)
# Names of the one zone with no offset and no daylight saving.
UTC_ZONES = {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
# A sender to an SSE-KMS queue needs these on the queue's key (SQS encrypts on its behalf).
SQS_SEND_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
# EventBridge Scheduler's bounds for a target's retry policy.
MAX_EVENT_AGE_SECONDS = range(60, 86_400 + 1)


def _schedule(template: assertions.Template) -> dict[str, Any]:
    _, schedule = one(template, "AWS::Scheduler::Schedule")
    return dict(schedule["Properties"])


def _state_machine_id(template: assertions.Template) -> str:
    return one(template, "AWS::StepFunctions::StateMachine")[0]


def _schedule_role_id(template: assertions.Template) -> str:
    role_id: str = _schedule(template)["Target"]["RoleArn"]["Fn::GetAtt"][0]
    return role_id


def _dead_letter_queue_id(template: assertions.Template) -> str:
    queue_id: str = _schedule(template)["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    return queue_id


def _zone(name: str) -> str:
    return "UTC" if name in UTC_ZONES else name


def _alarms_by_name(template: assertions.Template) -> dict[str, dict[str, Any]]:
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


# --------------------------------------------------------------------------- the schedule


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_schedule_starts_the_state_machine_on_the_configured_expression(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    schedule = _schedule(template)
    assert schedule["Name"] == f"{config.resource_prefix}-pipeline"
    assert schedule["Target"]["Arn"] == {"Ref": _state_machine_id(template)}
    assert schedule["ScheduleExpression"] == config.schedule.expression
    assert schedule["State"] == ("ENABLED" if config.schedule.enabled else "DISABLED")
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}  # a run starts on its tick, not somewhen after
    # Every default applies: the execution's name is the run id, the config's subreddits are fetched.
    assert json.loads(schedule["Target"]["Input"]) == {}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_schedule_is_read_in_the_configured_time_zone(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    schedule = _schedule(templates[env])
    assert _zone(schedule["ScheduleExpressionTimezone"]) == _zone(configs[env].schedule.time_zone)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_start_that_fails_is_retried_then_kept_in_an_encrypted_dead_letter_queue(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    target = _schedule(template)["Target"]
    retry = target["RetryPolicy"]
    assert retry["MaximumRetryAttempts"] >= 1
    assert retry["MaximumEventAgeInSeconds"] in MAX_EVENT_AGE_SECONDS
    queue_id = _dead_letter_queue_id(template)
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    queue = template.to_json()["Resources"][queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["KmsMasterKeyId"] == key_arn(template)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_schedules_role_may_start_this_state_machine_and_nothing_else(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    role_id = _schedule_role_id(template)
    role = template.to_json()["Resources"][role_id]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    granted = {
        (action, json.dumps(resource, sort_keys=True))
        for statement in role_statements(template, role_id)
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if statement["Effect"] == "Allow" and not action.startswith("kms:")
    }
    assert granted == {
        ("states:StartExecution", json.dumps({"Ref": _state_machine_id(template)})),
        # Scheduler delivers dead letters with the schedule's own role.
        ("sqs:SendMessage", json.dumps({"Fn::GetAtt": [_dead_letter_queue_id(template), "Arn"]}, sort_keys=True)),
    }
    key_resources = [
        resource
        for statement in role_statements(template, role_id)
        if any(action.startswith("kms:") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    ]
    assert all(resource == key_arn(template) for resource in key_resources), key_resources


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_schedules_role_may_use_the_queues_key_so_dead_letters_arrive(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    """SQS refuses a SendMessage to an SSE-KMS queue from a caller that may not use the key: the
    undelivered start would be lost, and the dead-letter alarm would never fire."""
    template = templates[env]
    role_id = _schedule_role_id(template)
    queue_key = template.to_json()["Resources"][_dead_letter_queue_id(template)]["Properties"]["KmsMasterKeyId"]
    missing = key_actions_denied(template, role_id, queue_key, SQS_SEND_KEY_ACTIONS)
    assert missing == [], f"the schedule's role sends to a KMS-encrypted queue but may not use its key: {missing}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_eventbridge_rule_invokes_the_ingest_function_any_more(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    """The per-subreddit rules are gone: a second trigger would ingest outside any run (and its budget)."""
    template = templates[env]
    ingest_id, _ = ingest_function(template)
    ingest_arn = {"Fn::GetAtt": [ingest_id, "Arn"]}
    assert schedule_rules(template) == {}
    for rule in template.find_resources("AWS::Events::Rule").values():
        assert all(target["Arn"] != ingest_arn for target in rule["Properties"].get("Targets", []))
    for permission in template.find_resources("AWS::Lambda::Permission").values():
        properties = permission["Properties"]
        assert not (properties["Principal"] == "events.amazonaws.com" and ingest_id in json.dumps(properties))


# --------------------------------------------------------------------------- who hears about it


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_pipeline_dashboard_and_orchestration_alarms_exist_and_page_the_alarm_topic(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    prefix = config.resource_prefix
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": f"{prefix}-pipeline"})
    topic_id, _ = one(template, "AWS::SNS::Topic")
    alarms = _alarms_by_name(template)
    expected = {f"{prefix}-{name}" for name in ORCHESTRATION_ALARMS}
    assert expected <= alarms.keys(), sorted(expected - alarms.keys())
    for name in expected:
        assert alarms[name]["AlarmActions"] == [{"Ref": topic_id}], name
    # With the schedule off no run is expected: the no-success alarm stays visible but quiet.
    assert alarms[f"{prefix}-no-recent-success"]["ActionsEnabled"] is config.schedule.enabled


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_dead_letter_alarm_watches_the_schedules_queue(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    alarm = _alarms_by_name(template)[f"{configs[env].resource_prefix}-schedule-dead-letters"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [_dead_letter_queue_id(template), "QueueName"]}}
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_mail_goes_to_the_configured_address_or_the_ssm_parameter_naming_it(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, email = templates[env], configs[env].alarm_email
    topic_id, _ = one(template, "AWS::SNS::Topic")
    expected = f"{{{{resolve:ssm:{email.removeprefix('ssm:')}}}}}" if email.startswith("ssm:") else email
    _, subscription = one(template, "AWS::SNS::Subscription")
    assert subscription["Properties"] == {"Endpoint": expected, "Protocol": "email", "TopicArn": {"Ref": topic_id}}


def test_prods_alarm_address_is_read_from_ssm_at_deploy_time(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig]
) -> None:
    """The on-call address lives in the account, not the repository."""
    assert configs["prod"].alarm_email.startswith("ssm:/")
    _, subscription = one(templates["prod"], "AWS::SNS::Subscription")
    endpoint = subscription["Properties"]["Endpoint"]
    assert endpoint.startswith("{{resolve:ssm:/")
    assert endpoint.endswith("}}")
    assert "@" not in endpoint


# --------------------------------------------------------------------------- settings the environments do not use


@pytest.fixture(scope="module")
def stand_in() -> assertions.Template:
    """Two schedules: a cron read in Berlin time, and a rate schedule deployed switched off."""
    app = cdk.App(context=dict(NO_BUNDLING))
    stack = cdk.Stack(app, "Scheduled", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Pass"))
    )
    settings = {
        "berlin": ScheduleConfig(expression="cron(0 6 * * ? *)", time_zone="Europe/Berlin", enabled=True),
        "paused": ScheduleConfig(expression="rate(1 hour)", time_zone="UTC", enabled=False),
    }
    for prefix, config in settings.items():
        PipelineSchedule(
            stack,
            prefix,
            resource_prefix=prefix,
            config=config,
            state_machine=machine,
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            max_event_age=cdk.Duration.minutes(30),
        )
    return assertions.Template.from_stack(stack)


def test_a_cron_schedule_fires_on_the_clock_of_its_time_zone(stand_in: assertions.Template) -> None:
    stand_in.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "Name": "berlin-pipeline",
            "ScheduleExpression": "cron(0 6 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "State": "ENABLED",
        },
    )


def test_a_schedule_switched_off_is_deployed_disabled(stand_in: assertions.Template) -> None:
    stand_in.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"Name": "paused-pipeline", "ScheduleExpression": "rate(1 hour)", "State": "DISABLED"},
    )
