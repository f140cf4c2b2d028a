"""EventBridge Scheduler starts the environment's runs: one execution of the state machine per tick.

It replaces the per-subreddit EventBridge rules: the state machine's Map now fans out to the
subreddits, under one run id. The schedule has its own role (it may start this state machine and
nothing else), retries a failed StartExecution with backoff, and sends what it could not deliver to
an encrypted dead-letter queue, which an alarm watches. ``enabled: false`` in the config keeps the
schedule deployed but switched off (for example while Reddit credentials are renewed).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import ScheduleConfig
from infra.constructs.dead_letter_queue import dead_letter_key_statement, dead_letter_queue

__all__ = ["PipelineSchedule"]


class PipelineSchedule(Construct):
    """A schedule that starts ``state_machine`` with ``{}`` (every default applies) on the config's expression."""

    schedule: scheduler.Schedule
    dead_letter_queue: sqs.Queue
    role: iam.Role

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        config: ScheduleConfig,
        state_machine: sfn.IStateMachine,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        max_event_age: cdk.Duration,
    ) -> None:
        """``max_event_age``: a start that could not be delivered for this long is superseded by the next tick."""
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            queue_name=f"{resource_prefix}-schedule-dead-letters",
            of="the pipeline schedule",
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ),
            description=f"Role of the {resource_prefix} schedule: starts the pipeline, dead-letters what it cannot.",
        )
        # The target grants StartExecution and SendMessage; the queue is encrypted with the lake key.
        self.role.add_to_policy(
            dead_letter_key_statement(self.dead_letter_queue, encryption_key, cdk.Stack.of(self).region)
        )
        target = targets.StepFunctionsStartExecution(
            state_machine,
            input=scheduler.ScheduleTargetInput.from_object({}),
            role=self.role,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=3,
            max_event_age=max_event_age,
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=f"{resource_prefix}-pipeline",
            description=f"Starts a {resource_prefix} pipeline run on {config.expression} ({config.time_zone}).",
            schedule=_expression(config),
            target=target,
            enabled=config.enabled,
        )


def _expression(config: ScheduleConfig) -> scheduler.ScheduleExpression:
    """Scheduler's ``rate(...)`` / ``cron(...)`` in the configured time zone (which only a cron reads)."""
    return scheduler.ScheduleExpression.expression(config.expression, cdk.TimeZone.of(config.time_zone))
