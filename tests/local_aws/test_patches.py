"""Each moto patch, proven on a small CloudFormation template in in-process moto: the property
reads back from the service API after a stack create. Without the patch each of these fails
(crash, silent skip or lost property), which the docstring of local_aws/patches.py records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_aws import patches

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    patches.apply()
    with mock_aws():
        yield


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def deploy(resources: dict[str, Any], name: str = "t") -> dict[str, str]:
    """Create a stack; return {logical ID: physical ID} of what was created."""
    cfn = client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    listed = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in listed}


TAGS = [{"Key": "trustbase:region", "Value": REGION}]
KEY_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]}  # fmt: skip


def test_version_pin_refuses_another_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "5.9.9")
    with pytest.raises(RuntimeError, match=r"targets moto 5\.2\.5, found 5\.9\.9"):
        patches.apply()


def test_kms_key_with_tags_and_policy_document() -> None:
    ids = deploy({"K": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY, "EnableKeyRotation": True, "Tags": TAGS}}})  # fmt: skip
    kms = client("kms")
    assert kms.describe_key(KeyId=ids["K"])["KeyMetadata"]["Enabled"]  # crashed on the dict policy before
    assert kms.get_key_rotation_status(KeyId=ids["K"])["KeyRotationEnabled"] is True
    assert {"TagKey": "trustbase:region", "TagValue": REGION} in kms.list_resource_tags(KeyId=ids["K"])["Tags"]


def test_ssm_parameter_with_tag_map() -> None:
    deploy({"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/t/p", "Type": "String", "Value": "v", "Tags": {"a": "b"}}}})  # fmt: skip
    assert client("ssm").get_parameter(Name="/t/p")["Parameter"]["Value"] == "v"


def test_aurora_cluster_and_instances_in_three_azs() -> None:
    instance = {"Type": "AWS::RDS::DBInstance", "Properties": {"DBClusterIdentifier": {"Ref": "C"}, "DBInstanceClass": "db.r7g.large", "Engine": "aurora-postgresql"}}  # fmt: skip
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"] for i, az in enumerate("abc")]  # fmt: skip
    resources: dict[str, Any] = {
        "S": {
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {"DBSubnetGroupDescription": "data", "SubnetIds": subnets},
        },
        "C": {
            "Type": "AWS::RDS::DBCluster",
            "Properties": {
                "DBSubnetGroupName": {"Ref": "S"},
                "Engine": "aurora-postgresql",
                "Port": 5532,
                "StorageEncrypted": True,
                "KmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/k",
                "DeletionProtection": True,
                "MasterUsername": "admin",
                "ManageMasterUserPassword": True,
            },
        },
    }
    for az in "abc":
        resources[f"I{az}"] = {
            **instance,
            "Properties": {**instance["Properties"], "AvailabilityZone": f"{REGION}{az}"},
        }
    ids = deploy(resources)
    rds = client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=ids["C"])["DBClusters"][0]
    assert cluster["StorageEncrypted"] and cluster["DeletionProtection"] and cluster["Port"] == 5532
    members = {m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]}
    assert members == {ids["Ia"], ids["Ib"], ids["Ic"]}
    azs = {rds.describe_db_instances(DBInstanceIdentifier=i)["DBInstances"][0]["AvailabilityZone"] for i in members}
    assert azs == {f"{REGION}a", f"{REGION}b", f"{REGION}c"}


def test_generated_rds_identifiers_are_valid_and_unique() -> None:
    long = "trustbase-ap-southeast-2-data-AuroraClusterInstanceapsoutheast2{}4E075F2E-ABCDEFGH"
    ids = {patches._identifier(long.format(az)) for az in "abc"}
    assert len(ids) == 3
    for i in ids:
        assert len(i) <= 63 and i[0].isalpha() and "--" not in i and not i.endswith("-") and i == i.lower()


def test_log_group_keeps_its_cmk() -> None:
    deploy({"L": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/t/l", "RetentionInDays": 365, "KmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/k"}}})  # fmt: skip
    group = client("logs").describe_log_groups(logGroupNamePrefix="/t/l")["logGroups"][0]
    assert group["kmsKeyId"].endswith("key/k") and group["retentionInDays"] == 365


def test_security_group_ingress_gets_a_verifiable_physical_id() -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = deploy({
        "A": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "a", "VpcId": vpc}},
        "B": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "b", "VpcId": vpc}},
        "R": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"GroupId": {"Fn::GetAtt": ["B", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 5532, "ToPort": 5532, "SourceSecurityGroupId": {"Fn::GetAtt": ["A", "GroupId"]}}},
    })  # fmt: skip
    group, proto, lo, hi, source = ids["R"].split("/")
    assert (proto, lo, hi) == ("tcp", "5532", "5532") and group.startswith("sg-") and source.startswith("sg-")


def test_backup_vault_with_lock_and_plan() -> None:
    ids = deploy({
        "V": {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": "v", "EncryptionKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k", "LockConfiguration": {"MinRetentionDays": 35, "MaxRetentionDays": 3650, "ChangeableForDays": 3}}},
        "P": {"Type": "AWS::Backup::BackupPlan", "Properties": {"BackupPlan": {"BackupPlanName": "p", "BackupPlanRule": [{"RuleName": "every-4h", "ScheduleExpression": "cron(0 0/4 * * ? *)", "TargetBackupVault": {"Fn::GetAtt": ["V", "BackupVaultName"]}, "Lifecycle": {"DeleteAfterDays": 35}}]}}},
    })  # fmt: skip
    backup = client("backup")
    vault = backup.describe_backup_vault(BackupVaultName=ids["V"])
    assert vault["Locked"] and vault["MinRetentionDays"] == 35 and vault["EncryptionKeyArn"].endswith("key/k")
    rule = backup.get_backup_plan(BackupPlanId=ids["P"])["BackupPlan"]["Rules"][0]
    assert rule["TargetBackupVaultName"] == "v" and rule["Lifecycle"]["DeleteAfterDays"] == 35


BUCKET = {
    "VersioningConfiguration": {"Status": "Enabled"},
    "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    },
    "LifecycleConfiguration": {
        "Rules": [
            {"Id": "visitors", "Prefix": "visitors/", "ExpirationInDays": 276, "Status": "Enabled"},
            {
                "Id": "noncurrent",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "ExpiredObjectDeleteMarker": True,
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                "Status": "Enabled",
            },
        ]
    },
}
TLS_ONLY_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*", "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}}},
]}  # fmt: skip


def test_bucket_versioning_public_access_block_lifecycle_and_object_lock() -> None:
    ids = deploy({
        "B": {"Type": "AWS::S3::Bucket", "Properties": BUCKET},
        "L": {"Type": "AWS::S3::Bucket", "Properties": {**BUCKET, "ObjectLockEnabled": True, "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}}}},
    })  # fmt: skip
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket=ids["B"])["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=ids["B"])["PublicAccessBlockConfiguration"].values())
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=ids["B"])["Rules"]}
    assert rules["visitors"]["Expiration"]["Days"] == 276 and rules["visitors"]["Filter"]["Prefix"] == "visitors/"
    assert rules["noncurrent"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    lock = s3.get_object_lock_configuration(Bucket=ids["L"])["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert lock == {"Mode": "COMPLIANCE", "Days": 365}


@pytest.mark.parametrize(("tls", "allowed"), [(True, True), (False, False)])
def test_bucket_policy_refuses_requests_without_tls(monkeypatch: pytest.MonkeyPatch, tls: bool, allowed: bool) -> None:
    monkeypatch.setattr(patches, "TLS_ONLY", tls)
    ids = deploy({
        "B": {"Type": "AWS::S3::Bucket", "Properties": BUCKET},
        "P": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "B"}, "PolicyDocument": TLS_ONLY_POLICY}},
    })  # fmt: skip
    s3 = client("s3")
    assert ids["P"] == ids["B"]
    assert json.loads(s3.get_bucket_policy(Bucket=ids["B"])["Policy"]) == TLS_ONLY_POLICY
    if allowed:
        s3.put_object(Bucket=ids["B"], Key="k", Body=b"x")
        assert s3.get_object(Bucket=ids["B"], Key="k")["Body"].read() == b"x"
    else:
        with pytest.raises(s3.exceptions.ClientError, match="403"):
            s3.put_object(Bucket=ids["B"], Key="k", Body=b"x")


def test_alarm_and_target_group_full_name() -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = deploy({
        "T": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "G": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 443, "Protocol": "HTTPS", "VpcId": vpc, "TargetType": "ip"}},
        "A": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "unhealthy", "Namespace": "AWS/ApplicationELB", "MetricName": "UnHealthyHostCount", "Dimensions": [{"Name": "TargetGroup", "Value": {"Fn::GetAtt": ["G", "TargetGroupFullName"]}}], "ComparisonOperator": "GreaterThanOrEqualToThreshold", "EvaluationPeriods": 1, "Period": 60, "Statistic": "Maximum", "Threshold": 1, "AlarmActions": [{"Ref": "T"}]}},
    })  # fmt: skip
    alarm = client("cloudwatch").describe_alarms(AlarmNames=[ids["A"]])["MetricAlarms"][0]
    assert alarm["Dimensions"][0]["Value"].startswith("targetgroup/") and alarm["AlarmActions"] == [ids["T"]]


def test_listener_keeps_hsts_attribute() -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"] for i, az in enumerate("ab")]  # fmt: skip
    ids = deploy({
        "LB": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": subnets, "Type": "application"}},
        "L": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"LoadBalancerArn": {"Ref": "LB"}, "Port": 80, "Protocol": "HTTP", "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}], "ListenerAttributes": [{"Key": "routing.http.response.strict_transport_security.header_value", "Value": "max-age=63072000"}]}},
    })  # fmt: skip
    attrs = client("elbv2").describe_listener_attributes(ListenerArn=ids["L"])["Attributes"]
    assert {"Key": "routing.http.response.strict_transport_security.header_value", "Value": "max-age=63072000"} in attrs
