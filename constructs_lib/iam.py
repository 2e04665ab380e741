"""IAM guardrails: the permissions boundary every trustbase role carries, and the app-tier role."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib import nag

# Customer objects live under these prefixes (see README "S3 key layout").
WORKSPACE_PREFIX = "workspaces/"
VISITOR_PREFIX = "visitors/"
APP_DB_USER = "trustbase_app"

# The ceiling for every role trustbase creates: the union of what those roles need,
# action by action. A role's own policy then scopes each action to exact resources.
BOUNDARY_ALLOWED_ACTIONS: tuple[str, ...] = (
    # app tier: its bucket prefixes, the object key through S3, its DB user
    "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
    "kms:Decrypt", "kms:GenerateDataKey", "rds-db:connect",
    # VPC flow logs and RDS enhanced monitoring deliver to CloudWatch Logs
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
    "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:PutRetentionPolicy", "iam:PassRole",
    # CDK's custom resource that strips the default security group's rules
    "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
)  # fmt: skip


def boundary_policy_name(region: str) -> str:
    return f"trustbase-permissions-boundary-{region}"


class PermissionsBoundaryPolicy(Construct):
    """The managed policy used as permissions boundary for every role in one region.

    Besides the allow-list it denies, whatever a role's own policy says: any call to
    another region (residency), IAM changes (no privilege escalation), key
    destruction and bucket-policy changes.

    Attributes: `policy`.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=boundary_policy_name(region),
            description="trustbase permissions boundary: ceiling for every role the app creates",
            statements=[
                iam.PolicyStatement(sid="Ceiling", actions=list(BOUNDARY_ALLOWED_ACTIONS), resources=["*"]),
                iam.PolicyStatement(
                    sid="DenyOtherRegions",  # GDPR Art. 44: no call may act outside the jurisdiction's region
                    effect=iam.Effect.DENY,
                    not_actions=["iam:PassRole"],
                    resources=["*"],
                    conditions={"StringNotEquals": {"aws:RequestedRegion": region}},
                ),
                iam.PolicyStatement(
                    sid="DenyPrivilegeEscalation",
                    effect=iam.Effect.DENY,
                    actions=[
                        "iam:Create*",
                        "iam:Put*",
                        "iam:Attach*",
                        "iam:Detach*",
                        "iam:Delete*",
                        "iam:Update*",
                        "iam:Add*",
                        "iam:Remove*",
                        "iam:Set*",
                    ],
                    resources=["*"],
                ),
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
                ),
            ],
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
    ) -> None:
        super().__init__(scope, construct_id)
        self.managed_policy = iam.ManagedPolicy(self, "Policy", description=description, statements=statements)
        role = iam.Role(
            self,
            "Role",
            assumed_by=assumed_by,
            description=description,
            max_session_duration=Duration.hours(max_session_duration_hours),
            managed_policies=[self.managed_policy],
        )
        self.role_arn = role.role_arn
        self.role: iam.IRole = role.without_policy_updates()


def service_principal(service: str, account: str) -> iam.ServicePrincipal:
    """A service principal that may act only for this account (confused-deputy guard)."""
    return iam.ServicePrincipal(service, conditions={"StringEquals": {"aws:SourceAccount": account}})


class AppTierRole(Construct):
    """Least-privilege task role for the application tier (ECS tasks in the private subnets).

    Grants only: read/write objects under the customer-data prefixes of one bucket,
    Decrypt/GenerateDataKey on the object key via S3, and `rds-db:connect` as one DB user.

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
                sid="ConnectAsAppUser",
                actions=["rds-db:connect"],
                resources=[
                    f"arn:{stack.partition}:rds-db:{stack.region}:{stack.account}:dbuser:{cluster_resource_id}/{APP_DB_USER}"
                ],
            ),
        ]
        scoped = ScopedRole(
            self,
            "Task",
            assumed_by=service_principal("ecs-tasks.amazonaws.com", stack.account),
            description="trustbase app tier: its bucket prefixes, its KMS key via S3, its DB user",
            statements=statements,
        )
        self.role = scoped.role
        nag.acknowledge(
            scoped.managed_policy,
            tuple(nag.iam5_resource_finding(self, f"{bucket_arn}/{p}*") for p in prefixes),
            "Object ARNs need a trailing wildcard; it is confined to the two customer-data "
            "prefixes of one bucket, and keys under them are per workspace/user ids.",
        )
