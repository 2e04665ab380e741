"""Audit trail, detection and access control posture, for every region (one synth per session)."""

from __future__ import annotations

from typing import Any

import posture_checks as pc
from config import RegionConfig
from contract import auditor_role_name, break_glass_role_name
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


def test_no_role_s_own_policy_grants_deletion_of_audit_records(assembly: Assembly, region: RegionConfig) -> None:
    """Defence in depth below the bucket's Deny: no role of any stack (the lifecycle stack, which
    writes the ledger there, included) is allowed by its identity policies and boundary to delete an
    audit or Config record or version, whatever wildcard (s3:Delete*, "*" resources) a policy uses."""
    from pathlib import Path

    from access_paths.assembly import Assembly as Resolved
    from access_paths.evaluator import Policies, Principal, Request, evaluate
    from access_paths.model import RegionModel

    model = RegionModel.build(Resolved.load(Path(assembly.outdir)), region.name)
    buckets = [model.attr("audit", "AuditRecords/Bucket"), model.attr("audit", "ConfigRecords/Bucket")]
    granted = []
    for arn, role in model.roles.items():
        for bucket in buckets:
            for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"):
                resource = bucket if action == "s3:DeleteBucket" else f"{bucket}/erasure-ledger/{region.name}/r.json"
                request = Request(
                    Principal.role(arn), action, resource, model.account, {"aws:RequestedRegion": (region.name,)}
                )
                if evaluate(request, Policies(identity=role.identity, boundary=role.boundary)).allowed:
                    granted.append((role.path, action, resource))
    assert len(model.roles) >= 20 and granted == []


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
    filters = pc.resources(template, "AWS::Logs::MetricFilter").values()
    alarms = pc.resources(template, "AWS::CloudWatch::Alarm").values()
    metric_names = {f["Properties"]["MetricTransformations"][0]["MetricName"] for f in filters}
    # the promise: who deleted or exported data, who changed access, and the CIS 4.x alarms
    assert metric_names == {
        "BulkObjectDeletion",
        "ObjectReadBurstUnexpectedPrincipal",
        "DatabaseSnapshotExportOrShare",
        "RootAccountUsage",
        "IamPolicyChanges",
        "KmsKeyDisabledOrScheduledForDeletion",
        "SecurityGroupChanges",
        "ConsoleLoginWithoutMfa",
        "CloudTrailChanged",
        "S3BucketPolicyChanges",
        "OperatorSessionStarted",
        "BreakGlassRoleUsed",
    }
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
    for must in (
        "DeleteObjects",
        "StartExportTask",
        "ModifyDBClusterSnapshotAttribute",
        "Root",
        "ScheduleKeyDeletion",
        "AuthorizeSecurityGroupIngress",
        "MFAUsed",
        "StopLogging",
        "PutRolePolicy",
    ):
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
    # one managed rule per promise (AWS Config managed-rule identifiers)
    assert set(rules) == {
        "RDS_STORAGE_ENCRYPTED",
        "S3_DEFAULT_ENCRYPTION_KMS",
        "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK",
        "ELBV2_PREDEFINED_SECURITY_POLICY_SSL_CHECK",
        "VPC_FLOW_LOGS_ENABLED",
        "CLOUD_TRAIL_ENABLED",
        "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
        "INCOMING_SSH_DISABLED",
        "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        "ROOT_ACCOUNT_MFA_ENABLED",
        "CMK_BACKING_KEY_ROTATION_ENABLED",
    }
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
    assert arns == {
        f"arn:aws:securityhub:{region.name}::standards/aws-foundational-security-best-practices/v/1.0.0",
        f"arn:aws:securityhub:{region.name}::standards/nist-800-53/v/5.0.0",
        f"arn:aws:securityhub:{region.name}::standards/pci-dss/v/3.2.1",
    }
    assert only(pc.resources(template, "AWS::Macie::Session"))["Properties"]["Status"] == "ENABLED"

    def mine(rtype: str, prefix: str) -> dict[str, Any]:
        return {k: v for k, v in pc.resources(template, rtype).items() if k.startswith(prefix)}

    schedule = only(mine("AWS::Scheduler::Schedule", "Macie"))["Properties"]
    assert schedule["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:macie2:createClassificationJob"
    assert "customerbucketname" in str(schedule["Target"]["Input"]).lower()
    # The universal target's Input uses the AWS SDK's PascalCase member names, even for a camelCase
    # wire format like macie2's (the naming AWS documents for SDK integrations in Step Functions).
    job_input = "".join(str(part) for part in schedule["Target"]["Input"]["Fn::Join"][1])
    for member in (
        '"ClientToken"',
        '"Name"',
        '"JobType":"ONE_TIME"',
        '"ManagedDataIdentifierSelector"',
        '"S3JobDefinition":{"BucketDefinitions":[{"AccountId":',
        '"Buckets":[',
    ):
        assert member in job_input, member
    assert "clientToken" not in job_input and "s3JobDefinition" not in job_input
    # ... and a run that fails for good goes to an encrypted dead-letter queue with an alarm.
    queue_id, queue = only({k: (k, v) for k, v in mine("AWS::SQS::Queue", "Macie").items()})
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert "lifecyclekeyarn" in str(queue["Properties"]["KmsMasterKeyId"]).lower()
    alarm = only(mine("AWS::CloudWatch::Alarm", "Macie"))["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert "alertstopicarn" in str(alarm["AlarmActions"]).lower()
    assert only(pc.resources(template, "AWS::AccessAnalyzer::Analyzer"))["Properties"]["Type"] == "ACCOUNT"


def test_inspector_is_enabled_for_lambda_and_critical_findings_alarm(assembly: Assembly, region: RegionConfig) -> None:
    """Amazon Inspector has no enabling CloudFormation resource: a Scheduler universal target calls
    inspector2:Enable for Lambda standard and code scanning every 12 hours (a run failing for good
    is dead-lettered and alarmed); critical active findings reach the alerts topic through an
    EventBridge rule, which the topic's policy and the audit key's policy admit by name."""
    template = assembly.template(stack_name(region.name, "detection"))
    schedule = only(
        {k: v for k, v in pc.resources(template, "AWS::Scheduler::Schedule").items() if k.startswith("Inspector")}
    )["Properties"]
    assert schedule["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:inspector2:enable"
    assert schedule["ScheduleExpression"] == "rate(12 hours)"
    assert schedule["Target"]["Input"] == '{"AccountIds":["123456789012"],"ResourceTypes":["LAMBDA","LAMBDA_CODE"]}'
    assert "DeadLetterConfig" in schedule["Target"] and schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 3
    role_id = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
    policy = template["Resources"][template["Resources"][role_id]["Properties"]["ManagedPolicyArns"][0]["Ref"]]
    actions = {st["Sid"]: st["Action"] for st in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert actions == {
        "EnableInspector": "inspector2:Enable",
        "DeadLetters": "sqs:SendMessage",
        "DeadLetterKeyThroughSqs": ["kms:Decrypt", "kms:GenerateDataKey"],
    }
    rule = only(pc.resources(template, "AWS::Events::Rule"))["Properties"]
    assert rule["Name"] == f"trustbase-{region.name}-inspector-critical" and rule["State"] == "ENABLED"
    assert rule["EventPattern"] == {
        "source": ["aws.inspector2"],
        "detail-type": ["Inspector2 Finding"],
        "detail": {"severity": ["CRITICAL"], "status": ["ACTIVE"]},
    }
    assert len(rule["Targets"]) == 1 and "alertstopicarn" in str(rule["Targets"][0]["Arn"]).lower()
    # the topic admits exactly this rule; the audit key lets EventBridge encrypt for this account's topics
    audit = assembly.template(stack_name(region.name, "audit"))
    topic_policy = only(pc.resources(audit, "AWS::SNS::TopicPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    events = [st for st in topic_policy if st.get("Sid") == "InspectorFindingsRulePublishes"]
    assert len(events) == 1 and events[0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert events[0]["Condition"]["ArnEquals"] == {
        "aws:SourceArn": f"arn:aws:events:{region.name}:123456789012:rule/trustbase-{region.name}-inspector-critical"
    }
    keys = assembly.template(stack_name(region.name, "keys"))
    audit_key = next(r for k, r in pc.resources(keys, "AWS::KMS::Key").items() if k.startswith("AuditKey"))
    by_sid = {st.get("Sid"): st for st in audit_key["Properties"]["KeyPolicy"]["Statement"]}
    assert by_sid["EventBridgeRulesPublishToEncryptedTopic"]["Condition"] == {
        "StringLike": {"kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{region.name}:123456789012:*"}
    }


def test_destinations_stay_in_the_region(assembly: Assembly, region: RegionConfig) -> None:
    # Every log and finding destination is this region's audit bucket (an SSM link, which is
    # regional), and no template names a region outside the jurisdiction.
    for part in ("audit", "detection"):
        template = assembly.template(stack_name(region.name, part))
        assert pc.residency_violations(template, region.jurisdiction, identity_center_region="us-east-1") == [], part
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
        assert "PermissionsBoundary" in role
    # The auditor signs in through the identity provider (which enforces MFA); break-glass, the one
    # exception that works without the IdP, needs MFA in the trust itself.
    auditor_condition = auditor["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert list(auditor_condition) == ["ArnLike"]
    assert glass["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["Bool"] == {
        "aws:MultiFactorAuthPresent": "true"
    }
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
