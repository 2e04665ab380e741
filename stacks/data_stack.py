from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from config import RegionConfig, offered_elevations
from constructs_lib.backup import BackupProtection
from constructs_lib.buckets import AccessLogBucket, PrefixExpiry, SecureDataBucket
from constructs_lib.database import SecureAuroraCluster
from constructs_lib.iam import apply_boundary
from constructs_lib.keys import service_linked_role_arn
from constructs_lib.perimeter import outside_vpc_deny
from constructs_lib.retention import log_retention
from contract import DR_DRILL_PREFIX, VISITOR_PREFIX, Elevation, break_glass_role_name, elevation_role_name
from stacks.base import RegionalStack
from stacks.links import Link, publish, read
from stacks.network_stack import Tier, import_vpc


class DataStack(RegionalStack):
    """Stateful: Aurora, the customer-data bucket and the region's access-log bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, termination_protection=True, **kwargs)
        apply_boundary(self)
        retention = region_config.retention
        vpc = import_vpc(self, region_config, (Tier.DATA,))
        database_key = kms.Key.from_key_arn(self, "DatabaseKey", read(self, Link.DATABASE_KEY_ARN))
        objects_key = kms.Key.from_key_arn(self, "ObjectsKey", read(self, Link.OBJECTS_KEY_ARN))
        logs_key = kms.Key.from_key_arn(self, "LogsKey", read(self, Link.LOGS_KEY_ARN))
        db_sg = ec2.SecurityGroup.from_security_group_id(
            self, "DatabaseSecurityGroup", read(self, Link.DATABASE_SECURITY_GROUP_ID), mutable=False
        )

        self.access_logs = AccessLogBucket(self, "AccessLogs", expiration_days=retention.access_log_days)
        self.customer_data = SecureDataBucket(
            self,
            "CustomerData",
            encryption_key=objects_key,
            access_logs=self.access_logs,
            noncurrent_version_days=retention.noncurrent_version_days,
            prefix_expiry=(
                PrefixExpiry(prefix=VISITOR_PREFIX, days=retention.visitor_data_days, rule_id="expire-visitor-data"),
            ),
        )
        self.database = SecureAuroraCluster(
            self,
            "Aurora",
            vpc=vpc,
            availability_zones=region_config.availability_zones,
            security_group=db_sg,
            encryption_key=database_key,
            logs_key=logs_key,
            instance_class=region_config.db_instance_class,
            backup_retention_days=retention.backup_retention_days,
            log_retention=log_retention(retention.database_log_days),
        )
        cluster = self.database.cluster
        subnet_group = cluster.node.find_child("Subnets")
        if not isinstance(subnet_group, rds.SubnetGroup):
            raise TypeError(f"expected the cluster's SubnetGroup, got {type(subnet_group).__name__}")
        # Backups sit beside what they protect, so cdk-nag sees Aurora in a backup plan.
        self.backups = BackupProtection(
            self,
            "Backup",
            cfg=region_config.backup,
            encryption_key=kms.Key.from_key_arn(self, "BackupKey", read(self, Link.BACKUP_KEY_ARN)),
            cluster_arn=cluster.cluster_arn,
            bucket_arn=self.customer_data.bucket.bucket_arn,
            data_key_arns=[database_key.key_arn, objects_key.key_arn],
            restore_subnet_group=subnet_group.subnet_group_name,
            restore_security_group_id=db_sg.security_group_id,
        )
        # The network perimeter of the customer data: objects only through this VPC's S3 gateway
        # endpoint, except the named roles that work from outside it (constructs_lib.perimeter).
        p, region, account = self.partition, self.region, self.account
        exceptions = [
            f"arn:{p}:iam::{account}:role/{break_glass_role_name(region)}",
            *(
                f"arn:{p}:iam::{account}:role/{elevation_role_name(region, e)}"
                for e in offered_elevations(self.access, region_config)
                if e is Elevation.CUSTOMER_DATA_READ
            ),
            self.backups.service_role_arn,
            service_linked_role_arn(p, account, "macie.amazonaws.com", "AWSServiceRoleForAmazonMacie"),
        ]
        self.customer_data.bucket.add_to_resource_policy(
            outside_vpc_deny(
                bucket_arn=self.customer_data.bucket.bucket_arn,
                endpoint_id=read(self, Link.S3_ENDPOINT_ID),
                exceptions=exceptions,
                excluded_prefix=DR_DRILL_PREFIX,
            )
        )
        publish(self, Link.DATA_BUCKET_NAME, self.customer_data.bucket.bucket_name)
        publish(self, Link.DATA_BUCKET_ARN, self.customer_data.bucket.bucket_arn)
        publish(self, Link.ACCESS_LOG_BUCKET_NAME, self.access_logs.bucket.bucket_name)
        publish(self, Link.CLUSTER_RESOURCE_ID, cluster.cluster_resource_identifier)
        publish(self, Link.CLUSTER_ENDPOINT, cluster.cluster_endpoint.hostname)
        publish(self, Link.CLUSTER_ARN, cluster.cluster_arn)
        cfn_cluster = cluster.node.default_child
        if not isinstance(cfn_cluster, rds.CfnDBCluster):
            raise TypeError(f"expected the cluster's CfnDBCluster, got {type(cfn_cluster).__name__}")
        publish(self, Link.MASTER_SECRET_ARN, cfn_cluster.attr_master_user_secret_secret_arn)
        publish(self, Link.DB_SUBNET_GROUP, subnet_group.subnet_group_name)
        publish(self, Link.BACKUP_VAULT_NAME, self.backups.vault.ref)
        publish(self, Link.CLUSTER_READER_ENDPOINT, cluster.cluster_read_endpoint.hostname)
        CfnOutput(self, "ClusterIdentifier", value=cluster.cluster_identifier)
        # Restore drills create the new cluster in the same VPC, subnets and SG.
        CfnOutput(self, "DatabaseVpcId", value=vpc.vpc_id)
        CfnOutput(self, "CustomerDataBucket", value=self.customer_data.bucket.bucket_name)
