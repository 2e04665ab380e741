"""Migrations run at deploy time in the data subnets: a CDK trigger, after the cluster and all its
instances, synchronously (an error fails the deploy), with the master secret only."""

from __future__ import annotations

import json

import posture_checks as pc
from config import RegionConfig
from stacks.region import stack_name
from tests.conftest import Assembly, only


def test_a_trigger_applies_the_migrations_after_the_whole_cluster(assembly: Assembly, region: RegionConfig) -> None:
    template = assembly.template(stack_name(region.name, "data"))
    trigger = only(pc.resources(template, "Custom::Trigger"))
    assert trigger["Properties"]["InvocationType"] == "RequestResponse"  # a failure fails the deploy
    assert trigger["Properties"]["Timeout"] == "600000"
    assert trigger["Properties"]["ExecuteOnHandlerChange"] is True  # new migrations run on the next deploy
    cluster = only({k: k for k in pc.resources(template, "AWS::RDS::DBCluster")})
    instances = set(pc.resources(template, "AWS::RDS::DBInstance"))
    assert len(instances) == 3 and {cluster, *instances} <= set(trigger["DependsOn"])
    version = trigger["Properties"]["HandlerArn"]["Ref"]
    function_id = template["Resources"][version]["Properties"]["FunctionName"]["Ref"]
    fn = template["Resources"][function_id]["Properties"]
    assert fn["Handler"] == "lifecycle.handlers.migrate"
    assert fn["Timeout"] == 540  # shorter than the trigger's wait
    assert fn["Environment"]["Variables"]["MASTER_SECRET_ARN"] == {
        "Fn::GetAtt": [cluster, "MasterUserSecret.SecretArn"]
    }
    vpc = json.dumps(fn["VpcConfig"]).lower()
    assert "datasubnetids" in vpc and "databaseadminsecuritygroupid" in vpc  # isolated subnets, own group


def test_the_migration_role_reads_only_the_master_secret(assembly: Assembly, region: RegionConfig) -> None:
    template = assembly.template(stack_name(region.name, "data"))
    policy = only(
        {k: v for k, v in pc.resources(template, "AWS::IAM::ManagedPolicy").items() if k.startswith("Migrations")}
    )
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "Sid" in s}
    cluster = only({k: k for k in pc.resources(template, "AWS::RDS::DBCluster")})
    assert by_sid["ReadMasterSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert by_sid["ReadMasterSecret"]["Resource"] == {"Fn::GetAtt": [cluster, "MasterUserSecret.SecretArn"]}
    assert by_sid["DecryptMasterSecretThroughSecretsManager"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{region.name}.amazonaws.com"}
    }
