"""AWS::SQS::QueuePolicy has no moto CloudFormation model (the queues' TLS-only policies were
silently skipped): this one sets each queue's Policy attribute through moto's SQS API, so the
TLS-only read-back is PATCHED. Queue encryption is moto's own (PASS)."""

from __future__ import annotations

import json
from typing import Any

from local_aws.patches.base import Patch, Undo


def _install(undo: Undo) -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.sqs.models import sqs_backends

    class QueuePolicy:
        def __init__(self, queues: list[str]) -> None:
            self.physical_resource_id = "|".join(queues)

        def is_created(self) -> bool:
            return True

    class CfnQueuePolicy(CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SQS::QueuePolicy"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> QueuePolicy:
            p = cloudformation_json["Properties"]
            backend = sqs_backends[account_id][region_name]
            for url in p["Queues"]:
                backend.set_queue_attributes(
                    url.rstrip("/").rsplit("/", 1)[-1], {"Policy": json.dumps(p["PolicyDocument"])}
                )
            return QueuePolicy(list(p["Queues"]))

    undo.model(CfnQueuePolicy)


PATCHES = (
    Patch(
        "sqs.queue-policy-model",
        "moto has no CloudFormation model for AWS::SQS::QueuePolicy",
        _install,
        frozenset({"sqs.tls_only", "sqs.queue_policy"}),
        frozenset({"AWS::SQS::QueuePolicy"}),
    ),
)
