"""A KMS-encrypted, TLS-only SQS queue used as a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import nag
from constructs_lib.perimeter import outside_account_deny


class SecureQueue(Construct):
    """An SQS queue encrypted with a CMK, TLS-only, 14-day retention. Attributes: `queue`."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, dead_letter_for: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.minutes(5),
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # The resource perimeter: nobody outside this account (the failed requests' IDs stay here).
        self.queue.add_to_resource_policy(outside_account_deny(self, service="sqs", resources=[self.queue.queue_arn]))
        nag.acknowledge(
            self.queue,
            "AwsSolutions-SQS3",
            f"This queue IS the dead-letter queue of {dead_letter_for}; a dead-letter queue of a "
            "dead-letter queue would only move the problem. Its depth alarms the security on-call.",
        )
