"""A dead-letter queue with the stack's defaults: the lake key, TLS only, two weeks to look at it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.key_grants import via_service
from infra.constructs.nag import acknowledge

__all__ = ["DEAD_LETTER_RETENTION", "dead_letter_key_statement", "dead_letter_queue"]

DEAD_LETTER_RETENTION = cdk.Duration.days(14)


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    queue_name: str,
    of: str,
    encryption_key: kms.IKey,
    removal_policy: cdk.RemovalPolicy,
) -> sqs.Queue:
    """The queue where what ``of`` (e.g. "the ingest function") could not deliver waits for an operator."""
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
        removal_policy=removal_policy,
    )
    acknowledge(
        queue, "AwsSolutions-SQS3", f"This queue is itself the dead-letter queue of {of}; a DLQ of a DLQ adds nothing."
    )
    return queue


def dead_letter_key_statement(queue: sqs.IQueue, encryption_key: kms.IKey, region: str) -> iam.PolicyStatement:
    """What a sender needs of the lake key to put a message on ``queue``, and on no other queue."""
    return iam.PolicyStatement(
        sid="EncryptDeadLetters",
        actions=["kms:GenerateDataKey", "kms:Decrypt"],
        resources=[encryption_key.key_arn],
        conditions={
            "StringEquals": {**via_service("sqs", region), "kms:EncryptionContext:aws:sqs:arn": queue.queue_arn}
        },
    )
