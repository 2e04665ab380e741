from __future__ import annotations

from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import RegionConfig, offered_elevations
from constructs_lib.detection import (
    MACIE_UNAVAILABLE,
    AccessAnalysis,
    ConfigRecording,
    PiiDiscovery,
    SecurityHubStandards,
    ThreatDetection,
    VulnerabilityScanning,
)
from constructs_lib.elevation import (
    ElevationBroker,
    ElevationRoles,
    SamlPeopleRoles,
    elevation_principal,
    human_principal,
)
from constructs_lib.iam import HumanAccessRoles, apply_boundary
from constructs_lib.operator_access import DatabaseOperatorRole
from constructs_lib.retention import log_retention
from contract import Elevation, HumanAccess, IdentitySource, elevation_role_name
from stacks.base import RegionalStack
from stacks.links import Link, read

MACIE_SCHEDULE = "cron(0 3 ? * SUN *)"  # weekly, Sunday 03:00 UTC


class DetectionStack(RegionalStack):
    """Stateless: Config rules, GuardDuty, Security Hub, Macie, Inspector, Access Analyzer; the
    auditor and break-glass roles, the elevation roles and the elevation broker and workflow."""

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
        access = self.access
        offered = offered_elevations(access, region_config)
        self.operator = (
            DatabaseOperatorRole(
                self,
                "OperatorAccess",
                instance_id=read(self, Link.OPERATOR_HOST_ID),
                assumed_by=elevation_principal(self, access, Elevation.DATABASE_OPERATOR),
            )
            if Elevation.DATABASE_OPERATOR in offered
            else None
        )
        # People: the auditor only through the identity provider; break-glass the one exception.
        self.people = HumanAccessRoles(
            self,
            "Access",
            audit_bucket_arn=audit_bucket_arn,
            config_bucket_arn=read(self, Link.CONFIG_BUCKET_ARN),
            audit_key_arn=audit_key_arn,
            auditor_principal=human_principal(self, access, HumanAccess.AUDITOR),
        )
        # Elevation: the roles, the broker and its workflow; none where no elevation is offered
        # (config.offered_elevations: e.g. a region without Lambda function URLs).
        self.saml_people: SamlPeopleRoles | None = None
        self.elevation_roles: ElevationRoles | None = None
        self.broker: ElevationBroker | None = None
        if offered:
            roles = {
                e: f"arn:{self.partition}:iam::{self.account}:role/{elevation_role_name(self.region, e)}"
                for e in offered
            }
            if access.identity_source is IdentitySource.SAML:
                self.saml_people = SamlPeopleRoles(self, "People", access=access, elevation_roles=list(roles.values()))
            self.elevation_roles = ElevationRoles(
                self,
                "Elevation",
                access=access,
                offered=offered,
                data_bucket_arn=read(self, Link.DATA_BUCKET_ARN),
                objects_key_arn=read(self, Link.OBJECTS_KEY_ARN),
            )
            self.broker = ElevationBroker(
                self,
                "ElevationBroker",
                access=access,
                elevation_roles=roles,
                audit_bucket_name=read(self, Link.AUDIT_BUCKET_NAME),
                audit_bucket_arn=audit_bucket_arn,
                audit_key_arn=audit_key_arn,
                alerts_topic=alerts,
                function_key=kms.Key.from_key_arn(self, "BrokerKey", read(self, Link.LIFECYCLE_KEY_ARN)),
                logs_key=kms.Key.from_key_arn(self, "LogsKey", read(self, Link.LOGS_KEY_ARN)),
                log_retention=log_retention(region_config.retention.lifecycle_log_days),
            )
