"""IAM statement sets of the lifecycle pipelines: what each function and orchestrator may do,
each scoped to exact resources (the subject prefixes, the ledger prefix, the lifecycle database user)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract import CUSTOMER_PREFIXES, LIFECYCLE_DB_USER, db_user_arn, ledger_prefix


def invoker_statements(
    functions: list[lambda_.IFunction],
    dlq: sqs.IQueue,
    key: kms.IKey,
    *,
    via: tuple[str, ...],
    invoke_sid: str,
    key_sid: str,
) -> list[iam.PolicyStatement]:
    """What an orchestrator (Step Functions, Scheduler) needs: invoke exactly these functions,
    dead-letter to one queue, and the lifecycle key only through the named services."""
    region = Stack.of(dlq).region
    return [
        iam.PolicyStatement(
            sid=invoke_sid, actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in functions]
        ),
        iam.PolicyStatement(sid="DeadLetters", actions=["sqs:SendMessage"], resources=[dlq.queue_arn]),
        iam.PolicyStatement(
            sid=key_sid,
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": [f"{svc}.{region}.amazonaws.com" for svc in via]}},
        ),
    ]


@dataclass(frozen=True)
class LifecycleAccess:
    """The statement sets the lifecycle functions are built from."""

    connect: list[iam.PolicyStatement]
    erase_objects: list[iam.PolicyStatement]
    publish_ledger: list[iam.PolicyStatement]
    read_ledger: list[iam.PolicyStatement]
    subject_objects: list[str]  # object ARNs with a trailing wildcard (for the nag acknowledgments)
    ledger_objects: str


def lifecycle_access(
    scope: Construct, *, data_bucket_arn: str, ledger_bucket_arn: str, audit_key_arn: str, cluster_resource_id: str
) -> LifecycleAccess:
    stack = Stack.of(scope)
    lifecycle_user = db_user_arn(stack.partition, stack.region, stack.account, cluster_resource_id, LIFECYCLE_DB_USER)
    connect = iam.PolicyStatement(sid="ConnectAsLifecycleUser", actions=["rds-db:connect"], resources=[lifecycle_user])
    subject_objects = [f"{data_bucket_arn}/{p}*" for p in CUSTOMER_PREFIXES]
    erase_objects = [
        iam.PolicyStatement(
            sid="ListSubjectVersions",
            actions=["s3:ListBucket", "s3:ListBucketVersions"],
            resources=[data_bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in CUSTOMER_PREFIXES]}},
        ),
        iam.PolicyStatement(
            sid="DeleteSubjectVersions",
            actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
            resources=subject_objects,
        ),
    ]
    ledger_objects = f"{ledger_bucket_arn}/{ledger_prefix(stack.region)}*"
    publish_ledger = [
        iam.PolicyStatement(sid="PublishLedger", actions=["s3:PutObject"], resources=[ledger_objects]),
        iam.PolicyStatement(
            sid="AuditKeyThroughS3",
            actions=["kms:GenerateDataKey"],
            resources=[audit_key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        ),
    ]
    read_ledger = [
        iam.PolicyStatement(
            sid="ListLedger",
            actions=["s3:ListBucket"],
            resources=[ledger_bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{ledger_prefix(stack.region)}*"]}},
        ),
        iam.PolicyStatement(sid="ReadLedger", actions=["s3:GetObject"], resources=[ledger_objects]),
        iam.PolicyStatement(
            sid="AuditKeyDecryptThroughS3",
            actions=["kms:Decrypt"],
            resources=[audit_key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        ),
    ]
    return LifecycleAccess([connect], erase_objects, publish_ledger, read_ledger, subject_objects, ledger_objects)
