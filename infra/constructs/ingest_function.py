"""The ingest Lambda and what only it uses: its Reddit secret, cursor table, log group, dead letters and alarms.

The runtime code lives in ``lambdas/ingest`` (handler) and ``lakehouse`` (shared rules); this
construct packages them without Docker and gives the function exactly the access the code
exercises: objects under ``posts/`` and ``comments/`` of the raw bucket and its own run manifests
(``runs/*/ingest/``), under ``ingest/`` of the quarantine bucket, GetItem/PutItem on its own table,
one secret (which only it may read).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import IngestConfig
from infra.constructs.dead_letter_queue import dead_letter_key_statement, dead_letter_queue
from infra.constructs.encrypted_log_group import EncryptedLogGroup
from infra.constructs.key_grants import via_service
from infra.constructs.lambda_defaults import (
    acknowledge_function_defaults,
    function_sources,
)
from infra.constructs.nag import acknowledge, iam5_resource_finding
from infra.constructs.python_bundling import PipLocalBundling, pip_bundling, python_lambda_code
from infra.constructs.stack_secret import StackSecret, restrict_reads, stack_secret
from lakehouse import metrics
from lakehouse.pipeline import RUNS_PREFIX, Stage
from lakehouse.tables import INGEST_QUARANTINE, RAW_COMMENTS, RAW_POSTS
from lambdas.ingest.settings import RequestShare, RetryPolicy, RuntimeSettings

__all__ = [
    "INGEST_ARCHITECTURE",
    "INGEST_HANDLER",
    "INGEST_RUNTIME",
    "IngestFunction",
    "ingest_bundling",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INGEST_HANDLER = "lambdas.ingest.handler.handler"
INGEST_RUNTIME = lambda_.Runtime.PYTHON_3_12
# Graviton: ~20% cheaper per GB-second, and the function mostly waits on Reddit's rate limit.
INGEST_ARCHITECTURE = lambda_.Architecture.ARM_64
INGEST_REQUIREMENTS = PROJECT_ROOT / "lambdas" / "ingest" / "requirements.txt"
INGEST_SOURCES = function_sources("ingest")

# Each invocation's run manifest: runs/<run_id>/ingest/<subreddit>.json (lakehouse.pipeline).
INGEST_MANIFESTS = f"{RUNS_PREFIX}*/{Stage.INGEST.value}/*"

_ALARM_PERIOD = cdk.Duration.minutes(5)
_MAX_EVENT_AGE = cdk.Duration.hours(1)


def ingest_bundling() -> PipLocalBundling:
    """The exact bundler the function's asset uses, for tests that build and measure the package."""
    return pip_bundling(
        sources=INGEST_SOURCES,
        requirements_file=INGEST_REQUIREMENTS,
        runtime=INGEST_RUNTIME,
        architecture=INGEST_ARCHITECTURE,
    )


@jsii.implements(lambda_.IDestination)
class _QueueOnFailure:
    """An SQS on-failure destination that grants nothing by itself.

    CDK's ``SqsDestination`` would grant queue reads and ``kms:ReEncrypt*`` /
    ``kms:GenerateDataKey*`` too; the function's access policy already allows exactly
    ``sqs:SendMessage`` and the key use SQS needs.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self,
        scope: Construct,
        fn: lambda_.IFunction,
        options: lambda_.DestinationOptions | None = None,
        *,
        type: lambda_.DestinationType | None = None,
    ) -> lambda_.DestinationConfig:
        """jsii passes the options struct positionally; the typed interface names its field instead."""
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


class IngestFunction(Construct):
    """Fetches one subreddit per invocation into the raw zone; failures land in a queue and page someone."""

    function: lambda_.Function
    role: iam.Role
    access_policy: iam.Policy
    log_group: EncryptedLogGroup
    reddit_secret: secretsmanager.ISecret
    reddit_secret_policy: secretsmanager.CfnResourcePolicy
    cursor_table: dynamodb.Table
    dead_letter_queue: sqs.Queue
    errors_alarm: cloudwatch.Alarm
    throttles_alarm: cloudwatch.Alarm
    dead_letters_alarm: cloudwatch.Alarm
    skipped_alarm: cloudwatch.Alarm
    request_share: RequestShare
    environment: str
    _reddit_secret: StackSecret

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        environment: str,
        settings: IngestConfig,
        concurrency: int,
        encryption_key: kms.IKey,
        raw_bucket: s3.IBucket,
        quarantine_bucket: s3.IBucket,
        alarm_topic: sns.ITopic,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        reddit_secret_name: str | None = None,
        retry_attempts: int = 1,
        max_event_age: cdk.Duration = _MAX_EVENT_AGE,
        log_level: str = "INFO",
    ) -> None:
        """``concurrency`` is how many invocations run at once (the state machine's Map): the Reddit
        budget is split that many ways, and the function reserves exactly that concurrency, so a
        retried or overlapping run is throttled (and retried by the state machine) rather than
        pressing Reddit beyond the budget.

        ``reddit_secret_name``: the Reddit credentials created out of band (see
        ``infra.constructs.stack_secret``); ``None`` generates one whose client id and user agent the
        operator replaces after the first deploy (dev).

        ``retry_attempts``: one async retry covers a transient fault; more would overlap the
        next scheduled run. ``max_event_age``: an event that waited longer is superseded by a
        later run, which resumes from the cursor anyway.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        function_name = f"{resource_prefix}-ingest"
        self.environment = environment
        self.request_share = RequestShare.plan(
            total_requests_per_minute=settings.requests_per_minute,
            concurrency=concurrency,
            timeout_seconds=settings.timeout_seconds,
        )

        self._reddit_secret = stack_secret(
            self,
            "RedditSecret",
            existing_name=reddit_secret_name,
            description=(
                f"Reddit OAuth app credentials for {function_name}: JSON {{client_id, client_secret, user_agent}}. "
                "Deployed with placeholder values (client_secret is random): replace all three with the "
                "Reddit app's before the first run, e.g. `aws secretsmanager put-secret-value`."
            ),
            generator=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(
                    {
                        "client_id": "REPLACE-with-the-reddit-app-client-id",
                        "user_agent": f"{resource_prefix}/0.1 (ingest; REPLACE-with-u/your-reddit-username)",
                    }
                ),
                generate_string_key="client_secret",
                exclude_punctuation=True,
            ),
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            no_rotation_reason=(
                "Reddit app credentials are issued in Reddit's app console; no API lets a rotation Lambda mint "
                "new ones."
            ),
        )
        self.reddit_secret = self._reddit_secret.secret

        self.cursor_table = dynamodb.Table(
            self,
            "CursorTable",
            partition_key=dynamodb.Attribute(name="subreddit", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=encryption_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Losing the cursors means re-reading Reddit from scratch: a retained table is also protected.
            deletion_protection=removal_policy == cdk.RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )

        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            queue_name=f"{resource_prefix}-ingest-dead-letters",
            of="the ingest function (its on-failure destination)",
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )

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
            description=f"Execution role of {function_name}: writes its log group, zones, cursors; reads its secret.",
        )
        self.access_policy = iam.Policy(
            self,
            "AccessPolicy",
            roles=[self.role],
            statements=self._access_statements(
                region=stack.region,
                encryption_key=encryption_key,
                raw_bucket=raw_bucket,
                quarantine_bucket=quarantine_bucket,
            ),
        )
        self._acknowledge_object_prefixes(raw_bucket, quarantine_bucket)
        # Only the function reads the credentials, whatever else the account's policies grant.
        self.reddit_secret_policy = restrict_reads(self, "RedditSecretPolicy", self._reddit_secret, [self.role])

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description="Ingests one subreddit's new and recently active posts into the raw zone.",
            runtime=INGEST_RUNTIME,
            architecture=INGEST_ARCHITECTURE,
            handler=INGEST_HANDLER,
            code=python_lambda_code(
                sources=INGEST_SOURCES,
                requirements_file=INGEST_REQUIREMENTS,
                runtime=INGEST_RUNTIME,
                architecture=INGEST_ARCHITECTURE,
            ),
            memory_size=settings.memory_mb,
            reserved_concurrent_executions=concurrency,
            timeout=cdk.Duration.seconds(settings.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=self._environment(settings, raw_bucket, quarantine_bucket, log_level),
            on_failure=_QueueOnFailure(self.dead_letter_queue),
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )
        # Lambda checks the destination permission when the invoke config is created: the
        # function (and its invoke config) must wait for the policy.
        self.function.node.add_dependency(self.access_policy)
        acknowledge_function_defaults(self.function, self.role)

        self.errors_alarm = self._alarm(
            "ErrorsAlarm",
            f"{function_name}-errors",
            self.function.metric_errors(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "An ingest invocation failed (see its log group and the dead-letter queue).",
            alarm_topic,
        )
        self.throttles_alarm = self._alarm(
            "ThrottlesAlarm",
            f"{function_name}-throttles",
            self.function.metric_throttles(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "Ingest invocations were throttled: more than its reserved concurrency at once (overlapping runs?) "
            "or the account's concurrency is exhausted. The state machine retries them; check for overlapping runs.",
            alarm_topic,
        )
        self.dead_letters_alarm = self._alarm(
            "DeadLettersAlarm",
            f"{function_name}-dead-letters",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=_ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            "An ingest event failed every retry and waits in the dead-letter queue for a redrive.",
            alarm_topic,
        )
        # The handler's Powertools metrics (EMF): namespace and service dimension as it publishes them.
        self.skipped_alarm = self._alarm(
            "SkippedAlarm",
            f"{function_name}-subreddits-skipped",
            cloudwatch.Metric(
                namespace=metrics.NAMESPACE,
                metric_name=metrics.IngestMetric.SUBREDDITS_SKIPPED,
                dimensions_map={"service": metrics.INGEST_SERVICE, metrics.ENVIRONMENT_DIMENSION: self.environment},
                statistic=cloudwatch.Stats.SUM,
                period=_ALARM_PERIOD,
            ),
            "A configured subreddit is private, banned or missing and was skipped: Reddit will not list it. "
            "Check it on reddit.com and remove or rename it in cdk.json.",
            alarm_topic,
        )

    def _environment(
        self, settings: IngestConfig, raw_bucket: s3.IBucket, quarantine_bucket: s3.IBucket, log_level: str
    ) -> dict[str, str]:
        """The function's settings, written by the module that reads them (``RuntimeSettings.to_env``)."""
        return RuntimeSettings(
            environment=self.environment,
            raw_uri=f"s3://{raw_bucket.bucket_name}/",
            quarantine_uri=f"s3://{quarantine_bucket.bucket_name}/",
            runs_uri=f"s3://{raw_bucket.bucket_name}/{RUNS_PREFIX}",
            cursor_table=self.cursor_table.table_name,
            cursor_uri=None,
            reddit_secret_arn=self.reddit_secret.secret_arn,
            reddit_base_url=None,
            ingest=settings.runtime(),
            retry=RetryPolicy(),
            max_requests=self.request_share.max_requests,
            requests_per_minute=self.request_share.requests_per_minute,
            log_level=log_level,
        ).to_env()

    def _access_statements(
        self,
        *,
        region: str,
        encryption_key: kms.IKey,
        raw_bucket: s3.IBucket,
        quarantine_bucket: s3.IBucket,
    ) -> list[iam.PolicyStatement]:
        """Exactly the calls the code makes, each on the one resource (or prefix) it touches."""
        raw_prefixes = (f"{RAW_POSTS.prefix}/*", f"{RAW_COMMENTS.prefix}/*", INGEST_MANIFESTS)
        quarantine_prefixes = (f"{INGEST_QUARANTINE.prefix}/*",)

        def via(service: str) -> dict[str, Any]:
            return via_service(service, region)

        return [
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            # write_snapshot_set: put the run's parts, list the run's prefix, delete stale parts;
            # and the invocation's run manifest (listed first: a rerun finds it and does nothing).
            iam.PolicyStatement(
                # GetObject: the invocation reads back the Parquet footers of what it wrote (reconciliation).
                sid="WriteRawSnapshots",
                actions=["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                resources=[raw_bucket.arn_for_objects(prefix) for prefix in raw_prefixes],
            ),
            iam.PolicyStatement(
                sid="ListRawSnapshots",
                actions=["s3:ListBucket"],
                resources=[raw_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": list(raw_prefixes)}},
            ),
            iam.PolicyStatement(
                sid="WriteQuarantine",
                actions=["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                resources=[quarantine_bucket.arn_for_objects(prefix) for prefix in quarantine_prefixes],
            ),
            iam.PolicyStatement(
                sid="ListQuarantine",
                actions=["s3:ListBucket"],
                resources=[quarantine_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": list(quarantine_prefixes)}},
            ),
            # SSE-KMS with a bucket key: a single-part PutObject needs a data key for that bucket only,
            # and reading back what was written needs Decrypt, in the same context.
            iam.PolicyStatement(
                sid="EncryptZoneObjects",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": {
                        **via("s3"),
                        "kms:EncryptionContext:aws:s3:arn": [raw_bucket.bucket_arn, quarantine_bucket.bucket_arn],
                    }
                },
            ),
            # DynamoCursorStore: get_item and a conditional put_item, nothing else.
            iam.PolicyStatement(
                sid="ReadWriteCursors",
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[self.cursor_table.table_arn],
            ),
            iam.PolicyStatement(
                sid="UseKeyForCursors",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[encryption_key.key_arn],
                conditions={"StringEquals": via("dynamodb")},
            ),
            *self._reddit_secret.read_statements("RedditSecret", encryption_key, region),
            # Lambda sends failed async events to the dead-letter queue with this role.
            iam.PolicyStatement(
                sid="SendDeadLetters",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
            ),
            dead_letter_key_statement(self.dead_letter_queue, encryption_key, region),
        ]

    def _acknowledge_object_prefixes(self, raw_bucket: s3.IBucket, quarantine_bucket: s3.IBucket) -> None:
        """One IAM5 acknowledgement per object prefix: keys are per run and part, so they need a wildcard."""
        prefixes = (
            (raw_bucket, RAW_POSTS.prefix),
            (raw_bucket, RAW_COMMENTS.prefix),
            (raw_bucket, INGEST_MANIFESTS.removesuffix("/*")),
            (quarantine_bucket, INGEST_QUARANTINE.prefix),
        )
        for bucket, name in prefixes:
            acknowledge(
                self.access_policy,
                iam5_resource_finding(self, bucket.arn_for_objects(f"{name}/*")),
                f"Ingest writes and prunes run-named Parquet parts under {name}/; keys are unknown at deploy time.",
            )

    def _alarm(
        self,
        construct_id: str,
        alarm_name: str,
        metric: cloudwatch.IMetric,
        description: str,
        topic: sns.ITopic,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=alarm_name,
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No invocations means nothing went wrong (the schedule has its own cadence).
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm
