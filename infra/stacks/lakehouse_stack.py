"""One environment of the lakehouse, deployed as a single unit.

Later stages (ingest, processing, scoring, orchestration) join this stack as
constructs beside :class:`LakeStorage`, so grants on the key and buckets never cross
stack boundaries.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.alarm_topic import AlarmTopic
from infra.constructs.ingest_function import IngestFunction
from infra.constructs.ingest_schedule import IngestSchedule
from infra.constructs.lake_storage import LakeStorage
from infra.constructs.processed_catalog import ProcessedCatalog, database_name
from infra.constructs.processing_job import ProcessingJob

__all__ = ["LakehouseStack"]


class LakehouseStack(cdk.Stack):
    """The lakehouse for one environment; everything it needs arrives in ``config``."""

    config: EnvironmentConfig
    storage: LakeStorage
    alarms: AlarmTopic
    ingest: IngestFunction
    ingest_schedule: IngestSchedule
    processing: ProcessingJob
    catalog: ProcessedCatalog

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=config.stack_name,
            description=f"Reddit product-opportunity lakehouse ({config.name})",
            # account None keeps the stack deployable to whichever account the CLI uses.
            env=cdk.Environment(account=config.account, region=config.region),
        )
        self.config = config
        cdk.Tags.of(self).add("project", config.project)
        cdk.Tags.of(self).add("environment", config.name)

        removal_policy = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        self.storage = LakeStorage(
            self,
            "Storage",
            resource_prefix=config.resource_prefix,
            retention=config.retention,
            removal_policy=removal_policy,
        )
        self.alarms = AlarmTopic(
            self,
            "Alarms",
            topic_name=config.resource_name("alarms"),
            encryption_key=self.storage.key,
            email=config.alarm_email,
        )
        self.ingest = IngestFunction(
            self,
            "Ingest",
            resource_prefix=config.resource_prefix,
            environment=config.name,
            settings=config.ingest,
            # The schedule starts every subreddit at once, so they share the Reddit budget evenly.
            concurrency=len(config.subreddits),
            encryption_key=self.storage.key,
            raw_bucket=self.storage.raw_bucket,
            quarantine_bucket=self.storage.quarantine_bucket,
            alarm_topic=self.alarms.topic,
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
            reddit_secret_name=config.secrets.reddit_secret_name,
        )
        self.ingest_schedule = IngestSchedule(
            self,
            "IngestSchedule",
            resource_prefix=config.resource_prefix,
            schedule=config.schedule,
            subreddits=config.subreddits,
            function=self.ingest.function,
        )

        self.processing = ProcessingJob(
            self,
            "Processing",
            resource_prefix=config.resource_prefix,
            environment=config.name,
            settings=config.glue,
            encryption_key=self.storage.key,
            raw_bucket=self.storage.raw_bucket,
            processed_bucket=self.storage.processed_bucket,
            quarantine_bucket=self.storage.quarantine_bucket,
            alarms=self.alarms,
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
            pii_key_secret_name=config.secrets.pii_key_secret_name,
            pii_key_fingerprint=config.secrets.pii_key_fingerprint,
        )
        self.catalog = ProcessedCatalog(
            self,
            "Catalog",
            database_name=database_name(config.project, config.name),
            processed_bucket=self.storage.processed_bucket,
            removal_policy=removal_policy,
        )

        # Generated names differ per deployment; operators and the local tools read them here.
        outputs = {
            "KeyArn": self.storage.key.key_arn,
            "RawBucketName": self.storage.raw_bucket.bucket_name,
            "ProcessedBucketName": self.storage.processed_bucket.bucket_name,
            "AnalyticsBucketName": self.storage.analytics_bucket.bucket_name,
            "QuarantineBucketName": self.storage.quarantine_bucket.bucket_name,
            "AthenaResultsBucketName": self.storage.athena_results_bucket.bucket_name,
            "AccessLogsBucketName": self.storage.access_logs_bucket.bucket_name,
            "IngestFunctionName": self.ingest.function.function_name,
            "IngestDeadLetterQueueUrl": self.ingest.dead_letter_queue.queue_url,
            "CursorTableName": self.ingest.cursor_table.table_name,
            "RedditSecretArn": self.ingest.reddit_secret.secret_arn,
            "AlarmTopicArn": self.alarms.topic.topic_arn,
            "ProcessingJobName": self.processing.job.job_name,
            "GlueDatabaseName": self.catalog.database.database_name,
            "PiiSecretArn": self.processing.pii_secret.secret_arn,
            "ProcessingLogGroupPrefix": self.processing.log_group_prefix,
        }
        for output_id, value in outputs.items():
            cdk.CfnOutput(self, output_id, value=value)
