"""A three-AZ VPC with encrypted flow logs, private endpoints and tier security groups."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib import nag
from constructs_lib.egress import EgressFirewall
from constructs_lib.functions import ignore_redundant_provider_dependency
from constructs_lib.iam import ScopedRole, service_principal
from constructs_lib.perimeter import organization_of, principal_condition, resource_condition
from constructs_lib.retention import encrypted_log_group

# Interface endpoints, and the only actions each one lets through (a VPC endpoint policy is a
# ceiling on what passes the endpoint; it grants nothing). Every statement also requires that both
# the caller and the resource belong to this account (AWS data-perimeter examples, default endpoint
# policy, with account conditions), or to this organization when one is configured.
INTERFACE_ENDPOINTS: dict[str, tuple[ec2.InterfaceVpcEndpointAwsService, tuple[str, ...]]] = {
    # envelope encryption by the app tier
    "Kms": (ec2.InterfaceVpcEndpointAwsService.KMS, ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")),
    # the deploy-time migration function reads the RDS-managed master secret
    "SecretsManager": (
        ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
    ),
    # the app tier ships its logs
    "Logs": (
        ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
    ),
    # the app tier assumes the DSAR submitter (with session tags and a source identity, as SDKs may) ...
    "Sts": (ec2.InterfaceVpcEndpointAwsService.STS, ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")),
    # ... and starts erasures with it (so does retention, for a large inactive workspace)
    "StepFunctions": (
        ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
        ("states:StartExecution", "states:DescribeExecution"),
    ),
}
# The app tier's container images, from this account's registry in this region only (residency:
# images are pulled from in-region ECR; their layers come from S3 through the gateway endpoint).
# ecr:GetAuthorizationToken names no resource, so these require only a caller of this account.
REGISTRY_ENDPOINTS: dict[str, tuple[ec2.InterfaceVpcEndpointAwsService, tuple[str, ...]]] = {
    "EcrApi": (
        ec2.InterfaceVpcEndpointAwsService.ECR,
        (
            "ecr:GetAuthorizationToken",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
        ),
    ),
    "EcrDocker": (
        ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        (
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
        ),
    ),
}
# Session Manager for the operator path (only when `operator_access` is on): the agent's calls
# (AmazonSSMManagedInstanceCore, action by action) and the operator's StartSession. SSM documents
# and the message channels are AWS-owned, so these require only that the caller is of this account.
OPERATOR_ENDPOINTS: dict[str, tuple[ec2.InterfaceVpcEndpointAwsService, tuple[str, ...]]] = {
    "Ssm": (
        ec2.InterfaceVpcEndpointAwsService.SSM,
        (
            "ssm:DescribeAssociation",
            "ssm:GetDeployablePatchSnapshotForInstance",
            "ssm:GetDocument",
            "ssm:DescribeDocument",
            "ssm:GetManifest",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:ListAssociations",
            "ssm:ListInstanceAssociations",
            "ssm:PutInventory",
            "ssm:PutComplianceItems",
            "ssm:PutConfigurePackageResult",
            "ssm:UpdateAssociationStatus",
            "ssm:UpdateInstanceAssociationStatus",
            "ssm:UpdateInstanceInformation",
            "ssm:StartSession",
            "ssm:TerminateSession",
            "ssm:ResumeSession",
        ),
    ),
    "SsmMessages": (
        ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
        (
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        ),
    ),
    "Ec2Messages": (
        ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
        (
            "ec2messages:AcknowledgeMessage",
            "ec2messages:DeleteMessage",
            "ec2messages:FailMessage",
            "ec2messages:GetEndpoint",
            "ec2messages:GetMessages",
            "ec2messages:SendReply",
        ),
    ),
}


def endpoint_statement(
    scope: Construct, actions: tuple[str, ...], *, resources_of_account: bool
) -> iam.PolicyStatement:
    """The network perimeter of an interface endpoint (data-perimeter examples, vpc_endpoint_policies):
    only principals of this account (or organization, with `[perimeter] organization_id`) acting on
    resources of this account (or organization); `resources_of_account` False where the resource
    names no account of ours (ecr:GetAuthorizationToken; SSM documents and message channels)."""
    conditions = principal_condition(scope)
    if resources_of_account:
        conditions |= resource_condition(scope)
    return iam.PolicyStatement(
        sid="ThisOrganizationOnly" if organization_of(scope) else "ThisAccountOnly",
        principals=[iam.AnyPrincipal()],
        actions=list(actions),
        resources=["*"],
        conditions={"StringEquals": conditions},
    )


EGRESS_GROUP = "egress"  # the NAT gateways, behind the firewall (only with subprocessor_domains)
FIREWALL_GROUP = "firewall"  # the Network Firewall endpoints


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
        operator_endpoints: bool = False,
        subprocessor_domains: tuple[str, ...] = (),
    ) -> None:
        """`subprocessor_domains`: when set, the NAT gateways move into small "egress" subnets
        behind an AWS Network Firewall allow-list (constructs_lib/egress.py); the ALB's public
        subnets are unchanged."""
        super().__init__(scope, construct_id)
        if len(set(availability_zones)) != 3:
            raise ValueError(f"ThreeAzVpc needs 3 distinct AZs, got {availability_zones}")
        prefix = int(cidr.split("/")[1])
        stack = Stack.of(self)
        self.flow_log_group = encrypted_log_group(self, "FlowLogs", key=logs_key, retention=flow_log_retention)
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
                # Appended after the three tiers, so their CIDRs never move when the firewall is added.
                *(
                    [
                        ec2.SubnetConfiguration(
                            name=EGRESS_GROUP,
                            subnet_type=ec2.SubnetType.PUBLIC,
                            cidr_mask=28,
                            map_public_ip_on_launch=False,
                        ),
                        ec2.SubnetConfiguration(
                            name=FIREWALL_GROUP,
                            subnet_type=ec2.SubnetType.PUBLIC,
                            cidr_mask=28,
                            map_public_ip_on_launch=False,
                        ),
                    ]
                    if subprocessor_domains
                    else []
                ),
            ],
            nat_gateway_subnets=ec2.SubnetSelection(
                subnet_group_name=EGRESS_GROUP if subprocessor_domains else "public"
            ),
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
        ignore_redundant_provider_dependency(stack, "Custom::VpcRestrictDefaultSGCustomResourceProvider")
        # One SG for all interface endpoints. It admits nobody by itself: TierSecurityGroups opens
        # it to exactly the tiers that call AWS APIs.
        self.endpoint_security_group = ec2.SecurityGroup(
            self, "EndpointSecurityGroup", vpc=self.vpc, description="VPC interface endpoints", allow_all_outbound=False
        )
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        endpoints = {**INTERFACE_ENDPOINTS, **REGISTRY_ENDPOINTS, **(OPERATOR_ENDPOINTS if operator_endpoints else {})}
        for name, (service, actions) in endpoints.items():
            endpoint = self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                open=False,
                security_groups=[self.endpoint_security_group],
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )
            endpoint.add_to_policy(endpoint_statement(self, actions, resources_of_account=name in INTERFACE_ENDPOINTS))
            self.endpoints[name] = endpoint
        s3_endpoint = self.vpc.node.find_child("S3")
        if not isinstance(s3_endpoint, ec2.GatewayVpcEndpoint):
            raise TypeError("the VPC's S3 gateway endpoint is not where CDK puts it")
        self.s3_endpoint = s3_endpoint
        self.firewall: EgressFirewall | None = None
        if subprocessor_domains:
            self.firewall = EgressFirewall(
                self,
                "EgressFirewall",
                vpc=self.vpc,
                firewall_subnets=self.vpc.select_subnets(subnet_group_name=FIREWALL_GROUP).subnets,
                egress_subnets=self.vpc.select_subnets(subnet_group_name=EGRESS_GROUP).subnets,
                domains=subprocessor_domains,
                logs_key=logs_key,
                log_retention=flow_log_retention,
            )
        for subnet in self.vpc.select_subnets(subnet_group_name="public").subnets:
            nag.acknowledge(
                subnet.node.find_child("DefaultRoute"),
                (
                    "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
                    "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                    "PCI.DSS.321-VPCNoUnrestrictedRouteToIGW",
                ),
                "Public subnets hold only the internet-facing ALB and the NAT gateways; nothing there "
                "gets a public IP on launch, and app/data subnets have no route to the IGW.",
            )


class TierSecurityGroups(Construct):
    """Security groups of the tiers, chained: internet -> ALB -> app -> database.

    - `app` (the application tier): from the ALB only; to Aurora, the interface endpoints and S3
      (its gateway endpoint's prefix list). HTTPS to the internet only with `app_internet_egress`.
    - `lifecycle` (the functions that erase personal data): no ingress; to Aurora, S3 and the endpoints
      (retention hands a large workspace to the erasure state machine through Step Functions').
    - `database_admin` (the deploy-time migration function): no ingress; to Aurora and the
      endpoints (Secrets Manager holds the master secret).
    - `operator` (only with `operator_access`): the port-forwarding host; to Aurora and the endpoints.
    - `database`: from those tiers only. The interface endpoints: from those tiers only.

    Attributes: `alb`, `app`, `lifecycle`, `database_admin`, `operator` (or None), `database`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        app_port: int,
        db_port: int,
        endpoint_security_group: ec2.ISecurityGroup,
        s3_prefix_list_id: str,
        app_internet_egress: bool = False,
        operator_access: bool = False,
        subprocessor_egress: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)

        def group(cid: str, description: str) -> ec2.SecurityGroup:
            return ec2.SecurityGroup(self, cid, vpc=vpc, description=description, allow_all_outbound=False)

        self.alb = group("Alb", "Internet-facing ALB")
        self.app = group("App", "Application tier")
        self.lifecycle = group("Lifecycle", "Lifecycle functions: Aurora, S3 and the VPC endpoints")
        self.database_admin = group("DatabaseAdmin", "Deploy-time migrations: Aurora and Secrets Manager only")
        self.operator = group("Operator", "Database operator port forwarding: Aurora only") if operator_access else None
        self.database = group("Database", "Aurora: the tiers that use it only")
        s3 = ec2.Peer.prefix_list(s3_prefix_list_id)
        https, db = ec2.Port.tcp(443), ec2.Port.tcp(db_port)

        self.alb.add_ingress_rule(ec2.Peer.any_ipv4(), https, "HTTPS from the internet")
        self.alb.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "HTTP, redirected to HTTPS only")
        self.alb.add_egress_rule(self.app, ec2.Port.tcp(app_port), "to the app tier")
        self.app.add_ingress_rule(self.alb, ec2.Port.tcp(app_port), "from the ALB only")
        callers: list[tuple[ec2.SecurityGroup, bool, bool]] = [  # (group, reaches S3, reaches endpoints)
            (self.app, True, True),
            (self.lifecycle, True, True),
            (self.database_admin, False, True),
        ]
        if self.operator is not None:
            callers.append((self.operator, False, True))
        for sg, to_s3, to_endpoints in callers:
            name = sg.node.id
            sg.add_egress_rule(self.database, db, "to Aurora")
            self.database.add_ingress_rule(sg, db, f"from {name}")
            if to_s3:
                sg.add_egress_rule(s3, https, "to S3 through the gateway endpoint")
            if to_endpoints:
                sg.add_egress_rule(endpoint_security_group, https, "to the VPC interface endpoints")
                endpoint_security_group.add_ingress_rule(sg, https, f"HTTPS from {name}")
        if app_internet_egress:
            # An explicit config choice (`app_internet_egress = true`), for a subprocessor's API.
            self.app.add_egress_rule(ec2.Peer.any_ipv4(), https, "HTTPS to the internet (config: app_internet_egress)")
        elif subprocessor_egress:
            # The NAT path's firewall lets only the configured subprocessor domains through (TLS SNI).
            self.app.add_egress_rule(
                ec2.Peer.any_ipv4(), https, "HTTPS to the subprocessors (the egress firewall drops every other domain)"
            )
        nag.acknowledge(
            self.alb,
            ("AwsSolutions-EC23",),
            "Public ALB must accept 80/443 from any IPv4; port 80 only redirects to HTTPS, and "
            "the WAF web ACL (common, bad inputs, IP reputation) filters the traffic.",
        )
