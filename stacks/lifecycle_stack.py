from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import RegionConfig
from constructs_lib.functions import Network
from constructs_lib.iam import apply_boundary
from constructs_lib.lifecycle import LifecyclePipelines, LifecycleSettings
from constructs_lib.retention import log_retention
from contract import DATABASE_NAME, DB_PORT
from stacks.base import RegionalStack
from stacks.links import Link, publish, read
from stacks.network_stack import Tier, import_vpc


class LifecycleStack(RegionalStack):
    """Stateless: retention jobs and the GDPR erasure pipeline (runtime: the `lifecycle` package)."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, **kwargs)
        apply_boundary(self)
        retention = region_config.retention
        vpc = import_vpc(self, region_config, (Tier.APP,))
        # The functions that erase personal data have their own security group: Aurora, S3, the endpoints.
        functions_sg = ec2.SecurityGroup.from_security_group_id(
            self, "LifecycleSecurityGroup", read(self, Link.LIFECYCLE_SECURITY_GROUP_ID), mutable=False
        )
        self.pipelines = LifecyclePipelines(
            self,
            "Lifecycle",
            settings=LifecycleSettings(
                data_bucket_name=read(self, Link.DATA_BUCKET_NAME),
                data_bucket_arn=read(self, Link.DATA_BUCKET_ARN),
                ledger_bucket_name=read(self, Link.AUDIT_BUCKET_NAME),
                ledger_bucket_arn=read(self, Link.AUDIT_BUCKET_ARN),
                audit_key_arn=read(self, Link.AUDIT_KEY_ARN),
                cluster_resource_id=read(self, Link.CLUSTER_RESOURCE_ID),
                cluster_endpoint=read(self, Link.CLUSTER_ENDPOINT),
                db_port=DB_PORT,
                db_name=DATABASE_NAME,
                visitor_months=retention.visitor_data_months,
                workspace_months=retention.inactive_workspace_months,
                app_role_arn=read(self, Link.APP_ROLE_ARN),  # the edge stack's role (a declared dependency)
                erasure=region_config.erasure,
                reserve_concurrency=region_config.reserve_lambda_concurrency,
            ),
            network=Network(vpc=vpc, security_group=functions_sg),
            key=kms.Key.from_key_arn(self, "LifecycleKey", read(self, Link.LIFECYCLE_KEY_ARN)),
            logs_key=kms.Key.from_key_arn(self, "LogsKey", read(self, Link.LOGS_KEY_ARN)),
            log_retention=log_retention(retention.lifecycle_log_days),
            alerts_topic=sns.Topic.from_topic_arn(self, "AlertsTopic", read(self, Link.ALERTS_TOPIC_ARN)),
        )
        publish(self, Link.ERASURE_STATE_MACHINE_ARN, self.pipelines.state_machine.state_machine_arn)
        publish(self, Link.DSAR_SUBMITTER_ROLE_ARN, self.pipelines.submitter_role.role_arn)
        CfnOutput(self, "ErasureStateMachine", value=self.pipelines.state_machine.state_machine_arn)
        CfnOutput(self, "FunctionsVpc", value=vpc.vpc_id, description="the VPC whose app subnets run the functions")
