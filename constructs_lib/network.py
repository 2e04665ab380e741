"""A three-AZ VPC with encrypted flow logs, private endpoints and tier security groups."""

from __future__ import annotations

from aws_cdk import CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib import nag
from constructs_lib.iam import ScopedRole, service_principal

# Interface endpoints the data tier calls (KMS for envelope encryption, Secrets
# Manager for the RDS-managed secret, CloudWatch Logs for shipping logs, STS for
# role sessions) so that traffic to them never leaves the VPC.
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
}


class ThreeAzVpc(Construct):
    """VPC over exactly the three given AZs: public, private-with-egress and isolated
    subnets in each, `nat_gateways` NAT gateways (3 = one per AZ, the default: an AZ
    loss then never cuts the others' egress), all traffic flow-logged to a KMS-encrypted
    log group, S3 gateway endpoint, interface endpoints, default SG stripped of rules.

    Attributes: `vpc`, `flow_log_group`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: tuple[str, str, str],
        cidr: str,
        logs_key: kms.IKey,
        flow_log_retention: logs.RetentionDays,
        nat_gateways: int = 3,
    ) -> None:
        super().__init__(scope, construct_id)
        if len(set(availability_zones)) != 3:
            raise ValueError(f"ThreeAzVpc needs 3 distinct AZs, got {availability_zones}")
        prefix = int(cidr.split("/")[1])
        stack = Stack.of(self)
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=logs_key,
            retention=flow_log_retention,
            removal_policy=RemovalPolicy.RETAIN,  # audit evidence outlives the stack
        )
        flow_log_role = ScopedRole(
            self,
            "FlowLogDelivery",
            assumed_by=service_principal("vpc-flow-logs.amazonaws.com", stack.account),
            description="VPC flow logs: write to the flow-log group only",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=list(availability_zones),  # explicit: no lookup, never silently 2 AZs
            nat_gateways=nat_gateways,
            restrict_default_security_group=True,  # CIS 5.4 / AwsSolutions-VPC3
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=prefix + 4,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=prefix + 3
                ),
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=prefix + 4),
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group, flow_log_role.role),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
        nag.acknowledge(
            self.vpc,
            "CloudFormation Validate::W3010",
            "Subnet AZs are the region's three AZs from validated config, pinned on purpose: "
            "no synth-time lookup, and every tier provably spans all three.",
        )
        # CDK's provider handler carries a DependsOn its role that a GetAtt already implies;
        # cfn-lint W3005 flags the redundancy. Ignore it on that one CDK resource only.
        provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        handler = provider.node.try_find_child("Handler") if provider else None
        if isinstance(handler, CfnResource):
            handler.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        # One SG for all interface endpoints: HTTPS from inside the VPC only. The CIDR is
        # the literal from config (not the VPC's GetAtt) so the rule is checkable at synth.
        self.endpoint_security_group = ec2.SecurityGroup(
            self, "EndpointSecurityGroup", vpc=self.vpc, description="VPC interface endpoints", allow_all_outbound=False
        )
        self.endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from this VPC")
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                open=False,
                security_groups=[self.endpoint_security_group],
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )
        for subnet in self.vpc.public_subnets:
            nag.acknowledge(
                subnet.node.find_child("DefaultRoute"),
                ("HIPAA.Security-VPCNoUnrestrictedRouteToIGW", "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                 "PCI.DSS.321-VPCNoUnrestrictedRouteToIGW"),
                "Public subnets hold only the internet-facing ALB and the NAT gateways; nothing there "
                "gets a public IP on launch, and app/data subnets have no route to the IGW.",
            )  # fmt: skip


class TierSecurityGroups(Construct):
    """Security groups of the three tiers, chained: internet -> ALB -> app -> database.

    Nothing reaches the database except the app tier; nothing reaches the app tier
    except the ALB. No group allows all outbound traffic.

    Attributes: `alb`, `app`, `database`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, app_port: int, db_port: int) -> None:
        super().__init__(scope, construct_id)
        self.alb = ec2.SecurityGroup(self, "Alb", vpc=vpc, description="Internet-facing ALB", allow_all_outbound=False)
        self.app = ec2.SecurityGroup(self, "App", vpc=vpc, description="Application tier", allow_all_outbound=False)
        self.database = ec2.SecurityGroup(
            self, "Database", vpc=vpc, description="Aurora: app tier only", allow_all_outbound=False
        )
        self.alb.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS from the internet")
        self.alb.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "HTTP, redirected to HTTPS only")
        self.alb.add_egress_rule(self.app, ec2.Port.tcp(app_port), "to the app tier")
        self.app.add_ingress_rule(self.alb, ec2.Port.tcp(app_port), "from the ALB only")
        self.app.add_egress_rule(self.database, ec2.Port.tcp(db_port), "to Aurora")
        # HTTPS to AWS APIs: interface endpoints in the VPC, S3 via the gateway endpoint
        # (whose prefix-list ID differs per region and would need a lookup), else NAT.
        self.app.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
        self.database.add_ingress_rule(self.app, ec2.Port.tcp(db_port), "from the app tier only")
        nag.acknowledge(
            self.alb,
            ("AwsSolutions-EC23",),
            "Public ALB must accept 80/443 from any IPv4; port 80 only redirects to HTTPS, and "
            "the WAF web ACL (common, bad inputs, IP reputation) filters the traffic.",
        )
