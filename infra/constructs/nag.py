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

__all__ = ["acknowledge", "iam5_resource_finding"]


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``construct`` (and its children) with a reason."""
    if not reason.strip():
        raise ValueError(f"{rule_id}: an acknowledgement needs a reason")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def iam5_resource_finding(scope: IConstruct, arn: str) -> str:
    """The id of the IAM5 finding cdk-nag raises for the wildcard resource ``arn`` in ``scope``'s stack."""
    flattened = _flatten(cdk.Stack.of(scope).resolve(arn))
    if "*" not in flattened:
        raise ValueError(f"{flattened} has no wildcard; IAM5 would not report it")
    return f"AwsSolutions-IAM5[Resource::{flattened}]"


def _flatten(node: Any) -> str:
    """Mirror of cdk-nag's ``flattenCfnReference`` (utils/flatten-cfn-reference.ts)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
