"""Migrations run at deploy time in the data subnets: a CDK trigger in a stack of its own, after the
data stack (the cluster and all its instances), synchronously (an error fails the deploy), with the
master secret only."""

from __future__ import annotations

import json

import posture_checks as pc
from config import RegionConfig
from stacks.region import stack_name
from tests.conftest import Assembly, only


def test_a_trigger_applies_the_migrations_after_the_data_stack(assembly: Assembly, region: RegionConfig) -> None:
    template = assembly.template(stack_name(region.name, "migrations"))
    trigger = only(pc.resources(template, "Custom::Trigger"))
    assert trigger["Properties"]["InvocationType"] == "RequestResponse"  # a failure fails the deploy
    assert trigger["Properties"]["Timeout"] == "600000"
    assert trigger["Properties"]["ExecuteOnHandlerChange"] is True  # new migrations run on the next deploy
    deps = assembly.manifest["artifacts"][stack_name(region.name, "migrations")]["dependencies"]
    assert stack_name(region.name, "data") in deps  # the cluster and all its instances exist
    lifecycle_deps = assembly.manifest["artifacts"][stack_name(region.name, "lifecycle")]["dependencies"]
    assert stack_name(region.name, "migrations") in lifecycle_deps  # its users exist before the functions
    data = assembly.template(stack_name(region.name, "data"))
    assert pc.resources(data, "Custom::Trigger") == {}  # a failed migration never rolls the data stack back
    version = trigger["Properties"]["HandlerArn"]["Ref"]
    function_id = template["Resources"][version]["Properties"]["FunctionName"]["Ref"]
    fn = template["Resources"][function_id]["Properties"]
    assert fn["Handler"] == "lifecycle.handlers.migrate"
    assert fn["Timeout"] == 540  # shorter than the trigger's wait
    assert "datamastersecretarn" in json.dumps(fn["Environment"]["Variables"]["MASTER_SECRET_ARN"]).lower()
    vpc = json.dumps(fn["VpcConfig"]).lower()
    assert "datasubnetids" in vpc and "databaseadminsecuritygroupid" in vpc  # isolated subnets, own group


def test_the_migration_role_reads_only_the_master_secret(assembly: Assembly, region: RegionConfig) -> None:
    template = assembly.template(stack_name(region.name, "migrations"))
    policy = only(
        {k: v for k, v in pc.resources(template, "AWS::IAM::ManagedPolicy").items() if k.startswith("Migrations")}
    )
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "Sid" in s}
    assert by_sid["ReadMasterSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert "datamastersecretarn" in json.dumps(by_sid["ReadMasterSecret"]["Resource"]).lower()
    assert by_sid["DecryptMasterSecretThroughSecretsManager"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{region.name}.amazonaws.com"}
    }
    data = assembly.template(stack_name(region.name, "data"))
    link = only({k: v for k, v in pc.resources(data, "AWS::SSM::Parameter").items() if "MASTERSECRET" in k})
    cluster = only({k: k for k in pc.resources(data, "AWS::RDS::DBCluster")})
    assert link["Properties"]["Value"] == {"Fn::GetAtt": [cluster, "MasterUserSecret.SecretArn"]}
