"""The pipeline's state machine definition as data: render it, walk it, follow its transitions.

Shared by the definition tests (``test_state_machine.py``, ``test_asl.py``) and the executions on
moto (``test_state_machine_execution.py``). The definition is rendered from the synthesized
template with every CloudFormation reference pointed at a stand-in the test names: resources are
told apart by what they are (a function by its handler), never by logical id, and a reference
nobody stands in for fails loudly, so a new dependency of the definition shows up here first.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from aws_cdk import assertions

from infra.constructs.publish_function import PUBLISH_HANDLER
from infra.constructs.score_function import SCORE_HANDLER
from infra.constructs.verify_function import VERIFY_HANDLER
from lakehouse_tools.local.definition import state_machine_definition
from tests.infra.templates import INGEST_HANDLER, REGION, as_list, key_policy_statements, role_statements

__all__ = [
    "ACCOUNT",
    "REGION",
    "Targets",
    "follow",
    "key_actions_denied",
    "main_path",
    "render",
    "resolver",
    "shorten_retries",
    "states",
]

ACCOUNT = "123456789012"  # moto's default account, and an ARN-shaped stand-in for the deployed one

Resolver = Callable[[Mapping[str, Any]], str]
_HANDLERS = (INGEST_HANDLER, SCORE_HANDLER, PUBLISH_HANDLER, VERIFY_HANDLER)


@dataclass(frozen=True)
class Targets:
    """What the definition's references stand for: the four functions, the Glue job, the alarm topic and the
    warehouse's workgroup."""

    ingest_function_arn: str
    score_function_arn: str
    publish_function_arn: str
    verify_function_arn: str
    job_name: str
    topic_arn: str
    warehouse_arn: str

    @classmethod
    def named(
        cls,
        *,
        ingest_function: str,
        score_function: str,
        publish_function: str,
        verify_function: str,
        job_name: str,
        topic_name: str,
        warehouse: str = "warehouse",
    ) -> Targets:
        def function(name: str) -> str:
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

        return cls(
            ingest_function_arn=function(ingest_function),
            score_function_arn=function(score_function),
            publish_function_arn=function(publish_function),
            verify_function_arn=function(verify_function),
            job_name=job_name,
            topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic_name}",
            warehouse_arn=f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup/{warehouse}",
        )

    @classmethod
    def as_deployed(cls, template: Mapping[str, Any]) -> Targets:
        """The names the stack gives its functions, job and topic, in ARNs of a stand-in account."""
        names: dict[str, str] = {}
        job_name = topic_name = ""
        for resource in template["Resources"].values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and properties.get("Handler") in _HANDLERS:
                names[properties["Handler"]] = properties["FunctionName"]
            elif resource["Type"] == "AWS::Glue::Job":
                job_name = properties["Name"]
            elif resource["Type"] == "AWS::SNS::Topic":
                topic_name = properties["TopicName"]
        return cls.named(
            ingest_function=names[INGEST_HANDLER],
            score_function=names[SCORE_HANDLER],
            publish_function=names[PUBLISH_HANDLER],
            verify_function=names[VERIFY_HANDLER],
            job_name=job_name,
            topic_name=topic_name,
        )


def resolver(template: Mapping[str, Any], targets: Targets) -> Resolver:
    """Resolve the definition's references (``Ref`` / ``Fn::GetAtt``) to ``targets``."""
    resources: Mapping[str, Any] = template["Resources"]
    functions = {
        INGEST_HANDLER: targets.ingest_function_arn,
        SCORE_HANDLER: targets.score_function_arn,
        PUBLISH_HANDLER: targets.publish_function_arn,
        VERIFY_HANDLER: targets.verify_function_arn,
    }

    def resolve(reference: Mapping[str, Any]) -> str:
        if reference == {"Ref": "AWS::Partition"}:
            return "aws"
        if "Ref" in reference:
            logical_id, attribute = reference["Ref"], None
        else:
            logical_id, attribute = reference["Fn::GetAtt"]
        resource = resources[logical_id]
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return functions[resource["Properties"]["Handler"]]
        if kind == "AWS::Glue::Job" and attribute is None:
            return targets.job_name
        if kind == "AWS::SNS::Topic" and attribute is None:
            return targets.topic_arn
        if kind == "AWS::RedshiftServerless::Workgroup" and attribute == "Workgroup.WorkgroupArn":
            return targets.warehouse_arn
        raise ValueError(f"the definition references {reference} (a {kind}), which no test stands in for")

    return resolve


def render(template: Mapping[str, Any], targets: Targets) -> dict[str, Any]:
    """The template's state machine definition, pointed at ``targets``."""
    return state_machine_definition(template, resolver(template, targets))


def states(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every state of the definition with its name, those inside Map item processors and Parallel branches too."""
    for name, state in definition["States"].items():
        yield name, state
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", ())):
            if nested is not None:
                yield from states(nested)


def follow(definition: Mapping[str, Any], start: str) -> list[str]:
    """The states visited from ``start`` along ``Next`` (no Catch; a Choice's first choice), to a terminal state."""
    path = [start]
    while (following := _next(definition["States"][path[-1]])) is not None:
        if following in path:
            raise AssertionError(f"the definition loops: {[*path, following]}")
        path.append(following)
    return path


def _next(state: Mapping[str, Any]) -> str | None:
    if state["Type"] == "Choice":
        return str(state["Choices"][0]["Next"])
    following = state.get("Next")
    return None if following is None else str(following)


def main_path(definition: Mapping[str, Any]) -> list[str]:
    """The states a run that meets no error passes through, from ``StartAt``."""
    return follow(definition, definition["StartAt"])


def shorten_retries(definition: Mapping[str, Any], *, seconds: int = 1) -> dict[str, Any]:
    """A copy whose every Retry waits at most ``seconds`` (IntervalSeconds may not go below 1).

    Only the waits change: the errors retried, the attempts, the backoff and the jitter stay as
    deployed, so an execution takes the same path, only sooner.
    """
    shortened = copy.deepcopy(dict(definition))
    for _, state in states(shortened):
        for retrier in state.get("Retry", ()):
            retrier["IntervalSeconds"] = seconds
            if "MaxDelaySeconds" in retrier:
                retrier["MaxDelaySeconds"] = seconds
    return shortened


def key_actions_denied(
    template: assertions.Template, role_id: str, key: Mapping[str, Any], actions: Iterable[str]
) -> list[str]:
    """Which of ``actions`` on ``key`` neither the role's policies nor the key's policy allow it.

    Conditions are not evaluated: a grant limited to one service or one resource counts.
    """
    by_iam = list(role_statements(template, role_id))
    role_arn = {"Fn::GetAtt": [role_id, "Arn"]}
    by_key = [
        statement
        for statement in key_policy_statements(template)
        if role_arn in as_list(statement.get("Principal", {}).get("AWS", []))
    ]
    return [action for action in actions if not (_allows(by_iam, action, key) or _allows(by_key, action, "*"))]


def _allows(statements: Iterable[Mapping[str, Any]], action: str, resource: Any) -> bool:
    """Whether an Allow statement covers ``action`` (wildcards count) on ``resource`` (or on ``*``)."""
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatchcase(action, granted) for granted in as_list(statement["Action"]))
        and any(granted in (resource, "*") for granted in as_list(statement.get("Resource", "*")))
        for statement in statements
    )
