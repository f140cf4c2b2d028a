"""One environment of the lakehouse, deployed as a single unit.

Every stage joins this stack as a construct beside :class:`LakeStorage`, so grants on the key
and buckets never cross stack boundaries. The state machine sequences the stages, the schedule
starts it, and the monitoring watches all of them.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.alarm_topic import AlarmTopic
from infra.constructs.analyst_workgroup import AnalystWorkgroup
from infra.constructs.ingest_function import IngestFunction
from infra.constructs.lake_storage import LakeStorage
from infra.constructs.pipeline_monitoring import PipelineMonitoring
from infra.constructs.pipeline_schedule import PipelineSchedule
from infra.constructs.pipeline_state_machine import LoadTarget, PipelineStateMachine
from infra.constructs.processed_catalog import ProcessedCatalog
from infra.constructs.processing_job import ProcessingJob
from infra.constructs.publish_function import PublishFunction
from infra.constructs.score_function import ScoreFunction
from infra.constructs.verify_function import VerifyFunction
from infra.constructs.warehouse import WAREHOUSE_AVAILABILITY_ZONES, WAREHOUSE_DATABASE, Warehouse

__all__ = ["LakehouseStack"]


class LakehouseStack(cdk.Stack):
    """The lakehouse for one environment; everything it needs arrives in ``config``."""

    config: EnvironmentConfig
    storage: LakeStorage
    alarms: AlarmTopic
    ingest: IngestFunction
    processing: ProcessingJob
    catalog: ProcessedCatalog
    score: ScoreFunction
    workgroup: AnalystWorkgroup
    warehouse: Warehouse | None
    publish: PublishFunction
    verify: VerifyFunction
    pipeline: PipelineStateMachine
    schedule: PipelineSchedule
    monitoring: PipelineMonitoring

    @property
    def availability_zones(self) -> list[str]:
        """The region's first three zones, resolved at deploy time (``Fn::GetAZs``): an environment-agnostic
        stack would otherwise get two, and the warehouse's subnets need three."""
        return [cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(WAREHOUSE_AVAILABILITY_ZONES)]

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
            exports_expiration_days=config.warehouse.export_expiration_days,
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
            # The Map runs this many subreddits at once; they share the Reddit budget evenly.
            concurrency=config.orchestration.max_concurrency,
            encryption_key=self.storage.key,
            raw_bucket=self.storage.raw_bucket,
            quarantine_bucket=self.storage.quarantine_bucket,
            alarm_topic=self.alarms.topic,
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
            reddit_secret_name=config.secrets.reddit_secret_name,
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
            database_name=config.database_name,
            processed_bucket=self.storage.processed_bucket,
            analytics_bucket=self.storage.analytics_bucket,
            removal_policy=removal_policy,
        )

        self.score = ScoreFunction(
            self,
            "Score",
            resource_prefix=config.resource_prefix,
            environment=config.name,
            settings=config.llm,
            encryption_key=self.storage.key,
            processed_bucket=self.storage.processed_bucket,
            analytics_bucket=self.storage.analytics_bucket,
            raw_bucket=self.storage.raw_bucket,
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
        )
        self.workgroup = AnalystWorkgroup(
            self,
            "Athena",
            workgroup_name=config.analyst_workgroup_name,
            results_bucket=self.storage.athena_results_bucket,
            encryption_key=self.storage.key,
            bytes_scanned_cutoff_mb=config.athena.bytes_scanned_cutoff_mb,
            removal_policy=removal_policy,
        )
        self.warehouse = (
            Warehouse(
                self,
                "Warehouse",
                resource_prefix=config.resource_prefix,
                config=config.warehouse,
                encryption_key=self.storage.key,
                analytics_bucket=self.storage.analytics_bucket,
                log_retention_days=config.log_retention_days,
                removal_policy=removal_policy,
            )
            if config.warehouse.enabled
            else None
        )
        self.publish = PublishFunction(
            self,
            "Publish",
            resource_prefix=config.resource_prefix,
            encryption_key=self.storage.key,
            raw_bucket=self.storage.raw_bucket,
            processed_bucket=self.storage.processed_bucket,
            analytics_bucket=self.storage.analytics_bucket,
            results_bucket=self.storage.athena_results_bucket,
            workgroup=self.workgroup,
            database_name=self.catalog.database.database_name,
            # With the warehouse off no load runs: the statements Publish renders name no role.
            copy_role_arn=self.warehouse.copy_role.role_arn if self.warehouse else "none",
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
        )
        self.verify = VerifyFunction(
            self,
            "Verify",
            resource_prefix=config.resource_prefix,
            environment=config.name,
            encryption_key=self.storage.key,
            raw_bucket=self.storage.raw_bucket,
            tolerated_failure_percentage=config.orchestration.tolerated_failure_percentage,
            ingest_memory_mb=config.ingest.memory_mb,
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
        )
        self.pipeline = PipelineStateMachine(
            self,
            "Pipeline",
            resource_prefix=config.resource_prefix,
            environment=config.name,
            subreddits=config.subreddits,
            orchestration=config.orchestration,
            glue=config.glue,
            ingest_function=self.ingest.function,
            processing_job_name=self.processing.job.job_name,
            score_function=self.score.function,
            publish_function=self.publish.function,
            load_target=(
                LoadTarget(
                    workgroup_name=self.warehouse.workgroup_name,
                    workgroup_arn=self.warehouse.workgroup_arn,
                    database=WAREHOUSE_DATABASE,
                    poll=cdk.Duration.seconds(config.warehouse.load_poll_seconds),
                )
                if self.warehouse
                else None
            ),
            verify_function=self.verify.function,
            alarm_topic=self.alarms.topic,
            encryption_key=self.storage.key,
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
        )
        self.schedule = PipelineSchedule(
            self,
            "Schedule",
            resource_prefix=config.resource_prefix,
            config=config.schedule,
            state_machine=self.pipeline.state_machine,
            encryption_key=self.storage.key,
            removal_policy=removal_policy,
            max_event_age=cdk.Duration.minutes(config.orchestration.execution_timeout_minutes),
        )
        self.monitoring = PipelineMonitoring(
            self,
            "Monitoring",
            resource_prefix=config.resource_prefix,
            environment=config.name,
            alarm_topic=self.alarms.topic,
            state_machine=self.pipeline.state_machine,
            ingest_function=self.ingest.function,
            score_function=self.score.function,
            verify_function=self.verify.function,
            processing_job_name=self.processing.job.job_name,
            scheduler_dead_letter_queue=self.schedule.dead_letter_queue,
            success_window_hours=config.orchestration.success_window_hours,
            schedule_enabled=config.schedule.enabled,
            existing_alarms=[
                self.ingest.errors_alarm,
                self.ingest.throttles_alarm,
                self.ingest.dead_letters_alarm,
                self.ingest.skipped_alarm,
                self.processing.quality_alarm,
            ],
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
            "ScoreFunctionName": self.score.function.function_name,
            "VerifyFunctionName": self.verify.function.function_name,
            "PublishFunctionName": self.publish.function.function_name,
            "AthenaWorkgroupName": self.workgroup.workgroup_name,
            "StateMachineArn": self.pipeline.state_machine.state_machine_arn,
            "ScheduleName": self.schedule.schedule.schedule_name,
            "ScheduleDeadLetterQueueUrl": self.schedule.dead_letter_queue.queue_url,
            "DashboardName": self.monitoring.dashboard.dashboard_name,
        }
        if self.warehouse is not None:
            outputs["WarehouseWorkgroupName"] = self.warehouse.workgroup_name
            outputs["WarehouseCopyRoleArn"] = self.warehouse.copy_role.role_arn
        for output_id, value in outputs.items():
            cdk.CfnOutput(self, output_id, value=value)
