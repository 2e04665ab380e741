from __future__ import annotations

from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import RegionConfig
from constructs_lib.detection import (
    MACIE_UNAVAILABLE,
    AccessAnalysis,
    ConfigRecording,
    PiiDiscovery,
    SecurityHubStandards,
    ThreatDetection,
    VulnerabilityScanning,
)
from constructs_lib.iam import HumanAccessRoles, apply_boundary
from constructs_lib.operator_access import DatabaseOperatorRole
from stacks.base import RegionalStack
from stacks.links import Link, read

MACIE_SCHEDULE = "cron(0 3 ? * SUN *)"  # weekly, Sunday 03:00 UTC


class DetectionStack(RegionalStack):
    """Stateless: Config rules, GuardDuty, Security Hub, Macie, Access Analyzer, and the
    auditor and break-glass roles."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, **kwargs)
        apply_boundary(self)
        audit_key_arn = read(self, Link.AUDIT_KEY_ARN)
        audit_bucket_arn = read(self, Link.AUDIT_BUCKET_ARN)
        alerts = sns.Topic.from_topic_arn(self, "AlertsTopic", read(self, Link.ALERTS_TOPIC_ARN))
        self.config_recording = ConfigRecording(
            self,
            "Config",
            bucket_name=read(self, Link.CONFIG_BUCKET_NAME),
            audit_key_arn=audit_key_arn,
            tls_policy=region_config.tls_policy,
        )
        self.threats = ThreatDetection(
            self, "GuardDuty", audit_bucket_arn=audit_bucket_arn, audit_key_arn=audit_key_arn
        )
        self.security_hub = SecurityHubStandards(self, "SecurityHub")
        # Where Macie is not offered the region still deploys, and the compliance report shows
        # ISO 27018 as FAIL there (its evidence, the Macie session, is missing).
        self.pii = (
            PiiDiscovery(
                self,
                "Macie",
                bucket_name=read(self, Link.DATA_BUCKET_NAME),
                schedule_expression=MACIE_SCHEDULE,
                queue_key=kms.Key.from_key_arn(self, "LifecycleKey", read(self, Link.LIFECYCLE_KEY_ARN)),
                alerts_topic=alerts,
            )
            if region_config.name not in MACIE_UNAVAILABLE
            else None
        )
        self.vulnerability_scanning = VulnerabilityScanning(
            self,
            "Inspector",
            queue_key=kms.Key.from_key_arn(self, "InspectorQueueKey", read(self, Link.LIFECYCLE_KEY_ARN)),
            alerts_topic=alerts,
        )
        self.access_analysis = AccessAnalysis(self, "AccessAnalyzer")
        # The database operator's role for DR drills (the host is in the network stack): only when configured.
        self.operator = (
            DatabaseOperatorRole(
                self,
                "OperatorAccess",
                instance_id=read(self, Link.OPERATOR_HOST_ID),
            )
            if region_config.operator_access
            else None
        )
        self.people = HumanAccessRoles(
            self,
            "Access",
            audit_bucket_arn=audit_bucket_arn,
            config_bucket_arn=read(self, Link.CONFIG_BUCKET_ARN),
            audit_key_arn=audit_key_arn,
        )
