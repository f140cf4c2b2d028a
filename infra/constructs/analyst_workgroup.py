"""The environment's Athena workgroup: where the views are published and where analysts query.

Its configuration is enforced, so no client can override it: Athena engine version 3, results in the
results bucket encrypted with the lake's key (SSE-KMS), CloudWatch metrics on, and a cutoff of bytes
scanned per query from config, which fails a runaway query instead of billing it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

__all__ = ["ATHENA_ENGINE_VERSION", "RESULTS_PREFIX", "AnalystWorkgroup"]

ATHENA_ENGINE_VERSION = "Athena engine version 3"
RESULTS_PREFIX = "athena/"


class AnalystWorkgroup(Construct):
    workgroup: athena.CfnWorkGroup
    workgroup_name: str
    workgroup_arn: str

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workgroup_name: str,
        results_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        bytes_scanned_cutoff_mb: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.workgroup_name = workgroup_name
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=workgroup_name,
            description="Reddit lakehouse: the analysts' views and queries (configuration enforced).",
            state="ENABLED",
            # A destroyed environment takes its saved queries and history along.
            recursive_delete_option=removal_policy == cdk.RemovalPolicy.DESTROY,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff_mb * 1024 * 1024,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version=ATHENA_ENGINE_VERSION),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{results_bucket.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=encryption_key.key_arn
                    ),
                ),
            ),
        )
        self.workgroup.apply_removal_policy(removal_policy)
        self.workgroup_arn = cdk.Stack.of(self).format_arn(
            service="athena", resource="workgroup", resource_name=workgroup_name
        )
