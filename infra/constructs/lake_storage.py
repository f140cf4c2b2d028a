"""The lake's storage: one customer-managed key and one bucket per zone.

A bucket per zone (rather than prefixes of one bucket) gives each zone its own
lifecycle, its own bucket policy and IAM grants that cannot leak across zones.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import RetentionConfig, Zone
from infra.constructs.secure_bucket import BucketLifecycle, SecureBucket
from lakehouse.serving import EXPORTS_PREFIX

__all__ = ["LakeStorage"]


class LakeStorage(Construct):
    """KMS key, zone buckets, an Athena results bucket and their access-log bucket."""

    key: kms.Key
    access_logs_bucket: SecureBucket
    raw_bucket: SecureBucket
    processed_bucket: SecureBucket
    analytics_bucket: SecureBucket
    quarantine_bucket: SecureBucket
    athena_results_bucket: SecureBucket
    zone_buckets: Mapping[Zone, SecureBucket]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        retention: RetentionConfig,
        exports_expiration_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        """``resource_prefix`` is ``{project}-{env}``; named resources start with it.

        ``exports_expiration_days``: how long the analytics zone keeps a run's warehouse export."""
        super().__init__(scope, construct_id)
        destroy = removal_policy == cdk.RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{resource_prefix}",
            description=f"Encrypts the {resource_prefix} data lake (all zones and Athena results).",
            enable_key_rotation=True,
            # A destroyed dev stack should free its key soon; prod keeps the safest window.
            pending_window=cdk.Duration.days(7 if destroy else 30),
            removal_policy=removal_policy,
        )

        self.access_logs_bucket = SecureBucket(
            self,
            "AccessLogsBucket",
            encryption_key=None,
            access_logs_bucket=None,
            lifecycle=BucketLifecycle(
                noncurrent_version_expiration_days=retention.noncurrent_version_expiration_days,
                abort_incomplete_multipart_upload_days=retention.abort_incomplete_multipart_upload_days,
                expiration_days=retention.access_logs_expiration_days,
            ),
            removal_policy=removal_policy,
        )
        cdk.Validations.of(self.access_logs_bucket).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the server access log destination; logging it into itself would loop.",
            )
        )

        def data_bucket(
            construct_id: str, purpose: str, lifecycle: BucketLifecycle, *extra_rules: s3.LifecycleRule
        ) -> SecureBucket:
            return SecureBucket(
                self,
                construct_id,
                encryption_key=self.key,
                access_logs_bucket=self.access_logs_bucket,
                access_logs_prefix=f"{purpose}/",
                lifecycle=lifecycle,
                extra_lifecycle_rules=extra_rules,
                removal_policy=removal_policy,
            )

        def zone_lifecycle(zone: Zone) -> BucketLifecycle:
            rule = retention.for_zone(zone)
            return BucketLifecycle(
                noncurrent_version_expiration_days=retention.noncurrent_version_expiration_days,
                abort_incomplete_multipart_upload_days=retention.abort_incomplete_multipart_upload_days,
                transition_to_ia_days=rule.transition_to_ia_days,
                transition_to_glacier_days=rule.transition_to_glacier_days,
                expiration_days=rule.expiration_days,
            )

        self.raw_bucket = data_bucket("RawBucket", Zone.RAW.value, zone_lifecycle(Zone.RAW))
        self.processed_bucket = data_bucket("ProcessedBucket", Zone.PROCESSED.value, zone_lifecycle(Zone.PROCESSED))
        # A run's export serves that run's load: it need not live as long as the zone's data.
        expire_exports = s3.LifecycleRule(
            id="ExpireExports", prefix=EXPORTS_PREFIX, expiration=cdk.Duration.days(exports_expiration_days)
        )
        self.analytics_bucket = data_bucket(
            "AnalyticsBucket", Zone.ANALYTICS.value, zone_lifecycle(Zone.ANALYTICS), expire_exports
        )
        self.quarantine_bucket = data_bucket("QuarantineBucket", Zone.QUARANTINE.value, zone_lifecycle(Zone.QUARANTINE))
        self.athena_results_bucket = data_bucket(
            "AthenaResultsBucket",
            "athena-results",
            BucketLifecycle(
                noncurrent_version_expiration_days=retention.noncurrent_version_expiration_days,
                abort_incomplete_multipart_upload_days=retention.abort_incomplete_multipart_upload_days,
                expiration_days=retention.athena_results_expiration_days,
            ),
        )
        self.zone_buckets = MappingProxyType(
            {
                Zone.RAW: self.raw_bucket,
                Zone.PROCESSED: self.processed_bucket,
                Zone.ANALYTICS: self.analytics_bucket,
                Zone.QUARANTINE: self.quarantine_bucket,
            }
        )

    @property
    def all_buckets(self) -> tuple[SecureBucket, ...]:
        """Every bucket this construct owns, the access-log bucket included."""
        return (*self.zone_buckets.values(), self.athena_results_bucket, self.access_logs_bucket)
