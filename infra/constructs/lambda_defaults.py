"""What every Python function of the stack shares, said once: its package's sources, the run manifests
it reads, and what it acknowledges the same way."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from infra.constructs.nag import acknowledge
from infra.constructs.python_bundling import SourceMapping
from lakehouse.pipeline import RUNS_PREFIX, Stage

__all__ = [
    "RUN_MANIFESTS",
    "acknowledge_function_defaults",
    "function_sources",
    "run_manifest_statements",
    "stage_manifest",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUN_MANIFESTS = f"{RUNS_PREFIX}*"
"""Every stage's manifests of every run (``lakehouse.pipeline``): run ids are unknown at deploy time."""


def function_sources(function: str) -> tuple[SourceMapping, ...]:
    """A function's package: the shared runtime whole and ``lambdas/<function>`` (its data files included);
    the offline tools live apart, in lakehouse_tools."""
    return (
        (PROJECT_ROOT / "lakehouse", "lakehouse"),
        (PROJECT_ROOT / "lambdas" / "__init__.py", "lambdas/__init__.py"),
        (PROJECT_ROOT / "lambdas" / function, f"lambdas/{function}"),
    )


def run_manifest_statements(raw_bucket: s3.IBucket, stage: Stage) -> list[iam.PolicyStatement]:
    """List and read the run manifests, and write ``runs/<run_id>/<stage>.json`` only.

    ``RunManifests`` lists before it reads: without ListBucket S3 answers a missing manifest 403, not 404.
    """
    return [
        iam.PolicyStatement(
            sid="ListRunManifests",
            actions=["s3:ListBucket"],
            resources=[raw_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": RUN_MANIFESTS}},
        ),
        iam.PolicyStatement(
            sid="ReadRunManifests",
            actions=["s3:GetObject"],
            resources=[raw_bucket.arn_for_objects(RUN_MANIFESTS)],
        ),
        iam.PolicyStatement(
            sid=f"Write{stage.state_name}Manifest",
            actions=["s3:PutObject"],
            resources=[raw_bucket.arn_for_objects(stage_manifest(stage))],
        ),
    ]


def stage_manifest(stage: Stage) -> str:
    """The object pattern of a stage's manifest in every run."""
    return f"{RUNS_PREFIX}*/{stage.value}.json"


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
