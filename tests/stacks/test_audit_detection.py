"""Audit trail, detection and access control posture, for every region (one synth per session)."""

from __future__ import annotations

from typing import Any

import posture_checks as pc
from config import RegionConfig
from constructs_lib.audit import DENIED_TO_EVERYONE, security_alarm_specs
from constructs_lib.detection import SECURITY_HUB_STANDARDS, config_rules
from constructs_lib.iam import auditor_role_name, break_glass_role_name
from stacks.region import stack_name
from tests.conftest import Assembly, only


def audit(assembly: Assembly, region: RegionConfig) -> dict[str, Any]:
    return assembly.template(stack_name(region.name, "audit"))


def detection(assembly: Assembly, region: RegionConfig) -> dict[str, Any]:
    return assembly.template(stack_name(region.name, "detection"))


def test_audit_bucket_is_locked_in_compliance_mode(assembly: Assembly, region: RegionConfig) -> None:
    template = audit(assembly, region)
    assert pc.audit_bucket_violations(template, min_lock_days=region.retention.audit_lock_days) == []
    assert pc.bucket_violations(template) == []  # private, versioned, SSE-KMS + bucket key, TLS-only, logged
    bucket = pc.resources(template, "AWS::S3::Bucket")["AuditRecordsBucketCB097638"]
    rule = bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert rule == {"Mode": "COMPLIANCE", "Days": region.retention.audit_lock_days}
    sse = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert "auditkeyarn" in str(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).lower()


def test_config_records_have_their_own_bucket_without_object_lock(assembly: Assembly, region: RegionConfig) -> None:
    """AWS::Config::DeliveryChannel: "AWS Config does not support the delivery channel to an Amazon
    S3 bucket where object lock is enabled". Its records are kept immutable by policy instead."""
    template = audit(assembly, region)
    bucket = pc.resources(template, "AWS::S3::Bucket")["ConfigRecordsBucket5CC09605"]["Properties"]
    assert "ObjectLockEnabled" not in bucket and "ObjectLockConfiguration" not in bucket
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert "auditkeyarn" in str(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).lower()
    assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "s3/ConfigRecords/"
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == region.retention.config_record_days
    policy = only({k: v for k, v in pc.resources(template, "AWS::S3::BucketPolicy").items() if "Config" in k})
    statements = {st.get("Sid"): st for st in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["AWSConfigBucketDelivery"]["Principal"] == {"Service": "config.amazonaws.com"}
    assert (
        statements["AWSConfigBucketDelivery"]["Condition"]["StringEquals"]["s3:x-amz-acl"]
        == "bucket-owner-full-control"
    )
    denied = statements["NoDeletionByAnyone"]
    assert denied["Effect"] == "Deny" and denied["Principal"] == {"AWS": "*"}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"} <= set(denied["Action"])
    deploys_only = statements["RetentionChangesOnlyByDeploys"]
    assert "s3:PutLifecycleConfiguration" in deploys_only["Action"]
    assert deploys_only["Condition"]["ArnNotEquals"]["aws:PrincipalArn"].endswith(
        f":role/cdk-hnb659fds-cfn-exec-role-123456789012-{region.name}"
    )


def test_no_iam_policy_anywhere_grants_deletion_of_audit_records(assembly: Assembly, region: RegionConfig) -> None:
    # Any Allow of a delete action whose resources could reach the audit bucket (its ARN, or "*")
    # is a violation. The boundary is exempt: it is a ceiling that grants nothing by itself.
    for part in ("keys", "network", "data", "edge", "audit", "detection"):
        template = assembly.template(stack_name(region.name, part))
        for lid, stmt in pc.policy_statements(template):
            if stmt.get("Effect") != "Allow" or lid.startswith("PermissionsBoundary"):
                continue
            granted = set(pc._as_list(stmt.get("Action", [])))
            resources = str(stmt.get("Resource", "")).lower()
            reaches_audit = "audit" in resources or stmt.get("Resource") == "*"
            assert not (granted & set(DENIED_TO_EVERYONE) and reaches_audit), (part, lid, stmt)


def test_trail_validates_encrypts_and_records_data_events(assembly: Assembly, region: RegionConfig) -> None:
    template = audit(assembly, region)
    assert pc.trail_violations(template) == []
    trail = only(pc.resources(template, "AWS::CloudTrail::Trail"))["Properties"]
    assert "auditkeyarn" in str(trail["KMSKeyId"]).lower()
    data = trail["EventSelectors"][0]["DataResources"][0]
    assert "customerbucketarn" in str(data["Values"]).lower()
    group = only(pc.resources(template, "AWS::Logs::LogGroup"))
    assert group["Properties"]["RetentionInDays"] == region.retention.trail_log_days
    assert "logskeyarn" in str(group["Properties"]["KmsKeyId"]).lower()


def test_every_security_alarm_notifies_the_encrypted_topic(assembly: Assembly, region: RegionConfig) -> None:
    template = audit(assembly, region)
    topic_id, topic = next(iter(pc.resources(template, "AWS::SNS::Topic").items()))
    assert "auditkeyarn" in str(topic["Properties"]["KmsMasterKeyId"]).lower()
    specs = security_alarm_specs(region.name, app_role_name="x", break_glass_role_name="y",
                                 bulk_delete_threshold=1, get_object_burst_threshold=1)  # fmt: skip
    filters = pc.resources(template, "AWS::Logs::MetricFilter").values()
    alarms = pc.resources(template, "AWS::CloudWatch::Alarm").values()
    metric_names = {f["Properties"]["MetricTransformations"][0]["MetricName"] for f in filters}
    assert metric_names == {s.name for s in specs}
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms}
    assert by_metric["BulkObjectDeletion"]["Threshold"] == region.bulk_delete_alarm_threshold
    assert by_metric["ObjectReadBurstUnexpectedPrincipal"]["Threshold"] == region.object_read_alarm_threshold
    patterns = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]["FilterPattern"] for f in filters
    }
    assert f"trustbase-app-{region.name}" in patterns["ObjectReadBurstUnexpectedPrincipal"]
    assert break_glass_role_name(region.name) in patterns["BreakGlassRoleUsed"]
    for must in ("DeleteObjects", "StartExportTask", "ModifyDBClusterSnapshotAttribute", "Root", "ScheduleKeyDeletion",
                 "AuthorizeSecurityGroupIngress", "MFAUsed", "StopLogging", "PutRolePolicy"):  # fmt: skip
        assert any(must in p for p in patterns.values()), must


def test_config_records_and_checks_each_promise(assembly: Assembly, region: RegionConfig) -> None:
    template = detection(assembly, region)
    recorder = only(pc.resources(template, "AWS::Config::ConfigurationRecorder"))["Properties"]
    assert recorder["RecordingGroup"]["AllSupported"] is True
    assert "AWSServiceRoleForConfig" in str(recorder["RoleARN"])
    channel_resource = only(pc.resources(template, "AWS::Config::DeliveryChannel"))
    channel = channel_resource["Properties"]
    assert "configbucketname" in str(channel["S3BucketName"]).lower()
    assert "auditkeyarn" in str(channel["S3KmsKeyArn"]).lower()
    # "Before you can create a delivery channel, you must create a configuration recorder."
    assert channel_resource["DependsOn"] == [
        only({k: k for k in pc.resources(template, "AWS::Config::ConfigurationRecorder")})
    ]
    rules = {
        r["Properties"]["Source"]["SourceIdentifier"]: r["Properties"]
        for r in pc.resources(template, "AWS::Config::ConfigRule").values()
    }
    assert set(rules) == {identifier for identifier, _ in config_rules(region.tls_policy).values()}
    assert rules["ELBV2_PREDEFINED_SECURITY_POLICY_SSL_CHECK"]["InputParameters"] == {"sslPolicies": region.tls_policy}


def test_guardduty_protects_s3_and_rds_and_exports_in_region(assembly: Assembly, region: RegionConfig) -> None:
    template = detection(assembly, region)
    detector = only(pc.resources(template, "AWS::GuardDuty::Detector"))["Properties"]
    assert detector["Enable"] is True
    assert {(f["Name"], f["Status"]) for f in detector["Features"]} == {
        ("S3_DATA_EVENTS", "ENABLED"),
        ("RDS_LOGIN_EVENTS", "ENABLED"),
    }
    export = only(pc.resources(template, "AWS::GuardDuty::PublishingDestination"))["Properties"]
    assert "auditbucketarn" in str(export["DestinationProperties"]["DestinationArn"]).lower()
    assert "auditkeyarn" in str(export["DestinationProperties"]["KmsKeyArn"]).lower()


def test_security_hub_standards_macie_and_access_analyzer(assembly: Assembly, region: RegionConfig) -> None:
    template = detection(assembly, region)
    assert len(pc.resources(template, "AWS::SecurityHub::Hub")) == 1
    arns = {s["Properties"]["StandardsArn"] for s in pc.resources(template, "AWS::SecurityHub::Standard").values()}
    assert arns == {f"arn:aws:securityhub:{region.name}::{p}" for p in SECURITY_HUB_STANDARDS.values()}
    assert only(pc.resources(template, "AWS::Macie::Session"))["Properties"]["Status"] == "ENABLED"
    schedule = only(pc.resources(template, "AWS::Scheduler::Schedule"))["Properties"]
    assert schedule["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:macie2:createClassificationJob"
    assert "customerbucketname" in str(schedule["Target"]["Input"]).lower()
    # The universal target's Input uses the AWS SDK's PascalCase member names, even for a camelCase
    # wire format like macie2's (the naming AWS documents for SDK integrations in Step Functions).
    job_input = "".join(str(part) for part in schedule["Target"]["Input"]["Fn::Join"][1])
    for member in ('"ClientToken"', '"Name"', '"JobType":"ONE_TIME"', '"ManagedDataIdentifierSelector"',
                   '"S3JobDefinition":{"BucketDefinitions":[{"AccountId":', '"Buckets":['):  # fmt: skip
        assert member in job_input, member
    assert "clientToken" not in job_input and "s3JobDefinition" not in job_input
    # ... and a run that fails for good goes to an encrypted dead-letter queue with an alarm.
    queue_id, queue = only({k: (k, v) for k, v in pc.resources(template, "AWS::SQS::Queue").items()})
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert "lifecyclekeyarn" in str(queue["Properties"]["KmsMasterKeyId"]).lower()
    alarm = only(pc.resources(template, "AWS::CloudWatch::Alarm"))["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert "alertstopicarn" in str(alarm["AlarmActions"]).lower()
    assert only(pc.resources(template, "AWS::AccessAnalyzer::Analyzer"))["Properties"]["Type"] == "ACCOUNT"


def test_destinations_stay_in_the_region(assembly: Assembly, region: RegionConfig) -> None:
    # Every log and finding destination is this region's audit bucket (an SSM link, which is
    # regional), and no template names a region outside the jurisdiction.
    for part in ("audit", "detection"):
        template = assembly.template(stack_name(region.name, part))
        assert pc.residency_violations(template, region.jurisdiction) == [], part
    trail = only(pc.resources(audit(assembly, region), "AWS::CloudTrail::Trail"))["Properties"]
    assert trail["S3BucketName"] == {"Ref": "AuditRecordsBucketCB097638"}


def test_human_roles_require_mfa_short_sessions_and_the_boundary(assembly: Assembly, region: RegionConfig) -> None:
    template = detection(assembly, region)
    roles = {
        r["Properties"]["RoleName"]: r["Properties"]
        for r in pc.resources(template, "AWS::IAM::Role").values()
        if "RoleName" in r["Properties"]
    }
    auditor, glass = roles[auditor_role_name(region.name)], roles[break_glass_role_name(region.name)]
    for role in (auditor, glass):
        condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
        assert condition["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
        assert "PermissionsBoundary" in role
    assert glass["MaxSessionDuration"] == 3600
    assert glass["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["NumericLessThan"] == {
        "aws:MultiFactorAuthAge": "900"
    }
    policies = {
        p["Properties"]["PolicyDocument"]["Statement"][0].get("Sid"): p["Properties"]["PolicyDocument"]
        for p in pc.resources(template, "AWS::IAM::ManagedPolicy").values()
    }
    read_only = policies["ReadOnlyEvidence"]["Statement"][0]["Action"]
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "Lookup", "Filter")) for a in read_only), (
        read_only
    )


PINNED = {
    "AWS::S3::Bucket": {"AuditRecordsBucketCB097638", "ConfigRecordsBucket5CC09605"},
    "AWS::CloudTrail::Trail": {"Trail8987F129"},
    "AWS::Logs::LogGroup": {"TrailLogs73276642"},
}


def test_audit_logical_ids_are_pinned(assembly: Assembly, region: RegionConfig) -> None:
    template = audit(assembly, region)
    for rtype, expected in PINNED.items():
        assert set(pc.resources(template, rtype)) == expected, rtype


def test_break_glass_reason_states_the_true_action_count(assembly: Assembly) -> None:
    from constructs_lib.iam import BREAK_GLASS_ACTIONS

    reasons = [
        why
        for stack in assembly.stack_names
        for entries in assembly.metadata(stack).values()
        for e in entries
        if e["type"] == "aws:cdk:acknowledged-rules"
        for why in e["data"].values()
        if "Incident response" in why
    ]
    assert reasons and all(f"lists {len(BREAK_GLASS_ACTIONS)} exact" in why for why in reasons)
