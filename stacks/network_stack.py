from __future__ import annotations

from enum import Enum
from typing import Any

from aws_cdk import Annotations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from config import RegionConfig
from constructs_lib.iam import apply_boundary
from constructs_lib.network import ThreeAzVpc, TierSecurityGroups
from constructs_lib.operator_access import PortForwardingHost
from constructs_lib.retention import log_retention
from contract import DB_PORT
from stacks.base import RegionalStack
from stacks.links import Link, publish, publish_list, read, read_list

APP_PORT = 8443


class NetworkStack(RegionalStack):
    """The region's VPC (3 AZs), flow logs, endpoints and tier security groups."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, **kwargs)
        apply_boundary(self)
        logs_key = kms.Key.from_key_arn(self, "LogsKey", read(self, Link.LOGS_KEY_ARN))
        self.network = ThreeAzVpc(
            self,
            "Network",
            availability_zones=region_config.availability_zones,
            cidr=region_config.vpc_cidr,
            logs_key=logs_key,
            flow_log_retention=log_retention(region_config.retention.flow_log_days),
            nat_gateways=region_config.nat_gateways,
            operator_endpoints=region_config.operator_access,
            subprocessor_domains=region_config.subprocessor_domains,
        )
        vpc = self.network.vpc
        self.security_groups = TierSecurityGroups(
            self,
            "Tiers",
            vpc=vpc,
            app_port=APP_PORT,
            db_port=DB_PORT,
            endpoint_security_group=self.network.endpoint_security_group,
            s3_prefix_list_id=region_config.s3_prefix_list_id,
            app_internet_egress=region_config.app_internet_egress,
            operator_access=region_config.operator_access,
            subprocessor_egress=bool(region_config.subprocessor_domains),
        )

        publish(self, Link.VPC_ID, vpc.vpc_id)
        publish(self, Link.S3_ENDPOINT_ID, self.network.s3_endpoint.vpc_endpoint_id)
        for tier, subnets in (
            (Tier.PUBLIC, vpc.select_subnets(subnet_group_name="public").subnets),  # the ALB's, not egress/firewall
            (Tier.APP, vpc.private_subnets),
            (Tier.DATA, vpc.isolated_subnets),
        ):
            publish_list(self, _SUBNET_LINKS[tier], [s.subnet_id for s in subnets])
        publish(self, Link.ALB_SECURITY_GROUP_ID, self.security_groups.alb.security_group_id)
        publish(self, Link.APP_SECURITY_GROUP_ID, self.security_groups.app.security_group_id)
        publish(self, Link.DATABASE_SECURITY_GROUP_ID, self.security_groups.database.security_group_id)
        publish(self, Link.LIFECYCLE_SECURITY_GROUP_ID, self.security_groups.lifecycle.security_group_id)
        publish(self, Link.DATABASE_ADMIN_SECURITY_GROUP_ID, self.security_groups.database_admin.security_group_id)
        if self.security_groups.operator is not None:  # config operator_access
            # The AZ-loss drill takes the first AZ down: the operator path lives in the third.
            self.operator_host = PortForwardingHost(
                self,
                "OperatorHost",
                vpc=vpc,
                security_group=self.security_groups.operator,
                subnet=vpc.private_subnets[2],
            )
            publish(self, Link.OPERATOR_HOST_ID, self.operator_host.host.instance_id)


class Tier(Enum):
    PUBLIC = "public"
    APP = "app"
    DATA = "data"


_SUBNET_LINKS = {Tier.PUBLIC: Link.PUBLIC_SUBNET_IDS, Tier.APP: Link.APP_SUBNET_IDS, Tier.DATA: Link.DATA_SUBNET_IDS}


def import_vpc(scope: Construct, region_config: RegionConfig, tiers: tuple[Tier, ...]) -> ec2.IVpc:
    """The network stack's VPC with the subnets of `tiers`, from its SSM links (no lookup,
    no export). Only the tiers a stack uses are read, so no template carries an unused parameter."""

    def ids(tier: Tier) -> list[str] | None:
        return read_list(scope, _SUBNET_LINKS[tier], 3) if tier in tiers else None

    vpc = ec2.Vpc.from_vpc_attributes(
        scope,
        "Vpc",
        vpc_id=read(scope, Link.VPC_ID),
        vpc_cidr_block=region_config.vpc_cidr,
        availability_zones=list(region_config.availability_zones),
        public_subnet_ids=ids(Tier.PUBLIC),
        private_subnet_ids=ids(Tier.APP),
        isolated_subnet_ids=ids(Tier.DATA),
    )
    # Route tables are only needed to add routes/gateway endpoints, which only the
    # network stack does; importing them would add unused template parameters.
    Annotations.of(vpc).acknowledge_warning(
        "@aws-cdk/aws-ec2:noSubnetRouteTableId", "consumer stacks never read subnet route tables"
    )
    return vpc
