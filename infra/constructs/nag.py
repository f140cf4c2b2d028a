"""cdk-nag acknowledgements, spelled the way cdk-nag spells its findings.

IAM5 reports one finding per wildcard resource, named after the resource as CloudFormation
sees it (``AwsSolutions-IAM5[Resource::<RawBucket1A2B3C.Arn>/posts/*]``). Building that name
from the ARN token itself keeps an acknowledgement narrow (one object prefix, not every
wildcard in the policy) without hard-coding a logical id.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

__all__ = ["acknowledge", "flatten_cfn_reference", "iam5_resource_finding"]


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``construct`` (and its children) with a reason."""
    if not reason.strip():
        raise ValueError(f"{rule_id}: an acknowledgement needs a reason")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def iam5_resource_finding(scope: IConstruct, arn: str) -> str:
    """The id of the IAM5 finding cdk-nag raises for the wildcard resource ``arn`` in ``scope``'s stack."""
    flattened = flatten_cfn_reference(cdk.Stack.of(scope).resolve(arn))
    if "*" not in flattened:
        raise ValueError(f"{flattened} has no wildcard; IAM5 would not report it")
    return f"AwsSolutions-IAM5[Resource::{flattened}]"


def flatten_cfn_reference(node: Any) -> str:
    """How cdk-nag names a resolved reference in its findings.

    A mirror of cdk-nag's ``flattenCfnReference`` (utils/flatten-cfn-reference.ts).
    """
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(flatten_cfn_reference(item) for item in items)
        if "Fn::Sub" in node:
            return flatten_cfn_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_cfn_reference(resource)}.{flatten_cfn_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_cfn_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_cfn_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
