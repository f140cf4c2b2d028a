"""The processing job as synthesized: Glue 5.1, code assets, arguments, encryption, access, catalog, alarms.

Resources are found by what they are (the job's name, the bucket's access-log prefix, the
secret's description); no logical id is written down here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions, cx_api
from aws_cdk.assertions import Match

from infra.config import EnvironmentConfig
from infra.constructs.processed_catalog import (
    POST_EXCLUSIONS,
    PROCESSED_COMMENTS,
    PROCESSED_POSTS,
    TableSpec,
)
from infra.constructs.processing_job import JOB_LIBRARIES, JOB_SCRIPT
from infra.constructs.python_zip_asset import build_zip
from tests.infra.templates import (
    as_list,
    bucket_logging_to,
    key_arn,
    key_statements_for_service,
    one,
    pii_secret,
    role_statements,
)

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
REGION = "us-east-1"
ASSETS_BUCKET = {"Fn::Sub": f"cdk-hnb659fds-assets-${{AWS::AccountId}}-{REGION}"}
EXPECTED_ACTIONS = {
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "secretsmanager:GetSecretValue",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:AssociateKmsKey",
    "cloudwatch:PutMetricData",
}
GLUE_LOG_GROUPS_ARN = {
    "Fn::Join": ["", [f"arn:aws:logs:{REGION}:", {"Ref": "AWS::AccountId"}, ":log-group:/aws-glue/jobs*"]]
}


def _job(template: assertions.Template, config: EnvironmentConfig) -> tuple[str, dict[str, Any]]:
    return one(template, "AWS::Glue::Job", {"Name": f"{config.resource_prefix}-process-posts"})


def _zones(template: assertions.Template) -> dict[str, str]:
    """Zone -> bucket logical id, found by each bucket's own access-log prefix."""
    return {zone: bucket_logging_to(template, f"{zone}/") for zone in ("raw", "processed", "quarantine")}


def _objects(bucket_id: str, prefix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{prefix}"]]}


def _asset_url(key: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["s3://", ASSETS_BUCKET, f"/{key}"]]}


def _asset_object(key: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:aws:s3:::", ASSETS_BUCKET, f"/{key}"]]}


def _file_assets(cloud_assembly: cx_api.CloudAssembly, config: EnvironmentConfig) -> dict[str, Path]:
    """S3 object key -> the staged file the CLI would upload, from the stack's asset manifest."""
    directory = Path(cloud_assembly.directory)
    manifest = json.loads((directory / f"{config.stack_name}.assets.json").read_text())
    return {
        destination["objectKey"]: directory / asset["source"]["path"]
        for asset in manifest["files"].values()
        if asset["source"].get("packaging") == "file"
        for destination in asset["destinations"].values()
    }


def _role_id(template: assertions.Template) -> str:
    role_id, _ = one(
        template,
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "glue.amazonaws.com"}})]}
            )
        },
    )
    return role_id


def _grants(statements: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    by_action: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for statement in statements:
        for action in as_list(statement["Action"]):
            by_action[action].append(statement)
    return by_action


def _resources(statements: Iterable[Mapping[str, Any]]) -> list[Any]:
    return [resource for statement in statements for resource in as_list(statement["Resource"])]


def _sorted(values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=lambda value: json.dumps(value, sort_keys=True))


# --------------------------------------------------------------------------- job definition


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_job_is_glue_5_1_sized_and_bounded_per_environment(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    _, job = _job(template, config)
    properties = job["Properties"]
    assert properties["GlueVersion"] == "5.1"
    assert properties["Command"]["Name"] == "glueetl"
    assert properties["Command"]["PythonVersion"] == "3"
    assert properties["WorkerType"] == config.glue.worker_type
    assert properties["NumberOfWorkers"] == config.glue.number_of_workers
    assert properties["Timeout"] == config.glue.timeout_minutes
    # One writer: bookmarks and dynamic partition overwrite assume it; Glue never retries on its own.
    assert properties["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert properties["MaxRetries"] == 0


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_arguments_wire_the_zones_secret_metrics_bookmarks_and_modules(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    zones = _zones(template)
    secret_id, _ = pii_secret(template)
    _, job = _job(template, config)
    arguments = dict(job["Properties"]["DefaultArguments"])
    arguments.pop("--extra-py-files")  # checked with the assets below
    assert arguments == {
        "--job-language": "python",
        "--job-bookmark-option": "job-bookmark-enable",
        "--enable-metrics": "",
        "--enable-observability-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        "--additional-python-modules": "vaderSentiment==3.3.2,langdetect==1.0.9,orjson==3.13.0",
        "--raw_uri": {"Fn::Join": ["", ["s3://", {"Ref": zones["raw"]}, "/"]]},
        "--processed_uri": {"Fn::Join": ["", ["s3://", {"Ref": zones["processed"]}, "/"]]},
        "--quarantine_uri": {"Fn::Join": ["", ["s3://", {"Ref": zones["quarantine"]}, "/"]]},
        "--pii_secret_arn": {"Ref": secret_id},
        "--metrics_namespace": "RedditLakehouse",
        "--environment": env,
    }
    # The Spark UI stays off (it would need its own bucket); nothing asks for the Data Catalog as metastore.
    assert "--enable-spark-ui" not in arguments
    assert "--enable-glue-datacatalog" not in arguments


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_script_and_libraries_are_the_repositorys_files_as_assets(
    templates: Mapping[str, assertions.Template],
    configs: Mapping[str, EnvironmentConfig],
    cloud_assembly: cx_api.CloudAssembly,
    env: str,
) -> None:
    template, config = templates[env], configs[env]
    _, job = _job(template, config)
    assets = _file_assets(cloud_assembly, config)
    script_key = next(key for key, path in assets.items() if path.read_bytes() == JOB_SCRIPT.read_bytes())
    libraries_key = next(key for key, path in assets.items() if path.read_bytes() == build_zip(JOB_LIBRARIES))
    assert script_key.endswith(".py")
    assert libraries_key.endswith(".zip")
    assert job["Properties"]["Command"]["ScriptLocation"] == _asset_url(script_key)
    assert job["Properties"]["DefaultArguments"]["--extra-py-files"] == _asset_url(libraries_key)
    # Glue fetches exactly these two objects with the job's role; nothing else of the assets bucket.
    grants = _grants(role_statements(template, _role_id(template)))
    code_reads = [
        resource for resource in _resources(grants["s3:GetObject"]) if "arn:aws:s3:::" in json.dumps(resource)
    ]
    assert _sorted(code_reads) == _sorted([_asset_object(script_key), _asset_object(libraries_key)])


# --------------------------------------------------------------------------- encryption


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_security_configuration_encrypts_output_logs_and_bookmarks_with_the_lake_key(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    key = key_arn(template)
    configuration_id, _ = one(
        template,
        "AWS::Glue::SecurityConfiguration",
        {
            "EncryptionConfiguration": {
                "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key}],
                "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key},
                "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key},
            }
        },
    )
    _, job = _job(template, config)
    assert job["Properties"]["SecurityConfiguration"] == {"Ref": configuration_id}
    # Pure configuration under a fixed name: kept, it would block redeploying the environment.
    configuration = template.find_resources("AWS::Glue::SecurityConfiguration")[configuration_id]
    assert configuration["DeletionPolicy"] == "Delete"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cloudwatch_logs_may_use_the_key_for_glues_job_log_groups_only(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    glue_statements = [
        statement
        for statement in key_statements_for_service(template, f"logs.{REGION}.amazonaws.com")
        if "ArnLike" in statement.get("Condition", {})
    ]
    assert len(glue_statements) == 1
    assert glue_statements[0]["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": GLUE_LOG_GROUPS_ARN}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pii_key_is_a_long_random_kms_encrypted_secret_that_is_never_rotated(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    _, secret = pii_secret(template)
    properties = secret["Properties"]
    assert properties["KmsKeyId"] == key_arn(template)
    assert properties["GenerateSecretString"] == {
        "PasswordLength": 64,
        "ExcludePunctuation": True,
        "IncludeSpace": False,
    }
    assert "Never rotate" in properties["Description"]
    template.resource_count_is("AWS::SecretsManager::RotationSchedule", 0)


# --------------------------------------------------------------------------- least privilege


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_role_is_glues_own_and_holds_only_its_access_policy(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    role_id = _role_id(template)
    role = template.find_resources("AWS::IAM::Role")[role_id]
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWSGlueServiceRole
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    assert len(policies) == 1
    # The job exists only once its role can read its code.
    (job,) = template.find_resources("AWS::Glue::Job").values()
    assert job["DependsOn"] == list(policies)
    actions = {action for statement in role_statements(template, role_id) for action in as_list(statement["Action"])}
    assert actions == EXPECTED_ACTIONS
    assert not [action for action in actions if "*" in action]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_access_is_scoped_to_each_zones_prefixes(templates: Mapping[str, assertions.Template], env: str) -> None:
    template = templates[env]
    zones = _zones(template)
    grants = _grants(role_statements(template, _role_id(template)))
    raw = [_objects(zones["raw"], prefix) for prefix in ("posts*", "comments*")]
    processed = [_objects(zones["processed"], prefix) for prefix in ("posts*", "comments*", "post_exclusions*")]
    quarantine = [_objects(zones["quarantine"], "process*")]
    data_reads = [resource for resource in _resources(grants["s3:GetObject"]) if "GetAtt" in json.dumps(resource)]
    assert _sorted(data_reads) == _sorted(raw + processed + quarantine)
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert _sorted(_resources(grants[action])) == _sorted(processed + quarantine), action
    buckets = [{"Fn::GetAtt": [zones[zone], "Arn"]} for zone in ("raw", "processed", "quarantine")]
    for action in ("s3:ListBucket", "s3:GetBucketLocation"):
        assert _sorted(_resources(grants[action])) == _sorted(buckets), action


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_secret_logs_and_metrics_grants_name_their_resources(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    zones = _zones(template)
    secret_id, _ = pii_secret(template)
    key = key_arn(template)
    grants = _grants(role_statements(template, _role_id(template)))
    assert _resources(grants["secretsmanager:GetSecretValue"]) == [{"Ref": secret_id}]
    assert all(
        _resources([statement]) == [key]
        for action in grants
        if action.startswith("kms:")
        for statement in grants[action]
    )

    def zone_context(*zone_names: str) -> list[Any]:
        return [
            arn
            for zone in zone_names
            for arn in (
                {"Fn::GetAtt": [zones[zone], "Arn"]},
                {"Fn::Join": ["", [{"Fn::GetAtt": [zones[zone], "Arn"]}, "/*"]]},
            )
        ]

    conditions = [statement.get("Condition") for statement in grants["kms:Decrypt"]]
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert {
        "StringEquals": via_s3,
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": zone_context("raw")},
    } in conditions
    output = {
        "StringEquals": via_s3,
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": zone_context("processed", "quarantine")},
    }
    assert output in conditions
    assert {
        "StringEquals": {
            "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
            "kms:EncryptionContext:SecretARN": {"Ref": secret_id},
        }
    } in conditions
    # Client-side bookmark encryption: the job calls KMS itself, so that one grant has no service condition.
    assert [statement.get("Condition") for statement in grants["kms:Encrypt"]] == [None]
    for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"):
        assert _resources(grants[action]) == [GLUE_LOG_GROUPS_ARN], action
    (metrics,) = grants["cloudwatch:PutMetricData"]
    assert metrics["Resource"] == "*"
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["RedditLakehouse", "Glue"]}}


# --------------------------------------------------------------------------- catalog


def _expected_table(spec: TableSpec, database_id: str, processed_id: str) -> dict[str, Any]:
    location = {"Fn::Join": ["", ["s3://", {"Ref": processed_id}, f"/{spec.prefix}/"]]}
    template_location = {
        "Fn::Join": ["", ["s3://", {"Ref": processed_id}, f"/{spec.prefix}/{spec.partition}=${{{spec.partition}}}/"]]
    }
    return {
        "DatabaseName": {"Ref": database_id},
        "TableInput": Match.object_like(
            {
                "Name": spec.name,
                "TableType": "EXTERNAL_TABLE",
                "PartitionKeys": [{"Name": spec.partition, "Type": "string"}],
                "Parameters": Match.object_like(
                    {"projection.enabled": "true", "storage.location.template": template_location}
                ),
                "StorageDescriptor": Match.object_like(
                    {
                        "Location": location,
                        "Columns": [{"Name": name, "Type": type_} for name, type_ in spec.columns],
                        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                        "SerdeInfo": {
                            "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        },
                    }
                ),
            }
        ),
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_catalog_is_named_per_environment_and_kept_where_data_is(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    one(template, "AWS::Glue::Database", {"DatabaseInput": Match.object_like({"Name": f"reddit_lakehouse_{env}"})})
    policy = "Retain" if configs[env].retain_data else "Delete"
    for resource_type in ("AWS::Glue::Database", "AWS::Glue::Table"):
        template.all_resources(resource_type, {"DeletionPolicy": policy, "UpdateReplacePolicy": policy})


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("spec", [PROCESSED_POSTS, PROCESSED_COMMENTS, POST_EXCLUSIONS], ids=lambda spec: spec.name)
def test_tables_describe_the_processed_parquet_with_partition_projection(
    templates: Mapping[str, assertions.Template], env: str, spec: TableSpec
) -> None:
    template = templates[env]
    database_id, _ = one(template, "AWS::Glue::Database")
    _, table = one(template, "AWS::Glue::Table", _expected_table(spec, database_id, _zones(template)["processed"]))
    parameters = table["Properties"]["TableInput"]["Parameters"]
    projection = {key: value for key, value in parameters.items() if key.startswith("projection.")}
    if spec.partition == "created_month":
        assert projection == {
            "projection.enabled": "true",
            "projection.created_month.type": "date",
            "projection.created_month.format": "yyyy-MM",
            "projection.created_month.range": "2005-06,NOW",
            "projection.created_month.interval": "1",
            "projection.created_month.interval.unit": "MONTHS",
        }
    else:
        # Run ids cannot be enumerated: a query names the run it reconciles.
        assert projection == {"projection.enabled": "true", "projection.job_run.type": "injected"}


def test_catalog_columns_spell_the_jobs_output_for_analysts() -> None:
    """The tables the brief names, with the enrichment and PII columns the job adds (no raw author)."""
    posts = dict(PROCESSED_POSTS.columns)
    comments = dict(PROCESSED_COMMENTS.columns)
    assert posts["author_hash"] == comments["author_hash"] == "string"
    assert "author" not in posts
    assert "author" not in comments
    assert posts["problem_signals"] == posts["keywords"] == "array<string>"
    assert (posts["score"], posts["created_at"], posts["title_chars"]) == ("bigint", "timestamp", "int")
    assert "created_month" not in posts
    assert "created_month" not in comments


# --------------------------------------------------------------------------- alarms and outputs


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_runs_notify_the_alarm_topic_and_only_that_rule_may_publish(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    job_name = f"{config.resource_prefix}-process-posts"
    topic_name = f"{config.resource_prefix}-alarms"
    topic_id, _ = one(template, "AWS::SNS::Topic", {"TopicName": topic_name})
    rule_id, rule = one(
        template,
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.glue"],
                "detail-type": ["Glue Job State Change"],
                "detail": {"jobName": [job_name], "state": ["FAILED", "TIMEOUT", "ERROR"]},
            }
        },
    )
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": topic_id}
    assert "<detail-jobRunId>" in target["InputTransformer"]["InputTemplate"]
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "EventBridgeRule1Publish",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": topic_id},
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                                "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}},
                            },
                        }
                    ]
                )
            },
        },
    )
    # SNS encrypts the message with the lake key on EventBridge's behalf, for this topic only.
    (events_statement,) = key_statements_for_service(template, "events.amazonaws.com")
    assert sorted(events_statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    topic_arn = {"Fn::Join": ["", [f"arn:aws:sns:{REGION}:", {"Ref": "AWS::AccountId"}, f":{topic_name}"]]}
    assert events_statement["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_quality_breach_alarms_the_topic(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    topic_id, _ = one(template, "AWS::SNS::Topic")
    one(
        template,
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{config.resource_prefix}-process-posts-quality-breaches",
            "Namespace": "RedditLakehouse",
            "MetricName": "quality_breaches",
            "Dimensions": Match.array_with(
                [{"Name": "environment", "Value": env}, {"Name": "job", "Value": "process_posts"}]
            ),
            "Statistic": "Maximum",
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": topic_id}],
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_operators_find_the_job_database_and_pii_secret_in_outputs(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    job_id, _ = _job(template, config)
    database_id, _ = one(template, "AWS::Glue::Database")
    secret_id, _ = pii_secret(template)
    template.has_output("ProcessingJobName", {"Value": {"Ref": job_id}})
    template.has_output("GlueDatabaseName", {"Value": {"Ref": database_id}})
    template.has_output("PiiSecretArn", {"Value": {"Ref": secret_id}})
