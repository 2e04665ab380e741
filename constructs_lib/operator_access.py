"""The database operator's path for DR drills (off by default: config `operator_access`).

Aurora lives in isolated subnets and admits only its tiers, so a person reaches it only through a
Session Manager port forward to a small host that has no inbound rule at all:

    operator (MFA) --ssm:StartSession, AWS-StartPortForwardingSessionToRemoteHost only--> host
    host (operator security group: Aurora's port only) --> Aurora, as trustbase_dr with an IAM token

Every session start is a CloudTrail event (`ssm:StartSession`), which raises the security alarm
OperatorSessionStarted. The host runs the SSM agent with the minimal Session Manager permissions
(the AWS-managed AWSCloud9SSMInstanceProfile set: the four message channels and
ssm:UpdateInstanceInformation) through the SSM, SSM Messages and EC2 Messages VPC endpoints
(Systems Manager user guide, "Create VPC endpoints": ssm, ssmmessages, ec2messages).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib import nag
from constructs_lib.iam import ScopedRole
from contract import DR_DB_USER, db_user_arn, operator_role_name

PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"


class PortForwardingHost(Construct):
    """A t4g.nano Amazon Linux 2023 host in one app subnet, no inbound rule, IMDSv2 only, encrypted
    root volume, termination-protected; the SSM agent is its only way in. Attributes: `host`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        subnet: ec2.ISubnet,
    ) -> None:
        super().__init__(scope, construct_id)
        agent = ScopedRole(
            self,
            "HostRole",
            # EC2 documents no aws:SourceAccount for instance-profile roles: a plain principal.
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Port-forwarding host: Session Manager channels only",
            statements=[
                iam.PolicyStatement(
                    sid="SessionManagerAgent",
                    actions=[
                        "ssm:UpdateInstanceInformation",
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel",
                    ],
                    resources=["*"],
                )
            ],
        )
        nag.acknowledge(
            agent.managed_policy,
            f"{nag.IAM_WILDCARD}[Resource::*]",
            "The SSM agent's registration and message-channel APIs take no resource; these five "
            "actions are the whole of AWS's minimal Session Manager instance profile.",
        )
        self.host = ec2.Instance(
            self,
            "Host",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=[subnet]),
            security_group=security_group,
            instance_type=ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
            # The public SSM parameter is resolved by CloudFormation at deploy time: no synth lookup.
            machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
            role=agent.role,
            require_imdsv2=True,
            detailed_monitoring=True,
            ebs_optimized=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(8, encrypted=True, delete_on_termination=True),
                )
            ],
        )
        cfn = self.host.node.default_child
        if not isinstance(cfn, ec2.CfnInstance):
            raise TypeError(f"expected the host's CfnInstance, got {type(cfn).__name__}")
        cfn.disable_api_termination = True  # AwsSolutions-EC29: no accidental termination
        nag.acknowledge(
            self.host,
            "CloudFormation Validate::W3010",
            "The host sits in the region's third configured AZ on purpose: the AZ-loss drill takes the "
            "first one down, and the operator path must survive the drill it serves.",
        )


class DatabaseOperatorRole(Construct):
    """The database-operator elevation: the role a person assumes (1-hour sessions) during an
    approved elevation to port-forward to Aurora through the host and connect as trustbase_dr.
    Attributes: `role`."""

    def __init__(self, scope: Construct, construct_id: str, *, instance_id: str, assumed_by: iam.IPrincipal) -> None:
        """`assumed_by`: the elevation trust (constructs_lib.elevation.elevation_principal): nobody
        holds this role standing; an approved, expiring database-operator elevation opens it."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        partition, region, account = stack.partition, stack.region, stack.account
        instance_arn = f"arn:{partition}:ec2:{region}:{account}:instance/{instance_id}"
        document_arn = f"arn:{partition}:ssm:{region}::document/{PORT_FORWARD_DOCUMENT}"
        sessions = f"arn:{partition}:ssm:{region}:{account}:session/*"
        role = ScopedRole(
            self,
            "Operator",
            assumed_by=assumed_by,
            description=f"trustbase database operator: port-forward to Aurora through the host, connect as {DR_DB_USER}",
            role_name=operator_role_name(region),
            max_session_duration_hours=1,
            statements=[
                # Systems Manager user guide: a session must name a document the caller may use
                # (ssm:SessionDocumentAccessCheck), here only the remote-host port forward.
                iam.PolicyStatement(
                    sid="PortForwardThroughTheHostOnly",
                    actions=["ssm:StartSession"],
                    resources=[instance_arn, document_arn],
                    conditions={"BoolIfExists": {"ssm:SessionDocumentAccessCheck": "true"}},
                ),
                iam.PolicyStatement(
                    sid="EndOwnSessions",
                    actions=["ssm:TerminateSession", "ssm:ResumeSession"],
                    resources=[sessions],
                    conditions={"StringLike": {"ssm:resourceTag/aws:ssmmessages:session-id": ["${aws:userid}*"]}},
                ),
                # The cluster and the restore drill's copies (each restored cluster has a new
                # resource ID): only the trustbase_dr user, in this account and region.
                iam.PolicyStatement(
                    sid="ConnectAsDrUser",
                    actions=["rds-db:connect"],
                    resources=[db_user_arn(partition, region, account, "*", DR_DB_USER)],
                ),
            ],
        )
        self.role = role.role
        nag.acknowledge(
            role.managed_policy,
            (
                nag.iam5_resource_finding(self, sessions),
                nag.iam5_resource_finding(self, db_user_arn(partition, region, account, "*", DR_DB_USER)),
            ),
            "Session IDs are assigned at run time, and limited by a condition to sessions this caller started; "
            "a restored copy gets a new cluster resource ID, so the DR user may connect to any cluster of "
            f"this account and region, as {DR_DB_USER} only.",
        )
