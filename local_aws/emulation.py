"""What the local emulator (moto 5.2.5 with our patches) cannot do, stated once, so verify can say
NOT_EMULATED instead of PASS or FAIL, and PATCHED where only a patch wrote the value."""

from __future__ import annotations

from local_aws import patches
from local_aws.deploy import RegionDeployment
from verify.engine import Emulation

TARGET = "local emulator (moto 5.2.5, patched)"

# Resource types moto accepts in a template but does not create (the stack still reports
# CREATE_COMPLETE). A missing resource of any OTHER type fails verification: a new silent gap
# must be noticed, not absorbed; a listed type that moto starts creating fails too (stale entry).
NOT_EMULATED_TYPES: dict[str, str] = {
    "AWS::AccessAnalyzer::Analyzer": "moto has no CloudFormation model for IAM Access Analyzer",
    "AWS::Backup::BackupSelection": "moto's AWS Backup has no backup selections",
    "AWS::Backup::RestoreTestingPlan": "moto has no AWS Backup restore testing",
    "AWS::Backup::RestoreTestingSelection": "moto has no AWS Backup restore testing",
    "AWS::CloudTrail::Trail": "moto has no CloudFormation model for CloudTrail trails",
    "AWS::Config::ConfigRule": "moto has no CloudFormation model for AWS Config rules",
    "AWS::Config::ConfigurationRecorder": "moto has no CloudFormation model for the Config recorder",
    "AWS::Config::DeliveryChannel": "moto has no CloudFormation model for the Config delivery channel",
    "AWS::FIS::ExperimentTemplate": "moto has no CloudFormation model for FIS templates",
    "AWS::GuardDuty::Detector": "moto has no CloudFormation model for GuardDuty",
    "AWS::GuardDuty::PublishingDestination": "moto has no CloudFormation model for GuardDuty",
    "AWS::Lambda::Version": "moto publishes no version for AWS::Lambda::Version (only the migration trigger, which is dropped, invokes it)",
    "AWS::Logs::MetricFilter": "moto has no CloudFormation model for metric filters",
    "AWS::Macie::Session": "moto has no CloudFormation model for Macie",
    "AWS::RDS::DBClusterParameterGroup": "moto has no CloudFormation model for cluster parameter groups",
    "AWS::Scheduler::Schedule": "moto has no CloudFormation model for EventBridge Scheduler",
    "AWS::SecurityHub::Hub": "moto has no CloudFormation model for Security Hub",
    "AWS::SecurityHub::Standard": "moto has no CloudFormation model for Security Hub standards",
    "AWS::SNS::TopicPolicy": "moto has no CloudFormation model for SNS topic policies",
    "AWS::WAFv2::LoggingConfiguration": "moto has no CloudFormation model for WAF logging",
    "AWS::WAFv2::WebACL": "moto has no CloudFormation model for WAFv2",
    "AWS::WAFv2::WebACLAssociation": "moto has no CloudFormation model for WAFv2",
}

# Checks of resources moto does create, on a property its API cannot show.
NOT_EMULATED_CHECKS: dict[str, str] = {
    "lambda.dlq": "moto's Lambda has no dead-letter configuration",
    "rds.instance.performance_insights": "moto's RDS has no Performance Insights",
    "elbv2.certificate": "the configured certificate exists only in the real account: a self-signed local stand-in "
    "serves (verify of a live account checks the real one)",
}


def emulation_for(deployment: RegionDeployment) -> Emulation:
    return Emulation(
        target=TARGET,
        not_emulated_types=NOT_EMULATED_TYPES,
        not_emulated_checks=NOT_EMULATED_CHECKS,
        patched={check: f"written by patch {p.name} ({p.gap})" for check, p in patches.provenance().items()},
        dropped=deployment.dropped,
        patched_types={rtype: p.name for rtype, p in patches.patched_types().items()},
    )
