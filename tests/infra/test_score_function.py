"""The score function as synthesized, per environment: code, sizing, environment, access, batch inference, logs.

Resources are found by what they are (the handler, a bucket's access-log prefix, the role Bedrock
assumes); no logical id is written down here. cdk-nag and cfn-lint run over the whole app in
``test_app.py``; here the acknowledgements are checked to be exactly the wildcards the policies hold.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from aws_cdk import assertions, cx_api
from aws_cdk.assertions import Match

from infra.config import EnvironmentConfig
from infra.constructs.score_function import SCORE_HANDLER, SCORE_RESERVED_CONCURRENCY
from lambdas.score.settings import Backend, ScoreSettings
from tests.infra.templates import (
    acknowledgements,
    as_list,
    bucket_logging_to,
    iam5_findings,
    key_arn,
    log_group_arn,
    one,
    role_statements,
)

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
REGION = "us-east-1"
STAND_IN = "stand-in"  # what a CloudFormation reference becomes when the environment is parsed
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
BATCH_ACTIONS = {
    "bedrock:CreateModelInvocationJob",
    "bedrock:GetModelInvocationJob",
    "bedrock:ListModelInvocationJobs",
    "iam:PassRole",
    "servicequotas:ListServiceQuotas",
    "servicequotas:ListAWSDefaultServiceQuotas",
}
NOVA_LITE = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"


# --------------------------------------------------------------------------- finding things


@dataclasses.dataclass(frozen=True)
class Found:
    """One environment's score function and what its policies name, as references."""

    template: assertions.Template
    config: EnvironmentConfig
    function_id: str
    function: dict[str, Any]
    role_id: str
    processed: dict[str, Any]
    analytics: dict[str, Any]
    raw: dict[str, Any]
    key: dict[str, Any]

    def statements(self) -> list[dict[str, Any]]:
        return list(role_statements(self.template, self.role_id))

    def access(self) -> dict[str, dict[str, Any]]:
        """The access policy's statements by Sid (X-Ray's default-policy statement has none)."""
        return {statement["Sid"]: statement for statement in self.statements() if "Sid" in statement}

    def in_account(self, before: str, after: str) -> Any:
        """An ARN with the deploying account in it, as the stack spells it (a reference when not configured)."""
        if self.config.account is not None:
            return f"{before}{self.config.account}{after}"
        return {"Fn::Join": ["", [before, {"Ref": "AWS::AccountId"}, after]]}

    @property
    def account(self) -> Any:
        return self.config.account if self.config.account is not None else {"Ref": "AWS::AccountId"}

    @property
    def profile_arn(self) -> Any:
        return self.in_account(f"arn:aws:bedrock:{REGION}:", f":inference-profile/{self.config.llm.model_id}")

    @property
    def job_arns(self) -> Any:
        return self.in_account(f"arn:aws:bedrock:{REGION}:", ":model-invocation-job/*")


@pytest.fixture(scope="module")
def found(templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig]) -> dict[str, Found]:
    result = {}
    for env in ENVIRONMENTS:
        template = templates[env]
        function_id, function = one(template, "AWS::Lambda::Function", {"Handler": SCORE_HANDLER})
        result[env] = Found(
            template=template,
            config=configs[env],
            function_id=function_id,
            function=function,
            role_id=function["Properties"]["Role"]["Fn::GetAtt"][0],
            processed={"Fn::GetAtt": [bucket_logging_to(template, "processed/"), "Arn"]},
            analytics={"Fn::GetAtt": [bucket_logging_to(template, "analytics/"), "Arn"]},
            raw={"Fn::GetAtt": [bucket_logging_to(template, "raw/"), "Arn"]},
            key=key_arn(template),
        )
    return result


def _batch_roles(template: assertions.Template) -> dict[str, Any]:
    """The roles Bedrock assumes: the score function's batch inference service role, when batch is on."""
    return dict(
        template.find_resources(
            "AWS::IAM::Role",
            {
                "Properties": {
                    "AssumeRolePolicyDocument": Match.object_like(
                        {"Statement": [Match.object_like({"Principal": {"Service": "bedrock.amazonaws.com"}})]}
                    )
                }
            },
        )
    )


def _objects(bucket_arn: dict[str, Any], pattern: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [bucket_arn, f"/{pattern}"]]}


def _normalized(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement with its lists in one order: CDK may sort actions and resources, IAM does not care."""

    def ordered(value: Any) -> Any:
        if isinstance(value, list):
            return sorted((ordered(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
        if isinstance(value, dict) and not {"Fn::Join", "Fn::GetAtt", "Ref"} & value.keys():
            return {name: ordered(item) for name, item in value.items()}
        return value

    return {name: ordered(value) for name, value in statement.items()}


def _stand_in(value: Any) -> str:
    """An environment value with each CloudFormation reference replaced by a placeholder."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(_stand_in(part) for part in parts)
    return STAND_IN


def _references(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        if "Ref" in value or "Fn::GetAtt" in value:
            yield value
            return
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


# --------------------------------------------------------------------------- the function


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_function_runs_the_score_handler_sized_by_the_llm_config_one_at_a_time(
    found: Mapping[str, Found], env: str
) -> None:
    score = found[env]
    llm = score.config.llm
    score.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": f"{score.config.resource_prefix}-score",
            "Handler": SCORE_HANDLER,
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "MemorySize": llm.memory_mb,
            "Timeout": llm.timeout_seconds,
            # One scorer at a time: two overlapping runs never select, and pay for, the same posts.
            "ReservedConcurrentExecutions": SCORE_RESERVED_CONCURRENCY,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": Match.any_value()}},
        },
    )
    assert SCORE_RESERVED_CONCURRENCY == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_environment_carries_the_environments_scoring_policy_for_bedrock(
    found: Mapping[str, Found], env: str
) -> None:
    score = found[env]
    variables = score.function["Properties"]["Environment"]["Variables"]

    settings = ScoreSettings.from_env({name: _stand_in(value) for name, value in variables.items()})

    policy = score.config.llm.policy
    if policy.batch.enabled:  # the batch role's ARN, a reference, stands in
        policy = dataclasses.replace(policy, batch=dataclasses.replace(policy.batch, role_arn=STAND_IN))
    assert settings == ScoreSettings(
        environment=env,
        processed_uri=f"s3://{STAND_IN}/",
        analytics_uri=f"s3://{STAND_IN}/",
        runs_uri=f"s3://{STAND_IN}/runs/",
        backend=Backend.BEDROCK,
        policy=policy,
    )
    assert settings.policy.model_id == score.config.llm.model_id
    assert settings.policy.budget_usd_per_run == score.config.llm.budget_usd_per_run
    for name, bucket in (("PROCESSED_URI", score.processed), ("ANALYTICS_URI", score.analytics)):
        assert variables[name] == {"Fn::Join": ["", ["s3://", {"Ref": bucket["Fn::GetAtt"][0]}, "/"]]}, name
    assert variables["RUNS_URI"] == {"Fn::Join": ["", ["s3://", {"Ref": score.raw["Fn::GetAtt"][0]}, "/runs/"]]}


def test_prod_tells_the_code_which_role_its_batch_jobs_run_as(found: Mapping[str, Found]) -> None:
    score = found["prod"]
    (batch_role_id,) = _batch_roles(score.template)
    policy = score.function["Properties"]["Environment"]["Variables"]["SCORING_POLICY"]
    assert list(_references(policy)) == [{"Fn::GetAtt": [batch_role_id, "Arn"]}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_log_group_is_its_own_encrypted_and_retained_for_the_configured_days(
    found: Mapping[str, Found], env: str
) -> None:
    score = found[env]
    score.template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": f"/aws/lambda/{score.config.resource_prefix}-score",
            "KmsKeyId": score.key,
            "RetentionInDays": score.config.log_retention_days,
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_function_waits_for_its_access_policies(found: Mapping[str, Found], env: str) -> None:
    score = found[env]
    policies = score.template.find_resources(
        "AWS::IAM::Policy",
        {
            "Properties": {
                "PolicyDocument": Match.object_like(
                    {
                        "Statement": Match.array_with(
                            [
                                Match.object_like(
                                    {"Sid": Match.string_like_regexp("^(ReadProcessedPosts|ReadBatchRecords)$")}
                                )
                            ]
                        )
                    }
                )
            }
        },
    )
    assert len(policies) == (2 if score.config.llm.policy.batch.enabled else 1)
    assert set(policies) <= set(score.function["DependsOn"])


# --------------------------------------------------------------------------- access


def _expected_access(score: Found) -> list[dict[str, Any]]:
    """Every statement of the access policy, as the code's calls need them."""
    llm = score.config.llm

    def statement(sid: str, actions: Any, resources: Any, condition: Any = None) -> dict[str, Any]:
        made = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
        return made | ({"Condition": condition} if condition is not None else {})

    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    analytics_prefixes = ["opportunity_scores/*", "llm_costs/*", "batch_inference/*"]
    expected = [
        statement(
            "WriteOwnLogGroup",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            log_group_arn(score.template, f"/aws/lambda/{score.config.resource_prefix}-score"),
        ),
        statement(
            "ListProcessedPosts",
            "s3:ListBucket",
            score.processed,
            {"StringLike": {"s3:prefix": ["posts/*", "comments/*"]}},
        ),
        statement(
            "ReadProcessedPosts",
            "s3:GetObject",
            [_objects(score.processed, "posts/*"), _objects(score.processed, "comments/*")],
        ),
        statement("ListScores", "s3:ListBucket", score.analytics, {"StringLike": {"s3:prefix": analytics_prefixes}}),
        statement(
            "ReadWriteScores",
            ["s3:GetObject", "s3:PutObject"],
            [_objects(score.analytics, prefix) for prefix in analytics_prefixes],
        ),
        statement("ListRunManifests", "s3:ListBucket", score.raw, {"StringLike": {"s3:prefix": "runs/*"}}),
        statement("ReadRunManifests", "s3:GetObject", _objects(score.raw, "runs/*")),
        statement("WriteScoreManifest", "s3:PutObject", _objects(score.raw, "runs/*/score.json")),
        statement(
            "DecryptLakeObjects",
            "kms:Decrypt",
            score.key,
            {
                "StringEquals": {
                    **via_s3,
                    "kms:EncryptionContext:aws:s3:arn": [score.processed, score.analytics, score.raw],
                }
            },
        ),
        statement(
            "EncryptScoreObjects",
            "kms:GenerateDataKey",
            score.key,
            {"StringEquals": {**via_s3, "kms:EncryptionContext:aws:s3:arn": [score.analytics, score.raw]}},
        ),
        *_expected_model_statements(score, "InvokeModel", "bedrock:InvokeModel"),
    ]
    if llm.policy.batch.enabled:
        (batch_role_id,) = _batch_roles(score.template)
        expected += [
            statement(
                "ManageBatchJobs",
                ["bedrock:CreateModelInvocationJob", "bedrock:GetModelInvocationJob"],
                score.job_arns,
            ),
            *_expected_model_statements(score, "CreateBatchJobs", "bedrock:CreateModelInvocationJob"),
            statement("FindBatchJobByName", "bedrock:ListModelInvocationJobs", "*"),
            statement(
                "PassBatchRole",
                "iam:PassRole",
                {"Fn::GetAtt": [batch_role_id, "Arn"]},
                {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            ),
            statement(
                "ReadBatchQuotas",
                ["servicequotas:ListServiceQuotas", "servicequotas:ListAWSDefaultServiceQuotas"],
                "*",
            ),
        ]
    return expected


def _expected_model_statements(score: Found, sid: str, action: str) -> list[dict[str, Any]]:
    llm = score.config.llm
    if not llm.uses_inference_profile:
        resource = f"arn:aws:bedrock:{REGION}::foundation-model/{llm.foundation_model_id}"
        return [{"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}]
    return [
        {"Sid": f"{sid}ThroughProfile", "Effect": "Allow", "Action": action, "Resource": score.profile_arn},
        {
            "Sid": f"{sid}BehindProfile",
            "Effect": "Allow",
            "Action": action,
            "Resource": [
                f"arn:aws:bedrock:{region}::foundation-model/{llm.foundation_model_id}"
                for region in llm.inference_profile_regions
            ],
            "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": score.profile_arn}},
        },
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_role_may_do_exactly_what_the_code_does(found: Mapping[str, Found], env: str) -> None:
    score = found[env]
    statements = score.statements()
    access = sorted((_normalized(s) for s in statements if "Sid" in s), key=lambda s: s["Sid"])
    xray = [s for s in statements if "Sid" not in s]

    assert access == sorted((_normalized(s) for s in _expected_access(score)), key=lambda s: s["Sid"])
    # Active tracing's own statement; nothing else reaches the role, no managed policy either.
    assert {action for s in xray for action in as_list(s["Action"])} == XRAY_ACTIONS
    assert [s["Resource"] for s in xray] == ["*"]
    role = score.template.to_json()["Resources"][score.role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


def test_dev_invokes_the_nova_foundation_model_and_nothing_else(found: Mapping[str, Found]) -> None:
    score = found["dev"]
    assert score.config.llm.model_id == "amazon.nova-lite-v1:0"
    bedrock = [s for s in score.statements() if any(a.startswith("bedrock:") for a in as_list(s["Action"]))]
    assert bedrock == [
        {"Sid": "InvokeModel", "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": NOVA_LITE}
    ]


def test_prod_invokes_the_profile_and_its_regional_models_only_through_it(found: Mapping[str, Found]) -> None:
    score = found["prod"]
    assert score.config.llm.model_id == f"us.{HAIKU}"
    invoke = [s for s in score.statements() if "bedrock:InvokeModel" in as_list(s["Action"])]
    through, behind = sorted(invoke, key=lambda s: s["Sid"], reverse=True)

    assert through == {
        "Sid": "InvokeModelThroughProfile",
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": score.profile_arn,
    }
    assert behind["Sid"] == "InvokeModelBehindProfile"
    assert sorted(behind["Resource"]) == [
        f"arn:aws:bedrock:{region}::foundation-model/{HAIKU}" for region in ("us-east-1", "us-east-2", "us-west-2")
    ]
    # The foundation model may be reached only through the profile: never directly, in no other region.
    assert behind["Condition"] == {"StringEquals": {"bedrock:InferenceProfileArn": score.profile_arn}}


# --------------------------------------------------------------------------- batch inference


def test_prod_has_a_batch_role_bedrock_assumes_for_this_accounts_jobs_only(found: Mapping[str, Found]) -> None:
    score = found["prod"]
    assert score.config.llm.policy.batch.enabled
    ((batch_role_id, batch_role),) = _batch_roles(score.template).items()

    assert batch_role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": score.account},
                "ArnLike": {"aws:SourceArn": score.job_arns},
            },
        }
    ]
    assert "ManagedPolicyArns" not in batch_role["Properties"]
    statements = sorted(
        (_normalized(s) for s in role_statements(score.template, batch_role_id)), key=lambda s: s["Sid"]
    )
    expected = [
        {
            "Sid": "ListBatchObjects",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": score.analytics,
            "Condition": {"StringLike": {"s3:prefix": "batch_inference/*"}},
        },
        {
            "Sid": "ReadBatchRecords",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": _objects(score.analytics, "batch_inference/*/input/*"),
        },
        {
            "Sid": "WriteBatchResults",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": _objects(score.analytics, "batch_inference/*/output/*"),
        },
        {
            "Sid": "EncryptBatchObjects",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": score.key,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"s3.{REGION}.amazonaws.com",
                    "kms:EncryptionContext:aws:s3:arn": score.analytics,
                }
            },
        },
        *_expected_model_statements(score, "InvokeModel", "bedrock:InvokeModel"),
    ]
    assert statements == sorted((_normalized(s) for s in expected), key=lambda s: s["Sid"])


def test_prod_passes_the_batch_role_to_bedrock_only(found: Mapping[str, Found]) -> None:
    score = found["prod"]
    (batch_role_id,) = _batch_roles(score.template)
    (pass_role,) = [s for s in score.statements() if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role["Resource"] == {"Fn::GetAtt": [batch_role_id, "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    # No other role of the stack may hand it to anyone.
    passers = {
        role_id
        for role_id in score.template.find_resources("AWS::IAM::Role")
        for statement in role_statements(score.template, role_id)
        if "iam:PassRole" in as_list(statement["Action"])
    }
    assert passers == {score.role_id}


def test_dev_has_no_batch_role_and_no_batch_permissions(found: Mapping[str, Found]) -> None:
    score = found["dev"]
    assert not score.config.llm.policy.batch.enabled
    assert _batch_roles(score.template) == {}
    actions = {action for s in score.statements() for action in as_list(s["Action"])}
    assert actions & BATCH_ACTIONS == set()
    assert all(s["Resource"] != "*" for s in score.statements() if "Sid" in s)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_statement_deletes_an_object_or_grants_every_s3_action(found: Mapping[str, Found], env: str) -> None:
    score = found[env]
    role_ids = [score.role_id, *_batch_roles(score.template)]
    actions = {
        action
        for role_id in role_ids
        for s in role_statements(score.template, role_id)
        for action in as_list(s["Action"])
    }
    s3_actions = {action for action in actions if action.startswith("s3:")}
    assert s3_actions <= {"s3:ListBucket", "s3:GetObject", "s3:PutObject"}
    assert all("*" not in action for action in actions)


# --------------------------------------------------------------------------- cdk-nag


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_wildcard_and_only_those_is_acknowledged_with_a_reason(
    cloud_assembly: cx_api.CloudAssembly, found: Mapping[str, Found], env: str
) -> None:
    score = found[env]
    acknowledged = {
        rule: reason
        for path, rules in acknowledgements(cloud_assembly, score.config.stack_name).items()
        if "/Score/" in path
        for rule, reason in rules.items()
    }
    wildcards = iam5_findings(score.template, score.role_id)
    for batch_role_id in _batch_roles(score.template):
        wildcards |= iam5_findings(score.template, batch_role_id)

    assert set(acknowledged) == {"AwsSolutions-L1", *wildcards}
    assert all(len(reason) > 40 for reason in acknowledged.values()), acknowledged
    # Resource "*" only where the API has no resource-level permissions (X-Ray; batch's list calls).
    expected_star = XRAY_ACTIONS | (
        {
            "bedrock:ListModelInvocationJobs",
            "servicequotas:ListServiceQuotas",
            "servicequotas:ListAWSDefaultServiceQuotas",
        }
        if score.config.llm.policy.batch.enabled
        else set()
    )
    star = {action for s in score.statements() if s["Resource"] == "*" for action in as_list(s["Action"])}
    assert star == expected_star


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_operators_find_the_function_in_outputs(found: Mapping[str, Found], env: str) -> None:
    score = found[env]
    score.template.has_output("ScoreFunctionName", {"Value": {"Ref": score.function_id}})
