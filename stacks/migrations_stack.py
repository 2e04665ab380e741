from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from config import RegionConfig
from constructs_lib.functions import Network
from constructs_lib.iam import apply_boundary
from constructs_lib.lifecycle_asset import lifecycle_code
from constructs_lib.migrations import DeployTimeMigrations
from constructs_lib.retention import log_retention
from contract import DATABASE_NAME, DB_PORT
from stacks.base import RegionalStack
from stacks.links import Link, read
from stacks.network_stack import Tier, import_vpc


class MigrationsStack(RegionalStack):
    """Stateless: the database migrations, applied at deploy time from the data subnets (after the
    data stack; before the lifecycle stack, whose functions log in as a user they create)."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, **kwargs)
        apply_boundary(self)
        vpc = import_vpc(self, region_config, (Tier.DATA,))
        self.migrations = DeployTimeMigrations(
            self,
            "Migrations",
            master_secret_arn=read(self, Link.MASTER_SECRET_ARN),
            endpoint=read(self, Link.CLUSTER_ENDPOINT),
            database_key=kms.Key.from_key_arn(self, "DatabaseKey", read(self, Link.DATABASE_KEY_ARN)),
            network=Network(
                vpc=vpc,
                security_group=ec2.SecurityGroup.from_security_group_id(
                    self, "DatabaseAdminSecurityGroup", read(self, Link.DATABASE_ADMIN_SECURITY_GROUP_ID), mutable=False
                ),
                subnets=tuple(vpc.isolated_subnets),
            ),
            code=lifecycle_code(),
            environment_key=kms.Key.from_key_arn(self, "LifecycleKey", read(self, Link.LIFECYCLE_KEY_ARN)),
            logs_key=kms.Key.from_key_arn(self, "LogsKey", read(self, Link.LOGS_KEY_ARN)),
            log_retention=log_retention(region_config.retention.lifecycle_log_days),
            database_name=DATABASE_NAME,
            port=DB_PORT,
        )
        CfnOutput(self, "MigrationsVpc", value=vpc.vpc_id, description="the VPC whose data subnets run the migrations")
