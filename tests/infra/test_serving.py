"""Serving in AWS: the analysts' workgroup, the warehouse and its isolation, and who may touch what."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from infra.config import EnvironmentConfig
from infra.constructs.analyst_workgroup import ATHENA_ENGINE_VERSION
from infra.constructs.publish_function import PUBLISH_HANDLER
from infra.stacks.lakehouse_stack import LakehouseStack
from lakehouse.pipeline import Stage
from lakehouse_tools.local.definition import state_machine_definition
from tests.infra.conftest import ENVIRONMENTS
from tests.infra.templates import as_list, bucket_logging_to, key_arn, one, role_statements

pytestmark = pytest.mark.cdk


def _exports_arn(template: assertions.Template) -> dict[str, Any]:
    bucket = bucket_logging_to(template, "analytics/")
    return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/exports/*"]]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_analysts_workgroup_enforces_engine_3_encrypted_results_and_the_scan_cutoff(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    _, workgroup = one(template, "AWS::Athena::WorkGroup")
    settings = workgroup["Properties"]["WorkGroupConfiguration"]
    assert settings["EnforceWorkGroupConfiguration"] is True
    assert settings["EngineVersion"] == {"SelectedEngineVersion": ATHENA_ENGINE_VERSION}
    assert settings["BytesScannedCutoffPerQuery"] == config.athena.bytes_scanned_cutoff_mb * 1024 * 1024
    results = settings["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS", "KmsKey": key_arn(template)}
    bucket = bucket_logging_to(template, "athena-results/")
    assert results["OutputLocation"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket}, "/athena/"]]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_warehouse_is_encrypted_and_its_password_kept_by_secrets_manager(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    _, namespace = one(template, "AWS::RedshiftServerless::Namespace")
    properties = namespace["Properties"]
    assert properties["KmsKeyId"] == properties["AdminPasswordSecretKmsKeyId"] == key_arn(template)
    assert properties["ManageAdminPassword"] is True
    assert "AdminUserPassword" not in properties
    assert set(properties["LogExports"]) == {"userlog", "connectionlog", "useractivitylog"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_warehouse_lives_in_isolated_subnets_reachable_only_through_the_s3_endpoint(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    _, workgroup = one(template, "AWS::RedshiftServerless::Workgroup")
    properties = workgroup["Properties"]
    assert properties["PubliclyAccessible"] is False
    assert properties["EnhancedVpcRouting"] is True
    assert properties["BaseCapacity"] == config.warehouse.base_capacity_rpu
    assert {"ParameterKey": "require_ssl", "ParameterValue": "true"} in properties["ConfigParameters"]
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert sorted(ref["Ref"] for ref in properties["SubnetIds"]) == sorted(subnets)
    assert len(subnets) == 3
    assert all(subnet["Properties"]["MapPublicIpOnLaunch"] is False for subnet in subnets.values())
    # No way out but the endpoint: no internet or NAT gateway, no default route.
    for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EgressOnlyInternetGateway"):
        assert template.find_resources(kind) == {}, kind
    assert template.find_resources("AWS::EC2::Route") == {}
    _, endpoint = one(template, "AWS::EC2::VPCEndpoint")
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert "s3" in str(endpoint["Properties"]["ServiceName"])
    one(template, "AWS::EC2::FlowLog", {"TrafficType": "ALL"})
    (group_id,) = (ref["Fn::GetAtt"][0] for ref in properties["SecurityGroupIds"])
    group = template.to_json()["Resources"][group_id]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [(rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) for rule in group["SecurityGroupEgress"]] == [
        ("tcp", 443, 443)
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_copy_role_reads_the_exports_and_nothing_else(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    _, namespace = one(template, "AWS::RedshiftServerless::Namespace")
    (role_id,) = (role["Fn::GetAtt"][0] for role in namespace["Properties"]["IamRoles"])
    statements = list(role_statements(template, role_id))
    granted = {action for statement in statements for action in as_list(statement["Action"])}
    assert granted == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "kms:Decrypt"}
    (read,) = (s for s in statements if s["Action"] == "s3:GetObject")
    assert read["Resource"] == _exports_arn(template)
    (listing,) = (s for s in statements if s["Action"] == "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["exports/*"]}}
    trust = template.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {service for statement in trust for service in as_list(statement["Principal"]["Service"])} == {
        "redshift.amazonaws.com",
        "redshift-serverless.amazonaws.com",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_usage_limit_caps_rpu_hours_a_day_as_configured(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    _, limit = one(templates[env], "Custom::AWS")
    create = "".join(part for part in limit["Properties"]["Create"]["Fn::Join"][1] if isinstance(part, str))
    for expected in (
        '"action":"createUsageLimit"',
        '"usageType":"serverless-compute"',
        f'"amount":{configs[env].warehouse.max_rpu_hours_per_day}',
        '"period":"daily"',
        '"breachAction":"deactivate"',
    ):
        assert expected in create, expected


def _granted(statements: list[dict[str, Any]], action: str) -> list[Any]:
    """Every resource the statements grant ``action`` on."""
    return [
        resource
        for statement in statements
        if action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_publish_role_queries_its_workgroup_and_may_replace_only_the_views(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    _, function = one(template, "AWS::Lambda::Function", {"Handler": PUBLISH_HANDLER})
    statements = list(role_statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0]))
    for action in ("athena:StartQueryExecution", "athena:GetQueryExecution"):
        (workgroup,) = _granted(statements, action)
        assert str(workgroup).count(":workgroup/") == 1
        assert str(workgroup).endswith("-analysts']]}")
    for action in ("glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"):
        tables = [resource for resource in _granted(statements, action) if ":table/" in str(resource)]
        assert len(tables) == 1
        assert str(tables[0]).endswith("/v_*']]}"), tables
    for action in ("s3:PutObject", "s3:DeleteObject"):
        writable = _granted(statements, action)
        assert _exports_arn(template) in writable
        # else only the workgroup's results and the stage's own manifest
        others = [resource for resource in writable if resource != _exports_arn(template)]
        assert all(str(resource).endswith(("/athena/*']]}", "/runs/*/publish.json']]}")) for resource in others)


def _without_warehouse(cdk_context: Mapping[str, Any], env: str) -> dict[str, Any]:
    context = dict(cdk_context)
    environments = dict(context["environments"])
    environments[env] = {**environments[env], "warehouse": {**environments[env]["warehouse"], "enabled": False}}
    context["environments"] = environments
    return context


def test_an_environment_can_switch_the_warehouse_off(
    cdk_context: Mapping[str, Any], configs: Mapping[str, EnvironmentConfig]
) -> None:
    from infra.config import load_environment

    context = _without_warehouse(cdk_context, "dev")
    app = cdk.App(context=context)
    stack = LakehouseStack(app, "off", config=load_environment(context, "dev"))
    template = assertions.Template.from_stack(stack)
    for kind in ("AWS::RedshiftServerless::Namespace", "AWS::RedshiftServerless::Workgroup", "AWS::EC2::VPC"):
        assert template.find_resources(kind) == {}, kind
    definition = state_machine_definition(template.to_json())
    load = definition["States"][Stage.LOAD.state_name]
    assert load["Type"] == "Pass"
    assert load["Next"] == Stage.VERIFY.state_name
    # Publish still publishes the views for Athena.
    assert definition["States"][Stage.PUBLISH.state_name]["Type"] == "Task"
