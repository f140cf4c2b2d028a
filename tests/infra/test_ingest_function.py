"""The ingest function as synthesized: code, sizing, environment, state, access, failure handling, alarms.

Resources are found by what they are (the handler, the bucket's access-log prefix, the
only table/secret/queue of the stack); no logical id is written down here.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import pytest
from aws_cdk import assertions, cx_api
from aws_cdk.assertions import Capture, Match

from infra.config import EnvironmentConfig
from infra.constructs.alarm_topic import email_endpoint
from lakehouse import metrics
from lambdas.ingest.settings import RequestShare, RetryPolicy, RuntimeSettings
from tests.infra.templates import (
    acknowledgements,
    as_list,
    bucket_logging_to,
    ingest_function,
    key_arn,
    key_statements_for_service,
    log_group_arn,
    one,
    reddit_secret,
    role_statements,
    secret_arns,
)

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
EXPECTED_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "secretsmanager:GetSecretValue",
    "sqs:SendMessage",
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "kms:Encrypt",
    *XRAY_ACTIONS,
}
REGION = "us-east-1"


def _share(config: EnvironmentConfig) -> RequestShare:
    return RequestShare.plan(
        total_requests_per_minute=config.ingest.requests_per_minute,
        concurrency=config.orchestration.max_concurrency,
        timeout_seconds=config.ingest.timeout_seconds,
    )


def _dead_letter_queue(template: assertions.Template, config: EnvironmentConfig) -> tuple[str, dict[str, Any]]:
    return one(template, "AWS::SQS::Queue", {"QueueName": f"{config.resource_prefix}-ingest-dead-letters"})


def _reddit_secret_arns(template: assertions.Template, config: EnvironmentConfig) -> tuple[Any, Any]:
    """(the ARN the function is given, the ARN its role may read)."""
    return secret_arns(template, config.secrets.reddit_secret_name, reddit_secret)


def _log_group_name(config: EnvironmentConfig) -> str:
    return f"/aws/lambda/{config.resource_prefix}-ingest"


def _objects(bucket_id: str, prefix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{prefix}/*"]]}


def _grants(statements: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Action -> the statements that allow it."""
    by_action: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for statement in statements:
        for action in as_list(statement["Action"]):
            by_action[action].append(statement)
    return by_action


def _resources(statements: Iterable[Mapping[str, Any]]) -> list[Any]:
    return [resource for statement in statements for resource in as_list(statement["Resource"])]


def _role_id(template: assertions.Template) -> str:
    _, function = ingest_function(template)
    role_id: str = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return role_id


# --------------------------------------------------------------------------- request budget


@pytest.mark.parametrize(
    ("total", "concurrency", "timeout", "rpm", "max_requests"),
    [
        (90, 6, 600, "15", 120),  # dev: 15 rpm for 10 minutes, 80% of it
        (90, 10, 600, "9", 72),  # prod
        (100, 6, 600, "16.66", 133),  # rounded down, never up
        (90, 4, 900, "22.5", 270),
        (10, 10, 60, "1", 12),  # floor(0.8) requests would be useless: the minimum applies
    ],
)
def test_request_share_divides_the_client_budget_and_fits_the_timeout(
    total: int, concurrency: int, timeout: int, rpm: str, max_requests: int
) -> None:
    share = RequestShare.plan(total_requests_per_minute=total, concurrency=concurrency, timeout_seconds=timeout)
    assert share.requests_per_minute == float(rpm)
    assert share.max_requests == max_requests
    assert Fraction(rpm) * concurrency <= total


def test_request_share_rejects_a_zero_concurrency() -> None:
    with pytest.raises(ValueError, match="positive"):
        RequestShare.plan(total_requests_per_minute=90, concurrency=0, timeout_seconds=600)


# --------------------------------------------------------------------------- the function


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_function_runs_the_ingest_handler_sized_from_config(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    config = configs[env]
    templates[env].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "lambdas.ingest.handler.handler",
            "Runtime": "python3.12",
            # The bundler fetches aarch64 wheels (see test_ingest_bundle.py): the two must agree.
            "Architectures": ["arm64"],
            "MemorySize": config.ingest.memory_mb,
            "Timeout": config.ingest.timeout_seconds,
            "TracingConfig": {"Mode": "Active"},
            "FunctionName": f"{config.resource_prefix}-ingest",
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_names_the_zones_table_secret_and_request_budget(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    """What the function is given: the settings' own writer, fed this environment's config and references."""
    template, config = templates[env], configs[env]
    share = _share(config)
    references: dict[str, Any] = {
        "RAW_URI": {"Fn::Join": ["", ["s3://", {"Ref": bucket_logging_to(template, "raw/")}, "/"]]},
        "QUARANTINE_URI": {"Fn::Join": ["", ["s3://", {"Ref": bucket_logging_to(template, "quarantine/")}, "/"]]},
        "RUNS_URI": {"Fn::Join": ["", ["s3://", {"Ref": bucket_logging_to(template, "raw/")}, "/runs/"]]},
        "CURSOR_TABLE": {"Ref": one(template, "AWS::DynamoDB::Table")[0]},
        "REDDIT_SECRET_ARN": _reddit_secret_arns(template, config)[0],
    }
    written = RuntimeSettings(
        environment=config.name,
        raw_uri="<raw>",
        quarantine_uri="<quarantine>",
        runs_uri="<runs>",
        cursor_table="<table>",
        cursor_uri=None,
        reddit_secret_arn="<secret>",
        reddit_base_url=None,
        ingest=config.ingest.runtime(),
        retry=RetryPolicy(),
        max_requests=share.max_requests,
        requests_per_minute=share.requests_per_minute,
    ).to_env()
    expected = {name: references.get(name, value) for name, value in written.items()}
    _, function = ingest_function(template)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables == expected
    # The parts that other code reads by name: Powertools' service and namespace are the metrics' own.
    assert variables["POWERTOOLS_SERVICE_NAME"] == metrics.INGEST_SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == metrics.NAMESPACE
    assert variables["CURSOR_URI"] == variables["REDDIT_BASE_URL"] == ""  # DynamoDB cursors, Reddit itself
    assert float(variables["REQUESTS_PER_MINUTE"]) == share.requests_per_minute
    assert {"RETRY_MAX_ATTEMPTS", "RETRY_BASE_SECONDS", "RETRY_CAP_SECONDS"} <= set(variables)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_is_what_the_handler_settings_parse(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    """The contract with lambdas/ingest/settings.py: same names, values it accepts, the budget it applies."""
    config = configs[env]
    _, function = ingest_function(templates[env])
    variables = function["Properties"]["Environment"]["Variables"]
    # CloudFormation fills the references in at deploy time; stand in plausible values.
    stand_ins = {
        "RAW_URI": "s3://raw-bucket/",
        "QUARANTINE_URI": "s3://quarantine-bucket/",
        "RUNS_URI": "s3://raw-bucket/runs/",
        "CURSOR_TABLE": "cursor-table",
        "REDDIT_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:111122223333:secret:reddit-AbCdEf",
    }
    environment = {name: stand_ins.get(name, value) for name, value in variables.items()}
    assert all(isinstance(value, str) for value in environment.values()), environment
    settings = RuntimeSettings.from_env(environment)
    share = _share(config)
    assert settings.max_requests == share.max_requests
    assert settings.requests_per_minute is not None
    # The Map runs max_concurrency invocations at once, and the function reserves no more than that.
    assert settings.requests_per_minute * config.orchestration.max_concurrency <= config.ingest.requests_per_minute
    assert function["Properties"]["ReservedConcurrentExecutions"] == config.orchestration.max_concurrency
    # Paced requests end well inside the timeout.
    assert settings.max_requests / settings.requests_per_minute * 60 <= config.ingest.timeout_seconds * 0.8 or (
        settings.max_requests == 12
    )
    assert settings.ingest.overlap_seconds == config.ingest.overlap_seconds
    assert settings.ingest.refresh_max_age_seconds == config.ingest.refresh_max_age_hours * 3600
    assert settings.ingest.max_comments_per_post == config.ingest.max_comments_per_post
    assert settings.cursor_table == "cursor-table"
    assert settings.cursor_uri is None
    assert settings.reddit_base_url is None
    assert settings.retry == RetryPolicy()
    assert settings.reddit_secret_arn == stand_ins["REDDIT_SECRET_ARN"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_log_group_is_the_functions_own_encrypted_and_kept_per_config(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    name = _log_group_name(config)
    log_group_id, _ = one(
        template,
        "AWS::Logs::LogGroup",
        {"LogGroupName": name, "RetentionInDays": config.log_retention_days, "KmsKeyId": key_arn(template)},
    )
    _, function = ingest_function(template)
    assert function["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}
    # CloudWatch Logs may use the lake key for this log group's data by name (Glue's groups have their own).
    group_arn = {"Fn::Join": ["", [f"arn:aws:logs:{REGION}:", {"Ref": "AWS::AccountId"}, f":log-group:{name}"]]}
    conditions = [
        statement["Condition"] for statement in key_statements_for_service(template, f"logs.{REGION}.amazonaws.com")
    ]
    assert {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}} in conditions


# --------------------------------------------------------------------------- state and secret


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cursor_table_is_keyed_by_subreddit_encrypted_and_recoverable(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    retain = configs[env].retain_data
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [{"AttributeName": "subreddit", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "subreddit", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn(template)},
                "DeletionProtectionEnabled": retain,
            },
            "DeletionPolicy": "Retain" if retain else "Delete",
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_generated_reddit_secret_is_a_kms_encrypted_placeholder_the_operator_replaces(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    if configs[env].secrets.reddit_secret_name is not None:
        # Created out of band and referenced (tests/infra/test_secrets.py): the stack generates nothing.
        assert (
            template.find_resources(
                "AWS::SecretsManager::Secret", {"Properties": {"Description": Match.string_like_regexp("Reddit OAuth")}}
            )
            == {}
        )
        return
    _, secret = reddit_secret(template)
    assert secret["Properties"]["KmsKeyId"] == key_arn(template)
    properties = secret["Properties"]
    assert re.search(r"(?i)placeholder.*replace", properties["Description"])
    generated = properties["GenerateSecretString"]
    # Together: the JSON the handler reads (client_id, client_secret, user_agent).
    assert generated["GenerateStringKey"] == "client_secret"
    assert set(json.loads(generated["SecretStringTemplate"])) == {"client_id", "user_agent"}


# --------------------------------------------------------------------------- least privilege


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_role_is_allowed_only_the_calls_the_ingest_code_makes(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    role_id = _role_id(template)
    role = template.find_resources("AWS::IAM::Role")[role_id]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]
    statements = list(role_statements(template, role_id))
    assert all(statement["Effect"] == "Allow" for statement in statements)
    grants = _grants(statements)
    assert set(grants) == EXPECTED_ACTIONS
    assert not [action for action in grants if "*" in action]
    for statement in statements:
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= XRAY_ACTIONS, statement


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_access_is_scoped_to_the_prefixes_ingest_writes(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    raw_id = bucket_logging_to(template, "raw/")
    quarantine_id = bucket_logging_to(template, "quarantine/")
    grants = _grants(role_statements(template, _role_id(template)))
    written = [
        _objects(raw_id, "posts"),
        _objects(raw_id, "comments"),
        _objects(raw_id, "runs/*/ingest"),  # its run manifests, and no other stage's
        _objects(quarantine_id, "ingest"),
    ]
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):  # GetObject: footers read back
        resources = _resources(grants[action])
        assert len(resources) == len(written)
        assert all(resource in resources for resource in written), (action, resources)
    listings = {
        statement["Resource"]["Fn::GetAtt"][0]: sorted(statement["Condition"]["StringLike"]["s3:prefix"])
        for statement in grants["s3:ListBucket"]
    }
    assert listings == {raw_id: ["comments/*", "posts/*", "runs/*/ingest/*"], quarantine_id: ["ingest/*"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_table_secret_queue_and_log_grants_name_their_one_resource(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    grants = _grants(role_statements(template, _role_id(template)))
    table_id, _ = one(template, "AWS::DynamoDB::Table")
    _, secret_grant = _reddit_secret_arns(template, config)
    queue_id, _ = _dead_letter_queue(template, config)
    log_group = log_group_arn(template, _log_group_name(config))
    expected = {
        "dynamodb:GetItem": [{"Fn::GetAtt": [table_id, "Arn"]}],
        "dynamodb:PutItem": [{"Fn::GetAtt": [table_id, "Arn"]}],
        "secretsmanager:GetSecretValue": [secret_grant],
        "sqs:SendMessage": [{"Fn::GetAtt": [queue_id, "Arn"]}],
        "logs:CreateLogStream": [log_group],
        "logs:PutLogEvents": [log_group],
    }
    assert {action: _resources(grants[action]) for action in expected} == expected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_use_is_limited_to_the_services_the_function_calls(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    # A referenced secret is encrypted with aws/secretsmanager, which needs no grant on the lake key.
    services = {"s3", "dynamodb", "sqs"} | (
        {"secretsmanager"} if configs[env].secrets.reddit_secret_name is None else set()
    )
    statements = [
        statement
        for statement in role_statements(template, _role_id(template))
        if any(action.startswith("kms:") for action in as_list(statement["Action"]))
    ]
    via = set()
    for statement in statements:
        assert statement["Resource"] == key_arn(template)
        via.add(statement["Condition"]["StringEquals"]["kms:ViaService"])
    assert via == {f"{service}.{REGION}.amazonaws.com" for service in services}


# --------------------------------------------------------------------------- failures and alarms


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_async_invocations_land_in_an_encrypted_tls_only_queue(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    function_id, _ = ingest_function(template)
    queue_id, queue = _dead_letter_queue(template, config)
    assert queue["Properties"]["KmsMasterKeyId"] == key_arn(template)
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["DeletionPolicy"] == ("Retain" if config.retain_data else "Delete")
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": function_id},
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 1,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_errors_throttles_and_dead_letters_alarm_the_topic(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    function_id, _ = ingest_function(template)
    queue_id, _ = _dead_letter_queue(template, configs[env])
    topic_id, _ = one(template, "AWS::SNS::Topic")
    prefix = configs[env].resource_prefix
    common = {
        "AlarmActions": [{"Ref": topic_id}],
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1,
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
    }
    for metric in ("Errors", "Throttles"):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                **common,
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Statistic": "Sum",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}],
            },
        )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **common,
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
        },
    )
    ingest_alarms = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": Match.string_like_regexp(f"^{prefix}-ingest-")}}
    )
    assert len(ingest_alarms) == 4  # these three and the skipped-subreddits alarm


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_skipped_subreddit_alarms_the_topic(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    """The handler's EMF metric (Powertools: namespace, service dimension) summed over five minutes."""
    template = templates[env]
    topic_id, _ = one(template, "AWS::SNS::Topic")
    description = Capture()
    one(
        template,
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{configs[env].resource_prefix}-ingest-subreddits-skipped",
            "AlarmDescription": description,
            "Namespace": metrics.NAMESPACE,
            "MetricName": metrics.IngestMetric.SUBREDDITS_SKIPPED.value,
            "Dimensions": [
                {"Name": "environment", "Value": env},
                {"Name": "service", "Value": metrics.INGEST_SERVICE},
            ],
            "Statistic": "Sum",
            "Period": 300,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": topic_id}],
        },
    )
    assert re.search(r"private, banned or missing.*skipped", description.as_string())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_topic_is_encrypted_tls_only_and_mails_the_operator(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    topic_name = f"{config.resource_prefix}-alarms"
    topic_id, _ = one(template, "AWS::SNS::Topic", {"TopicName": topic_name, "KmsMasterKeyId": key_arn(template)})
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"TopicArn": {"Ref": topic_id}, "Protocol": "email", "Endpoint": email_endpoint(config.alarm_email)},
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Condition": Match.object_like(
                                    {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
                                ),
                            }
                        ),
                    ]
                )
            },
        },
    )
    # CloudWatch may have SNS use the lake key for this topic's messages, nothing else.
    cloudwatch = key_statements_for_service(template, "cloudwatch.amazonaws.com")
    assert len(cloudwatch) == 1
    assert sorted(cloudwatch[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    topic_arn = {"Fn::Join": ["", [f"arn:aws:sns:{REGION}:", {"Ref": "AWS::AccountId"}, f":{topic_name}"]]}
    assert cloudwatch[0]["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_state_outlives_the_stack_only_where_config_says_retain(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    policy = "Retain" if configs[env].retain_data else "Delete"
    for resource_type in ("AWS::DynamoDB::Table", "AWS::Logs::LogGroup"):
        template.all_resources(resource_type, {"DeletionPolicy": policy, "UpdateReplacePolicy": policy})
    # Generated secrets (dev) follow the stack; retaining environments reference theirs instead.
    secrets = template.find_resources("AWS::SecretsManager::Secret")
    assert all(secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == policy for secret in secrets.values())
    assert not (secrets and configs[env].retain_data)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_operators_find_the_generated_names_in_outputs(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    table_id, _ = one(template, "AWS::DynamoDB::Table")
    template.has_output("CursorTableName", {"Value": {"Ref": table_id}})
    template.has_output("RedditSecretArn", {"Value": _reddit_secret_arns(template, configs[env])[0]})


# --------------------------------------------------------------------------- cdk-nag


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_ingest_acknowledges_only_these_findings_each_with_a_reason(
    cloud_assembly: cx_api.CloudAssembly,
    templates: Mapping[str, assertions.Template],
    configs: Mapping[str, EnvironmentConfig],
    env: str,
) -> None:
    template = templates[env]
    acknowledged = {
        rule: reason
        for path, rules in acknowledgements(cloud_assembly, configs[env].stack_name).items()
        if "/Ingest/" in path or "/Alarms/" in path
        for rule, reason in rules.items()
    }
    raw_id = bucket_logging_to(template, "raw/")
    quarantine_id = bucket_logging_to(template, "quarantine/")
    # Rotation (SMG4) is acknowledged on a secret the stack generates; a referenced one is not the stack's.
    generated = {"AwsSolutions-SMG4"} if configs[env].secrets.reddit_secret_name is None else set()
    assert set(acknowledged) == generated | {
        "AwsSolutions-L1",
        "AwsSolutions-SQS3",
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::<{raw_id}.Arn>/posts/*]",
        f"AwsSolutions-IAM5[Resource::<{raw_id}.Arn>/comments/*]",
        f"AwsSolutions-IAM5[Resource::<{quarantine_id}.Arn>/ingest/*]",
        f"AwsSolutions-IAM5[Resource::<{raw_id}.Arn>/runs/*/ingest/*]",
    }
    assert all(len(reason) > 20 for reason in acknowledged.values()), acknowledged
