"""Where one environment's alarms go: a KMS-encrypted, TLS-only SNS topic with an e-mail subscription.

The address is the config's ``alarm_email``: written out, or ``ssm:/name`` of an SSM String
parameter holding it, which CloudFormation reads at deploy time (a dynamic reference), so the
on-call address lives in the account, not the repository. A missing parameter fails the deploy.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

__all__ = ["SSM_PREFIX", "AlarmTopic", "email_endpoint"]

_CLOUDWATCH = "cloudwatch.amazonaws.com"
_EVENTBRIDGE = "events.amazonaws.com"


def email_endpoint(email: str) -> str:
    """The subscription's endpoint: the address, or a dynamic reference to the SSM parameter naming it."""
    if email.startswith(SSM_PREFIX):
        return f"{{{{resolve:ssm:{email.removeprefix(SSM_PREFIX)}}}}}"
    return email


SSM_PREFIX = "ssm:"


class AlarmTopic(Construct):
    """The topic every alarm of the stack notifies; later stages reuse it for their own alarms."""

    topic: sns.Topic
    _encryption_key: kms.IKey
    _topic_arn: str
    _event_rules: int

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
        self.topic.add_subscription(subscriptions.EmailSubscription(email_endpoint(email)))

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
        self._encryption_key = encryption_key
        self._topic_arn = stack.format_arn(
            service="sns", resource=topic_name, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )
        self._event_rules = 0
        self._allow_key_use(_CLOUDWATCH)

    def allow_event_rule(self, rule: events.IRule) -> None:
        """Let ``rule`` (and no other rule) deliver its events to the topic.

        Like the alarm service, EventBridge must be named in the topic policy and may use the key
        for this topic only; ``targets.SnsTopic`` would grant both to the service principal
        without conditions, i.e. to any rule that targets the topic.
        """
        stack = cdk.Stack.of(self)
        self._event_rules += 1
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"EventBridgeRule{self._event_rules}Publish",
                principals=[iam.ServicePrincipal(_EVENTBRIDGE)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": rule.rule_arn},
                },
            )
        )
        if self._event_rules == 1:
            self._allow_key_use(_EVENTBRIDGE)

    def _allow_key_use(self, service: str) -> None:
        """SNS encrypts each message with the lake key on ``service``'s behalf, for this topic only."""
        added = self._encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": self._topic_arn}},
            )
        )
        if not added.statement_added:
            raise ValueError(f"{self.node.id}: the key's policy cannot be changed here (imported key?)")
