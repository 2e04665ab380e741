"""Continuous detection, all regional: AWS Config rules for what trustbase promises,
GuardDuty, Security Hub standards, Macie PII discovery, Amazon Inspector (Lambda) and IAM Access
Analyzer.

The services use their AWS-managed service-linked roles (created once per account: see
README "Deploying"), so no role here needs the broad read permissions those services have.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_accessanalyzer as accessanalyzer
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_config as config
from aws_cdk import aws_events as events
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_macie as macie
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config import jurisdictions
from constructs_lib import nag
from constructs_lib.iam import ScopedRole, scheduler_principal
from constructs_lib.keys import service_linked_role_arn
from constructs_lib.queues import SecureQueue
from contract import (
    CONFIG_PREFIX,
    GUARDDUTY_PREFIX,
    access_analyzer_name,
    config_rule_name,
    inspector_findings_rule_name,
)

# Region service facts live with the other region data (config/jurisdictions.py).
MACIE_UNAVAILABLE = jurisdictions.MACIE_UNAVAILABLE
RULE_UNAVAILABLE = jurisdictions.CONFIG_RULE_UNAVAILABLE

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


def sdk_schedule(
    scope: Construct,
    *,
    role_id: str,
    schedule_id: str,
    alarm_id: str,
    what: str,
    target_arn: str,
    request: dict[str, Any],
    statements: list[iam.PolicyStatement],
    schedule_expression: str,
    queue_key: kms.IKey,
    alerts_topic: sns.ITopic,
) -> tuple[scheduler.CfnSchedule, ScopedRole, sqs.IQueue, cloudwatch.Alarm]:
    """An EventBridge Scheduler schedule whose universal target calls one AWS API (no Lambda to
    maintain), with its role (`statements` + dead-lettering), a dead-letter queue for a run that
    fails after its retries, and an alarm on that queue to the security topic. Created directly
    under `scope` (logical IDs stay where they are).

    The universal target's `Input` holds the API's request parameters (Scheduler user guide) under
    the AWS SDK's PascalCase member names, even where the service's wire format is camelCase: the
    naming AWS documents for the same SDK integrations in Step Functions ("Parameters ... are
    expressed in PascalCase, even if the native service API is in camelCase"), and what working
    universal targets of camelCase APIs use (ecs:updateService with Cluster, Service, DesiredCount)."""
    stack = Stack.of(scope)
    dead_letters = SecureQueue(scope, "DeadLetters", key=queue_key, dead_letter_for=what).queue
    role = ScopedRole(
        scope,
        role_id,
        assumed_by=scheduler_principal(stack),
        description=f"Scheduler: {what}; dead-letter a failed run",
        statements=[
            *statements,
            iam.PolicyStatement(sid="DeadLetters", actions=["sqs:SendMessage"], resources=[dead_letters.queue_arn]),
            # SQS key management: a producer to an SSE-KMS queue needs GenerateDataKey and Decrypt.
            iam.PolicyStatement(
                sid="DeadLetterKeyThroughSqs",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[queue_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}},
            ),
        ],
    )
    schedule = scheduler.CfnSchedule(
        scope,
        schedule_id,
        description=what[:1].upper() + what[1:],
        schedule_expression=schedule_expression,
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=scheduler.CfnSchedule.TargetProperty(
            arn=target_arn,
            role_arn=role.role_arn,
            input=stack.to_json_string(request),
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
            ),
            dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dead_letters.queue_arn),
        ),
    )
    alarm = cloudwatch.Alarm(
        scope,
        alarm_id,
        alarm_description=f"A scheduled run failed for good (dead letter): {what}",
        metric=dead_letters.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic="Maximum"
        ),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cw_actions.SnsAction(alerts_topic))
    return schedule, role, dead_letters, alarm


class PiiDiscovery(Construct):
    """Macie, plus an EventBridge Scheduler schedule that starts a one-time Macie
    classification job over the customer-data bucket every week (ISO 27018: know where PII
    lives). CloudFormation has no Macie job resource; Scheduler's universal target calls
    macie2:CreateClassificationJob directly (see `sdk_schedule`).

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
        jobs_arn = f"arn:{stack.partition}:macie2:{stack.region}:{stack.account}:classification-job/*"
        job = {
            "ClientToken": "<aws.scheduler.execution-id>",  # one job per scheduled run, idempotent on retry
            "Name": "trustbase-pii-<aws.scheduler.execution-id>",
            "JobType": "ONE_TIME",
            "ManagedDataIdentifierSelector": "RECOMMENDED",
            "S3JobDefinition": {"BucketDefinitions": [{"AccountId": stack.account, "Buckets": [bucket_name]}]},
        }
        self.schedule, role, self.dead_letters, self.alarm = sdk_schedule(
            self,
            role_id="Scheduler",
            schedule_id="WeeklyClassification",
            alarm_id="ClassificationDeadLetters",
            what="the weekly Macie classification schedule",
            target_arn="arn:aws:scheduler:::aws-sdk:macie2:createClassificationJob",
            request=job,
            schedule_expression=schedule_expression,
            queue_key=queue_key,
            alerts_topic=alerts_topic,
            statements=[
                iam.PolicyStatement(
                    sid="StartClassificationJobs", actions=["macie2:CreateClassificationJob"], resources=[jobs_arn]
                )
            ],
        )
        nag.acknowledge(
            role.managed_policy,
            nag.iam5_resource_finding(self, jobs_arn),
            "Each weekly run creates a new job whose ID Macie assigns; the wildcard is limited "
            "to classification jobs of this account and region.",
        )
        self.schedule.node.add_dependency(self.session)


# Amazon Inspector scans the lifecycle functions' packages (standard) and their code (code scanning).
INSPECTOR_RESOURCE_TYPES = ("LAMBDA", "LAMBDA_CODE")


class VulnerabilityScanning(Construct):
    """Amazon Inspector for Lambda (standard and code scanning), and an alarm on critical findings.

    CloudFormation has no resource that enables Inspector, so a Scheduler universal target calls
    inspector2:Enable for this account every 12 hours (`sdk_schedule`): the first run enables it,
    later runs are no-ops, and one that follows someone disabling a scan type turns it back on.
    Inspector needs its service-linked role (AWSServiceRoleForAmazonInspector2), created once per
    account like the other services' (README "Deploying"), so this role cannot create roles.
    Inspector sends its findings to Security Hub by itself once both are enabled. Critical active
    findings go to the security topic through an EventBridge rule whose name the topic's policy
    admits (`inspector_findings_rule_name`).

    Attributes: `schedule`, `rule`, `alarm` (dead letters of the enabling schedule).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue_key: kms.IKey,
        alerts_topic: sns.ITopic,
        schedule_expression: str = "rate(12 hours)",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.schedule, role, _, self.alarm = sdk_schedule(
            self,
            role_id="Scheduler",
            schedule_id="EnableInspector",
            alarm_id="EnableDeadLetters",
            what="enabling Amazon Inspector for Lambda (standard and code scanning)",
            target_arn="arn:aws:scheduler:::aws-sdk:inspector2:enable",
            request={"AccountIds": [stack.account], "ResourceTypes": list(INSPECTOR_RESOURCE_TYPES)},
            schedule_expression=schedule_expression,
            queue_key=queue_key,
            alerts_topic=alerts_topic,
            statements=[iam.PolicyStatement(sid="EnableInspector", actions=["inspector2:Enable"], resources=["*"])],
        )
        nag.acknowledge(
            role.managed_policy,
            nag.iam5_resource_finding(self, "*"),
            "inspector2:Enable has no resource type (Service Authorization Reference); the role can do "
            "nothing else but dead-letter to its own queue.",
        )
        # The L1 rule: the topic is imported by an SSM-linked ARN, whose environment the L2 target
        # cannot resolve. Delivery to the topic is authorized by the topic's own policy (audit stack).
        self.rule = events.CfnRule(
            self,
            "CriticalFindings",
            name=inspector_findings_rule_name(stack.region),
            description="Critical, active Amazon Inspector findings to the security alerts topic",
            state="ENABLED",
            event_pattern={
                "source": ["aws.inspector2"],
                "detail-type": ["Inspector2 Finding"],
                "detail": {"severity": ["CRITICAL"], "status": ["ACTIVE"]},
            },
            targets=[events.CfnRule.TargetProperty(id="SecurityAlertsTopic", arn=alerts_topic.topic_arn)],
        )


class AccessAnalysis(Construct):
    """IAM Access Analyzer (account zone of trust) for this region. Attributes: `analyzer`."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.analyzer = accessanalyzer.CfnAnalyzer(
            self, "Analyzer", analyzer_name=access_analyzer_name(Stack.of(self).region), type="ACCOUNT"
        )
