"""What every Python function of the stack acknowledges the same way, said once."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from infra.constructs.nag import acknowledge

__all__ = ["acknowledge_function_defaults"]


def acknowledge_function_defaults(function: lambda_.Function, role: iam.Role) -> None:
    """The runtime pin, X-Ray's wildcard and a cfn-lint warning CDK's own L2 causes."""
    cfn_function = function.node.default_child
    assert isinstance(cfn_function, lambda_.CfnFunction)
    # W3005: lambda.Function always both DependsOn and GetAtt's its role; harmless, not ours to change.
    cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
    acknowledge(
        function,
        "AwsSolutions-L1",
        "python3.12 on purpose: the bundled wheels are resolved for cp312; bump runtime and pip target together.",
    )
    tracing_policy = role.node.try_find_child("DefaultPolicy")
    if tracing_policy is None:
        raise RuntimeError("active tracing no longer adds X-Ray permissions to the role's default policy")
    acknowledge(
        tracing_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "Only X-Ray's PutTraceSegments/PutTelemetryRecords live here; X-Ray has no resource-level permissions.",
    )
