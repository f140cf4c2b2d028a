"""The processing job (Glue 5.1 PySpark) and what only it uses: its PII key, role, keys, log groups and alarms.

The runtime code lives in ``glue_jobs/process_posts`` (``glue_entry.py`` is the script) and
``lakehouse``; both packages ship as one deterministic zip in ``--extra-py-files``, and the
third-party modules as pinned wheels (``infra.constructs.python_wheels``) that Glue installs
without reaching PyPI. The job reads new raw snapshots (job bookmarks), rewrites the touched
months of the processed tables, sets rows aside under ``process/`` in quarantine and publishes
its counts as metrics.

Two keys: the lake key encrypts the data (S3 output) and the PII key's secret, and every grant on
it is conditioned on the service and the resource it is used for. Job bookmarks are encrypted
client-side (the job itself calls KMS, so no condition can apply) and the job's logs are not lake
data: both use a key of the job's own, so the one unconditioned grant reaches nothing else.

Logs go to two log groups the stack owns (``<prefix>/error`` and ``<prefix>/output``, Glue 5's
``--custom-logGroup-prefix``), encrypted with the job's key and kept ``log_retention_days``.

Access is granted by hand rather than through the L2's grants: ``Code`` assets would grant
``s3:GetObject*``/``s3:List*`` on the whole CDK assets bucket, so the job gets a view of its
role that ignores grants, and one policy lists exactly what the job does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from glue_jobs.process_posts.arguments import UNCHECKED_FINGERPRINT, JobArguments
from infra.config import GlueConfig
from infra.constructs.alarm_topic import AlarmTopic
from infra.constructs.encrypted_log_group import EncryptedLogGroup
from infra.constructs.key_grants import via_service
from infra.constructs.nag import acknowledge, iam5_resource_finding
from infra.constructs.python_wheels import PinnedWheels, WheelTarget, pins_from_requirements
from infra.constructs.python_zip_asset import PackageSource, PythonZipAsset
from infra.constructs.stack_secret import StackSecret, restrict_reads, stack_secret
from lakehouse import metrics
from lakehouse.pipeline import RUNS_PREFIX, Stage
from lakehouse.tables import (
    POST_EXCLUSIONS,
    PROCESS_QUARANTINE_PREFIX,
    PROCESSED_COMMENTS,
    PROCESSED_POSTS,
    RAW_COMMENTS,
    RAW_POSTS,
)

__all__ = [
    "ADDITIONAL_PYTHON_MODULES",
    "FAILURE_STATES",
    "GLUE_LOG_STREAMS",
    "GLUE_VERSION",
    "GLUE_WHEEL_TARGET",
    "JOB_LIBRARIES",
    "JOB_SCRIPT",
    "METRICS_JOB_DIMENSION",
    "METRICS_NAMESPACE",
    "PROCESSED_PREFIXES",
    "QUARANTINE_PREFIX",
    "RAW_PREFIXES",
    "ProcessingJob",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GLUE_VERSION = glue.GlueVersion.V5_1
"""Spark 3.5.6 and Python 3.11: exactly what the local run and the Spark tests use."""
JOB_SCRIPT = PROJECT_ROOT / "glue_jobs" / "process_posts" / "glue_entry.py"
# The job and the runtime package whole (the offline tools live apart, in lakehouse_tools).
JOB_LIBRARIES: tuple[PackageSource, ...] = (
    (PROJECT_ROOT / "glue_jobs" / "__init__.py", "glue_jobs/__init__.py"),
    (PROJECT_ROOT / "glue_jobs" / "process_posts", "glue_jobs/process_posts"),
    (PROJECT_ROOT / "lakehouse", "lakehouse"),
)
# The job's third-party modules; their versions are requirements.txt's pins (orjson: lakehouse.domain.reddit,
# in the job's zip, imports it). Shipped as wheels for Glue 5.1's interpreter and platform.
ADDITIONAL_PYTHON_MODULES = ("vaderSentiment", "langdetect", "orjson")
REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
GLUE_WHEEL_TARGET = WheelTarget(python_version="3.11", platforms=("manylinux2014_x86_64", "manylinux_2_17_x86_64"))
# glue_entry._publish: the namespace is an argument, the job dimension is fixed in the script.
METRICS_NAMESPACE = metrics.NAMESPACE
METRICS_JOB_DIMENSION = metrics.PROCESS_JOB
# --enable-metrics / --enable-observability-metrics: Glue publishes these with the job's role.
GLUE_METRICS_NAMESPACE = "Glue"
RAW_PREFIXES = (RAW_POSTS.prefix, RAW_COMMENTS.prefix)
# glue_jobs.process_posts.io.LakePaths: the processed tables' roots and the job's quarantine root.
PROCESSED_PREFIXES = (PROCESSED_POSTS.prefix, PROCESSED_COMMENTS.prefix, POST_EXCLUSIONS.prefix)
QUARANTINE_PREFIX = PROCESS_QUARANTINE_PREFIX
# The job's run manifests in the raw bucket: runs/<run_id>/process.json (lakehouse.pipeline).
PROCESS_MANIFESTS = f"{RUNS_PREFIX}*/{Stage.PROCESS.value}.json"
# "Glue Job State Change" states that mean a run produced nothing (STOPPED is an operator's choice).
FAILURE_STATES = ("FAILED", "TIMEOUT", "ERROR")
# Glue 5 writes a run's driver/executor logs to <prefix>/error and its stdout/stderr to <prefix>/output.
GLUE_LOG_STREAMS = ("error", "output")
# CloudFormation replaces a security configuration on any change, and a fixed name cannot be replaced in
# place: bump this with every change of its encryption settings.
_SECURITY_CONFIGURATION_REVISION = 2

_QUALITY_ALARM_PERIOD = cdk.Duration.minutes(5)


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """An SNS rule target that grants nothing itself: :meth:`AlarmTopic.allow_event_rule` scopes access."""

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self._topic = topic
        self._message = message

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn, input=self._message)


class ProcessingJob(Construct):
    """Turns new raw snapshots into the processed zone; a failed run or a quality breach pages someone."""

    job: glue.PySparkEtlJob
    role: iam.Role
    access_policy: iam.Policy
    job_key: kms.Key
    log_groups: tuple[EncryptedLogGroup, ...]
    log_group_prefix: str
    security_configuration: glue.SecurityConfiguration
    pii_secret: secretsmanager.ISecret
    pii_secret_policy: secretsmanager.CfnResourcePolicy
    script: s3_assets.Asset
    libraries: PythonZipAsset
    python_modules: PinnedWheels
    failure_rule: events.Rule
    quality_alarm: cloudwatch.Alarm
    _pii_secret: StackSecret

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        environment: str,
        settings: GlueConfig,
        encryption_key: kms.IKey,
        raw_bucket: s3.IBucket,
        processed_bucket: s3.IBucket,
        quarantine_bucket: s3.IBucket,
        alarms: AlarmTopic,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        pii_key_secret_name: str | None = None,
        pii_key_fingerprint: str | None = None,
        max_retries: int = 0,
    ) -> None:
        """``max_retries`` defaults to 0: a run that failed its quality gate fails the same way again,
        and the orchestrator (not Glue) decides when a transient failure is worth another run.

        ``pii_key_secret_name``: the PII key created out of band (``infra.constructs.stack_secret``);
        ``None`` generates one. ``pii_key_fingerprint``: the key every run must find there
        (``None``: not checked).
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        job_name = f"{resource_prefix}-process-posts"

        self._pii_secret = stack_secret(
            self,
            "PiiKeySecret",
            existing_name=pii_key_secret_name,
            description=(
                f"HMAC key of {job_name}'s author pseudonyms (author_hash). Never rotate or replace it: "
                "every pseudonym would change and distinct-author counts would break across time."
            ),
            generator=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            no_rotation_reason=(
                "Rotating the pseudonym HMAC key would change every author_hash, breaking distinct-author "
                "counts and joins across time; the key never leaves Secrets Manager and the job."
            ),
        )
        self.pii_secret = self._pii_secret.secret

        self.job_key = kms.Key(
            self,
            "JobKey",
            description=f"Encrypts the Glue job {job_name}'s bookmarks and log groups (never lake data).",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(7 if removal_policy == cdk.RemovalPolicy.DESTROY else 30),
            removal_policy=removal_policy,
        )
        # The key policy is CDK's default (the account administers it, IAM grants its use) plus, per log
        # group, CloudWatch Logs for that group's data only (EncryptedLogGroup adds those statements).
        self.log_group_prefix = f"/aws-glue/jobs/{job_name}"
        self.log_groups = tuple(
            EncryptedLogGroup(
                self,
                f"{stream.title()}LogGroup",
                log_group_name=f"{self.log_group_prefix}/{stream}",
                encryption_key=self.job_key,
                retention_in_days=log_retention_days,
                removal_policy=removal_policy,
            )
            for stream in GLUE_LOG_STREAMS
        )

        # S3 output with the lake key, bookmarks with the job's key. No CloudWatch encryption here: the
        # log groups are the stack's and encrypted at the group; Glue would otherwise derive its own group
        # names from this configuration (suffixes undocumented for custom prefixes) and create them itself.
        self.security_configuration = glue.SecurityConfiguration(
            self,
            "SecurityConfiguration",
            security_configuration_name=f"{job_name}-r{_SECURITY_CONFIGURATION_REVISION}",
            s3_encryption=glue.S3Encryption.kms(encryption_key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(self.job_key),
            # It holds no data, and the L2's default (retain) would leave its fixed name taken after a
            # stack deletion, failing the next deployment of the same environment.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

        self.script = s3_assets.Asset(self, "Script", path=str(JOB_SCRIPT))
        self.libraries = PythonZipAsset(self, "Libraries", sources=JOB_LIBRARIES, file_name="glue_libs.zip")
        self.python_modules = PinnedWheels(
            self,
            "PythonModules",
            pins=pins_from_requirements(REQUIREMENTS, ADDITIONAL_PYTHON_MODULES),
            target=GLUE_WHEEL_TARGET,
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"Role of the Glue job {job_name}: reads raw, rewrites processed, writes quarantine.",
        )
        self.access_policy = iam.Policy(
            self,
            "AccessPolicy",
            roles=[self.role],
            statements=self._access_statements(
                region=stack.region,
                encryption_key=encryption_key,
                raw_bucket=raw_bucket,
                processed_bucket=processed_bucket,
                quarantine_bucket=quarantine_bucket,
            ),
        )
        self._acknowledge_wildcards(raw_bucket, processed_bucket, quarantine_bucket)
        # Only the job reads the key, whatever else the account's policies grant.
        self.pii_secret_policy = restrict_reads(self, "PiiKeySecretPolicy", self._pii_secret, [self.role])

        self.job = glue.PySparkEtlJob(
            self,
            "Job",
            job_name=job_name,
            description="Validates, dedupes, filters, enriches and PII-scrubs new raw snapshots into processed.",
            # The L2 would add wildcard grants on the assets bucket; the access policy covers the code.
            role=self.role.without_policy_updates(),
            script=glue.Code.from_bucket(self.script.bucket, self.script.s3_object_key),
            extra_python_files=[glue.Code.from_bucket(self.libraries.asset.bucket, self.libraries.asset.s3_object_key)],
            glue_version=GLUE_VERSION,
            worker_configuration=glue.WorkerConfiguration(
                worker_type=glue.WorkerType[settings.worker_type.replace(".", "_")],
                number_of_workers=settings.number_of_workers,
            ),
            # Job bookmarks and dynamic partition overwrite both assume a single writer.
            max_concurrent_runs=1,
            max_retries=max_retries,
            timeout=cdk.Duration.minutes(settings.timeout_minutes),
            security_configuration=self.security_configuration,
            continuous_logging=glue.ContinuousLoggingProps(enabled=True),
            enable_metrics=True,
            enable_observability_metrics=True,
            default_arguments={
                "--job-bookmark-option": "job-bookmark-enable",
                "--custom-logGroup-prefix": self.log_group_prefix,
                # Exactly these wheel files, and no index: nothing is fetched from PyPI at run time.
                "--additional-python-modules": ",".join(self.python_modules.s3_uris),
                "--python-modules-installer-option": "--no-index",
                **JobArguments(
                    raw_uri=f"s3://{raw_bucket.bucket_name}/",
                    processed_uri=f"s3://{processed_bucket.bucket_name}/",
                    quarantine_uri=f"s3://{quarantine_bucket.bucket_name}/",
                    pii_secret_arn=self._pii_secret.arn,
                    metrics_namespace=METRICS_NAMESPACE,
                    environment=environment,
                    pii_key_fingerprint=pii_key_fingerprint or UNCHECKED_FINGERPRINT,
                    runs_uri=f"s3://{raw_bucket.bucket_name}/{RUNS_PREFIX}",
                ).to_glue(),
            },
        )
        acknowledge(
            self.job,
            "AwsSolutions-GL1",
            "The job's logs are encrypted at the log group: Glue writes to the stack's own log groups "
            f"({self.log_group_prefix}/error, /output), which are KMS-encrypted with the job's key. CloudWatch "
            "encryption in the security configuration would make Glue create differently named groups itself.",
        )
        # A run started before the policy is attached would fail on its first S3 read.
        self.job.node.add_dependency(self.access_policy)

        self.failure_rule = self._failure_rule(job_name, alarms)
        self.quality_alarm = self._quality_alarm(job_name, environment, alarms.topic)

    def _access_statements(
        self,
        *,
        region: str,
        encryption_key: kms.IKey,
        raw_bucket: s3.IBucket,
        processed_bucket: s3.IBucket,
        quarantine_bucket: s3.IBucket,
    ) -> list[iam.PolicyStatement]:
        """Exactly what the job (and Glue on its behalf) does, each on the resources it touches.

        Object grants use ``<prefix>*`` rather than ``<prefix>/*``: Spark probes the directory
        key itself (``posts``) before reading or overwriting it, and a denied probe fails the run.
        """

        def objects(bucket: s3.IBucket, prefixes: Sequence[str]) -> list[str]:
            return [bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]

        def via(service: str) -> dict[str, Any]:
            return via_service(service, region)

        def bucket_context(*buckets: s3.IBucket) -> list[str]:
            # The bucket's ARN with an S3 Bucket Key (SecureBucket's default); the object's without.
            return [arn for bucket in buckets for arn in (bucket.bucket_arn, bucket.arn_for_objects("*"))]

        output_actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        return [
            # Glue downloads the script, the libraries and the module wheels with the job's role.
            iam.PolicyStatement(
                sid="ReadJobCode",
                actions=["s3:GetObject"],
                resources=[
                    self.script.bucket.arn_for_objects(self.script.s3_object_key),
                    self.libraries.asset.bucket.arn_for_objects(self.libraries.asset.s3_object_key),
                    *self.python_modules.object_arns,
                ],
            ),
            iam.PolicyStatement(
                sid="ReadRawSnapshots",
                actions=["s3:GetObject"],
                resources=objects(raw_bucket, RAW_PREFIXES),
            ),
            # Not limited by s3:prefix: for a missing key S3 answers 404 only to a caller allowed to
            # list the bucket without conditions (403 otherwise), and the job probes missing paths
            # every run (new job_run directories, a first month). Listing shows key names only;
            # GetBucketLocation (the bucket's region) is what Glue's S3 client asks before the first call.
            iam.PolicyStatement(
                sid="ListZones",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[raw_bucket.bucket_arn, processed_bucket.bucket_arn, quarantine_bucket.bucket_arn],
            ),
            # Dynamic partition overwrite: stage under the table root, then replace the touched months.
            iam.PolicyStatement(
                sid="RewriteProcessedTables",
                actions=output_actions,
                resources=objects(processed_bucket, PROCESSED_PREFIXES),
            ),
            iam.PolicyStatement(
                sid="WriteQuarantine",
                actions=output_actions,
                resources=objects(quarantine_bucket, (QUARANTINE_PREFIX,)),
            ),
            # record_process_pass: read the run's manifest (a rerun's earlier passes), write it back.
            iam.PolicyStatement(
                sid="RecordRunManifest",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[raw_bucket.arn_for_objects(PROCESS_MANIFESTS)],
            ),
            iam.PolicyStatement(
                sid="EncryptRunManifest",
                actions=["kms:GenerateDataKey"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": via("s3"),
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": bucket_context(raw_bucket)},
                },
            ),
            iam.PolicyStatement(
                sid="DecryptRawObjects",
                actions=["kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": via("s3"),
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": bucket_context(raw_bucket)},
                },
            ),
            iam.PolicyStatement(
                sid="EncryptOutputObjects",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": via("s3"),
                    "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": bucket_context(processed_bucket, quarantine_bucket)
                    },
                },
            ),
            *self._pii_secret.read_statements("PiiKey", encryption_key, region),
            # CSE-KMS bookmarks: the job itself calls KMS, so there is no kms:ViaService to condition on.
            # That is why bookmarks have a key of their own: this grant reaches no lake data, no secret.
            iam.PolicyStatement(
                sid="EncryptJobBookmarks",
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.job_key.key_arn],
            ),
            # The stack's log groups exist (encrypted, with retention): Glue only adds streams and events.
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn for log_group in self.log_groups],
            ),
            iam.PolicyStatement(
                sid="PublishJobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": [METRICS_NAMESPACE, GLUE_METRICS_NAMESPACE]}},
            ),
        ]

    def _acknowledge_wildcards(
        self, raw_bucket: s3.IBucket, processed_bucket: s3.IBucket, quarantine_bucket: s3.IBucket
    ) -> None:
        """One IAM5 acknowledgement per wildcard, each with why the name cannot be known at deploy time."""
        prefixes = (
            *((raw_bucket, prefix, "reads run-named raw snapshot parts under") for prefix in RAW_PREFIXES),
            *(
                (processed_bucket, prefix, "rewrites Spark-named Parquet parts (per month) under")
                for prefix in PROCESSED_PREFIXES
            ),
            (quarantine_bucket, QUARANTINE_PREFIX, "writes run-named quarantine parts under"),
        )
        acknowledge(
            self.access_policy,
            iam5_resource_finding(self, raw_bucket.arn_for_objects(PROCESS_MANIFESTS)),
            "The job records each run's counts in runs/<run_id>/process.json; run ids are made per execution.",
        )
        for bucket, prefix, what in prefixes:
            acknowledge(
                self.access_policy,
                iam5_resource_finding(self, bucket.arn_for_objects(f"{prefix}*")),
                f"The job {what} {prefix}/ (and probes the {prefix} key itself); names are made at run time.",
            )
        acknowledge(
            self.access_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the "
            "job's own namespace and Glue's.",
        )

    def _failure_rule(self, job_name: str, alarms: AlarmTopic) -> events.Rule:
        """Glue emits a state change event per run: a failed, errored or timed-out run is an alarm."""
        rule = events.Rule(
            self,
            "FailureRule",
            rule_name=f"{job_name}-failed",
            description=f"Notifies the alarm topic when a {job_name} run fails, errors or times out.",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [job_name], "state": list(FAILURE_STATES)},
            ),
        )
        message = events.RuleTargetInput.from_text(
            f"Glue job {events.EventField.from_path('$.detail.jobName')} run "
            f"{events.EventField.from_path('$.detail.jobRunId')} ended "
            f"{events.EventField.from_path('$.detail.state')}: {events.EventField.from_path('$.detail.message')}"
        )
        rule.add_target(_TopicTarget(alarms.topic, message))
        alarms.allow_event_rule(rule)
        return rule

    def _quality_alarm(self, job_name: str, environment: str, topic: sns.ITopic) -> cloudwatch.Alarm:
        """The job publishes ``quality_breaches`` every run (0 when the gate passes)."""
        alarm = cloudwatch.Alarm(
            self,
            "QualityAlarm",
            alarm_name=f"{job_name}-quality-breaches",
            alarm_description=(
                "The processing job's data-quality gate failed. Unique ids, null keys, value ranges or PII "
                "residue: nothing was written. Reconciliation or rewritten_months (checked after the write, read "
                "back): the touched months were rewritten and do not account for every row; the bookmark did not "
                "move, so the next run rewrites them. The run's error log names the rule and its numbers."
            ),
            metric=cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=metrics.ProcessMetric.QUALITY_BREACHES,
                dimensions_map={"job": METRICS_JOB_DIMENSION, "environment": environment},
                statistic=cloudwatch.Stats.MAXIMUM,
                period=_QUALITY_ALARM_PERIOD,
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No run in the period means nothing breached.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm
