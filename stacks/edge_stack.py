from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import RegionConfig
from constructs_lib.edge import HttpsAlb, RegionalWebAcl
from constructs_lib.fault_injection import FIS_UNAVAILABLE, FaultInjection
from constructs_lib.iam import AppTierRole, apply_boundary
from constructs_lib.retention import log_retention
from stacks.base import RegionalStack
from stacks.links import Link, publish, read
from stacks.network_stack import APP_PORT, Tier, import_vpc


class EdgeStack(RegionalStack):
    """Stateless: the public ALB, its WAF, and the app tier's target group and role."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, **kwargs)
        apply_boundary(self)
        vpc = import_vpc(self, region_config, (Tier.PUBLIC,))
        alb_sg = ec2.SecurityGroup.from_security_group_id(
            self, "AlbSecurityGroup", read(self, Link.ALB_SECURITY_GROUP_ID), mutable=False
        )
        logs_key = kms.Key.from_key_arn(self, "LogsKey", read(self, Link.LOGS_KEY_ARN))

        self.alb = HttpsAlb(
            self,
            "PublicEndpoint",
            vpc=vpc,
            security_group=alb_sg,
            certificate_arn=region_config.certificate_arn,
            tls_policy=region_config.tls_policy,
            hsts_max_age_seconds=region_config.hsts_max_age_seconds,
            access_log_bucket_name=read(self, Link.ACCESS_LOG_BUCKET_NAME),
            access_log_prefix="alb",
            app_port=APP_PORT,
        )
        self.waf = RegionalWebAcl(
            self,
            "Waf",
            resource_arn=self.alb.load_balancer.load_balancer_arn,
            logs_key=logs_key,
            log_retention=log_retention(region_config.retention.waf_log_days),
        )
        self.app = AppTierRole(
            self,
            "AppTier",
            bucket_arn=read(self, Link.DATA_BUCKET_ARN),
            object_key_arn=read(self, Link.OBJECTS_KEY_ARN),
            cluster_resource_id=read(self, Link.CLUSTER_RESOURCE_ID),
        )
        # Game days: rehearse the loss of the first configured AZ, and an Aurora failover. Where
        # FIS is not offered, the compliance report shows SOC 2 A1.2 as FAIL for the region.
        self.fault_injection = (
            None
            if region_config.name in FIS_UNAVAILABLE
            else FaultInjection(
                self,
                "FaultInjection",
                region_tag=region_config.name,
                target_az=region_config.availability_zones[0],
                cluster_arn=read(self, Link.CLUSTER_ARN),
                load_balancer=self.alb.load_balancer,
                target_group=self.alb.target_group,
                alerts_topic=sns.Topic.from_topic_arn(self, "AlertsTopic", read(self, Link.ALERTS_TOPIC_ARN)),
            )
        )
        publish(self, Link.ALB_DNS_NAME, self.alb.load_balancer.load_balancer_dns_name)
        publish(self, Link.APP_ROLE_ARN, self.app.role.role_arn)
        CfnOutput(self, "AlbDnsName", value=self.alb.load_balancer.load_balancer_dns_name)
