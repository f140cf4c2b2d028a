"""The verify function as synthesized, on a tiny stand-in stack: code, sizing, environment, access, logs.

Resources are found by what they are (the handler, the only bucket, key and log group of the
stack); no logical id is written down here. cdk-nag runs as the app's plugin does, and cfn-lint
reads the template.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match
from cdk_nag import AwsSolutionsChecks

from infra.constructs.nag import acknowledge
from infra.constructs.verify_function import VERIFY_HANDLER, VerifyFunction
from lambdas.verify.settings import VerifySettings
from tests.infra.conftest import NO_BUNDLING
from tests.infra.templates import as_list, one, role_statements

pytestmark = pytest.mark.cdk

PREFIX = "reddit-lakehouse-dev"
REGION = "us-east-1"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
STAND_IN = "stand-in"  # what a CloudFormation reference becomes when the environment is parsed


@dataclass(frozen=True)
class Synthesized:
    template: assertions.Template
    template_file: Path
    bucket_arn: dict[str, Any]
    key_arn: dict[str, Any]
    log_group_arn: dict[str, Any]
    role_id: str


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(context=dict(NO_BUNDLING), outdir=str(outdir))
    stack = cdk.Stack(app, "Verified", env=cdk.Environment(account="123456789012", region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(
        stack, "Raw", encryption=s3.BucketEncryption.KMS, encryption_key=key, bucket_key_enabled=True, enforce_ssl=True
    )
    acknowledge(bucket, "AwsSolutions-S1", "A stand-in for the lake's raw bucket, which logs its access.")
    VerifyFunction(
        stack,
        "Verify",
        resource_prefix=PREFIX,
        environment="dev",
        encryption_key=key,
        raw_bucket=bucket,
        tolerated_failure_percentage=20.0,
        ingest_memory_mb=512,
        log_retention_days=30,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        assembly = app.synth()
    except RuntimeError as error:
        report = outdir / "validation-report.json"
        pytest.fail(f"cdk-nag failed the stand-in stack: {error}\n{report.read_text() if report.exists() else ''}")
    artifact = assembly.get_stack_by_name("Verified")
    template = assertions.Template.from_json(artifact.template)
    _, function = one(template, "AWS::Lambda::Function", {"Handler": VERIFY_HANDLER})
    log_group_id, _ = one(template, "AWS::Logs::LogGroup")
    return Synthesized(
        template=template,
        template_file=Path(assembly.directory) / artifact.template_file,
        bucket_arn={"Fn::GetAtt": [one(template, "AWS::S3::Bucket")[0], "Arn"]},
        key_arn={"Fn::GetAtt": [one(template, "AWS::KMS::Key")[0], "Arn"]},
        log_group_arn={"Fn::GetAtt": [log_group_id, "Arn"]},
        role_id=function["Properties"]["Role"]["Fn::GetAtt"][0],
    )


def _stand_in(value: Any) -> str:
    """An environment value with each CloudFormation reference replaced by a placeholder."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(_stand_in(part) for part in parts)
    return STAND_IN


def _objects(bucket_arn: dict[str, Any], pattern: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [bucket_arn, f"/{pattern}"]]}


def test_the_function_runs_the_verify_handler_small_and_traced(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": f"{PREFIX}-verify",
            "Handler": VERIFY_HANDLER,
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "MemorySize": 256,
            "Timeout": 60,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": Match.any_value()}},
        },
    )


def test_the_environment_is_what_the_handler_parses(synthesized: Synthesized) -> None:
    _, function = one(synthesized.template, "AWS::Lambda::Function", {"Handler": VERIFY_HANDLER})
    variables = function["Properties"]["Environment"]["Variables"]

    settings = VerifySettings.from_env({name: _stand_in(value) for name, value in variables.items()})

    assert settings == VerifySettings(
        environment="dev",
        runs_uri=f"s3://{STAND_IN}/runs/",
        tolerated_failure_percentage=20.0,
        ingest_memory_mb=512,
    )
    assert variables["RUNS_URI"] == {
        "Fn::Join": ["", ["s3://", {"Ref": one(synthesized.template, "AWS::S3::Bucket")[0]}, "/runs/"]]
    }


def test_the_role_may_do_exactly_what_the_code_does(synthesized: Synthesized) -> None:
    statements = list(role_statements(synthesized.template, synthesized.role_id))
    access = sorted((s for s in statements if "Sid" in s), key=lambda s: s["Sid"])
    xray = [s for s in statements if "Sid" not in s]

    assert access == [
        {
            "Sid": "EncryptRunManifests",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": synthesized.key_arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"s3.{REGION}.amazonaws.com",
                    "kms:EncryptionContext:aws:s3:arn": synthesized.bucket_arn,
                }
            },
        },
        {
            "Sid": "ListRunManifests",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": synthesized.bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": "runs/*"}},
        },
        {
            "Sid": "ReadRunManifests",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": _objects(synthesized.bucket_arn, "runs/*"),
        },
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": synthesized.log_group_arn,
        },
        {
            "Sid": "WriteVerifyManifest",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": _objects(synthesized.bucket_arn, "runs/*/verify.json"),
        },
    ]
    # Active tracing's own statement; nothing else reaches the role.
    assert {action for s in xray for action in as_list(s["Action"])} == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert [s["Resource"] for s in xray] == ["*"]
    synthesized.template.resource_count_is("AWS::IAM::Policy", 2)
    synthesized.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": Match.absent(),
        },
    )


def test_the_function_waits_for_its_access_policy(synthesized: Synthesized) -> None:
    policy_id, _ = one(
        synthesized.template,
        "AWS::IAM::Policy",
        {
            "PolicyDocument": Match.object_like(
                {"Statement": Match.array_with([Match.object_like({"Sid": "ReadRunManifests"})])}
            )
        },
    )
    (function,) = synthesized.template.find_resources("AWS::Lambda::Function").values()

    assert policy_id in function["DependsOn"]


def test_the_log_group_is_its_own_encrypted_and_retained_for_the_configured_days(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/lambda/{PREFIX}-verify", "KmsKeyId": synthesized.key_arn, "RetentionInDays": 30},
    )


def test_the_stand_in_stack_passes_cfn_lint(synthesized: Synthesized) -> None:
    result = subprocess.run(
        [str(CFN_LINT), str(synthesized.template_file)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
