"""Every observer family, judged from a stubbed observation: a compliant value PASSes, a wrong one
FAILs on the named check. The observation is plain data, exactly what the observer returns, so
this exercises the engine and the shared predicates without an account."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from verify import engine, observers
from verify.declared import Resolver, Stack
from verify.judges import JUDGES
from verify.report import FAIL, PASS

REGION, ACCOUNT = "eu-west-1", "111122223333"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/99999999-2222-3333-4444-555555555555"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/trustbase-permissions-boundary-{REGION}"
HSTS = "max-age=63072000; includeSubDomains; preload"
BUCKET_AND_OBJECTS = ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
TLS_DENY = [
    {
        "Sid": "Tls",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": BUCKET_AND_OBJECTS,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
    {
        "Sid": "Tls12",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": BUCKET_AND_OBJECTS,
        "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
    },
]
SQS_DENY = [
    {
        "Sid": "Tls",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
]
ALLOW = [{"Sid": "Do", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}]
TRUST = [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/trustbase-app"

# type -> (template properties, compliant observation, (key path, wrong value), check that must FAIL)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[tuple[str, ...], Any], str]] = {
    "AWS::KMS::Key": (
        {"EnableKeyRotation": True},
        {
            "exists": True,
            "arn": KEY,
            "enabled": True,
            "state": "Enabled",
            "spec": "SYMMETRIC_DEFAULT",
            "usage": "ENCRYPT_DECRYPT",
            "manager": "CUSTOMER",
            "rotation": True,
            "rotation_days": 365,
        },
        (("rotation",), False),
        "kms.rotation",
    ),
    "AWS::KMS::Alias": (
        {"TargetKeyId": KEY},
        {"exists": True, "target_key": "11111111-2222-3333-4444-555555555555"},
        (("target_key",), "99999999-2222-3333-4444-555555555555"),
        "kms.alias",
    ),
    "AWS::S3::Bucket": (
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [{"Id": "visitors", "Prefix": "visitors/", "ExpirationInDays": 276, "Status": "Enabled"}]
            },
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {"Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}},
            "LoggingConfiguration": {"DestinationBucketName": "logs"},
        },
        {
            "exists": True,
            "encryption": {"algorithm": "aws:kms", "kms_key": KEY, "bucket_key": True},
            "versioning": "Enabled",
            "public_access_block": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "ownership": [{"ObjectOwnership": "BucketOwnerEnforced"}],
            "policy": TLS_DENY,
            "lifecycle": [
                {"ID": "visitors", "Status": "Enabled", "Filter": {"Prefix": "visitors/"}, "Expiration": {"Days": 276}}
            ],
            "object_lock": {"enabled": "Enabled", "mode": "COMPLIANCE", "days": 365},
            "access_logs": {"bucket": "logs", "prefix": ""},
        },
        (("encryption", "algorithm"), "AES256"),
        "s3.encryption",
    ),
    "AWS::S3::BucketPolicy": (
        {"PolicyDocument": {"Statement": TLS_DENY}},
        {"exists": True, "statements": TLS_DENY},
        (("statements",), TLS_DENY[:1]),
        "s3.bucket_policy",
    ),
    "AWS::Logs::LogGroup": (
        {"RetentionInDays": 365, "KmsKeyId": KEY},
        {"exists": True, "retention_days": 365, "kms_key": KEY},
        (("retention_days",), 7),
        "logs.retention",
    ),
    "AWS::Logs::MetricFilter": (
        {"MetricTransformations": [{"MetricName": "Deletes"}]},
        {"exists": True, "pattern": "x", "metrics": ["Deletes"]},
        (("metrics",), []),
        "logs.metric_filter",
    ),
    "AWS::IAM::Role": (
        {
            "PermissionsBoundary": BOUNDARY,
            "AssumeRolePolicyDocument": {"Statement": TRUST},
            "ManagedPolicyArns": [POLICY_ARN],
        },
        {
            "exists": True,
            "arn": "a",
            "boundary": BOUNDARY,
            "trust": TRUST,
            "max_session_seconds": 3600,
            "attached": [POLICY_ARN],
            "inline": {},
        },
        (("boundary",), None),
        "iam.boundary",
    ),
    "AWS::IAM::ManagedPolicy": (
        {"PolicyDocument": {"Statement": ALLOW}},
        {"exists": True, "name": "p", "statements": ALLOW, "attachments": 1},
        (("statements",), [{"Sid": "Do", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        "iam.policy",
    ),
    "AWS::ElasticLoadBalancingV2::Listener": (
        {"Protocol": "HTTPS"},
        {
            "exists": True,
            "protocol": "HTTPS",
            "port": 443,
            "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
            "certificates": [f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/c"],
            "actions": [],
            "attributes": {"routing.http.response.strict_transport_security.header_value": HSTS},
        },
        (("attributes",), {}),
        "elbv2.hsts",
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        {"LoadBalancerAttributes": [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]},
        {
            "exists": True,
            "scheme": "internet-facing",
            "azs": ["a", "b", "c"],
            "attributes": {"routing.http.drop_invalid_header_fields.enabled": "true"},
        },
        (("attributes",), {"routing.http.drop_invalid_header_fields.enabled": "false"}),
        "elbv2.load_balancer.attributes",
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        {"Protocol": "HTTPS"},
        {"exists": True, "protocol": "HTTPS", "port": 443},
        (("protocol",), "HTTP"),
        "elbv2.target_group",
    ),
    "AWS::RDS::DBCluster": (
        {"KmsKeyId": KEY, "BackupRetentionPeriod": 14},
        {
            "exists": True,
            "encrypted": True,
            "kms_key": KEY,
            "deletion_protection": True,
            "iam_auth": True,
            "backup_days": 14,
            "log_exports": ["postgresql"],
            "member_azs": ["a", "b", "c"],
            "parameter_group": "g",
        },
        (("encrypted",), None),
        "rds.cluster.encryption",
    ),
    "AWS::RDS::DBInstance": (
        {"AvailabilityZone": "eu-west-1a"},
        {
            "exists": True,
            "az": "eu-west-1a",
            "public": False,
            "encrypted": True,
            "cluster": "c",
            "performance_insights": True,
            "pi_kms_key": KEY,
        },
        (("public",), True),
        "rds.instance",
    ),
    "AWS::RDS::DBSubnetGroup": (
        {},
        {"exists": True, "azs": ["a", "b", "c"]},
        (("azs",), ["a", "b"]),
        "rds.subnet_group",
    ),
    "AWS::RDS::DBClusterParameterGroup": (
        {},
        {"exists": True, "parameters": {"rds.force_ssl": "1", "ssl_min_protocol_version": "TLSv1.2"}},
        (("parameters",), {"rds.force_ssl": "0", "ssl_min_protocol_version": "TLSv1.2"}),
        "rds.force_ssl",
    ),
    "AWS::SNS::Topic": (
        {"KmsMasterKeyId": KEY},
        {"exists": True, "kms_key": KEY, "policy": []},
        (("kms_key",), None),
        "sns.cmk",
    ),
    "AWS::SNS::TopicPolicy": (
        {"PolicyDocument": {"Statement": [{"Sid": "CloudWatchPublishes"}]}},
        {"exists": True, "statements": [{"Sid": "CloudWatchPublishes"}]},
        (("statements",), []),
        "sns.topic_policy",
    ),
    "AWS::SQS::Queue": (
        {"KmsMasterKeyId": KEY},
        {"exists": True, "kms_key": KEY, "policy": SQS_DENY, "retention_seconds": "1209600"},
        (("policy",), []),
        "sqs.tls_only",
    ),
    "AWS::SQS::QueuePolicy": (
        {"PolicyDocument": {"Statement": SQS_DENY}},
        {"exists": True, "statements": SQS_DENY},
        (("statements",), []),
        "sqs.queue_policy",
    ),
    "AWS::SSM::Parameter": (
        {"Value": "vpc-1"},
        {"exists": True, "name": "/trustbase/network/vpc-id", "value": "vpc-1", "type": "String"},
        (("value",), "vpc-2"),
        "ssm.parameter",
    ),
    "AWS::Lambda::Function": (
        {
            "Runtime": "python3.14",
            "VpcConfig": {"SubnetIds": ["a", "b", "c"]},
            "KmsKeyArn": KEY,
            "TracingConfig": {"Mode": "Active"},
            "DeadLetterConfig": {"TargetArn": "arn:aws:sqs:eu-west-1:1:q"},
        },
        {
            "exists": True,
            "runtime": "python3.14",
            "subnets": ["a", "b", "c"],
            "security_groups": ["sg-1"],
            "kms_key": KEY,
            "tracing": "Active",
            "dead_letter": "arn:aws:sqs:eu-west-1:1:q",
        },
        (("tracing",), "PassThrough"),
        "lambda.tracing",
    ),
    "AWS::Lambda::Version": ({}, {"exists": True, "version": "1"}, (("exists",), False), "AWS::Lambda::Version.exists"),
    "AWS::StepFunctions::StateMachine": (
        {},
        {
            "exists": True,
            "encryption": "CUSTOMER_MANAGED_KMS_KEY",
            "kms_key": KEY,
            "log_level": "ALL",
            "log_execution_data": False,
            "tracing": True,
        },
        (("log_execution_data",), True),
        "sfn.logging",
    ),
    "AWS::Scheduler::Schedule": (
        {"ScheduleExpression": "rate(1 hour)"},
        {"exists": True, "state": "ENABLED", "expression": "rate(1 hour)", "dead_letter": "arn:q", "retries": 3},
        (("state",), "DISABLED"),
        "scheduler.schedule",
    ),
    "AWS::EC2::VPC": (
        {"CidrBlock": "10.20.0.0/16"},
        {"exists": True, "cidr": "10.20.0.0/16"},
        (("cidr",), "10.99.0.0/16"),
        "ec2.vpc",
    ),
    "AWS::EC2::Subnet": (
        {"AvailabilityZone": "eu-west-1a", "CidrBlock": "10.20.0.0/20", "MapPublicIpOnLaunch": False},
        {"exists": True, "az": "eu-west-1a", "cidr": "10.20.0.0/20", "vpc": "vpc-1", "public_ip_on_launch": False},
        (("public_ip_on_launch",), True),
        "ec2.subnet",
    ),
    "AWS::EC2::RouteTable": (
        {},
        {"exists": True, "vpc": "vpc-1", "routes": [], "subnets": []},
        (("exists",), False),
        "AWS::EC2::RouteTable.exists",
    ),
    "AWS::EC2::Route": (
        {"NatGatewayId": "nat-1", "DestinationCidrBlock": "0.0.0.0/0"},
        {"exists": True, "route": {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}},
        (("route",), {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-2"}),
        "ec2.route",
    ),
    "AWS::EC2::SubnetRouteTableAssociation": (
        {"SubnetId": "subnet-1", "RouteTableId": "rtb-1"},
        {"exists": True, "table": "rtb-1", "subnet": "subnet-1"},
        (("table",), "rtb-2"),
        "ec2.route_association",
    ),
    "AWS::EC2::InternetGateway": (
        {},
        {"exists": True, "attached_to": ["vpc-1"]},
        (("exists",), False),
        "AWS::EC2::InternetGateway.exists",
    ),
    "AWS::EC2::VPCGatewayAttachment": (
        {},
        {"exists": True, "vpc": "vpc-1"},
        (("exists",), False),
        "AWS::EC2::VPCGatewayAttachment.exists",
    ),
    "AWS::EC2::NatGateway": (
        {"SubnetId": "subnet-1"},
        {"exists": True, "state": "available", "subnet": "subnet-1"},
        (("state",), "failed"),
        "ec2.nat_gateway",
    ),
    "AWS::EC2::EIP": ({}, {"exists": True, "domain": "vpc"}, (("exists",), False), "AWS::EC2::EIP.exists"),
    "AWS::EC2::SecurityGroup": (
        {
            "SecurityGroupEgress": [
                {"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}
            ]
        },
        {
            "exists": True,
            "vpc": "vpc-1",
            "name": "g",
            "ingress": [],
            "egress": [{"IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32"}],
        },
        (("egress",), [{"IpProtocol": "-1", "FromPort": None, "ToPort": None, "CidrIp": "0.0.0.0/0"}]),
        "ec2.security_group",
    ),
    "AWS::EC2::SecurityGroupIngress": (
        {},
        {"exists": True, "group": "sg-1", "rule": {}},
        (("exists",), False),
        "AWS::EC2::SecurityGroupIngress.exists",
    ),
    "AWS::EC2::SecurityGroupEgress": (
        {},
        {"exists": True, "group": "sg-1", "rule": {}},
        (("exists",), False),
        "AWS::EC2::SecurityGroupEgress.exists",
    ),
    "AWS::EC2::VPCEndpoint": (
        {
            "VpcEndpointType": "Interface",
            "PrivateDnsEnabled": True,
            "PolicyDocument": {"Statement": [{"Sid": "OnlyThisAccount"}]},
        },
        {
            "exists": True,
            "service": "com.amazonaws.eu-west-1.kms",
            "type": "Interface",
            "private_dns": True,
            "policy": [{"Sid": "OnlyThisAccount"}],
            "subnets": [],
        },
        (("policy",), []),
        "ec2.vpc_endpoint",
    ),
    "AWS::EC2::FlowLog": (
        {},
        {"exists": True, "traffic_type": "ALL", "resource": "vpc-1", "destination": "g"},
        (("traffic_type",), "REJECT"),
        "ec2.flow_log",
    ),
    "AWS::Backup::BackupVault": (
        {"EncryptionKeyArn": KEY, "LockConfiguration": {"MinRetentionDays": 35}},
        {"exists": True, "kms_key": KEY, "key_manager": "CUSTOMER", "locked": True, "min_days": 35, "max_days": 3650},
        (("locked",), False),
        "backup.vault.lock",
    ),
    "AWS::Backup::BackupPlan": (
        {
            "BackupPlan": {
                "BackupPlanRule": [
                    {"RuleName": "r", "ScheduleExpression": "cron(0 0/4 * * ? *)", "Lifecycle": {"DeleteAfterDays": 35}}
                ]
            }
        },
        {
            "exists": True,
            "rules": [
                {"name": "r", "schedule": "cron(0 0/4 * * ? *)", "vault": "v", "delete_after_days": 35, "copies": []}
            ],
        },
        (
            ("rules",),
            [
                {
                    "name": "r",
                    "schedule": "cron(0 0/4 * * ? *)",
                    "vault": "v",
                    "delete_after_days": 35,
                    "copies": ["arn:aws:backup:us-east-1:1:backup-vault:x"],
                }
            ],
        ),
        "backup.plan",
    ),
    "AWS::Backup::BackupSelection": (
        {},
        {"exists": True, "resources": []},
        (("exists",), False),
        "AWS::Backup::BackupSelection.exists",
    ),
    "AWS::Backup::RestoreTestingPlan": (
        {},
        {"exists": True, "schedule": "x"},
        (("exists",), False),
        "AWS::Backup::RestoreTestingPlan.exists",
    ),
    "AWS::Backup::RestoreTestingSelection": (
        {},
        {"exists": True, "resource_type": "Aurora"},
        (("exists",), False),
        "AWS::Backup::RestoreTestingSelection.exists",
    ),
    "AWS::CloudWatch::Alarm": (
        {"AlarmActions": ["arn:topic"], "Threshold": 1},
        {"exists": True, "actions": ["arn:topic"], "threshold": 1.0, "enabled": True},
        (("actions",), []),
        "cloudwatch.alarm",
    ),
    "AWS::CloudTrail::Trail": (
        {},
        {
            "exists": True,
            "logging": True,
            "validation": True,
            "kms_key": KEY,
            "cloudwatch_logs": "arn:lg",
            "multi_region": False,
            "bucket": "b",
            "selectors": [
                {
                    "IncludeManagementEvents": True,
                    "ReadWriteType": "All",
                    "DataResources": [{"Type": "AWS::S3::Object"}],
                }
            ],
        },
        (("multi_region",), True),
        "cloudtrail.trail",
    ),
    "AWS::Config::ConfigRule": (
        {"Source": {"SourceIdentifier": "S3_BUCKET_SSL_REQUESTS_ONLY"}},
        {"exists": True, "source": "S3_BUCKET_SSL_REQUESTS_ONLY", "state": "ACTIVE"},
        (("state",), "DELETING"),
        "config.rule",
    ),
    "AWS::Config::ConfigurationRecorder": (
        {},
        {"exists": True, "recording": True, "all_supported": True},
        (("recording",), False),
        "config.recorder",
    ),
    "AWS::Config::DeliveryChannel": (
        {"S3BucketName": "cfg"},
        {"exists": True, "bucket": "cfg"},
        (("bucket",), "elsewhere"),
        "config.delivery",
    ),
    "AWS::GuardDuty::Detector": (
        {},
        {"exists": True, "status": "ENABLED"},
        (("status",), "DISABLED"),
        "guardduty.detector",
    ),
    "AWS::GuardDuty::PublishingDestination": (
        {},
        {"exists": True, "status": "PUBLISHING", "destination": "arn"},
        (("status",), "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY"),
        "guardduty.export",
    ),
    "AWS::SecurityHub::Hub": (
        {},
        {"exists": True, "auto_enable_controls": True},
        (("exists",), False),
        "AWS::SecurityHub::Hub.exists",
    ),
    "AWS::SecurityHub::Standard": (
        {},
        {"exists": True, "status": "READY"},
        (("status",), "FAILED"),
        "securityhub.standard",
    ),
    "AWS::Macie::Session": ({}, {"exists": True, "status": "ENABLED"}, (("status",), "PAUSED"), "macie.session"),
    "AWS::AccessAnalyzer::Analyzer": (
        {},
        {"exists": True, "status": "ACTIVE", "type": "ACCOUNT"},
        (("status",), "DISABLED"),
        "accessanalyzer.analyzer",
    ),
    "AWS::WAFv2::WebACL": (
        {"Rules": [{"Statement": {"ManagedRuleGroupStatement": {"Name": "AWSManagedRulesCommonRuleSet"}}}]},
        {"exists": True, "arn": "arn:acl", "managed_groups": ["AWSManagedRulesCommonRuleSet"], "default": ["Allow"]},
        (("managed_groups",), []),
        "waf.web_acl",
    ),
    "AWS::WAFv2::WebACLAssociation": (
        {"WebACLArn": "arn:acl"},
        {"exists": True, "acl": "arn:acl"},
        (("acl",), "arn:other"),
        "waf.association",
    ),
    "AWS::WAFv2::LoggingConfiguration": (
        {},
        {"exists": True, "destinations": ["arn:lg"]},
        (("destinations",), []),
        "waf.logging",
    ),
    "AWS::FIS::ExperimentTemplate": (
        {},
        {"exists": True, "stop_conditions": ["aws:cloudwatch:alarm"]},
        (("stop_conditions",), []),
        "fis.template",
    ),
    "Custom::VpcRestrictDefaultSG": (
        {},
        {"exists": True, "group": "sg-d", "ingress": [], "egress": []},
        (("egress",), [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]),
        "ec2.default_security_group",
    ),
    "AWS::Events::Rule": (
        {"EventPattern": {"source": ["aws.inspector2"]}, "Targets": [{"Id": "t", "Arn": "arn:topic"}]},
        {"exists": True, "state": "ENABLED", "pattern": {"source": ["aws.inspector2"]}, "targets": ["arn:topic"]},
        (("targets",), []),
        "events.rule",
    ),
    "AWS::EC2::GatewayRouteTableAssociation": (
        {},
        {"exists": True, "table": "rtb-1"},
        (("exists",), False),
        "AWS::EC2::GatewayRouteTableAssociation.exists",
    ),
    "AWS::NetworkFirewall::Firewall": (
        {"FirewallPolicyArn": "arn:p"},
        {"exists": True, "policy": "arn:p", "status": "READY", "subnets": ["subnet-1"]},
        (("status",), "PROVISIONING"),
        "nfw.firewall",
    ),
    "AWS::NetworkFirewall::FirewallPolicy": (
        {},
        {
            "exists": True,
            "order": "STRICT_ORDER",
            "stateful_defaults": ["aws:alert_established", "aws:drop_established"],
        },
        (("stateful_defaults",), []),
        "nfw.policy",
    ),
    "AWS::NetworkFirewall::RuleGroup": (
        {"RuleGroup": {"RulesSource": {"RulesSourceList": {"Targets": ["api.stripe.com"]}}}},
        {"exists": True, "kind": "ALLOWLIST", "targets": ["api.stripe.com"]},
        (("targets",), ["evil.io"]),
        "nfw.allow_list",
    ),
    "AWS::NetworkFirewall::LoggingConfiguration": (
        {},
        {"exists": True, "log_types": ["ALERT", "FLOW"]},
        (("log_types",), ["FLOW"]),
        "nfw.logging",
    ),
    "AWS::Lambda::Url": (
        {"AuthType": "AWS_IAM"},
        {"exists": True, "auth": "AWS_IAM", "url": "https://x.lambda-url"},
        (("auth",), "NONE"),
        "lambda.url_auth",
    ),
    "Custom::Trigger": (
        {},
        {"exists": True, "cloudformation_status": "CREATE_COMPLETE"},
        (("cloudformation_status",), "CREATE_FAILED"),
        "cloudformation.trigger",
    ),
}


def test_every_observer_family_has_a_case() -> None:
    assert set(CASES) == set(JUDGES) == set(observers.OBSERVERS)


def _rows(
    rtype: str, props: dict[str, Any], observed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, str, str, str]]:
    stack = Stack(
        "trustbase-eu-west-1-x",
        REGION,
        ACCOUNT,
        {"Resources": {"R": {"Type": rtype, "Properties": props}}},
        {"R": "phys"},
    )
    monkeypatch.setitem(observers.OBSERVERS, rtype, lambda s, physical, p, r: observed)
    monkeypatch.setitem(engine.OBSERVERS, rtype, lambda s, physical, p, r: observed)
    verifier = engine.Verifier(session=None, region=REGION, log=lambda _: None)  # type: ignore[arg-type]
    return verifier._resource("R", rtype, "phys", props, Resolver(stack, lambda name: None), {})


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


@pytest.mark.parametrize("rtype", sorted(CASES))
def test_a_compliant_observation_passes(rtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    props, good, _, _ = CASES[rtype]
    rows = _rows(rtype, props, good, monkeypatch)
    assert rows and all(status == PASS for _, _, status, _ in rows), rows


@pytest.mark.parametrize("rtype", sorted(CASES))
def test_a_wrong_value_fails_on_its_check(rtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    props, good, (path, wrong), check = CASES[rtype]
    rows = _rows(rtype, props, _set(good, path, wrong), monkeypatch)
    failed = {c for c, _, status, _ in rows if status == FAIL}
    assert check in failed, rows


def test_a_missing_storage_encrypted_flag_is_not_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    props, good, _, _ = CASES["AWS::RDS::DBCluster"]
    observed = {k: v for k, v in good.items() if k != "encrypted"} | {"encrypted": None}
    rows = _rows("AWS::RDS::DBCluster", props, observed, monkeypatch)
    assert ("rds.cluster.encryption", FAIL) in {(c, s) for c, _, s, _ in rows}


@pytest.mark.parametrize(
    "policy",
    [
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    ],
)
def test_every_allowed_tls_policy_passes_including_tls13_only(policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    props, good, _, _ = CASES["AWS::ElasticLoadBalancingV2::Listener"]
    rows = _rows("AWS::ElasticLoadBalancingV2::Listener", props, good | {"ssl_policy": policy}, monkeypatch)
    assert ("elbv2.tls_policy", PASS) in {(c, s) for c, _, s, _ in rows}


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("max-age=63072000; includeSubDomains; preload", True),
        ("max-age=0; includeSubDomains; preload", False),
        ("max-age=63072000", False),
        ("max-age=63072000; preload", False),
        ("", False),
        ("max-age=abc; includeSubDomains; preload", False),
    ],
)
def test_hsts_is_judged_on_its_value_not_its_presence(header: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    props, good, _, _ = CASES["AWS::ElasticLoadBalancingV2::Listener"]
    observed = good | {"attributes": {"routing.http.response.strict_transport_security.header_value": header}}
    rows = _rows("AWS::ElasticLoadBalancingV2::Listener", props, observed, monkeypatch)
    assert ("elbv2.hsts", PASS if ok else FAIL) in {(c, s) for c, _, s, _ in rows}


@pytest.mark.parametrize(
    ("lifecycle", "lock_days"),
    [
        (
            [{"ID": "visitors", "Status": "Enabled", "Filter": {"Prefix": "visitors/"}, "Expiration": {"Days": 400}}],
            365,
        ),
        ([{"ID": "visitors", "Status": "Enabled", "Filter": {"Prefix": "visitors/"}, "Expiration": {"Days": 276}}], 30),
    ],
    ids=["expiry-days-changed", "lock-days-shortened"],
)
def test_lifecycle_days_and_lock_days_are_compared(
    lifecycle: Any, lock_days: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    props, good, _, _ = CASES["AWS::S3::Bucket"]
    observed = good | {
        "lifecycle": lifecycle,
        "object_lock": {"enabled": "Enabled", "mode": "COMPLIANCE", "days": lock_days},
    }
    failed = {c for c, _, s, _ in _rows("AWS::S3::Bucket", props, observed, monkeypatch) if s == FAIL}
    assert failed == ({"s3.lifecycle"} if lock_days == 365 else {"s3.object_lock"})


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": BUCKET_AND_OBJECTS,
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": "arn:aws:iam::1:root"},
            "Action": "s3:*",
            "Resource": BUCKET_AND_OBJECTS,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetObject",
            "Resource": BUCKET_AND_OBJECTS,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": BUCKET_AND_OBJECTS,
            "Condition": {
                "Bool": {"aws:SecureTransport": "false"},
                "StringEquals": {"aws:PrincipalAccount": "111122223333"},
            },
        },
    ],
    ids=["wrong-value", "one-principal", "one-action", "bucket-only", "narrowed-by-another-condition"],
)
def test_a_deny_that_merely_mentions_secure_transport_is_not_tls_only(
    statement: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    props, good, _, _ = CASES["AWS::S3::Bucket"]
    observed = good | {"policy": [statement, TLS_DENY[1]]}
    assert ("s3.tls_only", FAIL) in {(c, s) for c, _, s, _ in _rows("AWS::S3::Bucket", props, observed, monkeypatch)}


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"attached": [POLICY_ARN, "arn:aws:iam::aws:policy/AdministratorAccess"]}, "iam.attachments"),
        ({"attached": []}, "iam.attachments"),
        ({"inline": {"extra": ALLOW}}, "iam.attachments"),
        (
            {
                "trust": [
                    *TRUST,
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                        "Action": "sts:AssumeRole",
                    },
                ]
            },
            "iam.trust",
        ),
        ({"trust": [{**TRUST[0], "Principal": {"Service": "ec2.amazonaws.com"}}]}, "iam.trust"),
    ],
    ids=["admin-attached", "policy-detached", "inline-added", "another-account-trusted", "another-service-trusted"],
)
def test_a_role_s_permissions_and_trust_are_compared_with_the_template(
    change: dict[str, Any], check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    props, good, _, _ = CASES["AWS::IAM::Role"]
    failed = {c for c, _, s, _ in _rows("AWS::IAM::Role", props, good | change, monkeypatch) if s == FAIL}
    assert failed == {check}


@pytest.mark.parametrize(
    "statement",
    [
        {"Sid": "Do", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
        {"Sid": "Do", "Effect": "Allow", "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::b/*"},
        {"Sid": "Do", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
    ],
    ids=["wider-resource", "partial-wildcard", "extra-action"],
)
def test_a_changed_policy_statement_is_drift(statement: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    props, good, _, _ = CASES["AWS::IAM::ManagedPolicy"]
    failed = {
        c
        for c, _, s, _ in _rows("AWS::IAM::ManagedPolicy", props, good | {"statements": [statement]}, monkeypatch)
        if s == FAIL
    }
    assert failed == {"iam.policy"}


def test_the_same_policy_in_another_spelling_is_not_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    """IAM returns "Action": "a" for ["a"], and a bare account as its root ARN: not drift."""
    props = {
        "PolicyDocument": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": ["arn:aws:s3:::b/*"],
                    "Principal": {"AWS": "111122223333"},
                }
            ]
        }
    }
    observed = {
        "exists": True,
        "name": "p",
        "attachments": 1,
        "statements": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            }
        ],
    }
    assert {s for _, _, s, _ in _rows("AWS::IAM::ManagedPolicy", props, observed, monkeypatch)} == {PASS}
