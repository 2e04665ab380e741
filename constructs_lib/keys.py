"""Customer-managed KMS keys, one per data class."""

from __future__ import annotations

from enum import StrEnum

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib.perimeter import outside_account_deny
from contract import key_alias, trail_name

# Key administration for the account root (delegation to IAM). Listed one by one:
# trustbase allows no wildcard action, not even kms:*. No data-plane action here:
# using a key goes through UseThroughDataServicesOnly or a service grant.
ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
GRANT_ACTIONS: tuple[str, ...] = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
ENVELOPE_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


class DataClass(StrEnum):
    """What a key protects. Each class has its own key so a compromise or a
    grant on one never reaches another (ISO 27001 A.8.24, HIPAA 164.312(a)(2)(iv))."""

    DATABASE = "database"
    OBJECTS = "objects"
    LOGS = "logs"
    AUDIT = "audit"  # CloudTrail, Config and GuardDuty records, security alerts
    BACKUP = "backup"  # AWS Backup vaults (recovery points of S3; Aurora keeps its database key)
    LIFECYCLE = "lifecycle"  # operational queues (lifecycle, Macie schedule), state machine data, function environments


# Services that may use each class's key through `kms:ViaService`.
_VIA_SERVICES: dict[DataClass, tuple[str, ...]] = {
    DataClass.DATABASE: ("rds", "secretsmanager"),
    DataClass.OBJECTS: ("s3",),
    DataClass.LOGS: (),
    # auditors read trail/Config/GuardDuty objects through S3; the elevation broker publishes to the
    # encrypted alerts topic through SNS (SNS "Key management": publishers need GenerateDataKey, Decrypt)
    DataClass.AUDIT: ("s3", "sns"),
    DataClass.BACKUP: ("backup",),
    DataClass.LIFECYCLE: ("sqs", "lambda", "states", "scheduler"),
}


def service_linked_role_arn(partition: str, account: str, service: str, role: str) -> str:
    return f"arn:{partition}:iam::{account}:role/aws-service-role/{service}/{role}"


class DataKey(Construct):
    """A symmetric AES-256 CMK with yearly rotation, RETAIN and a 30-day deletion window.

    The key policy has no wildcard action. Account principals may use the key only
    through the services listed for its data class (`kms:ViaService`), except key
    administration. The logs key also lets CloudWatch Logs in this region encrypt
    log groups of this account (`kms:EncryptionContext:aws:logs:arn`, `aws:SourceAccount`).

    Attributes: `key` (kms.Key), `data_class`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_class: DataClass,
        dr_copy_of: str | None = None,
        insecure_disable_rotation: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if insecure_disable_rotation:
            Annotations.of(self).add_warning_v2(
                "trustbase:InsecureOverride", "insecure_disable_rotation=True: key material is never rotated"
            )
        stack = Stack.of(self)
        self.data_class = data_class
        root = iam.AccountRootPrincipal()
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="KeyAdministrationByAccount",
                    principals=[root],
                    actions=list(ADMIN_ACTIONS),
                    resources=["*"],
                ),
                # RDS, Secrets Manager and S3 create grants on the caller's behalf; nobody
                # may grant the key to a principal directly.
                iam.PolicyStatement(
                    sid="GrantsForAwsResourcesOnly",
                    principals=[root],
                    actions=list(GRANT_ACTIONS),
                    resources=["*"],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
            ]
        )
        via = _VIA_SERVICES[data_class]
        if via:
            policy.add_statements(
                iam.PolicyStatement(
                    sid="UseThroughDataServicesOnly",
                    principals=[root],
                    actions=[a for a in ENVELOPE_ACTIONS if a != "kms:DescribeKey"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": [f"{svc}.{stack.region}.amazonaws.com" for svc in via],
                            "kms:CallerAccount": stack.account,
                        }
                    },
                )
            )
        if data_class is DataClass.LOGS:
            policy.add_statements(
                iam.PolicyStatement(
                    sid="CloudWatchLogsInThisRegionAndAccount",
                    principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                    actions=list(ENVELOPE_ACTIONS),
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        },
                        "StringEquals": {"aws:SourceAccount": stack.account},
                    },
                )
            )
        if data_class is DataClass.AUDIT:
            for statement in _audit_statements(stack):
                policy.add_statements(statement)
        if data_class is DataClass.LIFECYCLE:
            for statement in _state_machine_logging_statements(stack):
                policy.add_statements(statement)
        if data_class is DataClass.OBJECTS:
            # Macie's classification jobs read customer objects (ISO 27018: know where PII is).
            # Principal * + aws:PrincipalArn: the key policy stays valid before Macie creates
            # its service-linked role.
            policy.add_statements(
                iam.PolicyStatement(
                    sid="MacieReadsObjectsThroughS3",
                    principals=[iam.AnyPrincipal()],
                    actions=["kms:Decrypt"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {
                            "aws:PrincipalArn": service_linked_role_arn(
                                stack.partition, stack.account, "macie.amazonaws.com", "AWSServiceRoleForAmazonMacie"
                            ),
                            "kms:CallerAccount": stack.account,
                            "kms:ViaService": f"s3.{stack.region}.amazonaws.com",
                        }
                    },
                )
            )
        # The resource perimeter: nobody outside this account, whatever a grant or statement allows.
        policy.add_statements(outside_account_deny(self, service="kms", resources=["*"]))
        self.key = kms.Key(
            self,
            "Key",
            description=f"trustbase {data_class.value} data key ({stack.region})",
            alias=key_alias(data_class.value, dr_copy_of=dr_copy_of),
            key_spec=kms.KeySpec.SYMMETRIC_DEFAULT,  # AES-256-GCM
            key_usage=kms.KeyUsage.ENCRYPT_DECRYPT,
            enable_key_rotation=not insecure_disable_rotation,  # NIST SC-12, PCI 3.6.4
            rotation_period=None if insecure_disable_rotation else Duration.days(365),
            pending_window=Duration.days(30),
            # Deleting a key destroys the data it protects: kept on stack deletion and replacement.
            # A first create that rolls back deletes it (CloudFormation RetainExceptOnCreate), so
            # the deploy can be retried without an orphaned key.
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            policy=policy,
        )


def _audit_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """Who may encrypt audit records with the audit key, each pinned to this account/region."""
    account, region, partition = stack.account, stack.region, stack.partition
    trail_arn = f"arn:{partition}:cloudtrail:{region}:{account}:trail/{trail_name(region)}"
    return [
        iam.PolicyStatement(
            sid="CloudTrailEncryptsThisTrail",
            principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
            actions=["kms:GenerateDataKey"],
            resources=["*"],
            conditions={
                "StringEquals": {"aws:SourceArn": trail_arn},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{partition}:cloudtrail:*:{account}:trail/*"
                },
            },
        ),
        iam.PolicyStatement(
            sid="CloudTrailDescribesKey",
            principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
            actions=["kms:DescribeKey"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
        ),
        # SNS "Encryption at rest", compatibility with AWS service event sources: CloudWatch needs
        # kms:GenerateDataKey* and kms:Decrypt on an encrypted topic's key. SNS passes the topic
        # ARN as encryption context, which pins the key's use to this account's topics here.
        iam.PolicyStatement(
            sid="CloudWatchAlarmsPublishToEncryptedTopic",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions={
                "StringLike": {"kms:EncryptionContext:aws:sns:topicArn": f"arn:{partition}:sns:{region}:{account}:*"}
            },
        ),
        # The same compatibility for EventBridge (the rule sending critical Inspector findings).
        iam.PolicyStatement(
            sid="EventBridgeRulesPublishToEncryptedTopic",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions={
                "StringLike": {"kms:EncryptionContext:aws:sns:topicArn": f"arn:{partition}:sns:{region}:{account}:*"}
            },
        ),
        iam.PolicyStatement(
            sid="GuardDutyExportsFindings",
            principals=[iam.ServicePrincipal("guardduty.amazonaws.com")],
            actions=["kms:GenerateDataKey"],
            resources=["*"],
            conditions={
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:guardduty:{region}:{account}:detector/*"},
            },
        ),
        # AWS Config developer guide, "Permissions for the KMS Key" (AWSConfigKMSPolicy): with the
        # service-linked role, Config delivers as the service principal config.amazonaws.com.
        iam.PolicyStatement(
            sid="ConfigDeliversSnapshots",
            principals=[iam.ServicePrincipal("config.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": account}},
        ),
    ]


def _state_machine_logging_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """Step Functions developer guide, "Data at rest encryption", step 3: a state machine encrypted
    with a customer managed key that logs to CloudWatch Logs needs `delivery.logs.amazonaws.com`
    to decrypt, and its role to generate data keys with the logs encryption context (what CDK's
    StateMachine adds when it owns the key)."""
    return [
        # Vended-log delivery sends aws:SourceAccount and aws:SourceArn (this account's logs), as the
        # CloudWatch Logs guide's key statements for delivery.logs.amazonaws.com give them.
        iam.PolicyStatement(
            sid="VendedLogDeliveryDecrypts",
            principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
            actions=["kms:Decrypt"],
            resources=["*"],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"},
            },
        ),
        iam.PolicyStatement(
            sid="StateMachineLogDataKeys",
            principals=[iam.AccountRootPrincipal()],
            actions=["kms:GenerateDataKey"],
            resources=["*"],
            conditions={
                "StringLike": {
                    "kms:EncryptionContext:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
                },
                "StringEquals": {"kms:CallerAccount": stack.account},
            },
        ),
    ]
