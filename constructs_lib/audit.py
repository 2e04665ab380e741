"""Tamper-evident audit trail: a locked audit bucket, a CloudTrail trail, and alarms on
the events an auditor asks about (who deleted or exported data, who changed access)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import nag
from constructs_lib.buckets import secure_bucket_defaults
from constructs_lib.iam import ScopedRole, service_principal

TRAIL_PREFIX = "cloudtrail"
CONFIG_PREFIX = "config"
GUARDDUTY_PREFIX = "guardduty"
# Deletion of audit records is denied to every principal, whatever IAM says; Object Lock in
# compliance mode additionally makes locked versions undeletable, root included.
DENIED_TO_EVERYONE = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:BypassGovernanceRetention")


def trail_name(region: str) -> str:
    return f"trustbase-{region}"


class AuditBucket(Construct):
    """Audit-record bucket: Object Lock (compliance mode, `lock_days` default retention),
    versioned, SSE-KMS with the audit key, private, TLS 1.2+ only, access-logged; writable
    only by CloudTrail (this trail), AWS Config and GuardDuty of this account; nobody may
    delete objects or the bucket.

    Attributes: `bucket`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        lock_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        account, region, partition = stack.account, stack.region, stack.partition
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(lock_days)),
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="s3/AuditRecords/",
            lifecycle_rules=[
                # Only after the lock has expired; S3 lifecycle is not an IAM principal.
                s3.LifecycleRule(
                    id="expire-after-lock",
                    expiration=Duration.days(lock_days + 30),
                    noncurrent_version_expiration=Duration.days(lock_days + 30),
                )
            ],
            **secure_bucket_defaults(),  # type: ignore[arg-type]
        )
        Annotations.of(self.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
            "AccessLogBucket grants S3 log delivery for this account's buckets under s3/ itself",
        )
        b = self.bucket
        trail_arn = f"arn:{partition}:cloudtrail:{region}:{account}:trail/{trail_name(region)}"
        source_account = {"StringEquals": {"aws:SourceAccount": account}}
        statements = [
            iam.PolicyStatement(
                sid="CloudTrailAclCheck",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["s3:GetBucketAcl"],
                resources=[b.bucket_arn],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
            ),
            iam.PolicyStatement(
                sid="CloudTrailWrite",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[b.arn_for_objects(f"{TRAIL_PREFIX}/AWSLogs/{account}/*")],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}},
            ),
            iam.PolicyStatement(
                sid="ConfigAclCheck",
                principals=[iam.ServicePrincipal("config.amazonaws.com")],
                actions=["s3:GetBucketAcl", "s3:ListBucket"],
                resources=[b.bucket_arn],
                conditions=source_account,
            ),
            iam.PolicyStatement(
                sid="ConfigWrite",
                principals=[iam.ServicePrincipal("config.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[b.arn_for_objects(f"{CONFIG_PREFIX}/AWSLogs/{account}/Config/*")],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control"}
                },
            ),
            iam.PolicyStatement(
                sid="GuardDutyLocation",
                principals=[iam.ServicePrincipal("guardduty.amazonaws.com")],
                actions=["s3:GetBucketLocation"],
                resources=[b.bucket_arn],
                conditions=source_account,
            ),
            iam.PolicyStatement(
                sid="GuardDutyWrite",
                principals=[iam.ServicePrincipal("guardduty.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[b.arn_for_objects(f"{GUARDDUTY_PREFIX}/*")],
                conditions=source_account,
            ),
            iam.PolicyStatement(
                sid="NoDeletionByAnyone",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(DENIED_TO_EVERYONE),
                resources=[b.bucket_arn, b.arn_for_objects("*")],
            ),
        ]
        for statement in statements:
            b.add_to_resource_policy(statement)
        nag.acknowledge(
            b,
            nag.S3_REPLICATION,
            "Audit records stay in their jurisdiction's region (GDPR Art. 44); Object Lock in "
            "compliance mode and versioning protect them, and S3 stores them across 3+ AZs.",
        )


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    description: str
    pattern: str
    threshold: int = 1
    period_minutes: int = 5


def security_alarm_specs(region: str, *, app_role_name: str, break_glass_role_name: str,
                         bulk_delete_threshold: int, get_object_burst_threshold: int) -> tuple[AlarmSpec, ...]:  # fmt: skip
    """The metric filters and their thresholds. Patterns follow the CIS AWS Foundations
    benchmark (section 4) where one exists."""
    return (
        AlarmSpec("BulkObjectDeletion", "Customer objects deleted at volume",
                  '{ ($.eventSource = "s3.amazonaws.com") && (($.eventName = "DeleteObject") || ($.eventName = "DeleteObjects")) }',
                  threshold=bulk_delete_threshold),
        AlarmSpec("ObjectReadBurstUnexpectedPrincipal", "Burst of GetObject by a principal other than the app tier",
                  '{ ($.eventSource = "s3.amazonaws.com") && ($.eventName = "GetObject") && '
                  f'($.userIdentity.sessionContext.sessionIssuer.userName != "{app_role_name}") }}',
                  threshold=get_object_burst_threshold),
        AlarmSpec("DatabaseSnapshotExportOrShare", "RDS snapshot exported, copied or shared",
                  '{ ($.eventSource = "rds.amazonaws.com") && (($.eventName = "StartExportTask") || '
                  '($.eventName = "ModifyDBClusterSnapshotAttribute") || ($.eventName = "ModifyDBSnapshotAttribute") || '
                  '($.eventName = "CopyDBClusterSnapshot") || ($.eventName = "CopyDBSnapshot")) }'),
        AlarmSpec("RootAccountUsage", "The root user was used",
                  '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'),
        AlarmSpec("IamPolicyChanges", "An IAM policy was created, changed, attached or detached",
                  "{ ($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || "
                  "($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
                  "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
                  "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
                  "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || "
                  "($.eventName=DetachGroupPolicy) || ($.eventName=PutRolePermissionsBoundary) || "
                  "($.eventName=DeleteRolePermissionsBoundary) }"),
        AlarmSpec("KmsKeyDisabledOrScheduledForDeletion", "A KMS key was disabled or scheduled for deletion",
                  '{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") || ($.eventName = "ScheduleKeyDeletion")) }'),
        AlarmSpec("SecurityGroupChanges", "A security group was changed",
                  "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
                  "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
                  "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"),
        AlarmSpec("ConsoleLoginWithoutMfa", "A console sign-in succeeded without MFA",
                  '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
                  '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'),
        AlarmSpec("CloudTrailChanged", "CloudTrail was stopped, deleted or reconfigured",
                  "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
                  "($.eventName = StartLogging) || ($.eventName = StopLogging) || ($.eventName = PutEventSelectors) }"),
        AlarmSpec("BreakGlassRoleUsed", "The break-glass admin role was assumed",
                  f'{{ ($.eventSource = "sts.amazonaws.com") && ($.eventName = "AssumeRole") && '
                  f'($.requestParameters.roleArn = "*:role/{break_glass_role_name}") }}'),
    )  # fmt: skip


class AuditTrail(Construct):
    """A single-region CloudTrail trail (the records never leave the region): management
    events plus read/write data events of the customer-data bucket, log-file validation,
    encrypted with the audit key, delivered to the audit bucket and to a KMS-encrypted
    CloudWatch log group with retention.

    Attributes: `trail`, `log_group`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: AuditBucket,
        audit_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        data_bucket_arns: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.log_group = logs.LogGroup(
            self, "Logs", encryption_key=logs_key, retention=log_retention, removal_policy=RemovalPolicy.RETAIN
        )
        delivery = ScopedRole(
            self,
            "LogsDelivery",
            assumed_by=service_principal("cloudtrail.amazonaws.com", stack.account),
            description="CloudTrail: write to the trail's log group only",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
                )
            ],
        )
        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=trail_name(stack.region),
            is_logging=True,
            is_multi_region_trail=False,  # residency: each region records into its own bucket
            include_global_service_events=True,  # IAM/STS sign-in events arrive in us-east-1's trail
            enable_log_file_validation=True,  # tamper evidence: signed digest files
            kms_key_id=audit_key.key_arn,
            s3_bucket_name=bucket.bucket.bucket_name,
            s3_key_prefix=TRAIL_PREFIX,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=delivery.role_arn,
            event_selectors=[
                cloudtrail.CfnTrail.EventSelectorProperty(
                    include_management_events=True,
                    read_write_type="All",  # reads = exports, writes include deletions
                    data_resources=[
                        cloudtrail.CfnTrail.DataResourceProperty(
                            type="AWS::S3::Object", values=[f"{arn}/" for arn in data_bucket_arns]
                        )
                    ],
                )
            ],
        )
        policy = bucket.bucket.policy
        if policy is not None:
            self.trail.node.add_dependency(policy)


class SecurityAlarms(Construct):
    """Metric filters on the trail's log group, each with an alarm to an SNS topic encrypted
    with the audit key (TLS-only topic policy).

    Attributes: `topic`, `alarms` (name -> alarm).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group: logs.ILogGroup,
        audit_key: kms.IKey,
        specs: tuple[AlarmSpec, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "Topic", display_name="trustbase security alerts", master_key=audit_key, enforce_ssl=True
        )
        action = cw_actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in specs:
            metric_filter = logs.MetricFilter(
                self,
                f"{spec.name}Filter",
                log_group=log_group,
                filter_pattern=logs.FilterPattern.literal(spec.pattern),
                metric_namespace="trustbase/security",
                metric_name=spec.name,
                metric_value="1",
                default_value=0,
            )
            alarm = cloudwatch.Alarm(
                self,
                spec.name,
                alarm_description=spec.description,
                metric=metric_filter.metric(statistic="Sum", period=Duration.minutes(spec.period_minutes)),
                threshold=spec.threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms[spec.name] = alarm
