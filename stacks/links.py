"""Values shared between a region's stacks go through SSM parameters, not CloudFormation
exports: a consumer can then stop using a value without the "deadly embrace" that
blocks removing an export. Reading one is a deploy-time SSM parameter, not a synth-time
lookup, so synth stays offline.
"""

from __future__ import annotations

from enum import StrEnum

from aws_cdk import Fn
from aws_cdk import aws_ssm as ssm
from constructs import Construct

PARAMETER_ROOT = "/trustbase"


class Link(StrEnum):
    DATABASE_KEY_ARN = "keys/database-key-arn"
    OBJECTS_KEY_ARN = "keys/objects-key-arn"
    LOGS_KEY_ARN = "keys/logs-key-arn"
    AUDIT_KEY_ARN = "keys/audit-key-arn"
    BACKUP_KEY_ARN = "keys/backup-key-arn"
    LIFECYCLE_KEY_ARN = "keys/lifecycle-key-arn"
    VPC_ID = "network/vpc-id"
    PUBLIC_SUBNET_IDS = "network/public-subnet-ids"
    APP_SUBNET_IDS = "network/app-subnet-ids"
    DATA_SUBNET_IDS = "network/data-subnet-ids"
    ALB_SECURITY_GROUP_ID = "network/alb-security-group-id"
    APP_SECURITY_GROUP_ID = "network/app-security-group-id"
    LIFECYCLE_SECURITY_GROUP_ID = "network/lifecycle-security-group-id"
    DATABASE_ADMIN_SECURITY_GROUP_ID = "network/database-admin-security-group-id"
    DATABASE_SECURITY_GROUP_ID = "network/database-security-group-id"
    DATA_BUCKET_NAME = "data/customer-bucket-name"
    DATA_BUCKET_ARN = "data/customer-bucket-arn"
    ACCESS_LOG_BUCKET_NAME = "data/access-log-bucket-name"
    CLUSTER_RESOURCE_ID = "data/cluster-resource-id"
    CLUSTER_ARN = "data/cluster-arn"
    MASTER_SECRET_ARN = "data/master-secret-arn"
    DB_SUBNET_GROUP = "data/db-subnet-group-name"
    CLUSTER_ENDPOINT = "data/cluster-endpoint"
    CLUSTER_READER_ENDPOINT = "data/cluster-reader-endpoint"
    OPERATOR_HOST_ID = "network/operator-host-instance-id"
    ALB_DNS_NAME = "edge/alb-dns-name"
    APP_ROLE_ARN = "edge/app-role-arn"
    AUDIT_BUCKET_NAME = "audit/bucket-name"
    AUDIT_BUCKET_ARN = "audit/bucket-arn"
    ALERTS_TOPIC_ARN = "audit/alerts-topic-arn"
    CONFIG_BUCKET_NAME = "audit/config-bucket-name"
    CONFIG_BUCKET_ARN = "audit/config-bucket-arn"
    BACKUP_VAULT_NAME = "backup/vault-name"
    ERASURE_STATE_MACHINE_ARN = "lifecycle/erasure-state-machine-arn"
    DSAR_SUBMITTER_ROLE_ARN = "lifecycle/dsar-submitter-role-arn"

    @property
    def parameter_name(self) -> str:
        return f"{PARAMETER_ROOT}/{self.value}"


def publish(scope: Construct, link: Link, value: str) -> ssm.StringParameter:
    return ssm.StringParameter(
        scope,
        f"Link-{link.name}",
        parameter_name=link.parameter_name,
        string_value=value,
        description=f"trustbase cross-stack link {link.value}",
    )


def publish_list(scope: Construct, link: Link, values: list[str]) -> ssm.StringParameter:
    return publish(scope, link, Fn.join(",", values))


def read(scope: Construct, link: Link) -> str:
    return ssm.StringParameter.value_for_string_parameter(scope, link.parameter_name)


def read_list(scope: Construct, link: Link, length: int) -> list[str]:
    return Fn.split(",", read(scope, link), length)
