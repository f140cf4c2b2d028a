"""The verify Lambda: the run's last step, which checks the stages' manifests against each other.

The runtime code lives in ``lambdas/verify`` (handler and checks) and ``lakehouse`` (the manifests'
layout, the metric names); this construct packages them without Docker and gives the function
exactly the access the code exercises: it lists and reads the run manifests under ``runs/`` of the
raw bucket, writes only ``runs/<run_id>/verify.json``, and writes its own encrypted log group. Its
metrics leave as EMF in that log group, so it needs no CloudWatch permission.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.encrypted_log_group import EncryptedLogGroup
from infra.constructs.key_grants import via_service
from infra.constructs.lambda_defaults import (
    RUN_MANIFESTS,
    acknowledge_function_defaults,
    function_sources,
    run_manifest_statements,
    stage_manifest,
)
from infra.constructs.nag import acknowledge, iam5_resource_finding
from infra.constructs.python_bundling import PipLocalBundling, pip_bundling, python_lambda_code
from lakehouse.pipeline import RUNS_PREFIX, Stage
from lambdas.verify.settings import VerifySettings

__all__ = [
    "RUN_MANIFESTS",
    "VERIFY_ARCHITECTURE",
    "VERIFY_HANDLER",
    "VERIFY_MANIFEST",
    "VERIFY_RUNTIME",
    "VerifyFunction",
    "verify_bundling",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VERIFY_HANDLER = "lambdas.verify.handler.handler"
VERIFY_RUNTIME = lambda_.Runtime.PYTHON_3_12
# Graviton, as the ingest function (and the cost estimate prices ingest on arm64).
VERIFY_ARCHITECTURE = lambda_.Architecture.ARM_64
VERIFY_REQUIREMENTS = PROJECT_ROOT / "lambdas" / "verify" / "requirements.txt"
VERIFY_SOURCES = function_sources("verify")
# It reads a handful of small JSON manifests: the smallest size is plenty, and a minute is generous.
VERIFY_MEMORY_MB = 256
VERIFY_TIMEOUT = cdk.Duration.seconds(60)

# Every stage's manifests of every run (lakehouse.pipeline), and the one object verify writes.
VERIFY_MANIFEST = stage_manifest(Stage.VERIFY)


def verify_bundling() -> PipLocalBundling:
    """The exact bundler the function's asset uses, for tests that build and measure the package."""
    return pip_bundling(
        sources=VERIFY_SOURCES,
        requirements_file=VERIFY_REQUIREMENTS,
        runtime=VERIFY_RUNTIME,
        architecture=VERIFY_ARCHITECTURE,
    )


class VerifyFunction(Construct):
    """Checks a run's reconciliation across stages, records ``verify.json`` and publishes the run's metrics."""

    function: lambda_.Function
    role: iam.Role
    access_policy: iam.Policy
    log_group: EncryptedLogGroup

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        environment: str,
        encryption_key: kms.IKey,
        raw_bucket: s3.IBucket,
        tolerated_failure_percentage: float,
        ingest_memory_mb: int,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        log_level: str = "INFO",
    ) -> None:
        """``tolerated_failure_percentage``: the ingest Map's, so verify tolerates the failures the Map did.

        ``ingest_memory_mb``: the ingest function's memory, which prices its GB-seconds in the cost estimate.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        function_name = f"{resource_prefix}-verify"

        self.log_group = EncryptedLogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{function_name}",
            encryption_key=encryption_key,
            retention_in_days=log_retention_days,
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {function_name}: reads the run manifests, writes verify.json and logs.",
        )
        self.access_policy = iam.Policy(
            self,
            "AccessPolicy",
            roles=[self.role],
            statements=self._access_statements(
                region=stack.region, encryption_key=encryption_key, raw_bucket=raw_bucket
            ),
        )
        for pattern, reason in (
            (RUN_MANIFESTS, "Verify reads every stage's manifest of the run it checks; run ids are unknown at deploy."),
            (VERIFY_MANIFEST, "Verify writes runs/<run_id>/verify.json only; the run id is unknown at deploy time."),
        ):
            acknowledge(self.access_policy, iam5_resource_finding(self, raw_bucket.arn_for_objects(pattern)), reason)

        settings = VerifySettings(
            environment=environment,
            runs_uri=f"s3://{raw_bucket.bucket_name}/{RUNS_PREFIX}",
            tolerated_failure_percentage=tolerated_failure_percentage,
            ingest_memory_mb=ingest_memory_mb,
            log_level=log_level,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description="Checks a pipeline run's reconciliation across stages and publishes the run's metrics.",
            runtime=VERIFY_RUNTIME,
            architecture=VERIFY_ARCHITECTURE,
            handler=VERIFY_HANDLER,
            code=python_lambda_code(
                sources=VERIFY_SOURCES,
                requirements_file=VERIFY_REQUIREMENTS,
                runtime=VERIFY_RUNTIME,
                architecture=VERIFY_ARCHITECTURE,
            ),
            memory_size=VERIFY_MEMORY_MB,
            timeout=VERIFY_TIMEOUT,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=settings.to_env(),
        )
        # A state machine may invoke the function as soon as it exists: not before it may read the manifests.
        self.function.node.add_dependency(self.access_policy)
        acknowledge_function_defaults(self.function, self.role)

    def _access_statements(
        self, *, region: str, encryption_key: kms.IKey, raw_bucket: s3.IBucket
    ) -> list[iam.PolicyStatement]:
        """Exactly the calls the code makes (``RunManifests`` on an ``S3ObjectStore``), each on what it touches."""
        return [
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            *run_manifest_statements(raw_bucket, Stage.VERIFY),
            # SSE-KMS with a bucket key: reading a manifest needs Decrypt, a single-part PutObject a data key,
            # both through S3 and for this bucket only.
            iam.PolicyStatement(
                sid="EncryptRunManifests",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": {
                        **via_service("s3", region),
                        "kms:EncryptionContext:aws:s3:arn": raw_bucket.bucket_arn,
                    }
                },
            ),
        ]
