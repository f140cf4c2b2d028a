"""The publish Lambda: creates or replaces the analysts' views and UNLOADs the run's export, in Athena.

The runtime code lives in ``lambdas/publish`` and ``lakehouse.serving``; the SQL it sends lives in
``sql/`` and ships inside the package. Athena reads and writes S3 with the caller's credentials, so the
role holds what the queries touch, and nothing else:

- Athena: start and read queries in the environment's workgroup only;
- Glue: read the database and its tables; create, update and delete only the views (``v_*``);
- S3: read the processed zone's posts and comments and the analytics zone's scores; write and empty only
  ``exports/`` of the analytics bucket; read and write the workgroup's results (``athena/``);
- KMS: the lake key through S3 only; the run manifests as the other stages use them.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.analyst_workgroup import RESULTS_PREFIX, AnalystWorkgroup
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
from infra.constructs.python_bundling import python_lambda_code
from lakehouse.pipeline import RUNS_PREFIX, Stage
from lakehouse.serving import EXPORTS_PREFIX, VIEW_PREFIX
from lakehouse.tables import OPPORTUNITY_SCORES, PROCESSED_COMMENTS, PROCESSED_POSTS
from lambdas.publish.settings import PublishSettings

__all__ = ["PUBLISH_HANDLER", "PUBLISH_SOURCES", "PUBLISH_TIMEOUT", "PublishFunction"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PUBLISH_HANDLER = "lambdas.publish.handler.handler"
PUBLISH_RUNTIME = lambda_.Runtime.PYTHON_3_12
PUBLISH_ARCHITECTURE = lambda_.Architecture.ARM_64
PUBLISH_REQUIREMENTS = PROJECT_ROOT / "lambdas" / "publish" / "requirements.txt"
# The SQL goes inside the package, where lakehouse.serving finds it (beside the lakehouse package).
PUBLISH_SOURCES = (*function_sources("publish"), (PROJECT_ROOT / "sql", "sql"))
PUBLISH_MEMORY_MB = 256
# Eight short queries waited for: minutes, not seconds, when Athena queues them.
PUBLISH_TIMEOUT = cdk.Duration.minutes(10)


class PublishFunction(Construct):
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
        encryption_key: kms.IKey,
        raw_bucket: s3.IBucket,
        processed_bucket: s3.IBucket,
        analytics_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        workgroup: AnalystWorkgroup,
        database_name: str,
        copy_role_arn: str,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        log_level: str = "INFO",
    ) -> None:
        """``copy_role_arn``: the role the warehouse's COPY assumes, named in the load statements it renders."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        function_name = f"{resource_prefix}-publish"
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
            description=f"Execution role of {function_name}: Athena views and the run's UNLOAD, and their data.",
        )
        catalog = stack.format_arn(service="glue", resource="catalog")
        database = stack.format_arn(service="glue", resource="database", resource_name=database_name)
        tables = stack.format_arn(service="glue", resource="table", resource_name=f"{database_name}/*")
        views = stack.format_arn(service="glue", resource="table", resource_name=f"{database_name}/{VIEW_PREFIX}*")
        read_objects = [
            processed_bucket.arn_for_objects(f"{PROCESSED_POSTS.prefix}/*"),
            processed_bucket.arn_for_objects(f"{PROCESSED_COMMENTS.prefix}/*"),
            analytics_bucket.arn_for_objects(f"{OPPORTUNITY_SCORES.prefix}/*"),
        ]
        statements = [
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            *run_manifest_statements(raw_bucket, Stage.PUBLISH),
            iam.PolicyStatement(
                sid="RunQueriesInTheWorkgroup",
                actions=["athena:StartQueryExecution", "athena:GetQueryExecution"],
                resources=[workgroup.workgroup_arn],
            ),
            iam.PolicyStatement(
                sid="ReadTheCatalog",
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
                resources=[catalog, database, tables],
            ),
            iam.PolicyStatement(
                sid="ReplaceTheViews",
                actions=["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"],
                resources=[catalog, database, views],
            ),
            iam.PolicyStatement(
                sid="ListWhatTheQueriesRead",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[processed_bucket.bucket_arn, analytics_bucket.bucket_arn, results_bucket.bucket_arn],
            ),
            iam.PolicyStatement(sid="ReadWhatTheQueriesRead", actions=["s3:GetObject"], resources=read_objects),
            iam.PolicyStatement(
                sid="WriteAndEmptyTheExports",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[analytics_bucket.arn_for_objects(f"{EXPORTS_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="QueryResults",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                resources=[results_bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="LakeKeyThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[encryption_key.key_arn],
                conditions={"StringEquals": via_service("s3", stack.region)},
            ),
        ]
        self.access_policy = iam.Policy(self, "AccessPolicy", roles=[self.role], statements=statements)
        for resource, reason in (
            (raw_bucket.arn_for_objects(RUN_MANIFESTS), "Publish reads the run's manifests; run ids are unknown."),
            (
                raw_bucket.arn_for_objects(stage_manifest(Stage.PUBLISH)),
                "Publish writes runs/<run_id>/publish.json only; run ids are unknown at deploy time.",
            ),
            (tables, "Athena reads the definitions of every table a view or an export selects from."),
            (views, "CREATE OR REPLACE VIEW writes the views' Glue tables (v_*) only."),
            *(
                (arn, "Athena reads the table's objects, of every partition, with the caller's credentials.")
                for arn in read_objects
            ),
            (
                analytics_bucket.arn_for_objects(f"{EXPORTS_PREFIX}*"),
                "UNLOAD writes each run's export under exports/run_id=<run>/; the function empties that prefix first.",
            ),
            (
                results_bucket.arn_for_objects(f"{RESULTS_PREFIX}*"),
                "Athena writes each query's result file under the workgroup's results prefix.",
            ),
        ):
            acknowledge(self.access_policy, iam5_resource_finding(self, resource), reason)

        settings = PublishSettings(
            runs_uri=f"s3://{raw_bucket.bucket_name}/{RUNS_PREFIX}",
            exports_uri=f"s3://{analytics_bucket.bucket_name}/{EXPORTS_PREFIX}",
            workgroup=workgroup.workgroup_name,
            database=database_name,
            copy_role_arn=copy_role_arn,
            log_level=log_level,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description="Creates or replaces the Athena views and UNLOADs a run's increment for the warehouse.",
            runtime=PUBLISH_RUNTIME,
            architecture=PUBLISH_ARCHITECTURE,
            handler=PUBLISH_HANDLER,
            code=python_lambda_code(
                sources=PUBLISH_SOURCES,
                requirements_file=PUBLISH_REQUIREMENTS,
                runtime=PUBLISH_RUNTIME,
                architecture=PUBLISH_ARCHITECTURE,
            ),
            memory_size=PUBLISH_MEMORY_MB,
            timeout=PUBLISH_TIMEOUT,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=settings.to_env(),
        )
        self.function.node.add_dependency(self.access_policy)
        acknowledge_function_defaults(self.function, self.role)
