"""Finding resources in a synthesized template by what they are, never by logical id."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from aws_cdk import assertions, cx_api
from aws_cdk.assertions import Match

from infra.constructs.nag import flatten_cfn_reference

INGEST_HANDLER = "lambdas.ingest.handler.handler"
REGION = "us-east-1"


def only(resources: Mapping[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, f"expected exactly one {what}, found {sorted(resources)}"
    ((logical_id, resource),) = resources.items()
    return logical_id, resource


LAKE_KEY = Match.string_like_regexp("data lake")
JOB_KEY = Match.string_like_regexp("Glue job .* bookmarks and log groups")


def lake_key(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    """The lake's KMS key (data, secrets, topics), told from the job's own key by its description."""
    return one(template, "AWS::KMS::Key", {"Description": LAKE_KEY})


def job_key(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    """The processing job's key for its bookmarks and log groups."""
    return one(template, "AWS::KMS::Key", {"Description": JOB_KEY})


def key_arn(template: assertions.Template) -> dict[str, Any]:
    """``Fn::GetAtt`` of the lake key."""
    return {"Fn::GetAtt": [lake_key(template)[0], "Arn"]}


def job_key_arn(template: assertions.Template) -> dict[str, Any]:
    return {"Fn::GetAtt": [job_key(template)[0], "Arn"]}


def key_policy_statements(template: assertions.Template, key: Any = LAKE_KEY) -> list[dict[str, Any]]:
    _, resource = one(template, "AWS::KMS::Key", {"Description": key})
    statements: list[dict[str, Any]] = resource["Properties"]["KeyPolicy"]["Statement"]
    return statements


def key_statements_for_service(
    template: assertions.Template, service: str, key: Any = LAKE_KEY
) -> list[dict[str, Any]]:
    """Key policy statements naming ``service`` among their principals (CDK merges equal statements)."""
    return [
        statement
        for statement in key_policy_statements(template, key)
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
    """The ingest function's generated Reddit credentials (the stack has other secrets)."""
    return one(template, "AWS::SecretsManager::Secret", {"Description": Match.string_like_regexp("Reddit OAuth")})


def pii_secret(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    """The processing job's generated HMAC key for author pseudonyms."""
    return one(template, "AWS::SecretsManager::Secret", {"Description": Match.string_like_regexp("HMAC key")})


def referenced_secret_arn(name: str, *, suffix: str = "") -> dict[str, Any]:
    """The (partial) ARN of a secret created out of band, as the stack spells it; IAM adds ``-??????``."""
    return {
        "Fn::Join": ["", [f"arn:aws:secretsmanager:{REGION}:", {"Ref": "AWS::AccountId"}, f":secret:{name}{suffix}"]]
    }


def secret_arns(template: assertions.Template, existing_name: str | None, generated: Any) -> tuple[Any, Any]:
    """(what the code is given, what IAM grants) for a generated secret or one referenced by name."""
    if existing_name is None:
        secret_id, _ = generated(template)
        return {"Ref": secret_id}, {"Ref": secret_id}
    return referenced_secret_arn(existing_name), referenced_secret_arn(existing_name, suffix="-??????")


def log_group_arn(template: assertions.Template, name: str) -> dict[str, Any]:
    """``Fn::GetAtt`` of the stack's log group named ``name``."""
    log_group_id, _ = one(template, "AWS::Logs::LogGroup", {"LogGroupName": name})
    return {"Fn::GetAtt": [log_group_id, "Arn"]}


def schedule_rules(template: assertions.Template) -> dict[str, Any]:
    """The EventBridge rules that run on a schedule (the stack also has event-pattern rules)."""
    return dict(template.find_resources("AWS::Events::Rule", {"Properties": {"ScheduleExpression": Match.any_value()}}))


def glue_role_id(template: assertions.Template) -> str:
    """The one role Glue assumes: the processing job's."""
    role_id, _ = one(
        template,
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "glue.amazonaws.com"}})]}
            )
        },
    )
    return role_id


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


def acknowledgements(assembly: cx_api.CloudAssembly, stack_name: str) -> dict[str, dict[str, str]]:
    """Construct path -> {rule id: reason}, read from the stack's metadata file in the assembly.

    (``find_metadata_by_type`` cannot cross jsii with this stack's metadata.)
    """
    manifest = json.loads((Path(assembly.directory) / "manifest.json").read_text())
    artifact = manifest["artifacts"][stack_name]
    metadata = artifact.get("metadata") or json.loads(
        (Path(assembly.directory) / artifact["additionalMetadataFile"]).read_text()
    )
    acknowledged: dict[str, dict[str, str]] = defaultdict(dict)
    for path, entries in metadata.items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                for rule, reason in entry["data"].items():
                    acknowledged[path][re.sub(r"^annotation::", "", rule, flags=re.IGNORECASE)] = reason
    return acknowledged


def iam5_findings(template: assertions.Template, role_id: str) -> set[str]:
    """The IAM5 findings cdk-nag raises for ``role_id``'s inline policies (mirrors its flattening)."""
    findings = set()
    for statement in role_statements(template, role_id):
        if statement["Effect"] != "Allow":
            continue
        findings |= {f"AwsSolutions-IAM5[Action::{a}]" for a in as_list(statement["Action"]) if "*" in a}
        for resource in as_list(statement["Resource"]):
            flattened = flatten_cfn_reference(resource)
            if "*" in flattened:
                findings.add(f"AwsSolutions-IAM5[Resource::{flattened}]")
    return findings
