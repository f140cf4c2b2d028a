"""A log group encrypted with the lake key, whose key policy lets CloudWatch Logs use it for that group only."""

from __future__ import annotations

from types import MappingProxyType

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

__all__ = ["LOGS_KEY_ACTIONS", "EncryptedLogGroup", "retention_days"]

# jsii enums carry member names, not the day counts, so the config's integer needs a lookup.
_RETENTION_BY_DAYS = MappingProxyType(
    {
        1: logs.RetentionDays.ONE_DAY,
        3: logs.RetentionDays.THREE_DAYS,
        5: logs.RetentionDays.FIVE_DAYS,
        7: logs.RetentionDays.ONE_WEEK,
        14: logs.RetentionDays.TWO_WEEKS,
        30: logs.RetentionDays.ONE_MONTH,
        60: logs.RetentionDays.TWO_MONTHS,
        90: logs.RetentionDays.THREE_MONTHS,
        120: logs.RetentionDays.FOUR_MONTHS,
        150: logs.RetentionDays.FIVE_MONTHS,
        180: logs.RetentionDays.SIX_MONTHS,
        365: logs.RetentionDays.ONE_YEAR,
        400: logs.RetentionDays.THIRTEEN_MONTHS,
        545: logs.RetentionDays.EIGHTEEN_MONTHS,
        731: logs.RetentionDays.TWO_YEARS,
        1096: logs.RetentionDays.THREE_YEARS,
        1827: logs.RetentionDays.FIVE_YEARS,
        2192: logs.RetentionDays.SIX_YEARS,
        2557: logs.RetentionDays.SEVEN_YEARS,
        2922: logs.RetentionDays.EIGHT_YEARS,
        3288: logs.RetentionDays.NINE_YEARS,
        3653: logs.RetentionDays.TEN_YEARS,
    }
)
# What CloudWatch Logs asks of a customer-managed key (the CloudWatch Logs user guide's key policy).
LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")


def retention_days(days: int) -> logs.RetentionDays:
    """The RetentionDays member for ``days``; config parsing already limited it to CloudWatch's periods."""
    try:
        return _RETENTION_BY_DAYS[days]
    except KeyError:
        raise ValueError(f"{days} is not a CloudWatch Logs retention period") from None


class EncryptedLogGroup(logs.LogGroup):
    """A named, KMS-encrypted log group with a fixed retention.

    The name is fixed so the key policy can name the group in its encryption-context
    condition: with a generated name the key policy would reference the log group, which
    references the key, a dependency cycle.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group_name: str,
        encryption_key: kms.IKey,
        retention_in_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            retention=retention_days(retention_in_days),
            removal_policy=removal_policy,
        )
        stack = cdk.Stack.of(self)
        group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        added = encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],
                # The logs service may use the key for this group's data and nothing else.
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}},
            )
        )
        if not added.statement_added:
            raise ValueError(f"{construct_id}: the key's policy cannot be changed here (imported key?)")
