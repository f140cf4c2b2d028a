"""The warehouse: Redshift Serverless in a network of its own, and the role its COPY assumes.

- **Network**: a VPC of isolated subnets only (no internet gateway, no NAT) in three Availability Zones,
  with an S3 gateway endpoint, VPC flow logs to an encrypted log group, and the default security group
  stripped of its rules. The workgroup's own security group admits nothing and sends only HTTPS (to S3,
  the only route out of the subnets).
- **Namespace**: the database ``lakehouse``, encrypted with the lake's key; its admin password is made
  and kept by Secrets Manager (``manage_admin_password``, encrypted with the same key), so no password
  exists in the template. User, connection and user-activity logs go to CloudWatch.
- **Workgroup**: in those subnets, not publicly accessible, enhanced VPC routing (COPY's traffic stays in
  the VPC, through the endpoint), TLS required, a base capacity from config, and a daily usage limit of
  RPU-hours past which Redshift stops queries (CloudFormation has no usage-limit resource: a custom
  resource calls the Redshift Serverless API on create, update and delete).
- **COPY role**: assumed by Redshift, it may list and read ``exports/`` of the analytics bucket and
  decrypt through S3, nothing else.

The state machine loads through the Data API as itself (IAM, ``redshift-serverless:GetCredentials``):
no database password is handed around.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from infra.config import WarehouseConfig
from infra.constructs.encrypted_log_group import EncryptedLogGroup
from infra.constructs.key_grants import via_service
from infra.constructs.nag import acknowledge, iam5_resource_finding
from lakehouse.serving import EXPORTS_PREFIX

__all__ = ["WAREHOUSE_AVAILABILITY_ZONES", "WAREHOUSE_DATABASE", "Warehouse"]

WAREHOUSE_DATABASE = "lakehouse"
_CIDR = "10.40.0.0/16"
WAREHOUSE_AVAILABILITY_ZONES = 3  # Redshift Serverless asks for subnets in three Availability Zones
_ADMIN_USER = "lakehouse_admin"
_LOGS = ["userlog", "connectionlog", "useractivitylog"]


class Warehouse(Construct):
    vpc: ec2.Vpc
    security_group: ec2.SecurityGroup
    copy_role: iam.Role
    namespace: redshift.CfnNamespace
    workgroup: redshift.CfnWorkgroup
    workgroup_name: str
    workgroup_arn: str

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        config: WarehouseConfig,
        encryption_key: kms.IKey,
        analytics_bucket: s3.IBucket,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self._key, self._log_retention_days, self._removal_policy = encryption_key, log_retention_days, removal_policy
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(_CIDR),
            # The stack names three zones (Fn::GetAZs), so an account-less synth gets three too.
            max_azs=WAREHOUSE_AVAILABILITY_ZONES,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="warehouse", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
            restrict_default_security_group=True,
        )
        flow_logs = EncryptedLogGroup(
            self,
            "FlowLogs",
            log_group_name=f"/{resource_prefix}/warehouse-vpc-flow-logs",
            encryption_key=encryption_key,
            retention_in_days=log_retention_days,
            removal_policy=removal_policy,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=self.vpc,
            description="Redshift Serverless workgroup: no inbound; HTTPS out, which only the S3 endpoint can carry",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "COPY reads S3 via the endpoint")
        acknowledge(
            self.security_group,
            "AwsSolutions-EC23",
            "No inbound rule exists; the egress rule's 0.0.0.0/0 leads only to the S3 gateway endpoint, as the "
            "subnets are isolated (no internet or NAT route).",
        )

        self.copy_role = iam.Role(
            self,
            "CopyRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"),
                iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
            ),
            description="Assumed by the warehouse's COPY: reads the runs' exports, nothing else.",
        )
        exports = analytics_bucket.arn_for_objects(f"{EXPORTS_PREFIX}*")
        copy_policy = iam.Policy(
            self,
            "CopyPolicy",
            roles=[self.copy_role],
            statements=[
                iam.PolicyStatement(
                    sid="ListTheExports",
                    actions=["s3:ListBucket"],
                    resources=[analytics_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{EXPORTS_PREFIX}*"]}},
                ),
                iam.PolicyStatement(
                    sid="LocateTheBucket", actions=["s3:GetBucketLocation"], resources=[analytics_bucket.bucket_arn]
                ),
                iam.PolicyStatement(sid="ReadTheExports", actions=["s3:GetObject"], resources=[exports]),
                iam.PolicyStatement(
                    sid="DecryptTheExports",
                    actions=["kms:Decrypt"],
                    resources=[encryption_key.key_arn],
                    conditions={
                        "StringEquals": {
                            **via_service("s3", stack.region),
                            "kms:EncryptionContext:aws:s3:arn": analytics_bucket.bucket_arn,
                        }
                    },
                ),
            ],
        )
        acknowledge(
            copy_policy,
            iam5_resource_finding(self, exports),
            "COPY reads one run's export under exports/run_id=<run>/; run ids are unknown at deploy time.",
        )

        namespace_name = f"{resource_prefix}-warehouse"
        self.namespace = redshift.CfnNamespace(
            self,
            "Namespace",
            namespace_name=namespace_name,
            db_name=WAREHOUSE_DATABASE,
            admin_username=_ADMIN_USER,
            manage_admin_password=True,
            admin_password_secret_kms_key_id=encryption_key.key_arn,
            kms_key_id=encryption_key.key_arn,
            iam_roles=[self.copy_role.role_arn],
            default_iam_role_arn=self.copy_role.role_arn,
            log_exports=_LOGS,
        )
        self.namespace.apply_removal_policy(removal_policy)
        self.workgroup_name = f"{resource_prefix}-warehouse"
        self.workgroup = redshift.CfnWorkgroup(
            self,
            "Workgroup",
            workgroup_name=self.workgroup_name,
            namespace_name=namespace_name,
            base_capacity=config.base_capacity_rpu,
            enhanced_vpc_routing=True,
            publicly_accessible=False,
            subnet_ids=[subnet.subnet_id for subnet in self.vpc.isolated_subnets],
            security_group_ids=[self.security_group.security_group_id],
            config_parameters=[
                redshift.CfnWorkgroup.ConfigParameterProperty(parameter_key="require_ssl", parameter_value="true"),
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="enable_user_activity_logging", parameter_value="true"
                ),
            ],
        )
        self.workgroup.node.add_dependency(self.namespace)
        self.workgroup.apply_removal_policy(removal_policy)
        self.workgroup_arn = self.workgroup.attr_workgroup_workgroup_arn
        self._usage_limit(config.max_rpu_hours_per_day)

    def _usage_limit(self, rpu_hours_per_day: int) -> None:
        """The daily RPU-hours cap, through the API (CloudFormation has no resource for it)."""
        service, limit_id = "RedshiftServerless", cr.PhysicalResourceId.from_response("usageLimit.usageLimitId")
        limit = cr.AwsCustomResource(
            self,
            "UsageLimit",
            on_create=cr.AwsSdkCall(
                service=service,
                action="createUsageLimit",
                parameters={
                    "resourceArn": self.workgroup_arn,
                    "usageType": "serverless-compute",
                    "amount": rpu_hours_per_day,
                    "period": "daily",
                    "breachAction": "deactivate",
                },
                physical_resource_id=limit_id,
            ),
            on_update=cr.AwsSdkCall(
                service=service,
                action="updateUsageLimit",
                parameters={"usageLimitId": cr.PhysicalResourceIdReference(), "amount": rpu_hours_per_day},
                physical_resource_id=limit_id,
            ),
            on_delete=cr.AwsSdkCall(
                service=service,
                action="deleteUsageLimit",
                parameters={"usageLimitId": cr.PhysicalResourceIdReference()},
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["redshift-serverless:CreateUsageLimit"], resources=[self.workgroup_arn]
                    ),
                    # A usage limit is addressed by the id Redshift gives it: unknown until it exists.
                    iam.PolicyStatement(
                        actions=["redshift-serverless:UpdateUsageLimit", "redshift-serverless:DeleteUsageLimit"],
                        resources=["*"],
                    ),
                ]
            ),
            install_latest_aws_sdk=False,
            log_group=EncryptedLogGroup(
                self,
                "UsageLimitLogs",
                log_group_name=f"/{self.workgroup_name}/usage-limit-provider",
                encryption_key=self._key,
                retention_in_days=self._log_retention_days,
                removal_policy=self._removal_policy,
            ),
        )
        acknowledge(
            limit,
            "AwsSolutions-IAM5[Resource::*]",
            "UpdateUsageLimit and DeleteUsageLimit address the limit by the id Redshift assigns when it is created; "
            "creating one is allowed on this workgroup only.",
        )
        # The singleton function every AwsCustomResource of the stack shares (CDK's own construct).
        provider_id = "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        provider = cdk.Stack.of(self).node.try_find_child(provider_id)
        if provider is None:
            raise RuntimeError(f"AwsCustomResource's provider is no longer the stack's child {provider_id}")
        _ignore_implied_dependency(provider)
        restrict = cdk.Stack.of(self).node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        if restrict is None:
            raise RuntimeError("the VPC no longer restricts its default security group through CDK's provider")
        _ignore_implied_dependency(restrict)
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's AwsCustomResource provider (one function, called only at deploy time to set the usage limit) "
            "logs with the basic execution policy; its API permissions are the inline policy above.",
        )


def _ignore_implied_dependency(construct: IConstruct) -> None:
    """W3005 on CDK's own provider functions: their L2 both DependsOn and GetAtt's the role; not ours to change."""
    for child in construct.node.find_all():
        if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == "AWS::Lambda::Function":
            child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
