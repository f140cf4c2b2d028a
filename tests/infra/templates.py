"""Finding resources in a synthesized template by what they are, never by logical id."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aws_cdk import assertions
from aws_cdk.assertions import Match

INGEST_HANDLER = "lambdas.ingest.handler.handler"


def only(resources: Mapping[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, f"expected exactly one {what}, found {sorted(resources)}"
    ((logical_id, resource),) = resources.items()
    return logical_id, resource


def key_arn(template: assertions.Template) -> dict[str, Any]:
    """``Fn::GetAtt`` of the lake's one KMS key."""
    key_id, _ = only(template.find_resources("AWS::KMS::Key"), "KMS key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def key_policy_statements(template: assertions.Template) -> list[dict[str, Any]]:
    _, key = only(template.find_resources("AWS::KMS::Key"), "KMS key")
    statements: list[dict[str, Any]] = key["Properties"]["KeyPolicy"]["Statement"]
    return statements


def key_statements_for_service(template: assertions.Template, service: str) -> list[dict[str, Any]]:
    """Key policy statements naming ``service`` among their principals (CDK merges equal statements)."""
    return [
        statement
        for statement in key_policy_statements(template)
        if service in as_list(statement.get("Principal", {}).get("Service", []))
    ]


def bucket_logging_to(template: assertions.Template, prefix: str) -> str:
    """The bucket whose server access logs go under ``prefix`` (each zone bucket has its own)."""
    buckets = template.find_resources(
        "AWS::S3::Bucket",
        {"Properties": {"LoggingConfiguration": Match.object_like({"LogFilePrefix": prefix})}},
    )
    return only(buckets, f"bucket logging under {prefix!r}")[0]


def ingest_function(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": INGEST_HANDLER}})
    return only(functions, "ingest function")


def reddit_secret(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    """The ingest function's Reddit credentials (the stack has other secrets)."""
    return one(template, "AWS::SecretsManager::Secret", {"Description": Match.string_like_regexp("Reddit OAuth")})


def pii_secret(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    """The processing job's HMAC key for author pseudonyms."""
    return one(template, "AWS::SecretsManager::Secret", {"Description": Match.string_like_regexp("HMAC key")})


def schedule_rules(template: assertions.Template) -> dict[str, Any]:
    """The EventBridge rules that run on a schedule (the stack also has event-pattern rules)."""
    return template.find_resources("AWS::Events::Rule", {"Properties": {"ScheduleExpression": Match.any_value()}})


def one(template: assertions.Template, resource_type: str, props: Any = None) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(resource_type, {"Properties": props} if props is not None else None)
    return only(found, resource_type)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: assertions.Template, role_id: str) -> Iterator[dict[str, Any]]:
    """Every statement of every inline policy attached to ``role_id``."""
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": Match.array_with([{"Ref": role_id}])}}
    )
    for policy in policies.values():
        yield from policy["Properties"]["PolicyDocument"]["Statement"]
