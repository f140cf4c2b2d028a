"""The interim schedule: every subreddit invoked once per tick, with an event the handler accepts."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk import assertions

from infra.config import EnvironmentConfig
from infra.constructs.ingest_schedule import MAX_TARGETS_PER_RULE
from lambdas.ingest.ingest import IngestRequest
from tests.infra.templates import ingest_function, schedule_rules

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
EVENT_ID = "7bf73129-1428-4cd3-a780-95db273d1602"
EVENT_TIME = "2026-11-01T00:15:00Z"


def _targets(template: assertions.Template) -> list[dict[str, Any]]:
    return [target for rule in schedule_rules(template).values() for target in rule["Properties"]["Targets"]]


def _delivered(target: Mapping[str, Any]) -> dict[str, Any]:
    """The event EventBridge would deliver: placeholders replaced by the scheduled event's id and time."""
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"id": "$.id", "time": "$.time"}
    rendered = (
        transformer["InputTemplate"].replace("<id>", json.dumps(EVENT_ID)).replace("<time>", json.dumps(EVENT_TIME))
    )
    event: dict[str, Any] = json.loads(rendered)
    return event


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rules_follow_the_environment_schedule_with_at_most_five_targets(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    rules = schedule_rules(template)
    assert len(rules) == math.ceil(len(config.subreddits) / MAX_TARGETS_PER_RULE)
    for rule in rules.values():
        properties = rule["Properties"]
        assert properties["ScheduleExpression"] == config.schedule
        assert properties["State"] == "ENABLED"
        assert 1 <= len(properties["Targets"]) <= MAX_TARGETS_PER_RULE


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_subreddit_is_one_target_invoking_the_ingest_function(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    function_id, _ = ingest_function(template)
    targets = _targets(template)
    assert all(target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for target in targets)
    assert sorted(_delivered(target)["subreddit"] for target in targets) == sorted(config.subreddits)
    # EventBridge may invoke the function only from these rules.
    permissions = template.find_resources(
        "AWS::Lambda::Permission",
        {
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            }
        },
    )
    source_rules = {permission["Properties"]["SourceArn"]["Fn::GetAtt"][0] for permission in permissions.values()}
    assert source_rules == set(schedule_rules(template))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_scheduled_input_is_an_event_the_handler_parses(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    for target in _targets(templates[env]):
        event = _delivered(target)
        assert set(event) == {"run_id", "subreddit", "run_started_at"}
        request = IngestRequest.from_event(event)
        assert request.run_id == EVENT_ID
        assert request.subreddit in configs[env].subreddits
        assert request.run_started_at == datetime(2026, 11, 1, 0, 15, tzinfo=UTC)
