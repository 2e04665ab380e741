"""IAM guardrails: the permissions boundary every trustbase role carries, and the app-tier role."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib import nag
from contract import (
    APP_DB_USER,
    VISITOR_PREFIX,
    WORKSPACE_PREFIX,
    app_role_name,
    auditor_role_name,
    boundary_policy_name,
    break_glass_role_name,
    db_user_arn,
    dsar_submitter_role_name,
)

# Read-only evidence gathering for auditors: every action listed, no write.
AUDITOR_ACTIONS: tuple[str, ...] = (
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:LookupEvents",
    "config:DescribeComplianceByConfigRule",
    "config:DescribeConfigRules",
    "config:DescribeConfigurationRecorderStatus",
    "config:GetComplianceDetailsByConfigRule",
    "guardduty:GetFindings",
    "guardduty:ListDetectors",
    "guardduty:ListFindings",
    "securityhub:GetEnabledStandards",
    "securityhub:GetFindings",
    "macie2:GetFindings",
    "macie2:ListClassificationJobs",
    "macie2:ListFindings",
    "access-analyzer:ListAnalyzers",
    "access-analyzer:ListFindings",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:GetUser",
    "iam:ListAttachedRolePolicies",
    "iam:ListAttachedUserPolicies",
    "iam:ListRolePolicies",
    "iam:ListRoles",
    "iam:ListUserPolicies",
    "iam:ListUsers",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "logs:DescribeLogGroups",
    "logs:FilterLogEvents",
    "cloudwatch:DescribeAlarms",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "wafv2:GetWebACL",
)
# Incident response only: fail over, isolate, restore logging. Every action listed.
BREAK_GLASS_ACTIONS: tuple[str, ...] = (
    "rds:FailoverDBCluster",
    "rds:RebootDBInstance",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "ec2:DescribeSecurityGroups",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:DescribeListeners",
    "wafv2:GetWebACL",
    "wafv2:UpdateWebACL",
    "kms:EnableKey",
    "kms:CancelKeyDeletion",
    "kms:DescribeKey",
    "cloudtrail:StartLogging",
    "config:StartConfigurationRecorder",
    "guardduty:UpdateDetector",
)

# AWS Backup's service role: the content of AWS's AWSBackupServiceRolePolicyForBackup (Aurora
# part) and AWSBackupServiceRolePolicyForS3Backup, action by action.
BACKUP_ACTIONS: tuple[str, ...] = (
    "backup:CopyIntoBackupVault",
    "backup:DescribeBackupVault",
    "tag:GetResources",
    "rds:AddTagsToResource",
    "rds:CopyDBClusterSnapshot",
    "rds:CreateDBClusterSnapshot",
    "rds:DeleteDBClusterSnapshot",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBClusters",
    "rds:ListTagsForResource",
    "rds:ModifyDBClusterSnapshotAttribute",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "s3:GetBucketLocation",
    "s3:GetBucketNotification",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetInventoryConfiguration",
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:PutBucketNotification",
    "s3:PutInventoryConfiguration",
    "events:DeleteRule",
    "events:DescribeRule",
    "events:DisableRule",
    "events:EnableRule",
    "events:ListRules",
    "events:ListTargetsByRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "cloudwatch:GetMetricData",
)
# AWS Backup restore testing of Aurora: restore into a throw-away cluster, validate, delete.
RESTORE_TEST_ACTIONS: tuple[str, ...] = (
    "rds:RestoreDBClusterFromSnapshot",
    "rds:CreateDBInstance",
    "rds:DeleteDBCluster",
    "rds:DeleteDBInstance",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusterSnapshots",
    "rds:AddTagsToResource",
    "kms:CreateGrant",
    "kms:DescribeKey",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)

# AWS FIS: disrupt one AZ's subnets with temporary NACLs, fail Aurora over.
FIS_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkAcl",
    "ec2:CreateNetworkAclEntry",
    "ec2:CreateTags",
    "ec2:DeleteNetworkAcl",
    "ec2:ReplaceNetworkAclAssociation",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:GetManagedPrefixListEntries",
    "rds:FailoverDBCluster",
    "rds:DescribeDBClusters",
    "tag:GetResources",
)

# The ceiling for every role trustbase creates: the union of what those roles need,
# action by action. A role's own policy then scopes each action to exact resources.
BOUNDARY_ALLOWED_ACTIONS: tuple[str, ...] = tuple(
    sorted(
        {
            *AUDITOR_ACTIONS,
            *BREAK_GLASS_ACTIONS,
            *BACKUP_ACTIONS,
            *RESTORE_TEST_ACTIONS,
            *FIS_ACTIONS,
            *(
                # app tier: its bucket prefixes, the object key through S3, its DB user
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:ListBucket",
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "rds-db:connect",
                # VPC flow logs and RDS enhanced monitoring deliver to CloudWatch Logs
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:GetLogEvents",
                "logs:PutRetentionPolicy",
                "iam:PassRole",
                # CDK's custom resource that strips the default security group's rules
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                # EventBridge Scheduler starts Macie classification jobs
                "macie2:CreateClassificationJob",
                "inspector2:Enable",
                # data lifecycle: functions in the VPC (ENIs), tracing, dead letters, subject erasure,
                # the erasure state machine (invoke steps, vended logs) and its submitter
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "sqs:SendMessage",
                "s3:DeleteObjectVersion",
                "lambda:InvokeFunction",
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "states:StartExecution",
                "states:DescribeExecution",
                "states:StopExecution",
                "states:RedriveExecution",
                # the app tier assumes the DSAR submitter: a same-account trust that names a role is still
                # limited by that role's boundary (IAM user guide, "Permissions boundaries")
                "sts:AssumeRole",
                "sts:TagSession",  # an elevation's session names its approved workspace
                # the deploy-time migration function reads the RDS-managed master secret
                "secretsmanager:GetSecretValue",
                # the database operator path (config operator_access): the host's SSM agent, the operator's
                # port-forwarding sessions
                "ssm:UpdateInstanceInformation",
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
                "ssm:StartSession",
                "ssm:TerminateSession",
                "ssm:ResumeSession",
                # people call the elevation broker's function URL; the broker records, notifies, runs its
                # workflow, and grants through Identity Center (or, in the fallback, the elevation roles' trust)
                "lambda:InvokeFunctionUrl",
                "sns:Publish",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "sso:CreateAccountAssignment",
                "sso:DeleteAccountAssignment",
                "sso:ListAccountAssignments",
                "sso:ListPermissionSets",
                "sso:DescribePermissionSet",
                "sso:DescribeAccountAssignmentCreationStatus",
                "sso:DescribeAccountAssignmentDeletionStatus",
                "identitystore:GetUserId",
                "identitystore:GetGroupId",
                "identitystore:IsMemberInGroups",
            ),
        }
    )
)
_IAM_WRITES = (
    "iam:Create*",
    "iam:Put*",
    "iam:Attach*",
    "iam:Detach*",
    "iam:Delete*",
    "iam:Update*",
    "iam:Add*",
    "iam:Remove*",
    "iam:Set*",
)


class PermissionsBoundaryPolicy(Construct):
    """The managed policy used as permissions boundary for every role in one region.

    Besides the allow-list it denies, whatever a role's own policy says: any call to
    another region (residency), IAM changes (no privilege escalation), key
    destruction and bucket-policy changes.

    Attributes: `policy`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        extra_regions: tuple[str, ...] = (),
        identity_center_region: str | None = None,
        elevation_roles: tuple[str, ...] = (),
        allowed_actions: tuple[str, ...] = BOUNDARY_ALLOWED_ACTIONS,
        policy_name: str | None = None,
    ) -> None:
        """`extra_regions`: regions besides the stack's own that calls may target (only the
        validated in-jurisdiction DR region, for backup copies). `identity_center_region`: where
        the elevation broker calls Identity Center and the identity store (one home region per
        organization; the calls carry user, group and permission-set IDs, never customer data).
        `elevation_roles`: under the fallback, the roles whose trust the broker rewrites: the only
        IAM writes allowed, and only UpdateAssumeRolePolicy and PutRolePolicy on them.
        `allowed_actions` and `policy_name`: the ceiling and name of another boundary with the same
        denials (the deploy pipeline's: the region's boundary cannot also hold its reads, since a
        managed policy holds at most 6,144 characters)."""
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        allowed_regions = [region, *extra_regions]
        identity = ["sso:*", "identitystore:*"] if identity_center_region else []
        statements = [
            iam.PolicyStatement(sid="Ceiling", actions=sorted(set(allowed_actions)), resources=["*"]),
            iam.PolicyStatement(
                sid="DenyOtherRegions",  # GDPR Art. 44: no call may act outside the jurisdiction's region
                effect=iam.Effect.DENY,
                # IAM and STS are global (their calls are recorded as us-east-1); IAM writes
                # are denied below anyway. Identity Center is called in its own region, below.
                not_actions=["iam:*", "sts:*", *identity],
                resources=["*"],
                conditions={
                    "StringNotEquals": {
                        "aws:RequestedRegion": allowed_regions[0] if len(allowed_regions) == 1 else allowed_regions
                    }
                },
            ),
        ]
        if identity_center_region:
            statements.append(
                iam.PolicyStatement(
                    sid="DenyIdentityCenterOutsideItsRegion",
                    effect=iam.Effect.DENY,
                    actions=identity,
                    resources=["*"],
                    conditions={"StringNotEquals": {"aws:RequestedRegion": identity_center_region}},
                )
            )
        if elevation_roles:
            statements += [
                iam.PolicyStatement(
                    sid="DenyPrivilegeEscalation",
                    effect=iam.Effect.DENY,
                    actions=list(_IAM_WRITES),
                    not_resources=list(elevation_roles),
                ),
                iam.PolicyStatement(
                    sid="DenyElevationRoleChangesButTrust",
                    effect=iam.Effect.DENY,
                    actions=[a for a in _IAM_WRITES if a not in ("iam:Put*", "iam:Update*")]
                    + ["iam:UpdateRole", "iam:UpdateRoleDescription", "iam:PutRolePermissionsBoundary"],
                    resources=list(elevation_roles),
                ),
            ]
        else:
            statements.append(
                iam.PolicyStatement(
                    sid="DenyPrivilegeEscalation", effect=iam.Effect.DENY, actions=list(_IAM_WRITES), resources=["*"]
                )
            )
        statements.append(
            iam.PolicyStatement(
                sid="DenyKeyAndBucketPolicyTampering",
                effect=iam.Effect.DENY,
                actions=[
                    "kms:ScheduleKeyDeletion",
                    "kms:DisableKey",
                    "kms:PutKeyPolicy",
                    "s3:PutBucketPolicy",
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketPublicAccessBlock",
                    "s3:PutEncryptionConfiguration",
                ],
                resources=["*"],
            )
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=policy_name or boundary_policy_name(region),
            description="trustbase permissions boundary: ceiling for every role the app creates",
            statements=statements,
        )
        nag.acknowledge(
            self.policy,
            f"{nag.IAM_WILDCARD}[Resource::*]",
            "A permissions boundary is a ceiling, not a grant: it lists exact actions, and every "
            "role's own policy scopes them to exact resources.",
        )


def apply_boundary(scope: Construct) -> None:
    """Attach the region's boundary to every role created under `scope` (CDK applies it
    to custom-resource provider roles too)."""
    stack = Stack.of(scope)
    boundary = iam.ManagedPolicy.from_managed_policy_name(
        scope, "PermissionsBoundary", boundary_policy_name(stack.region)
    )
    iam.PermissionsBoundary.of(scope).apply(boundary)


class ScopedRole(Construct):
    """A role whose permissions sit in one customer-managed policy (no inline policy:
    HIPAA/NIST/PCI IAMNoInlinePolicy), with exactly the given statements.

    `role` refuses later policy additions (CDK grants would otherwise add an inline
    DefaultPolicy behind our back); `managed_policy` holds the statements.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        description: str,
        statements: list[iam.PolicyStatement],
        max_session_duration_hours: int = 1,
        role_name: str | None = None,
        more_statements: list[iam.PolicyStatement] | None = None,
    ) -> None:
        """`more_statements`: a second customer-managed policy, for a role whose statements do not
        fit IAM's 6,144 characters per managed policy (the gate checks the size)."""
        super().__init__(scope, construct_id)
        self.managed_policy = iam.ManagedPolicy(self, "Policy", description=description, statements=statements)
        self.managed_policies = [self.managed_policy]
        if more_statements:
            self.managed_policies.append(
                iam.ManagedPolicy(self, "PolicyMore", description=description, statements=more_statements)
            )
        role = iam.Role(
            self,
            "Role",
            assumed_by=assumed_by,
            description=description,
            max_session_duration=Duration.hours(max_session_duration_hours),
            role_name=role_name,
            managed_policies=list(self.managed_policies),
        )
        self.role_arn = role.role_arn
        self.role: iam.IRole = role.without_policy_updates()


def service_principal(service: str, account: str) -> iam.ServicePrincipal:
    """A service principal that may act only for this account (confused-deputy guard).

    Only for services whose documentation shows `aws:SourceAccount` in the role's trust policy:
    Lambda, Step Functions, Scheduler, FIS, ECS tasks, VPC flow logs, RDS enhanced monitoring. A
    service that does not send the key could not assume the role at all (a condition on a missing
    key is false): CloudTrail's log delivery and AWS Backup use a plain principal instead."""
    return iam.ServicePrincipal(service, conditions={"StringEquals": {"aws:SourceAccount": account}})


def scheduler_principal(stack: Stack) -> iam.ServicePrincipal:
    """EventBridge Scheduler user guide, "Confused deputy prevention": aws:SourceAccount, and an
    aws:SourceArn that names a schedule group (never a schedule)."""
    return iam.ServicePrincipal(
        "scheduler.amazonaws.com",
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}:schedule-group/default"
            },
        },
    )


class AppTierRole(Construct):
    """Least-privilege task role for the application tier (ECS tasks in the private subnets).

    Grants only: read/write objects under the customer-data prefixes of one bucket,
    Decrypt/GenerateDataKey on the object key via S3, `rds-db:connect` as one DB user, and
    assuming this region's DSAR submitter role (whose trust delegates to exactly this role).

    Attributes: `role`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_arn: str,
        object_key_arn: str,
        cluster_resource_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        prefixes = (WORKSPACE_PREFIX, VISITOR_PREFIX)
        statements = [
            iam.PolicyStatement(
                sid="ObjectsUnderCustomerPrefixes",
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"],
                resources=[f"{bucket_arn}/{p}*" for p in prefixes],
            ),
            iam.PolicyStatement(
                sid="ListCustomerPrefixes",
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
            ),
            iam.PolicyStatement(
                sid="ObjectKeyThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[object_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="SubmitErasureRequests",
                actions=["sts:AssumeRole"],
                resources=[f"arn:{stack.partition}:iam::{stack.account}:role/{dsar_submitter_role_name(stack.region)}"],
            ),
            iam.PolicyStatement(
                sid="ConnectAsAppUser",
                actions=["rds-db:connect"],
                resources=[db_user_arn(stack.partition, stack.region, stack.account, cluster_resource_id, APP_DB_USER)],
            ),
        ]
        scoped = ScopedRole(
            self,
            "Task",
            assumed_by=service_principal("ecs-tasks.amazonaws.com", stack.account),
            description="trustbase app tier: its bucket prefixes, its KMS key via S3, its DB user",
            statements=statements,
            role_name=app_role_name(stack.region),  # fixed: the read-burst alarm excludes it by name
        )
        self.role = scoped.role
        nag.acknowledge(
            scoped.managed_policy,
            tuple(nag.iam5_resource_finding(self, f"{bucket_arn}/{p}*") for p in prefixes),
            "Object ARNs need a trailing wildcard; it is confined to the two customer-data "
            "prefixes of one bucket, and keys under them are per workspace/user ids.",
        )


class HumanAccessRoles(Construct):
    """Standing roles people assume, with the permissions boundary:

    - `auditor`: read-only evidence gathering (AUDITOR_ACTIONS), 4-hour sessions, only through
      the identity provider (`auditor_principal`, from constructs_lib.elevation.human_principal:
      never an IAM user, never the root user; the IdP enforces MFA at sign-in);
    - `break_glass`: the one documented exception, for when the identity provider is down:
      incident-response actions only (BREAK_GLASS_ACTIONS), any principal of the account with MFA
      used within the last 15 minutes, 1-hour sessions; every use raises the BreakGlassRoleUsed
      alarm and is reviewed.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        audit_bucket_arn: str,
        config_bucket_arn: str,
        audit_key_arn: str,
        auditor_principal: iam.IPrincipal,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        self.auditor = ScopedRole(
            self,
            "Auditor",
            assumed_by=auditor_principal,
            description="trustbase auditor: read-only evidence, through the identity provider only",
            statements=[
                iam.PolicyStatement(sid="ReadOnlyEvidence", actions=list(AUDITOR_ACTIONS), resources=["*"]),
                iam.PolicyStatement(
                    sid="ReadAuditRecords",
                    actions=["s3:GetObject", "s3:ListBucket"],
                    resources=[audit_bucket_arn, f"{audit_bucket_arn}/*", config_bucket_arn, f"{config_bucket_arn}/*"],
                ),
                # The records are SSE-KMS with the audit key: reading them needs kms:Decrypt, and
                # only through S3 in this region (the key policy delegates exactly that).
                iam.PolicyStatement(
                    sid="DecryptAuditRecordsThroughS3",
                    actions=["kms:Decrypt"],
                    resources=[audit_key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
                ),
            ],
            max_session_duration_hours=4,
            role_name=auditor_role_name(stack.region),
        )
        self.break_glass = ScopedRole(
            self,
            "BreakGlass",
            assumed_by=iam.AccountRootPrincipal().with_conditions(
                {**mfa, "NumericLessThan": {"aws:MultiFactorAuthAge": "900"}}
            ),
            description="trustbase break-glass: incident response only, fresh MFA, 1-hour sessions, alarmed",
            statements=[
                iam.PolicyStatement(sid="IncidentResponse", actions=list(BREAK_GLASS_ACTIONS), resources=["*"])
            ],
            max_session_duration_hours=1,
            role_name=break_glass_role_name(stack.region),
        )
        nag.acknowledge(
            self.auditor.managed_policy,
            (
                f"{nag.IAM_WILDCARD}[Resource::*]",
                nag.iam5_resource_finding(self, f"{audit_bucket_arn}/*"),
                nag.iam5_resource_finding(self, f"{config_bucket_arn}/*"),
            ),
            "Auditors read configuration across the region (List/Describe/Get support no resource "
            "scoping); every action is enumerated and read-only, and audit objects are read-only.",
        )
        nag.acknowledge(
            self.break_glass.managed_policy,
            f"{nag.IAM_WILDCARD}[Resource::*]",
            "Incident response must act on whichever resource is failing; the role lists 17 exact "
            "actions, needs fresh MFA, lasts 1 hour and its every use raises an alarm.",
        )
