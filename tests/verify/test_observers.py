"""The observers the local deployment cannot reach (moto creates no such resource from a template),
run against resources made through moto's service APIs, or, where moto has no such API, against
botocore's Stubber fed the documented response shape (which also checks the request parameters
against the service model). Each observation must be judged PASS as made, and FAIL once broken."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from verify import observers
from verify.declared import Resolver, Stack
from verify.judges import JUDGES, Context
from verify.readonly import ReadOnlySession

REGION, ACCOUNT = "eu-west-1", "123456789012"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReadOnlySession]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield ReadOnlySession(REGION, session=boto3.Session(region_name=REGION))


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]  # a service named at run time: the stubs type only literal names


def observe(
    session: ReadOnlySession,
    rtype: str,
    physical: str,
    props: dict[str, Any] | None = None,
    resources: dict[str, tuple[str, str]] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, list[str]]]]:
    """(observation, [(check, problems)]): the observer's data and the judge's findings on it."""
    props = props or {}
    template = {
        "Resources": {
            "R": {"Type": rtype, "Properties": props},
            **{lid: {"Type": t} for lid, (t, _) in (resources or {}).items()},
        }
    }
    stack = Stack(
        "trustbase-eu-west-1-x",
        REGION,
        ACCOUNT,
        template,
        {"R": physical, **{lid: p for lid, (_, p) in (resources or {}).items()}},
        {"R": "CREATE_COMPLETE"},
    )
    resolver = Resolver(stack, lambda name: None)
    observed = observers.OBSERVERS[rtype](session, physical, props, resolver)
    findings = JUDGES[rtype](observed, Context("R", rtype, props, resolver)) if observed.get("exists") else []
    return observed, [(f.check, f.problems) for f in findings]


def passes(findings: list[tuple[str, list[str]]]) -> bool:
    return bool(findings) and all(not problems for _, problems in findings)


def test_trail(aws: ReadOnlySession) -> None:
    s3, ct = client("s3"), client("cloudtrail")
    s3.create_bucket(Bucket="audit", CreateBucketConfiguration={"LocationConstraint": REGION})
    ct.create_trail(
        Name="trustbase-eu-west-1",
        S3BucketName="audit",
        EnableLogFileValidation=True,
        KmsKeyId=KEY,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:t:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
        IsMultiRegionTrail=False,
    )
    ct.put_event_selectors(
        TrailName="trustbase-eu-west-1",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            }
        ],
    )
    ct.start_logging(Name="trustbase-eu-west-1")
    observed, findings = observe(aws, "AWS::CloudTrail::Trail", "trustbase-eu-west-1")
    assert observed["logging"] is True and observed["validation"] is True and passes(findings), (observed, findings)
    ct.stop_logging(Name="trustbase-eu-west-1")
    _, findings = observe(aws, "AWS::CloudTrail::Trail", "trustbase-eu-west-1")
    assert ("cloudtrail.trail", ["not logging"]) in findings


def test_config_rule_recorder_and_channel(aws: ReadOnlySession) -> None:
    cfg = client("config")
    client("s3").create_bucket(Bucket="cfg", CreateBucketConfiguration={"LocationConstraint": REGION})
    cfg.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "rec",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/c",
            "recordingGroup": {"allSupported": True},
        }
    )
    cfg.put_delivery_channel(DeliveryChannel={"name": "ch", "s3BucketName": "cfg"})
    cfg.put_config_rule(
        ConfigRule={
            "ConfigRuleName": "trustbase-s3-ssl",
            "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_SSL_REQUESTS_ONLY"},
        }
    )
    observed, findings = observe(
        aws,
        "AWS::Config::ConfigRule",
        "trustbase-s3-ssl",
        {"Source": {"SourceIdentifier": "S3_BUCKET_SSL_REQUESTS_ONLY"}},
    )
    assert observed["source"] == "S3_BUCKET_SSL_REQUESTS_ONLY" and passes(findings), findings
    _, findings = observe(aws, "AWS::Config::ConfigurationRecorder", "rec")
    assert ("config.recorder", ["recording is False, declared True"]) in findings  # created, not started
    cfg.start_configuration_recorder(ConfigurationRecorderName="rec")
    assert passes(observe(aws, "AWS::Config::ConfigurationRecorder", "rec")[1])
    assert passes(observe(aws, "AWS::Config::DeliveryChannel", "ch", {"S3BucketName": "cfg"})[1])
    assert not passes(observe(aws, "AWS::Config::DeliveryChannel", "ch", {"S3BucketName": "elsewhere"})[1])


def test_guardduty_detector(aws: ReadOnlySession) -> None:
    gd = client("guardduty")
    detector = gd.create_detector(Enable=True)["DetectorId"]
    assert passes(observe(aws, "AWS::GuardDuty::Detector", detector)[1])
    gd.update_detector(DetectorId=detector, Enable=False)
    assert not passes(observe(aws, "AWS::GuardDuty::Detector", detector)[1])


def test_guardduty_publishing_destination_request_shape(aws: ReadOnlySession) -> None:
    gd = aws.client("guardduty")
    with Stubber(gd) as stub:
        stub.add_response(
            "describe_publishing_destination",
            {
                "DestinationId": "d1",
                "DestinationType": "S3",
                "Status": "PUBLISHING",
                "PublishingFailureStartTimestamp": 0,
                "DestinationProperties": {"DestinationArn": "arn:aws:s3:::audit", "KmsKeyArn": KEY},
            },
            {"DetectorId": "det", "DestinationId": "d1"},
        )
        observed, findings = observe(
            aws,
            "AWS::GuardDuty::PublishingDestination",
            "d1",
            {"DetectorId": {"Ref": "D"}},
            {"D": ("AWS::GuardDuty::Detector", "det")},
        )
    assert observed["status"] == "PUBLISHING" and passes(findings)


def test_security_hub_and_standard(aws: ReadOnlySession) -> None:
    hub = client("securityhub")
    hub.enable_security_hub(EnableDefaultStandards=False)
    arn = hub.describe_hub()["HubArn"]
    assert passes(observe(aws, "AWS::SecurityHub::Hub", arn)[1])
    sub = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0"
    with Stubber(aws.client("securityhub")) as stub:  # moto has no BatchEnableStandards
        for status in ("READY", "FAILED"):
            stub.add_response(
                "get_enabled_standards",
                {
                    "StandardsSubscriptions": [
                        {
                            "StandardsSubscriptionArn": sub,
                            "StandardsArn": "arn:aws:securityhub:::standards/x",
                            "StandardsInput": {},
                            "StandardsStatus": status,
                        }
                    ]
                },
                {"StandardsSubscriptionArns": [sub]},
            )
        observed, findings = observe(aws, "AWS::SecurityHub::Standard", sub)
        assert observed["status"] == "READY" and passes(findings)
        assert not passes(observe(aws, "AWS::SecurityHub::Standard", sub)[1])


def test_macie_session(aws: ReadOnlySession) -> None:
    client("macie2").enable_macie(status="ENABLED")
    observed, findings = observe(aws, "AWS::Macie::Session", ACCOUNT)
    assert observed["status"] == "ENABLED" and passes(findings)
    with Stubber(aws.client("macie2")) as stub:  # moto cannot pause a session
        stub.add_response("get_macie_session", {"status": "PAUSED"}, {})
        assert not passes(observe(aws, "AWS::Macie::Session", ACCOUNT)[1])


def test_access_analyzer_request_shape(aws: ReadOnlySession) -> None:
    aa = aws.client("accessanalyzer")
    arn = f"arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/trustbase-eu-west-1"
    with Stubber(aa) as stub:
        stub.add_response(
            "get_analyzer",
            {
                "analyzer": {
                    "arn": arn,
                    "name": "trustbase-eu-west-1",
                    "type": "ACCOUNT",
                    "createdAt": "2026-01-01T00:00:00Z",
                    "status": "ACTIVE",
                }
            },
            {"analyzerName": "trustbase-eu-west-1"},
        )
        observed, findings = observe(aws, "AWS::AccessAnalyzer::Analyzer", arn)
    assert observed == {"exists": True, "status": "ACTIVE", "type": "ACCOUNT"} and passes(findings)


def test_fis_template(aws: ReadOnlySession) -> None:
    t = client("fis").create_experiment_template(
        clientToken="x",
        description="d",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis",
        stopConditions=[{"source": "aws:cloudwatch:alarm", "value": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a"}],
        actions={"Wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
    )["experimentTemplate"]
    observed, findings = observe(aws, "AWS::FIS::ExperimentTemplate", t["id"])
    assert observed["stop_conditions"] == ["aws:cloudwatch:alarm"] and passes(findings)
    unstoppable = client("fis").create_experiment_template(
        clientToken="y",
        description="d",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis",
        stopConditions=[{"source": "none"}],
        actions={"Wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
    )["experimentTemplate"]
    assert not passes(observe(aws, "AWS::FIS::ExperimentTemplate", unstoppable["id"])[1])


def test_metric_filter(aws: ReadOnlySession) -> None:
    logs = client("logs")
    logs.create_log_group(logGroupName="trail")
    logs.put_metric_filter(
        logGroupName="trail",
        filterName="deletes",
        filterPattern='{ $.eventName = "DeleteObject" }',
        metricTransformations=[{"metricName": "Deletes", "metricNamespace": "trustbase", "metricValue": "1"}],
    )
    props = {"LogGroupName": "trail", "MetricTransformations": [{"MetricName": "Deletes"}]}
    observed, findings = observe(aws, "AWS::Logs::MetricFilter", "deletes", props)
    assert observed["metrics"] == ["Deletes"] and passes(findings)
    assert observe(aws, "AWS::Logs::MetricFilter", "gone", props)[0] == {"exists": False}


def test_cluster_parameter_group(aws: ReadOnlySession) -> None:
    rds = client("rds")
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="tls", DBParameterGroupFamily="aurora-postgresql16", Description="d"
    )
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName="tls",
        Parameters=[
            {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "pending-reboot"},
            {"ParameterName": "ssl_min_protocol_version", "ParameterValue": "TLSv1.2", "ApplyMethod": "pending-reboot"},
        ],
    )
    observed, findings = observe(aws, "AWS::RDS::DBClusterParameterGroup", "tls")
    assert observed["parameters"].get("rds.force_ssl") == "1" and passes(findings), (observed, findings)
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName="tls",
        Parameters=[{"ParameterName": "rds.force_ssl", "ParameterValue": "0", "ApplyMethod": "pending-reboot"}],
    )
    assert ("rds.force_ssl", ["rds.force_ssl is not 1"]) in observe(aws, "AWS::RDS::DBClusterParameterGroup", "tls")[1]


def test_schedule(aws: ReadOnlySession) -> None:
    client("scheduler").create_schedule(
        Name="trustbase-eu-west-1-retention-visitors",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:eu-west-1:1:function:f",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/s",
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"},
            "RetryPolicy": {"MaximumRetryAttempts": 3},
        },
    )
    observed, findings = observe(
        aws,
        "AWS::Scheduler::Schedule",
        "trustbase-eu-west-1-retention-visitors",
        {"ScheduleExpression": "rate(1 hour)"},
    )
    assert observed["dead_letter"] and passes(findings), (observed, findings)
    client("scheduler").create_schedule(
        Name="off",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        State="DISABLED",
        Target={"Arn": "arn:aws:lambda:eu-west-1:1:function:f", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/s"},
    )
    assert not passes(observe(aws, "AWS::Scheduler::Schedule", "off", {"ScheduleExpression": "rate(1 hour)"})[1])


def test_topic_policy(aws: ReadOnlySession) -> None:
    sns = client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchPublishes",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
            }
        ],
    }
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    props = {"Topics": [{"Ref": "T"}], "PolicyDocument": policy}
    observed, findings = observe(aws, "AWS::SNS::TopicPolicy", "p", props, {"T": ("AWS::SNS::Topic", topic)})
    assert passes(findings), (observed, findings)
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({**policy, "Statement": []})
    )
    assert not passes(observe(aws, "AWS::SNS::TopicPolicy", "p", props, {"T": ("AWS::SNS::Topic", topic)})[1])


def test_web_acl_association_and_logging(aws: ReadOnlySession) -> None:
    waf = client("wafv2")
    acl = waf.create_web_acl(
        Name="trustbase-eu-west-1",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"},
        Rules=[
            {
                "Name": "common",
                "Priority": 0,
                "OverrideAction": {"None": {}},
                "Statement": {
                    "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}
                },
                "VisibilityConfig": {
                    "SampledRequestsEnabled": True,
                    "CloudWatchMetricsEnabled": True,
                    "MetricName": "c",
                },
            }
        ],
    )["Summary"]
    physical = f"{acl['Name']}|{acl['Id']}|REGIONAL"
    declared = {"Rules": [{"Statement": {"ManagedRuleGroupStatement": {"Name": "AWSManagedRulesCommonRuleSet"}}}]}
    observed, findings = observe(aws, "AWS::WAFv2::WebACL", physical, declared)
    assert observed["managed_groups"] == ["AWSManagedRulesCommonRuleSet"] and passes(findings)
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    lb = client("elbv2").create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    props = {"ResourceArn": lb, "WebACLArn": acl["ARN"]}
    assert not passes(observe(aws, "AWS::WAFv2::WebACLAssociation", "a", props)[1] or [("x", ["no association"])])
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb)
    assert passes(observe(aws, "AWS::WAFv2::WebACLAssociation", "a", props)[1])
    waf.put_logging_configuration(
        LoggingConfiguration={
            "ResourceArn": acl["ARN"],
            "LogDestinationConfigs": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:aws-waf-logs-trustbase-eu-west-1"],
        }
    )
    assert passes(observe(aws, "AWS::WAFv2::LoggingConfiguration", "l", {"ResourceArn": acl["ARN"]})[1])


def test_backup_selection_and_restore_testing_request_shapes(aws: ReadOnlySession) -> None:
    backup = aws.client("backup")
    with Stubber(backup) as stub:
        stub.add_response(
            "get_backup_selection",
            {
                "BackupSelection": {
                    "SelectionName": "s",
                    "IamRoleArn": "arn:aws:iam::1:role/b",
                    "Resources": ["arn:aws:rds:eu-west-1:1:cluster:c"],
                },
                "SelectionId": "sel",
                "BackupPlanId": "plan",
            },
            {"BackupPlanId": "plan", "SelectionId": "sel"},
        )
        stub.add_response(
            "get_restore_testing_plan",
            {
                "RestoreTestingPlan": {
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "RecoveryPointSelection": {
                        "Algorithm": "LATEST_WITHIN_WINDOW",
                        "IncludeVaults": ["*"],
                        "RecoveryPointTypes": ["SNAPSHOT"],
                    },
                    "RestoreTestingPlanArn": "arn",
                    "RestoreTestingPlanName": "weekly",
                    "ScheduleExpression": "cron(0 5 ? * SUN *)",
                }
            },
            {"RestoreTestingPlanName": "weekly"},
        )
        stub.add_response(
            "get_restore_testing_selection",
            {
                "RestoreTestingSelection": {
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "IamRoleArn": "arn:aws:iam::1:role/r",
                    "ProtectedResourceType": "Aurora",
                    "RestoreTestingPlanName": "weekly",
                    "RestoreTestingSelectionName": "aurora",
                }
            },
            {"RestoreTestingPlanName": "weekly", "RestoreTestingSelectionName": "aurora"},
        )
        assert passes(observe(aws, "AWS::Backup::BackupSelection", "plan_sel")[1])
        assert passes(observe(aws, "AWS::Backup::RestoreTestingPlan", "weekly")[1])
        props = {"RestoreTestingPlanName": "weekly", "RestoreTestingSelectionName": "aurora"}
        observed, findings = observe(aws, "AWS::Backup::RestoreTestingSelection", "aurora", props)
    assert observed["resource_type"] == "Aurora" and passes(findings)


def test_default_security_group_closed(aws: ReadOnlySession) -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    props = {"DefaultSecurityGroupId": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}}
    observed, findings = observe(aws, "Custom::VpcRestrictDefaultSG", "x", props, {"Vpc": ("AWS::EC2::VPC", vpc)})
    assert observed["egress"] and not passes(findings)  # a fresh VPC's default group allows all egress
    group = observed["group"]
    ec2.revoke_security_group_egress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    ingress = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    if ingress:
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=ingress)
    assert passes(observe(aws, "Custom::VpcRestrictDefaultSG", "x", props, {"Vpc": ("AWS::EC2::VPC", vpc)})[1])


def test_trigger_is_judged_on_cloudformation_record_only(aws: ReadOnlySession) -> None:
    observed, findings = observe(aws, "Custom::Trigger", "t")
    assert observed["cloudformation_status"] == "CREATE_COMPLETE" and passes(findings)
    assert aws.calls == []  # nothing to read: the record is CloudFormation's, and the row says so


def test_lambda_version(aws: ReadOnlySession) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def handler(e, c): pass\n")
    role = client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = client("lambda").create_function(
        FunctionName="f", Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": buf.getvalue()}
    )
    version = client("lambda").publish_version(FunctionName=fn["FunctionName"])["FunctionArn"]
    observed, findings = observe(aws, "AWS::Lambda::Version", version)
    assert observed["version"] == "1" and passes(findings)


def test_waf_resources_resolve_from_the_real_edge_template(aws: ReadOnlySession, assembly: Any) -> None:
    """The web ACL's physical ID is name|id|scope: its ARN must be rebuilt for the association and
    the logging configuration, whose template properties only say GetAtt WebAcl.Arn."""
    template = assembly.template("trustbase-eu-west-1-edge")
    lid = {
        r["Type"]: k
        for k, r in template["Resources"].items()
        if r["Type"].startswith(("AWS::WAFv2::", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::Logs::LogGroup"))
        and not (r["Type"] == "AWS::Logs::LogGroup" and not k.startswith("WafLogs"))
    }
    waf, ec2 = client("wafv2"), client("ec2")
    acl = waf.create_web_acl(
        Name="trustbase-eu-west-1",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"},
    )["Summary"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    lb = client("elbv2").create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    log_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:aws-waf-logs-trustbase-eu-west-1:*"
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb)
    waf.put_logging_configuration(LoggingConfiguration={"ResourceArn": acl["ARN"], "LogDestinationConfigs": [log_arn]})
    physical = {
        lid["AWS::WAFv2::WebACL"]: f"{acl['Name']}|{acl['Id']}|REGIONAL",
        lid["AWS::ElasticLoadBalancingV2::LoadBalancer"]: lb,
        lid["AWS::WAFv2::LoggingConfiguration"]: acl["ARN"],
        lid["AWS::WAFv2::WebACLAssociation"]: "assoc",
        lid["AWS::Logs::LogGroup"]: "aws-waf-logs-trustbase-eu-west-1",
    }
    stack = Stack("trustbase-eu-west-1-edge", REGION, ACCOUNT, template, physical)
    resolver = Resolver(stack, lambda name: None)
    for rtype in ("AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::LoggingConfiguration"):
        props = template["Resources"][lid[rtype]]["Properties"]
        observed = observers.OBSERVERS[rtype](aws, physical[lid[rtype]], props, resolver)
        findings = JUDGES[rtype](observed, Context(lid[rtype], rtype, props, resolver))
        assert observed["exists"] and passes([(f.check, f.problems) for f in findings]), (rtype, observed, findings)
    assert (
        resolver.resolve(template["Resources"][lid["AWS::WAFv2::WebACLAssociation"]]["Properties"]["WebACLArn"])
        == acl["ARN"]
    )
    other = waf.create_web_acl(
        Name="other",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "o"},
    )["Summary"]
    waf.disassociate_web_acl(ResourceArn=lb)
    waf.associate_web_acl(WebACLArn=other["ARN"], ResourceArn=lb)  # another ACL now guards the ALB: drift
    rtype = "AWS::WAFv2::WebACLAssociation"
    props = template["Resources"][lid[rtype]]["Properties"]
    observed = observers.OBSERVERS[rtype](aws, "assoc", props, resolver)
    assert JUDGES[rtype](observed, Context(lid[rtype], rtype, props, resolver))[0].problems
