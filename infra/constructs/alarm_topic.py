"""Where one environment's alarms go: a KMS-encrypted, TLS-only SNS topic with an e-mail subscription."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

__all__ = ["AlarmTopic"]

_CLOUDWATCH = "cloudwatch.amazonaws.com"


class AlarmTopic(Construct):
    """The topic every alarm of the stack notifies; later stages reuse it for their own alarms."""

    topic: sns.Topic

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        encryption_key: kms.IKey,
        email: str,
    ) -> None:
        """``topic_name`` is fixed so the key policy can name the topic without a dependency cycle."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name=f"{topic_name} (CloudWatch alarms)",
            master_key=encryption_key,
            enforce_ssl=True,
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(email))

        # A topic policy replaces SNS's default one, so the alarm service must be let in explicitly,
        # and only for alarms of this account.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal(_CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        # SNS encrypts each alarm notification with the lake key on CloudWatch's behalf; the
        # encryption context limits that use to this topic.
        topic_arn = stack.format_arn(service="sns", resource=topic_name, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME)
        added = encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(_CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}},
            )
        )
        if not added.statement_added:
            raise ValueError(f"{construct_id}: the key's policy cannot be changed here (imported key?)")
