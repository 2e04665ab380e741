"""Tamper-evident audit trail: a locked audit bucket, a CloudTrail trail, and alarms on
the events an auditor asks about (who deleted or exported data, who changed access)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, DefaultStackSynthesizer, Duration, Stack
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
from constructs_lib.iam import ScopedRole
from constructs_lib.perimeter import outside_account_deny
from constructs_lib.retention import encrypted_log_group
from contract import CONFIG_PREFIX, GUARDDUTY_PREFIX, TRAIL_PREFIX, inspector_findings_rule_name, trail_name

# Audit records: nobody deletes them, their versions or their bucket, or touches their retention,
# whatever IAM says. On the Object Lock bucket, compliance mode additionally makes locked versions
# undeletable, root included.
DENIED_TO_EVERYONE = (
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteBucket",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
)
# Retention settings and the bucket policy itself change only through a reviewed deploy: the CDK
# bootstrap's CloudFormation execution role is the one principal these are not denied to.
DENIED_BUT_TO_DEPLOYS = (
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketVersioning",
)


def deploy_role_arn(stack: Stack) -> str:
    """The CloudFormation execution role of the CDK bootstrap that deploys `stack`."""
    synthesizer = stack.synthesizer
    if not isinstance(synthesizer, DefaultStackSynthesizer):
        raise TypeError(f"{stack.stack_name}: audit buckets need the default synthesizer's deploy role")
    return synthesizer.cloud_formation_execution_role_arn.replace("${AWS::Partition}", stack.partition)


def protect_records(bucket: s3.Bucket) -> None:
    """Deny deleting records, their versions and the bucket to everyone, and changing retention
    or the policy to everyone but the deploy role."""
    stack = Stack.of(bucket)
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="NoDeletionByAnyone",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=list(DENIED_TO_EVERYONE),
            resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
        )
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="RetentionChangesOnlyByDeploys",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=list(DENIED_BUT_TO_DEPLOYS),
            resources=[bucket.bucket_arn],
            conditions={"ArnNotEquals": {"aws:PrincipalArn": deploy_role_arn(stack)}},
        )
    )
    # The resource perimeter: the log services write as themselves (exempt); nobody else outside.
    bucket.add_to_resource_policy(
        outside_account_deny(bucket, service="s3", resources=[bucket.bucket_arn, bucket.arn_for_objects("*")])
    )


class AuditBucket(Construct):
    """Audit-record bucket: Object Lock (compliance mode, `lock_days` default retention),
    versioned, SSE-KMS with the audit key, private, TLS 1.2+ only, access-logged; writable
    only by CloudTrail (this trail) and GuardDuty of this account, and by the erasure-ledger
    publisher (its IAM policy); nobody may delete records or shorten their retention.

    AWS Config cannot deliver here (AWS::Config::DeliveryChannel: "AWS Config does not support
    the delivery channel to an Amazon S3 bucket where object lock is enabled"): see ConfigRecordsBucket.

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
        guardduty = {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:guardduty:{region}:{account}:detector/*"},
        }
        statements = [
            # CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail": aws:SourceArn = the trail.
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
            # GuardDuty user guide, "Exporting findings": aws:SourceAccount and the detector's ARN.
            iam.PolicyStatement(
                sid="GuardDutyLocation",
                principals=[iam.ServicePrincipal("guardduty.amazonaws.com")],
                actions=["s3:GetBucketLocation"],
                resources=[b.bucket_arn],
                conditions=guardduty,
            ),
            iam.PolicyStatement(
                sid="GuardDutyWrite",
                principals=[iam.ServicePrincipal("guardduty.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[b.arn_for_objects(f"{GUARDDUTY_PREFIX}/*")],
                conditions=guardduty,
            ),
        ]
        for statement in statements:
            b.add_to_resource_policy(statement)
        protect_records(b)
        nag.acknowledge(
            b,
            nag.S3_REPLICATION,
            "Audit records stay in their jurisdiction's region (GDPR Art. 44); Object Lock in "
            "compliance mode and versioning protect them, and S3 stores them across 3+ AZs.",
        )


class ConfigRecordsBucket(Construct):
    """AWS Config's delivery bucket: no Object Lock (Config cannot deliver to one), so its records
    are kept immutable by policy instead: SSE-KMS with the audit key, versioned, private, TLS 1.2+
    only, access-logged; writable only by Config of this account; nobody may delete records or
    versions, and only a deploy may change retention. Records expire after `record_days`.

    Bucket policy: AWS Config developer guide, "Permissions for the Amazon S3 Bucket"
    (AWSConfigBucketPermissionsCheck, AWSConfigBucketExistenceCheck, AWSConfigBucketDelivery).

    Attributes: `bucket`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        record_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="s3/ConfigRecords/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-config-records",
                    expiration=Duration.days(record_days),
                    noncurrent_version_expiration=Duration.days(record_days),
                )
            ],
            **secure_bucket_defaults(),  # type: ignore[arg-type]
        )
        Annotations.of(self.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
            "AccessLogBucket grants S3 log delivery for this account's buckets under s3/ itself",
        )
        b = self.bucket
        source_account = {"StringEquals": {"aws:SourceAccount": account}}
        for sid, actions, resource, conditions in (
            ("AWSConfigBucketPermissionsCheck", ["s3:GetBucketAcl"], b.bucket_arn, source_account),
            ("AWSConfigBucketExistenceCheck", ["s3:ListBucket"], b.bucket_arn, source_account),
            (
                "AWSConfigBucketDelivery",
                ["s3:PutObject"],
                b.arn_for_objects(f"{CONFIG_PREFIX}/AWSLogs/{account}/Config/*"),
                {"StringEquals": {"aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control"}},
            ),
        ):
            b.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal("config.amazonaws.com")],
                    actions=actions,
                    resources=[resource],
                    conditions=conditions,
                )
            )
        protect_records(b)
        nag.acknowledge(
            b,
            nag.S3_REPLICATION,
            "Config records stay in their jurisdiction's region (GDPR Art. 44); versioning plus a "
            "policy denying deletion to everyone protect them, and S3 stores them across 3+ AZs.",
        )


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    description: str
    pattern: str
    threshold: int = 1
    period_minutes: int = 5


def security_alarm_specs(
    region: str,
    *,
    app_role_name: str,
    break_glass_role_name: str,
    bulk_delete_threshold: int,
    get_object_burst_threshold: int,
) -> tuple[AlarmSpec, ...]:
    """The metric filters and their thresholds. Patterns follow the CIS AWS Foundations
    benchmark (section 4) where one exists."""
    return (
        AlarmSpec(
            "BulkObjectDeletion",
            "Customer objects deleted at volume",
            '{ ($.eventSource = "s3.amazonaws.com") && (($.eventName = "DeleteObject") || ($.eventName = "DeleteObjects")) }',
            threshold=bulk_delete_threshold,
        ),
        AlarmSpec(
            "ObjectReadBurstUnexpectedPrincipal",
            "Burst of GetObject by a principal other than the app tier",
            '{ ($.eventSource = "s3.amazonaws.com") && ($.eventName = "GetObject") && '
            f'($.userIdentity.sessionContext.sessionIssuer.userName != "{app_role_name}") }}',
            threshold=get_object_burst_threshold,
        ),
        AlarmSpec(
            "DatabaseSnapshotExportOrShare",
            "RDS snapshot exported, copied or shared",
            '{ ($.eventSource = "rds.amazonaws.com") && (($.eventName = "StartExportTask") || '
            '($.eventName = "ModifyDBClusterSnapshotAttribute") || ($.eventName = "ModifyDBSnapshotAttribute") || '
            '($.eventName = "CopyDBClusterSnapshot") || ($.eventName = "CopyDBSnapshot")) }',
        ),
        AlarmSpec(
            "RootAccountUsage",
            "The root user was used",
            '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
        ),
        AlarmSpec(
            "IamPolicyChanges",
            "An IAM policy was created, changed, attached or detached",
            "{ ($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || "
            "($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
            "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
            "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
            "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || "
            "($.eventName=DetachGroupPolicy) || ($.eventName=PutRolePermissionsBoundary) || "
            "($.eventName=DeleteRolePermissionsBoundary) }",
        ),
        AlarmSpec(
            "KmsKeyDisabledOrScheduledForDeletion",
            "A KMS key was disabled or scheduled for deletion",
            '{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") || ($.eventName = "ScheduleKeyDeletion")) }',
        ),
        AlarmSpec(
            "SecurityGroupChanges",
            "A security group was changed",
            "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
            "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
            "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
        ),
        AlarmSpec(
            "ConsoleLoginWithoutMfa",
            "A console sign-in succeeded without MFA",
            '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
            '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
        ),
        AlarmSpec(
            "CloudTrailChanged",
            "CloudTrail was stopped, deleted or reconfigured",
            "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
            "($.eventName = StartLogging) || ($.eventName = StopLogging) || ($.eventName = PutEventSelectors) }",
        ),
        AlarmSpec(
            "S3BucketPolicyChanges",
            "A bucket policy, ACL, lifecycle or lock configuration was changed",
            '{ ($.eventSource = "s3.amazonaws.com") && (($.eventName = "PutBucketPolicy") || '
            '($.eventName = "DeleteBucketPolicy") || ($.eventName = "PutBucketAcl") || '
            '($.eventName = "PutBucketLifecycle") || ($.eventName = "DeleteBucketLifecycle") || '
            '($.eventName = "PutBucketObjectLockConfiguration") || ($.eventName = "PutBucketVersioning")) }',
        ),
        AlarmSpec(
            "OperatorSessionStarted",
            "A Session Manager session started (the database operator path)",
            '{ ($.eventSource = "ssm.amazonaws.com") && ($.eventName = "StartSession") }',
        ),
        AlarmSpec(
            "BreakGlassRoleUsed",
            "The break-glass admin role was assumed",
            f'{{ ($.eventSource = "sts.amazonaws.com") && ($.eventName = "AssumeRole") && '
            f'($.requestParameters.roleArn = "*:role/{break_glass_role_name}") }}',
        ),
    )


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
        self.log_group = encrypted_log_group(self, "Logs", key=logs_key, retention=log_retention)
        delivery = ScopedRole(
            self,
            "LogsDelivery",
            # CloudTrail user guide, "Role policy document for CloudTrail to use CloudWatch Logs":
            # "The role policy doesn't support the use of aws:SourceArn and aws:SourceAccount" (with
            # either condition CloudTrail cannot assume the role). Only CloudTrail's principal, then.
            assumed_by=iam.ServicePrincipal("cloudtrail.amazonaws.com"),
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
        stack = Stack.of(self)
        self.topic = sns.Topic(
            self, "Topic", display_name="trustbase security alerts", master_key=audit_key, enforce_ssl=True
        )
        # A topic policy replaces SNS's default one, so CloudWatch must be allowed explicitly, for
        # this account's alarms in this region only (SNS and CloudWatch: "add the following
        # permissions ... Allow_Publish_Alarms", scoped with aws:SourceArn and aws:SourceAccount).
        # The audit key's policy lets CloudWatch use the key for this account's topics.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                    },
                },
            )
        )
        # The detection stack's EventBridge rule for critical Inspector findings publishes here; the
        # topic admits exactly that rule (EventBridge user guide, "Amazon SNS permissions":
        # events.amazonaws.com with aws:SourceArn; the audit key lets EventBridge use it likewise).
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="InspectorFindingsRulePublishes",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {
                        "aws:SourceArn": f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/"
                        + inspector_findings_rule_name(stack.region)
                    },
                },
            )
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
