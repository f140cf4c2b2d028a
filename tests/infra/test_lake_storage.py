"""The lake's storage as synthesized: encryption, TLS, privacy, logging, lifecycle, retention.

Buckets are told apart by what they are (their access-log prefix, their encryption),
never by logical ids, so refactoring construct ids cannot break these tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk import assertions
from aws_cdk.assertions import Capture, Match

from infra.config import EnvironmentConfig, Zone, ZoneRetention
from lakehouse.serving import EXPORTS_PREFIX
from tests.infra.templates import lake_key

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
LOGGED_PURPOSES: tuple[str, ...] = (*(zone.value for zone in Zone), "athena-results")
# Purpose -> access-log prefix; Zone members index it too (they are str enums).
LOGGED_PREFIXES: dict[str, str] = {purpose: f"{purpose}/" for purpose in LOGGED_PURPOSES}
BUCKET_COUNT = len(LOGGED_PREFIXES) + 1  # + the access-log bucket


def _only(resources: Mapping[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, f"expected exactly one {what}, found {sorted(resources)}"
    ((logical_id, resource),) = resources.items()
    return logical_id, resource


def _key_id(template: assertions.Template) -> str:
    """The lake key (the processing job has a key of its own for bookmarks and logs)."""
    return lake_key(template)[0]


def _access_logs_bucket_id(template: assertions.Template) -> str:
    """The access-log bucket is the one bucket S3 itself encrypts (log delivery cannot use KMS)."""
    buckets = template.find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        Match.object_like({"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}})
                    ]
                }
            }
        },
    )
    return _only(buckets, "SSE-S3 access-log bucket")[0]


def _bucket_logging_to(template: assertions.Template, prefix: str) -> tuple[str, dict[str, Any]]:
    buckets = template.find_resources(
        "AWS::S3::Bucket",
        {"Properties": {"LoggingConfiguration": Match.object_like({"LogFilePrefix": prefix})}},
    )
    return _only(buckets, f"bucket logging under {prefix!r}")


def _expected_rule(
    config: EnvironmentConfig, *, ia: int | None = None, glacier: int | None = None, expiry: int | None = None
) -> Any:
    transitions: list[dict[str, Any]] = []
    if ia is not None:
        transitions.append({"StorageClass": "STANDARD_IA", "TransitionInDays": ia})
    if glacier is not None:
        transitions.append({"StorageClass": "GLACIER", "TransitionInDays": glacier})
    return Match.object_like(
        {
            "Status": "Enabled",
            "Transitions": transitions or Match.absent(),
            "ExpirationInDays": Match.absent() if expiry is None else expiry,
            "NoncurrentVersionExpiration": {"NoncurrentDays": config.retention.noncurrent_version_expiration_days},
            "AbortIncompleteMultipartUpload": {
                "DaysAfterInitiation": config.retention.abort_incomplete_multipart_upload_days
            },
        }
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_rotating_customer_managed_key_with_project_alias(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template = templates[env]
    template.resource_count_is("AWS::KMS::Key", 2)  # the lake's and the processing job's
    template.all_resources_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.resource_count_is("AWS::KMS::Alias", 1)
    template.has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": f"alias/{configs[env].project}-{env}", "TargetKeyId": {"Fn::GetAtt": [_key_id(template), "Arn"]}},
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zone_and_results_buckets_are_encrypted_with_the_lake_key(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    key_ref = Capture()
    template.resource_properties_count_is(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_ref},
                            "BucketKeyEnabled": True,
                        }
                    )
                ]
            }
        },
        len(LOGGED_PREFIXES),
    )
    expected = {"Fn::GetAtt": [_key_id(template), "Arn"]}
    seen = [key_ref.as_object()]
    while key_ref.next():
        seen.append(key_ref.as_object())
    assert seen == [expected] * len(LOGGED_PREFIXES)
    for prefix in LOGGED_PREFIXES.values():
        _, bucket = _bucket_logging_to(template, prefix)
        sse = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", prefix


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_bucket_is_private_versioned_and_refuses_sse_c(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    template.resource_count_is("AWS::S3::Bucket", BUCKET_COUNT)
    template.all_resources_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like({"BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}})
                ]
            },
            "Tags": Match.array_with(
                [{"Key": "environment", "Value": env}, {"Key": "project", "Value": "reddit-lakehouse"}]
            ),
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_bucket_policy_denies_plain_http_and_old_tls(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    for bucket_id in template.find_resources("AWS::S3::Bucket"):
        template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": bucket_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Principal": {"AWS": "*"},
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            ),
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
                                }
                            ),
                        ]
                    )
                },
            },
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_other_bucket_logs_access_to_the_log_bucket_under_its_own_prefix(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    logs_id = _access_logs_bucket_id(template)
    logged_ids = set()
    for prefix in LOGGED_PREFIXES.values():
        bucket_id, bucket = _bucket_logging_to(template, prefix)
        assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
        logged_ids.add(bucket_id)
    assert logs_id not in logged_ids
    assert logged_ids | {logs_id} == set(template.find_resources("AWS::S3::Bucket"))
    # Log delivery is granted by bucket policy (no ACLs), scoped to each source bucket's prefix.
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logs_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}})]
                )
            },
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_lifecycle_rules_follow_the_environment_config(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    retention = config.retention
    for zone in Zone:
        rule: ZoneRetention = retention.for_zone(zone)
        expected = _expected_rule(
            config,
            ia=rule.transition_to_ia_days,
            glacier=rule.transition_to_glacier_days,
            expiry=rule.expiration_days,
        )
        # The analytics zone also expires the runs' warehouse exports, sooner than its own data.
        exports = {
            "Id": "ExpireExports",
            "Prefix": EXPORTS_PREFIX,
            "ExpirationInDays": config.warehouse.export_expiration_days,
            "Status": "Enabled",
        }
        template.has_resource_properties(
            "AWS::S3::Bucket",
            {
                "LoggingConfiguration": Match.object_like({"LogFilePrefix": LOGGED_PREFIXES[zone]}),
                "LifecycleConfiguration": {"Rules": [expected, *([exports] if zone is Zone.ANALYTICS else [])]},
            },
        )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "athena-results/"}),
            "LifecycleConfiguration": {
                "Rules": [_expected_rule(config, expiry=retention.athena_results_expiration_days)]
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": Match.absent(),
            "LifecycleConfiguration": {"Rules": [_expected_rule(config, expiry=retention.access_logs_expiration_days)]},
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zones_holding_usernames_expire_first_and_quarantine_never_outlives_raw(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]

    def expiry(zone: Zone) -> int | None:
        _, bucket = _bucket_logging_to(template, LOGGED_PREFIXES[zone])
        days: int | None = bucket["Properties"]["LifecycleConfiguration"]["Rules"][0].get("ExpirationInDays")
        return days

    raw, quarantine = expiry(Zone.RAW), expiry(Zone.QUARANTINE)
    assert raw is not None
    # Quarantine holds the same unscrubbed payloads as raw: it goes no later.
    assert quarantine is not None
    assert quarantine <= raw
    scrubbed = [days for zone in (Zone.PROCESSED, Zone.ANALYTICS) if (days := expiry(zone)) is not None]
    assert all(raw < days for days in scrubbed), (raw, scrubbed)


def test_prod_retains_its_data_and_key(templates: Mapping[str, assertions.Template]) -> None:
    template = templates["prod"]
    retained = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    template.all_resources("AWS::S3::Bucket", retained)
    template.all_resources("AWS::KMS::Key", retained)
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    template.has_resource_properties("AWS::KMS::Key", {"PendingWindowInDays": 30})


def test_dev_is_disposable(templates: Mapping[str, assertions.Template]) -> None:
    template = templates["dev"]
    deleted = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    template.all_resources("AWS::S3::Bucket", deleted)
    template.all_resources("AWS::KMS::Key", deleted)
    # auto_delete_objects empties each bucket so the stack can really be destroyed.
    template.resource_count_is("Custom::S3AutoDeleteObjects", BUCKET_COUNT)
    template.has_resource_properties("AWS::KMS::Key", {"PendingWindowInDays": 7})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bucket_names_are_generated_and_exported_as_outputs(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    # CDK generates names (no collisions across accounts); operators read them from outputs.
    template.all_resources_properties("AWS::S3::Bucket", {"BucketName": Match.absent()})
    outputs = template.find_outputs("*")
    bucket_refs = {json_ref["Value"]["Ref"] for name, json_ref in outputs.items() if name.endswith("BucketName")}
    assert bucket_refs == set(template.find_resources("AWS::S3::Bucket"))
