"""The processing job as synthesized: Glue 5.1, code assets, arguments, keys, logs, access, catalog, alarms.

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

from glue_jobs.process_posts.arguments import UNCHECKED_FINGERPRINT, UNSET, JobArguments
from infra.config import EnvironmentConfig
from infra.constructs.processed_catalog import CATALOG_TABLES
from infra.constructs.processing_job import GLUE_LOG_STREAMS, JOB_LIBRARIES, JOB_SCRIPT
from infra.constructs.python_zip_asset import build_zip
from lakehouse import metrics
from lakehouse.tables import (
    MONTH_PARTITION,
    PROCESSED_COMMENTS,
    PROCESSED_POSTS,
    PROMPT_PARTITION,
    SCORED_DATE_PARTITION,
    ColumnType,
    Table,
)
from lambdas.score.prompt import CURRENT_PROMPT_VERSION, PROMPTS_DIR
from tests.infra.templates import (
    JOB_KEY,
    LAKE_KEY,
    acknowledgements,
    as_list,
    bucket_logging_to,
    glue_role_id,
    iam5_findings,
    job_key,
    job_key_arn,
    key_arn,
    key_policy_statements,
    key_statements_for_service,
    log_group_arn,
    one,
    pii_secret,
    role_statements,
    secret_arns,
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
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "cloudwatch:PutMetricData",
}


def _job(template: assertions.Template, config: EnvironmentConfig) -> tuple[str, dict[str, Any]]:
    return one(template, "AWS::Glue::Job", {"Name": f"{config.resource_prefix}-process-posts"})


def _pii_secret_arns(template: assertions.Template, config: EnvironmentConfig) -> tuple[Any, Any]:
    """(the ARN the job is given, the ARN its role may read)."""
    return secret_arns(template, config.secrets.pii_key_secret_name, pii_secret)


def _log_group_prefix(config: EnvironmentConfig) -> str:
    return f"/aws-glue/jobs/{config.resource_prefix}-process-posts"


def _log_groups(template: assertions.Template, config: EnvironmentConfig) -> list[dict[str, Any]]:
    """The stack's Glue log groups, found by the names Glue 5 derives from --custom-logGroup-prefix."""
    return [log_group_arn(template, f"{_log_group_prefix(config)}/{stream}") for stream in ("error", "output")]


def _zones(template: assertions.Template) -> dict[str, str]:
    """Zone -> bucket logical id, found by each bucket's own access-log prefix."""
    return {zone: bucket_logging_to(template, f"{zone}/") for zone in ("raw", "processed", "analytics", "quarantine")}


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
def test_arguments_wire_the_zones_secret_metrics_bookmarks_logs_and_modules(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    zones = _zones(template)
    secret_arn, _ = _pii_secret_arns(template, config)
    _, job = _job(template, config)
    arguments = dict(job["Properties"]["DefaultArguments"])
    arguments.pop("--extra-py-files")  # checked with the assets below
    arguments.pop("--additional-python-modules")  # the wheels: tests/infra/test_glue_wheels.py
    job_arguments = {
        "--raw_uri": {"Fn::Join": ["", ["s3://", {"Ref": zones["raw"]}, "/"]]},
        "--processed_uri": {"Fn::Join": ["", ["s3://", {"Ref": zones["processed"]}, "/"]]},
        "--quarantine_uri": {"Fn::Join": ["", ["s3://", {"Ref": zones["quarantine"]}, "/"]]},
        "--pii_secret_arn": secret_arn,
        "--metrics_namespace": metrics.NAMESPACE,
        "--environment": env,
        "--pii_key_fingerprint": config.secrets.pii_key_fingerprint or UNCHECKED_FINGERPRINT,
        "--runs_uri": {"Fn::Join": ["", ["s3://", {"Ref": zones["raw"]}, "/runs/"]]},
        # Defaults for a run started by hand; the state machine passes its own.
        "--run_id": UNSET,
        "--run_started_at": UNSET,
    }
    # The entry point reads exactly these (JobArguments names them once for both sides).
    assert {f"--{name}" for name in JobArguments.names()} == set(job_arguments)
    assert arguments == {
        "--job-language": "python",
        "--job-bookmark-option": "job-bookmark-enable",
        "--enable-metrics": "",
        "--enable-observability-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        "--custom-logGroup-prefix": _log_group_prefix(config),
        "--python-modules-installer-option": "--no-index",
        **job_arguments,
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
    # Glue fetches exactly these objects with the job's role (and the wheels: test_glue_wheels.py).
    grants = _grants(role_statements(template, glue_role_id(template)))
    code_reads = [
        resource
        for resource in _resources(grants["s3:GetObject"])
        if "arn:aws:s3:::" in json.dumps(resource) and not json.dumps(resource).endswith('.whl"]]}')
    ]
    assert _sorted(code_reads) == _sorted([_asset_object(script_key), _asset_object(libraries_key)])


# --------------------------------------------------------------------------- encryption and logs


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_security_configuration_encrypts_output_with_the_lake_key_and_bookmarks_with_the_jobs_own(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    configuration_id, _ = one(
        template,
        "AWS::Glue::SecurityConfiguration",
        {
            "EncryptionConfiguration": {
                "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn(template)}],
                "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": job_key_arn(template)},
                # The log groups are encrypted themselves (below): Glue must not derive groups of its own.
                "CloudWatchEncryption": Match.absent(),
            }
        },
    )
    _, job = _job(template, config)
    assert job["Properties"]["SecurityConfiguration"] == {"Ref": configuration_id}
    # Pure configuration under a fixed name: kept, it would block redeploying the environment.
    configuration = template.find_resources("AWS::Glue::SecurityConfiguration")[configuration_id]
    assert configuration["DeletionPolicy"] == "Delete"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_jobs_key_rotates_is_the_accounts_and_serves_logs_for_its_two_groups_only(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    _, key = job_key(template)
    assert key["Properties"]["EnableKeyRotation"] is True
    policy = "Retain" if config.retain_data else "Delete"
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == policy
    statements = key_policy_statements(template, JOB_KEY)
    root = {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
    account, *services = statements
    assert account == {"Action": "kms:*", "Effect": "Allow", "Principal": {"AWS": root}, "Resource": "*"}
    groups = [
        {"Fn::Join": ["", [f"arn:aws:logs:{REGION}:", {"Ref": "AWS::AccountId"}, f":log-group:{name}"]]}
        for name in (f"{_log_group_prefix(config)}/{stream}" for stream in GLUE_LOG_STREAMS)
    ]
    assert [statement["Principal"] for statement in services] == [{"Service": f"logs.{REGION}.amazonaws.com"}] * 2
    assert [statement["Condition"] for statement in services] == [
        {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group}} for group in groups
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_glue_logs_to_two_encrypted_log_groups_the_stack_owns_with_the_configured_retention(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    policy = "Retain" if config.retain_data else "Delete"
    for stream in ("error", "output"):  # Glue 5: <custom-logGroup-prefix>/error and /output
        template.has_resource(
            "AWS::Logs::LogGroup",
            {
                "Properties": {
                    "LogGroupName": f"{_log_group_prefix(config)}/{stream}",
                    "RetentionInDays": config.log_retention_days,
                    "KmsKeyId": job_key_arn(template),
                },
                "DeletionPolicy": policy,
                "UpdateReplacePolicy": policy,
            },
        )
    _, job = _job(template, config)
    assert job["Properties"]["DefaultArguments"]["--custom-logGroup-prefix"] == _log_group_prefix(config)
    # The lake key serves no Glue log group any more.
    for statement in key_statements_for_service(template, f"logs.{REGION}.amazonaws.com", LAKE_KEY):
        assert "/aws-glue" not in json.dumps(statement), statement


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_generated_pii_key_is_a_long_random_kms_encrypted_secret_that_is_never_rotated(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    template.resource_count_is("AWS::SecretsManager::RotationSchedule", 0)
    if configs[env].secrets.pii_key_secret_name is not None:
        return  # created out of band and referenced: tests/infra/test_secrets.py
    _, secret = pii_secret(template)
    properties = secret["Properties"]
    assert properties["KmsKeyId"] == key_arn(template)
    assert properties["GenerateSecretString"] == {
        "PasswordLength": 64,
        "ExcludePunctuation": True,
        "IncludeSpace": False,
    }
    assert "Never rotate" in properties["Description"]


# --------------------------------------------------------------------------- least privilege


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_role_is_glues_own_and_holds_only_its_access_policy(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    role_id = glue_role_id(template)
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
    grants = _grants(role_statements(template, glue_role_id(template)))
    raw = [_objects(zones["raw"], prefix) for prefix in ("posts*", "comments*")]
    processed = [_objects(zones["processed"], prefix) for prefix in ("posts*", "comments*", "post_exclusions*")]
    quarantine = [_objects(zones["quarantine"], "process*")]
    manifest = [_objects(zones["raw"], "runs/*/process.json")]  # its own run manifests, no other stage's
    data_reads = [resource for resource in _resources(grants["s3:GetObject"]) if "GetAtt" in json.dumps(resource)]
    assert _sorted(data_reads) == _sorted(raw + processed + quarantine + manifest)
    assert _sorted(_resources(grants["s3:PutObject"])) == _sorted(processed + quarantine + manifest)
    for action in ("s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert _sorted(_resources(grants[action])) == _sorted(processed + quarantine), action
    buckets = [{"Fn::GetAtt": [zones[zone], "Arn"]} for zone in ("raw", "processed", "quarantine")]
    for action in ("s3:ListBucket", "s3:GetBucketLocation"):
        assert _sorted(_resources(grants[action])) == _sorted(buckets), action


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_secret_logs_and_metrics_grants_name_their_resources(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    zones = _zones(template)
    secret_arn, secret_grant = _pii_secret_arns(template, config)
    key, bookmarks_key = key_arn(template), job_key_arn(template)
    statements = list(role_statements(template, glue_role_id(template)))
    grants = _grants(statements)
    assert _resources(grants["secretsmanager:GetSecretValue"]) == [secret_grant]
    key_statements = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    # Every use of the lake key is conditioned on the service and the resource it serves ...
    lake = [statement for statement in key_statements if _resources([statement]) == [key]]
    assert lake
    assert all(statement.get("Condition") for statement in lake)
    # ... and the one unconditioned grant (client-side bookmarks) is on the job's own key, alone.
    (bookmarks,) = [statement for statement in key_statements if _resources([statement]) == [bookmarks_key]]
    assert "Condition" not in bookmarks
    assert sorted(as_list(bookmarks["Action"])) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    assert len(lake) + 1 == len(key_statements)

    def zone_context(*zone_names: str) -> list[Any]:
        return [
            arn
            for zone in zone_names
            for arn in (
                {"Fn::GetAtt": [zones[zone], "Arn"]},
                {"Fn::Join": ["", [{"Fn::GetAtt": [zones[zone], "Arn"]}, "/*"]]},
            )
        ]

    conditions = [statement.get("Condition") for statement in lake]
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
    secret_decrypt = {
        "StringEquals": {
            "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
            "kms:EncryptionContext:SecretARN": secret_arn,
        }
    }
    # A referenced secret is encrypted with aws/secretsmanager: no grant on the lake key at all.
    assert (secret_decrypt in conditions) == (config.secrets.pii_key_secret_name is None)
    # Logs: exactly the stack's two log groups (existing, so no CreateLogGroup/AssociateKmsKey).
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert _sorted(_resources(grants[action])) == _sorted(_log_groups(template, config)), action
    assert "/aws-glue/jobs*" not in json.dumps(statements)
    (metrics_grant,) = grants["cloudwatch:PutMetricData"]
    assert metrics_grant["Resource"] == "*"
    assert metrics_grant["Condition"] == {"StringEquals": {"cloudwatch:namespace": [metrics.NAMESPACE, "Glue"]}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_processing_acknowledges_only_these_findings_each_with_a_reason(
    cloud_assembly: cx_api.CloudAssembly,
    templates: Mapping[str, assertions.Template],
    configs: Mapping[str, EnvironmentConfig],
    env: str,
) -> None:
    template, config = templates[env], configs[env]
    acknowledged = {
        rule: reason
        for path, rules in acknowledgements(cloud_assembly, config.stack_name).items()
        if "/Processing/" in path
        for rule, reason in rules.items()
    }
    zones = _zones(template)
    prefixes = (
        ("raw", "posts"),
        ("raw", "comments"),
        ("processed", "posts"),
        ("processed", "comments"),
        ("processed", "post_exclusions"),
        ("quarantine", "process"),
    )
    generated = {"AwsSolutions-SMG4"} if config.secrets.pii_key_secret_name is None else set()
    assert set(acknowledged) == generated | {
        "AwsSolutions-GL1",
        "AwsSolutions-IAM5[Resource::*]",
        *(f"AwsSolutions-IAM5[Resource::<{zones[zone]}.Arn>/{prefix}*]" for zone, prefix in prefixes),
        f"AwsSolutions-IAM5[Resource::<{zones['raw']}.Arn>/runs/*/process.json]",
    }
    assert all(len(reason) > 40 for reason in acknowledged.values()), acknowledged
    assert "log group" in acknowledged["AwsSolutions-GL1"]
    # No wildcard reaches the role's policy beyond those acknowledged (no /aws-glue/jobs* any more).
    assert iam5_findings(template, glue_role_id(template)) == {
        rule for rule in acknowledged if rule.startswith("AwsSolutions-IAM5")
    }


# --------------------------------------------------------------------------- catalog


def _expected_table(spec: Table, database_id: str, processed_id: str) -> dict[str, Any]:
    partition = spec.partition
    assert partition is not None
    location = {"Fn::Join": ["", ["s3://", {"Ref": processed_id}, f"/{spec.prefix}/"]]}
    template_location = {
        "Fn::Join": ["", ["s3://", {"Ref": processed_id}, f"/{spec.prefix}/{partition}=${{{partition}}}/"]]
    }
    return {
        "DatabaseName": {"Ref": database_id},
        "TableInput": Match.object_like(
            {
                "Name": spec.name,
                "TableType": "EXTERNAL_TABLE",
                "PartitionKeys": [{"Name": partition, "Type": spec.column(partition).type.value}],
                "Parameters": Match.object_like(
                    {"projection.enabled": "true", "storage.location.template": template_location}
                ),
                "StorageDescriptor": Match.object_like(
                    {
                        "Location": location,
                        # The declaration's file columns, in order (the partition lives in the path).
                        "Columns": [{"Name": column.name, "Type": column.type.value} for column in spec.file_columns],
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
    template.resource_count_is("AWS::Glue::Table", len(CATALOG_TABLES))


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("spec", CATALOG_TABLES, ids=lambda spec: spec.name)
def test_tables_describe_the_processed_parquet_with_partition_projection(
    templates: Mapping[str, assertions.Template], env: str, spec: Table
) -> None:
    template = templates[env]
    database_id, _ = one(template, "AWS::Glue::Database")
    _, table = one(template, "AWS::Glue::Table", _expected_table(spec, database_id, _zones(template)[spec.zone]))
    parameters = table["Properties"]["TableInput"]["Parameters"]
    projection = {key: value for key, value in parameters.items() if key.startswith("projection.")}
    if spec.partition == MONTH_PARTITION:
        assert projection == {
            "projection.enabled": "true",
            "projection.created_month.type": "date",
            "projection.created_month.format": "yyyy-MM",
            "projection.created_month.range": "2005-06,NOW",
            "projection.created_month.interval": "1",
            "projection.created_month.interval.unit": "MONTHS",
        }
    elif spec.partition == PROMPT_PARTITION:
        # The prompt versions the scorer ships, each a directory of lambdas/score/prompts.
        assert projection == {
            "projection.enabled": "true",
            "projection.prompt_version.type": "enum",
            "projection.prompt_version.values": ",".join(sorted(p.name for p in PROMPTS_DIR.iterdir() if p.is_dir())),
        }
        assert CURRENT_PROMPT_VERSION in projection["projection.prompt_version.values"].split(",")
    elif spec.partition == SCORED_DATE_PARTITION:
        assert projection == {
            "projection.enabled": "true",
            "projection.scored_date.type": "date",
            "projection.scored_date.format": "yyyy-MM-dd",
            "projection.scored_date.range": "2026-12-01,NOW",
            "projection.scored_date.interval": "1",
            "projection.scored_date.interval.unit": "DAYS",
        }
    else:
        # Run ids cannot be enumerated: a query names the run it reconciles.
        assert projection == {"projection.enabled": "true", "projection.job_run.type": "injected"}


def test_catalog_columns_spell_the_jobs_output_for_analysts() -> None:
    """The tables the brief names, with the enrichment, lineage and PII columns the job adds (no raw author)."""
    posts = {column.name: column.type for column in PROCESSED_POSTS.file_columns}
    comments = {column.name: column.type for column in PROCESSED_COMMENTS.file_columns}
    assert posts["author_hash"] == comments["author_hash"] == ColumnType.STRING
    assert "author" not in posts
    assert "author" not in comments
    assert posts["problem_signals"] == posts["keywords"] == ColumnType.STRING_ARRAY == "array<string>"
    assert (posts["score"], posts["created_at"], posts["title_chars"]) == ("bigint", "timestamp", "int")
    # Which job run last wrote a row: both tables carry it.
    assert posts["processed_job_run"] == comments["processed_job_run"] == ColumnType.STRING
    assert MONTH_PARTITION not in posts
    assert MONTH_PARTITION not in comments


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
            "Namespace": metrics.NAMESPACE,
            "MetricName": metrics.ProcessMetric.QUALITY_BREACHES.value,
            "Dimensions": Match.array_with(
                [{"Name": "environment", "Value": env}, {"Name": "job", "Value": metrics.PROCESS_JOB}]
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
    template.has_output("ProcessingJobName", {"Value": {"Ref": job_id}})
    template.has_output("GlueDatabaseName", {"Value": {"Ref": database_id}})
    template.has_output("PiiSecretArn", {"Value": _pii_secret_arns(template, config)[0]})
    template.has_output("ProcessingLogGroupPrefix", {"Value": _log_group_prefix(config)})
