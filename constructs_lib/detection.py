"""Continuous detection, all regional: AWS Config rules for what trustbase promises,
GuardDuty, Security Hub standards, Macie PII discovery and IAM Access Analyzer.

The services use their AWS-managed service-linked roles (created once per account: see
README "Deploying"), so no role here needs the broad read permissions those services have.
"""

from __future__ import annotations

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_accessanalyzer as accessanalyzer
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_config as config
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_macie as macie
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import nag
from constructs_lib.iam import ScopedRole, scheduler_principal
from constructs_lib.keys import service_linked_role_arn
from constructs_lib.queues import SecureQueue
from contract import CONFIG_PREFIX, GUARDDUTY_PREFIX, access_analyzer_name, config_rule_name

# Static service availability (no lookup at synth). Macie: cfn-lint 1.58's resource specs;
# the Config rule: AWS Config's managed-rule documentation (2026).
MACIE_UNAVAILABLE = frozenset({"ap-southeast-4", "eu-south-2"})
RULE_UNAVAILABLE: dict[str, frozenset[str]] = {
    "ELBV2_PREDEFINED_SECURITY_POLICY_SSL_CHECK": frozenset(
        {"me-south-1", "me-central-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
         "ap-southeast-7", "ca-west-1", "eu-south-2", "eu-central-2", "il-central-1", "mx-central-1"}
    ),
}  # fmt: skip

SECURITY_HUB_STANDARDS = {
    "FoundationalBestPractices": "standards/aws-foundational-security-best-practices/v/1.0.0",
    "Nist80053Rev5": "standards/nist-800-53/v/5.0.0",
    "PciDss321": "standards/pci-dss/v/3.2.1",
}


def config_rules(tls_policy: str) -> dict[str, tuple[str, dict[str, str] | None]]:
    """Config rule name -> (managed rule identifier, input parameters): one per promise."""
    return {
        "rds-storage-encrypted": ("RDS_STORAGE_ENCRYPTED", None),
        "s3-default-encryption-kms": ("S3_DEFAULT_ENCRYPTION_KMS", None),
        "log-groups-encrypted": ("CLOUDWATCH_LOG_GROUP_ENCRYPTED", None),
        "s3-ssl-requests-only": ("S3_BUCKET_SSL_REQUESTS_ONLY", None),
        "alb-http-to-https-redirect": ("ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK", None),
        "alb-tls-policy": ("ELBV2_PREDEFINED_SECURITY_POLICY_SSL_CHECK", {"sslPolicies": tls_policy}),
        "vpc-flow-logs-enabled": ("VPC_FLOW_LOGS_ENABLED", None),
        "cloudtrail-enabled": ("CLOUD_TRAIL_ENABLED", None),
        "cloudtrail-log-file-validation": ("CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", None),
        "no-unrestricted-ssh": ("INCOMING_SSH_DISABLED", None),
        "iam-no-admin-statements": ("IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", None),
        "root-account-mfa": ("ROOT_ACCOUNT_MFA_ENABLED", None),
        "kms-key-rotation": ("CMK_BACKING_KEY_ROTATION_ENABLED", None),
    }


class ConfigRecording(Construct):
    """Config recorder (all supported resource types; global ones only in us-east-1), a
    delivery channel to the Config records bucket encrypted with the audit key, and managed rules.

    The channel depends on the recorder: AWS::Config::DeliveryChannel, "Before you can create a
    delivery channel, you must create a configuration recorder."

    Attributes: `recorder`, `channel`, `rules`.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, bucket_name: str, audit_key_arn: str, tls_policy: str
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.recorder = config.CfnConfigurationRecorder(
            self,
            "Recorder",
            role_arn=service_linked_role_arn(
                stack.partition, stack.account, "config.amazonaws.com", "AWSServiceRoleForConfig"
            ),
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=stack.region == "us-east-1"
            ),
        )
        self.channel = config.CfnDeliveryChannel(
            self,
            "Delivery",
            s3_bucket_name=bucket_name,
            s3_key_prefix=CONFIG_PREFIX,
            s3_kms_key_arn=audit_key_arn,
            config_snapshot_delivery_properties=config.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                delivery_frequency="TwentyFour_Hours"
            ),
        )
        self.channel.node.add_dependency(self.recorder)
        self.rules: dict[str, config.CfnConfigRule] = {}
        for name, (identifier, params) in config_rules(tls_policy).items():
            if stack.region in RULE_UNAVAILABLE.get(identifier, frozenset()):
                Annotations.of(self).add_info(f"{identifier} is not offered in {stack.region}: rule {name} left out")
                continue
            rule = config.CfnConfigRule(
                self,
                name,
                config_rule_name=config_rule_name(name),
                source=config.CfnConfigRule.SourceProperty(owner="AWS", source_identifier=identifier),
                input_parameters=params,
            )
            rule.node.add_dependency(self.recorder, self.channel)
            self.rules[name] = rule


class ThreatDetection(Construct):
    """GuardDuty with S3 and RDS protection; findings exported to the audit bucket,
    encrypted with the audit key.

    Attributes: `detector`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, audit_bucket_arn: str, audit_key_arn: str) -> None:
        super().__init__(scope, construct_id)
        feature = guardduty.CfnDetector.CFNFeatureConfigurationProperty
        self.detector = guardduty.CfnDetector(
            self,
            "Detector",
            enable=True,
            finding_publishing_frequency="FIFTEEN_MINUTES",
            features=[
                feature(name="S3_DATA_EVENTS", status="ENABLED"),
                feature(name="RDS_LOGIN_EVENTS", status="ENABLED"),
            ],
        )
        guardduty.CfnPublishingDestination(
            self,
            "FindingsExport",
            detector_id=self.detector.ref,
            destination_type="S3",
            destination_properties=guardduty.CfnPublishingDestination.CFNDestinationPropertiesProperty(
                destination_arn=f"{audit_bucket_arn}/{GUARDDUTY_PREFIX}", kms_key_arn=audit_key_arn
            ),
        )


class SecurityHubStandards(Construct):
    """Security Hub with consolidated control findings and the FSBP, NIST 800-53 rev 5 and
    PCI DSS 3.2.1 standards. Attributes: `hub`, `standards`."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.hub = securityhub.CfnHub(
            self,
            "Hub",
            enable_default_standards=False,
            control_finding_generator="SECURITY_CONTROL",
            auto_enable_controls=True,
        )
        self.standards = {}
        for name, path in SECURITY_HUB_STANDARDS.items():
            standard = securityhub.CfnStandard(
                self, name, standards_arn=f"arn:{stack.partition}:securityhub:{stack.region}::{path}"
            )
            standard.node.add_dependency(self.hub)
            self.standards[name] = standard


class PiiDiscovery(Construct):
    """Macie, plus an EventBridge Scheduler schedule that starts a one-time Macie
    classification job over the customer-data bucket every week (ISO 27018: know where PII
    lives). CloudFormation has no Macie job resource; Scheduler's universal target calls
    macie2:CreateClassificationJob directly, with no Lambda to maintain. A run that fails after
    its retries lands in a dead-letter queue whose depth alarms the security on-call.

    The universal target's `Input` holds the API's request parameters (Scheduler user guide) under
    the AWS SDK's PascalCase member names, even where the service's wire format is camelCase (as
    macie2's is): the naming AWS documents for the same SDK integrations in Step Functions
    ("Parameters ... are expressed in PascalCase, even if the native service API is in camelCase"),
    and what working universal targets of camelCase APIs use (ecs:updateService with Cluster,
    Service, DesiredCount).

    Attributes: `session`, `schedule`, `dead_letters`, `alarm`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        schedule_expression: str,
        queue_key: kms.IKey,
        alerts_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.session = macie.CfnSession(
            self, "Session", status="ENABLED", finding_publishing_frequency="FIFTEEN_MINUTES"
        )
        self.dead_letters = SecureQueue(
            self, "DeadLetters", key=queue_key, dead_letter_for="the weekly Macie classification schedule"
        ).queue
        jobs_arn = f"arn:{stack.partition}:macie2:{stack.region}:{stack.account}:classification-job/*"
        role = ScopedRole(
            self,
            "Scheduler",
            assumed_by=scheduler_principal(stack),
            description="Scheduler: start Macie classification jobs, dead-letter a failed run",
            statements=[
                iam.PolicyStatement(
                    sid="StartClassificationJobs", actions=["macie2:CreateClassificationJob"], resources=[jobs_arn]
                ),
                iam.PolicyStatement(
                    sid="DeadLetters", actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn]
                ),
                # SQS key management: a producer to an SSE-KMS queue needs GenerateDataKey and Decrypt.
                iam.PolicyStatement(
                    sid="DeadLetterKeyThroughSqs",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[queue_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}},
                ),
            ],
        )
        nag.acknowledge(
            role.managed_policy,
            nag.iam5_resource_finding(self, jobs_arn),
            "Each weekly run creates a new job whose ID Macie assigns; the wildcard is limited "
            "to classification jobs of this account and region.",
        )
        job = {
            "ClientToken": "<aws.scheduler.execution-id>",  # one job per scheduled run, idempotent on retry
            "Name": "trustbase-pii-<aws.scheduler.execution-id>",
            "JobType": "ONE_TIME",
            "ManagedDataIdentifierSelector": "RECOMMENDED",
            "S3JobDefinition": {"BucketDefinitions": [{"AccountId": stack.account, "Buckets": [bucket_name]}]},
        }
        self.schedule = scheduler.CfnSchedule(
            self,
            "WeeklyClassification",
            description="Weekly Macie PII classification of the customer-data bucket",
            schedule_expression=schedule_expression,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn="arn:aws:scheduler:::aws-sdk:macie2:createClassificationJob",
                role_arn=role.role_arn,
                input=stack.to_json_string(job),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dead_letters.queue_arn),
            ),
        )
        self.schedule.node.add_dependency(self.session)
        self.alarm = cloudwatch.Alarm(
            self,
            "ClassificationDeadLetters",
            alarm_description="The weekly Macie classification run failed for good (dead letter)",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(alerts_topic))


class AccessAnalysis(Construct):
    """IAM Access Analyzer (account zone of trust) for this region. Attributes: `analyzer`."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.analyzer = accessanalyzer.CfnAnalyzer(
            self, "Analyzer", analyzer_name=access_analyzer_name(Stack.of(self).region), type="ACCOUNT"
        )
