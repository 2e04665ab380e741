"""cdk-nag rule IDs used by trustbase, and the one way to acknowledge a finding.

cdk-nag 3.x acknowledges through CDK's native `Validations.of(c).acknowledge()`.
It accepts empty reasons, so `acknowledge()` here refuses short ones, and a test
re-checks every acknowledgment recorded in the cloud assembly.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

MIN_REASON_CHARS = 20

# Packs registered in app.py (the plugin names cdk-nag reports under). CDK's own
# template validator reports as "CloudFormation Validate" with cfn-lint rule IDs.
PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
CFN_VALIDATE = "CloudFormation Validate"

# Rule IDs, one place. Grouped by the exception they describe, not by pack.
S3_ACCESS_LOGS = (
    "AwsSolutions-S1",
    "HIPAA.Security-S3BucketLoggingEnabled",
    "NIST.800.53.R5-S3BucketLoggingEnabled",
    "PCI.DSS.321-S3BucketLoggingEnabled",
)
S3_KMS_DEFAULT = (
    "HIPAA.Security-S3DefaultEncryptionKMS",
    "NIST.800.53.R5-S3DefaultEncryptionKMS",
    "PCI.DSS.321-S3DefaultEncryptionKMS",
)
S3_REPLICATION = (
    "HIPAA.Security-S3BucketReplicationEnabled",
    "NIST.800.53.R5-S3BucketReplicationEnabled",
    "PCI.DSS.321-S3BucketReplicationEnabled",
)
IAM_WILDCARD = "AwsSolutions-IAM5"
LAMBDA_DLQ = ("HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ")
LAMBDA_IN_VPC = ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC", "PCI.DSS.321-LambdaInsideVPC")
LAMBDA_CONCURRENCY = ("HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency")


class AcknowledgmentError(ValueError):
    pass


def acknowledge(construct: IConstruct, rule_ids: str | tuple[str, ...], reason: str) -> None:
    """Acknowledge `rule_ids` on exactly `construct`, with a specific reason (>= 20 chars).

    Acknowledge on the narrowest construct that raises the finding (the resource,
    not the stack): cdk-nag applies an acknowledgment to the whole subtree.
    """
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise AcknowledgmentError(
            f"acknowledgment of {rule_ids} on {construct.node.path} needs a specific reason of at least "
            f"{MIN_REASON_CHARS} characters (why it is safe, what compensates); got {reason!r}"
        )
    ids = (rule_ids,) if isinstance(rule_ids, str) else rule_ids
    Validations.of(construct).acknowledge(*(Acknowledgment(id=_qualified(i), reason=reason) for i in ids))


def _qualified(rule_id: str) -> str:
    """'AwsSolutions-S1' -> 'AwsSolutions::AwsSolutions-S1' (the form cdk-nag reports)."""
    if rule_id.startswith(tuple(f"{plugin}::" for plugin in (*PACKS, CFN_VALIDATE))):
        return rule_id
    pack = rule_id.split("-", 1)[0]
    if pack not in PACKS:
        raise AcknowledgmentError(f"unknown nag pack in rule id {rule_id!r}; known packs: {PACKS}")
    return f"{pack}::{rule_id}"


def iam5_resource_finding(scope: IConstruct, resource: str) -> str:
    """The AwsSolutions-IAM5 finding ID cdk-nag reports for `resource` (tokens rendered
    the way cdk-nag renders them: Ref -> <LogicalId>, GetAtt -> <LogicalId.Attr>)."""
    return f"{IAM_WILDCARD}[Resource::{_render(Stack.of(scope).resolve(resource))}]"


def _render(value: Any) -> str:
    if isinstance(value, str):
        return re.sub(r"\$\{([^}]*)\}", r"<\1>", value)  # cdk-nag shows a policy variable ${x} as <x>
    if isinstance(value, dict):
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{'.'.join(value['Fn::GetAtt'])}>"
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return str(sep).join(_render(p) for p in parts)
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding id")
