"""Each moto patch, on a small CloudFormation template in in-process moto: the scenario FAILS
without the patch (a crash, a silent skip or a lost property) and passes with it. Patches are
applied per test and removed afterwards; moto's classes are checked to be exactly as before, so
nothing leaks from one test into another."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_aws import patches
from local_aws.patches import s3 as s3_patches

REGION = "eu-west-1"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert patches.applied_names() == [], "a patch leaked in from another test"
    with mock_aws():
        yield
    assert patches.applied_names() == [], "this test leaked a patch"


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]  # a service named at run time: the stubs type only literal names


def deploy(resources: dict[str, Any]) -> dict[str, str]:
    """Create a stack; return {logical ID: physical ID}. Raises unless CREATE_COMPLETE."""
    cfn = client("cloudformation")
    name = f"t-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", status
    listed = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in listed}


def vpc_with_subnets(n: int = 3) -> tuple[str, list[str]]:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("abc"[:n])
    ]
    return vpc, subnets


TAGS = [{"Key": "trustbase:region", "Value": REGION}]
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    ],
}
HSTS = "routing.http.response.strict_transport_security.header_value"


# ------------------------------------------------------------------------------ scenarios, one per patch


def kms_key() -> None:
    ids = deploy(
        {
            "K": {
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": KEY_POLICY, "EnableKeyRotation": True, "Tags": TAGS},
            }
        }
    )
    kms = client("kms")
    assert kms.describe_key(KeyId=ids["K"])["KeyMetadata"]["Enabled"]  # crashes on the dict policy without
    assert {"TagKey": "trustbase:region", "TagValue": REGION} in kms.list_resource_tags(KeyId=ids["K"])["Tags"]


def kms_conditional_deny() -> None:
    """A key whose policy carries the perimeter's conditional Deny: this account must still use it."""
    policy = {
        **KEY_POLICY,
        "Statement": [
            *KEY_POLICY["Statement"],
            {
                "Sid": "DenyOutsideThisAccount",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {
                    "StringNotEqualsIfExists": {"aws:PrincipalAccount": "123456789012"},
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                },
            },
        ],
    }
    ids = deploy({"K": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy, "Tags": TAGS}}})
    assert client("kms").describe_key(KeyId=ids["K"])["KeyMetadata"]["Enabled"]


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def ssm_parameter() -> None:
    name = unique("/t/p-")
    deploy(
        {
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": name, "Type": "String", "Value": "v", "Tags": {"a": "b"}},
            }
        }
    )
    assert client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == "v"


def _aurora(instances: bool) -> dict[str, str]:
    _, subnets = vpc_with_subnets()
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
                "KmsKeyId": KEY,
                "DeletionProtection": True,
                "MasterUsername": "admin",
                "ManageMasterUserPassword": True,
            },
        },
    }
    if instances:
        for az in "abc":
            resources[f"I{az}"] = {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "DBClusterIdentifier": {"Ref": "C"},
                    "DBInstanceClass": "db.r7g.large",
                    "Engine": "aurora-postgresql",
                    "AvailabilityZone": f"{REGION}{az}",
                },
            }
    return deploy(resources)


def rds_cluster() -> None:
    ids = _aurora(instances=False)
    cluster = client("rds").describe_db_clusters(DBClusterIdentifier=ids["C"])["DBClusters"][0]
    assert cluster["StorageEncrypted"] and cluster["DeletionProtection"] and cluster["Port"] == 5532


def rds_instances() -> None:
    ids = _aurora(instances=True)
    rds = client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=ids["C"])["DBClusters"][0]
    members = {m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]}
    assert members == {ids["Ia"], ids["Ib"], ids["Ic"]}
    azs = {rds.describe_db_instances(DBInstanceIdentifier=i)["DBInstances"][0]["AvailabilityZone"] for i in members}
    assert azs == {f"{REGION}a", f"{REGION}b", f"{REGION}c"}


def rds_subnet_group() -> None:
    _, subnets = vpc_with_subnets()
    ids = deploy(
        {
            "S": {
                "Type": "AWS::RDS::DBSubnetGroup",
                "Properties": {"DBSubnetGroupDescription": "d", "SubnetIds": subnets},
            }
        }
    )
    assert ids["S"], "subnet group has no physical ID"
    assert client("rds").describe_db_subnet_groups(DBSubnetGroupName=ids["S"])["DBSubnetGroups"]


def log_group() -> None:
    name = unique("/t/l-")
    deploy(
        {
            "L": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": name, "RetentionInDays": 365, "KmsKeyId": KEY},
            }
        }
    )
    group = client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    assert group.get("kmsKeyId") == KEY, "log group lost its CMK"
    assert group["retentionInDays"] == 365


def log_group_arn() -> None:
    name = unique("/t/arn-")
    deploy(
        {
            "L": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name}},
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": name, "Type": "String", "Value": {"Fn::GetAtt": ["L", "Arn"]}},
            },
        }
    )
    value = client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    assert value == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*", "log group ARN lacks the documented :*"


def role_policies() -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    ids = deploy(
        {
            "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": policy}},
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": trust,
                    "ManagedPolicyArns": [{"Ref": "P"}],
                    "Policies": [{"PolicyName": "inline", "PolicyDocument": policy}],
                },
            },
        }
    )
    iam = client("iam")
    attached = [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=ids["R"])["AttachedPolicies"]]
    assert attached == [ids["P"]], "managed policy not attached"
    doc = iam.get_role_policy(RoleName=ids["R"], PolicyName="inline")["PolicyDocument"]
    assert (json.loads(doc) if isinstance(doc, str) else doc) == policy, "inline policy unreadable"


def ingress_rule() -> None:
    vpc, _ = vpc_with_subnets(1)
    ids = deploy(
        {
            "A": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "a", "VpcId": vpc}},
            "B": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "b", "VpcId": vpc}},
            "R": {
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["B", "GroupId"]},
                    "IpProtocol": "tcp",
                    "FromPort": 5532,
                    "ToPort": 5532,
                    "SourceSecurityGroupId": {"Fn::GetAtt": ["A", "GroupId"]},
                },
            },
        }
    )
    group, proto, lo, hi, source = (ids["R"] or "").split("/")
    assert (proto, lo, hi) == ("tcp", "5532", "5532") and group.startswith("sg-") and source.startswith("sg-")


def security_group_egress() -> None:
    vpc, _ = vpc_with_subnets(1)
    ids = deploy(
        {
            "Closed": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "c",
                    "VpcId": vpc,
                    "SecurityGroupEgress": [
                        {
                            "CidrIp": "255.255.255.255/32",
                            "Description": "Disallow all traffic",
                            "FromPort": 252,
                            "IpProtocol": "icmp",
                            "ToPort": 86,
                        }
                    ],
                },
            },
            "Peer": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "p", "VpcId": vpc}},
            "Out": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["Peer", "GroupId"]},
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "DestinationSecurityGroupId": {"Fn::GetAtt": ["Closed", "GroupId"]},
                },
            },
        }
    )
    ec2 = client("ec2")
    for group in (ids["Closed"], ids["Peer"]):
        egress = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"]
        assert not any(r.get("CidrIp") == "0.0.0.0/0" for p in egress for r in p.get("IpRanges", [])), (
            "default egress kept"
        )
    peer = ec2.describe_security_groups(GroupIds=[ids["Peer"]])["SecurityGroups"][0]["IpPermissionsEgress"]
    assert [p["UserIdGroupPairs"][0]["GroupId"] for p in peer] == [ids["Closed"]]


def route_table_association() -> None:
    vpc, subnets = vpc_with_subnets(1)
    ids = deploy(
        {
            "T": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc}},
            "A": {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"RouteTableId": {"Ref": "T"}, "SubnetId": subnets[0]},
            },
        }
    )
    table = client("ec2").describe_route_tables(RouteTableIds=[ids["T"]])["RouteTables"][0]
    associations = [(a["RouteTableAssociationId"], a["SubnetId"]) for a in table["Associations"]]
    assert ids["A"].startswith("rtbassoc-") and associations == [(ids["A"], subnets[0])], "association not visible"


def endpoint_policy() -> None:
    vpc, _ = vpc_with_subnets(1)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OnlyThisAccount", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
        ],
    }
    ids = deploy(
        {
            "T": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc}},
            "E": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": vpc,
                    "ServiceName": f"com.amazonaws.{REGION}.s3",
                    "RouteTableIds": [{"Ref": "T"}],
                    "PolicyDocument": policy,
                },
            },
        }
    )
    endpoint = client("ec2").describe_vpc_endpoints(VpcEndpointIds=[ids["E"]])["VpcEndpoints"][0]
    assert json.loads(endpoint["PolicyDocument"]) == policy


def backup_vault_and_plan() -> None:
    ids = deploy(
        {
            "V": {
                "Type": "AWS::Backup::BackupVault",
                "Properties": {
                    "BackupVaultName": "v",
                    "EncryptionKeyArn": KEY,
                    "LockConfiguration": {"MinRetentionDays": 35, "MaxRetentionDays": 3650, "ChangeableForDays": 3},
                },
            },
            "P": {
                "Type": "AWS::Backup::BackupPlan",
                "Properties": {
                    "BackupPlan": {
                        "BackupPlanName": "p",
                        "BackupPlanRule": [
                            {
                                "RuleName": "every-4h",
                                "ScheduleExpression": "cron(0 0/4 * * ? *)",
                                "TargetBackupVault": {"Fn::GetAtt": ["V", "BackupVaultName"]},
                                "Lifecycle": {"DeleteAfterDays": 35},
                            }
                        ],
                    }
                },
            },
        }
    )
    backup = client("backup")
    vault = backup.describe_backup_vault(BackupVaultName=ids["V"])
    assert vault["Locked"] and vault["MinRetentionDays"] == 35 and vault["EncryptionKeyArn"] == KEY
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
    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
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
TLS_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
        },
        # the data perimeter: this account's own requests pass
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        },
    ],
}


def bucket_properties() -> None:
    ids = deploy(
        {
            "B": {"Type": "AWS::S3::Bucket", "Properties": BUCKET},
            "L": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    **BUCKET,
                    "ObjectLockEnabled": True,
                    "ObjectLockConfiguration": {
                        "ObjectLockEnabled": "Enabled",
                        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}},
                    },
                },
            },
        }
    )
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket=ids["B"]).get("Status") == "Enabled", "bucket settings dropped"
    assert all(s3.get_public_access_block(Bucket=ids["B"])["PublicAccessBlockConfiguration"].values())
    ownership = s3.get_bucket_ownership_controls(Bucket=ids["B"])["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=ids["B"])["Rules"]}
    assert rules["visitors"]["Expiration"]["Days"] == 276 and rules["visitors"]["Filter"]["Prefix"] == "visitors/"
    assert rules["noncurrent"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    lock = s3.get_object_lock_configuration(Bucket=ids["L"])["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert lock == {"Mode": "COMPLIANCE", "Days": 365}


def bucket_policy() -> None:
    ids = deploy(
        {
            "B": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "P": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "B"}, "PolicyDocument": TLS_ONLY_POLICY},
            },
        }
    )
    assert json.loads(client("s3").get_bucket_policy(Bucket=ids["B"])["Policy"]) == TLS_ONLY_POLICY


def bucket_policy_over_tls() -> None:
    """Over TLS (the emulator's only transport), the TLS-only policy lets requests through."""
    ids = deploy(
        {
            "B": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "P": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "B"}, "PolicyDocument": TLS_ONLY_POLICY},
            },
        }
    )
    s3 = client("s3")
    s3.put_object(Bucket=ids["B"], Key="k", Body=b"x")
    assert s3.get_object(Bucket=ids["B"], Key="k")["Body"].read() == b"x"


def alarm() -> None:
    ids = deploy(
        {
            "T": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "A": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "trustbase-test-alarm",
                    "Namespace": "AWS/S3",
                    "MetricName": "X",
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "EvaluationPeriods": 1,
                    "Period": 60,
                    "Statistic": "Sum",
                    "Threshold": 1,
                    "AlarmActions": [{"Ref": "T"}],
                },
            },
        }
    )
    found = client("cloudwatch").describe_alarms(AlarmNames=["trustbase-test-alarm"])["MetricAlarms"]
    assert found, "alarm not created"
    assert found[0]["AlarmActions"] == [ids["T"]]


def target_group_full_name() -> None:
    vpc, _ = vpc_with_subnets(1)
    deploy(
        {
            "G": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {"Port": 443, "Protocol": "HTTPS", "VpcId": vpc, "TargetType": "ip"},
            },
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": "/t/tg",
                    "Type": "String",
                    "Value": {"Fn::GetAtt": ["G", "TargetGroupFullName"]},
                },
            },
        }
    )
    assert client("ssm").get_parameter(Name="/t/tg")["Parameter"]["Value"].startswith("targetgroup/")


def _balancer(attributes: list[dict[str, str]]) -> dict[str, str]:
    _, subnets = vpc_with_subnets(2)
    return deploy(
        {
            "LB": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Subnets": subnets, "Type": "application", "LoadBalancerAttributes": attributes},
            },
            "L": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": "LB"},
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": [
                        {
                            "Type": "redirect",
                            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
                        }
                    ],
                    "ListenerAttributes": [{"Key": HSTS, "Value": "max-age=63072000"}],
                },
            },
        }
    )


def listener_attributes() -> None:
    ids = _balancer([])
    attrs = client("elbv2").describe_listener_attributes(ListenerArn=ids["L"])["Attributes"]
    assert {"Key": HSTS, "Value": "max-age=63072000"} in attrs, "HSTS attribute dropped"


def load_balancer_attributes() -> None:
    ids = _balancer([{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}])
    attrs = client("elbv2").describe_load_balancer_attributes(LoadBalancerArn=ids["LB"])["Attributes"]
    assert {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"} in attrs, (
        "load balancer attribute dropped"
    )


ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"


def state_machine() -> None:
    ids = deploy(
        {
            "M": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": ROLE,
                    "DefinitionString": json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                    "EncryptionConfiguration": {"Type": "CUSTOMER_MANAGED_KMS_KEY", "KmsKeyId": KEY},
                    "TracingConfiguration": {"Enabled": True},
                },
            }
        }
    )
    sm = client("stepfunctions").describe_state_machine(stateMachineArn=ids["M"])
    assert (sm.get("encryptionConfiguration") or {}).get("type") == "CUSTOMER_MANAGED_KMS_KEY", (
        "state machine settings dropped"
    )
    assert (sm.get("tracingConfiguration") or {}).get("enabled") is True


def lambda_function() -> None:
    iam = client("iam")
    role = iam.create_role(
        RoleName=unique("fn-"), AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    ids = deploy(
        {
            "F": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": role,
                    "Code": {"ZipFile": "def handler(e, c): pass"},
                    "KmsKeyArn": KEY,
                    "TracingConfig": {"Mode": "Active"},
                },
            }
        }
    )
    cfg = client("lambda").get_function_configuration(FunctionName=ids["F"])
    assert cfg.get("KMSKeyArn") == KEY and (cfg.get("TracingConfig") or {}).get("Mode") == "Active", (
        "function CMK or tracing dropped"
    )


def function_url() -> None:
    """A stack with a function URL whose value another resource reads (as the broker's output does)."""
    iam = client("iam")
    role = iam.create_role(
        RoleName=unique("fn-"), AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    ids = deploy(
        {
            "F": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": role,
                    "Code": {"ZipFile": "def handler(e, c): pass"},
                },
            },
            "U": {
                "Type": "AWS::Lambda::Url",
                "Properties": {"TargetFunctionArn": {"Fn::GetAtt": ["F", "Arn"]}, "AuthType": "AWS_IAM"},
            },
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": unique("/url-"),
                    "Type": "String",
                    "Value": {"Fn::GetAtt": ["U", "FunctionUrl"]},
                },
            },
        }
    )
    config = client("lambda").get_function_url_config(FunctionName=ids["F"])
    assert config["AuthType"] == "AWS_IAM"
    value = client("ssm").get_parameter(Name=ids["P"])["Parameter"]["Value"]
    assert value == config["FunctionUrl"], value


def queue_policy() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sqs:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    ids = deploy(
        {
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "P": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Q"}], "PolicyDocument": policy}},
        }
    )
    attrs = client("sqs").get_queue_attributes(QueueUrl=ids["Q"], AttributeNames=["Policy"])["Attributes"]
    assert json.loads(attrs.get("Policy", "{}")) == policy


# patch -> (scenario, the patches it needs besides itself, how the scenario fails without the patch)
SCENARIOS: dict[str, tuple[Callable[[], None], tuple[str, ...], str]] = {
    "kms.key-tags-and-policy": (kms_key, (), r"KeyError: 'TagKey'"),
    "kms.conditional-deny": (kms_conditional_deny, ("kms.key-tags-and-policy",), r"AccessDeniedException"),
    "iam.role-policies": (role_policies, (), r"AssertionError: managed policy not attached"),
    "ssm.parameter-tags": (ssm_parameter, (), r"TypeError: string indices must be integers"),
    "rds.cluster-model": (rds_cluster, ("rds.subnet-group-physical-id",), r"KeyError: 'C'"),
    "rds.instance-in-cluster": (
        rds_instances,
        ("rds.cluster-model", "rds.subnet-group-physical-id"),
        r"KeyError: 'aurora-postgresql'",
    ),
    "rds.subnet-group-physical-id": (rds_subnet_group, (), r"AssertionError: subnet group has no physical ID"),
    "logs.log-group-cmk": (log_group, (), r"AssertionError: log group lost its CMK"),
    "logs.log-group-arn": (log_group_arn, (), r"AssertionError: log group ARN lacks the documented :\*"),
    "ec2.ingress-physical-id": (ingress_rule, (), r"ValueError: not enough values to unpack"),
    "ec2.security-group-egress": (security_group_egress, (), r"AssertionError: default egress kept"),
    "ec2.route-table-association": (route_table_association, (), r"AssertionError: association not visible"),
    "ec2.vpc-endpoint-policy": (
        endpoint_policy,
        (),
        r"JSONDecodeError: Expecting property name enclosed in double quotes",
    ),
    "backup.vault-and-plan-models": (backup_vault_and_plan, (), r"KeyError: 'V'"),
    "s3.bucket-properties": (bucket_properties, (), r"AssertionError: bucket settings dropped"),
    "s3.bucket-policy-model": (bucket_policy, (), r"NoSuchBucketPolicy"),
    "s3.policy-conditions": (bucket_policy_over_tls, ("s3.bucket-policy-model",), r"\(403\).*PutObject"),
    "cloudwatch.alarm-model": (alarm, (), r"AssertionError: alarm not created"),
    "elbv2.listener-attributes": (listener_attributes, (), r"AssertionError: HSTS attribute dropped"),
    "elbv2.load-balancer-attributes": (
        load_balancer_attributes,
        (),
        r"AssertionError: load balancer attribute dropped",
    ),
    "elbv2.target-group-attributes": (
        target_group_full_name,
        (),
        r"'FakeTargetGroup' object has no attribute 'get_cfn_attribute'",
    ),
    "stepfunctions.state-machine-settings": (state_machine, (), r"AssertionError: state machine settings dropped"),
    "lambda.cmk-and-tracing": (lambda_function, (), r"AssertionError: function CMK or tracing dropped"),
    "lambda.function-url": (function_url, ("ssm.parameter-tags",), r"Fn::GetAtt references undefined resource U"),
    "sqs.queue-policy-model": (queue_policy, (), r"KeyError: 'Attributes'"),
}


def test_every_patch_has_a_scenario() -> None:
    assert set(SCENARIOS) == {p.name for p in patches.PATCHES}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_scenario_fails_without_the_patch_and_passes_with_it(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_patches, "TLS_ONLY", True)  # the emulator's transport (server.py)
    scenario, needs, failure = SCENARIOS[name]
    with patches.applied(needs):
        try:
            scenario()
        except Exception as exc:
            seen = f"{type(exc).__name__}: {exc}"
        else:
            seen = "no failure"
    assert re.search(failure, seen), f"without {name}: expected {failure!r}, got {seen!r}"
    with patches.applied((*needs, name)):
        scenario()


@pytest.mark.parametrize(("tls", "allowed"), [(True, True), (False, False)])
def test_bucket_policy_refuses_requests_without_tls(monkeypatch: pytest.MonkeyPatch, tls: bool, allowed: bool) -> None:
    monkeypatch.setattr(s3_patches, "TLS_ONLY", tls)
    with patches.applied(["s3.bucket-policy-model", "s3.policy-conditions"]):
        if allowed:
            bucket_policy_over_tls()
        else:
            with pytest.raises(client("s3").exceptions.ClientError, match="403"):
                bucket_policy_over_tls()


def _moto_state() -> dict[str, Any]:
    """Every moto attribute a patch touches, by identity: equal before and after means restored."""
    from moto.awslambda.models import LambdaFunction
    from moto.backup.models import Plan, Vault
    from moto.cloudwatch.models import Alarm
    from moto.core.common_models import CloudFormationModel
    from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupIngress
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.elbv2.models import FakeListener, FakeLoadBalancer, FakeTargetGroup
    from moto.iam import policy_conditions
    from moto.iam.models import Role
    from moto.kms.models import Key
    from moto.logs.models import LogGroup
    from moto.rds.models import DBCluster, DBInstance, DBSubnetGroup
    from moto.s3.models import FakeBucket
    from moto.ssm.models import Parameter
    from moto.stepfunctions.models import StateMachine

    classes = (
        Role,
        LambdaFunction,
        Plan,
        Vault,
        Alarm,
        SecurityGroupIngress,
        SecurityGroup,
        SubnetRouteTableAssociation,
        VPCEndPoint,
        FakeListener,
        FakeLoadBalancer,
        FakeTargetGroup,
        Key,
        LogGroup,
        DBCluster,
        DBInstance,
        DBSubnetGroup,
        FakeBucket,
        Parameter,
        StateMachine,
    )
    state: dict[str, Any] = {f"{c.__name__}.{k}": id(v) for c in classes for k, v in vars(c).items()}
    state["conditions"] = dict(policy_conditions.CONDITION_OPERATIONS)
    from moto.kms import policy_validator

    state["kms.check_statement"] = id(policy_validator.check_statement)
    state["models"] = sorted(m.__qualname__ for m in CloudFormationModel.__subclasses__())
    return state


def test_removing_the_patches_restores_moto_exactly() -> None:
    before = _moto_state()
    with patches.applied():
        during = _moto_state()
        assert during != before
        assert {
            "CfnDBCluster",
            "CfnBackupVault",
            "CfnBucketPolicy",
            "CfnAlarm",
            "CfnQueuePolicy",
            "CfnSecurityGroupEgress",
        } <= {m.rsplit(".", 1)[-1] for m in during["models"]}
    assert _moto_state() == before


def test_a_stack_after_removal_behaves_as_unpatched_moto() -> None:
    with patches.applied():
        kms_key()
    with pytest.raises(KeyError, match="TagKey"):  # the tag-format crash is back
        kms_key()


def test_version_pin_refuses_another_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "5.9.9")
    with pytest.raises(RuntimeError, match=r"targets moto 5\.2\.5, found 5\.9\.9"):
        patches.apply()


def test_generated_rds_identifiers_are_valid_and_unique() -> None:
    from local_aws.patches.base import rds_identifier

    long = "trustbase-ap-southeast-2-data-AuroraClusterInstanceapsoutheast2{}4E075F2E-ABCDEFGH"
    ids = {rds_identifier(long.format(az)) for az in "abc"}
    assert len(ids) == 3
    for i in ids:
        assert len(i) <= 63 and i[0].isalpha() and "--" not in i and not i.endswith("-") and i == i.lower()


def test_provenance_names_one_patch_per_check() -> None:
    prov = patches.provenance()
    assert prov["s3.versioning"].name == "s3.bucket-properties"
    assert prov["elbv2.hsts"].name == "elbv2.listener-attributes"
    assert "kms.rotation" not in prov and "s3.encryption" not in prov  # moto's own values: PASS
