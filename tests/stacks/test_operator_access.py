"""The database operator's path (config operator_access, off by default): absent by default; when on,
eu-west-1 synthesizes through all four nag packs, every gate passes, and the path is exactly a
port forward through a host that admits nobody, to Aurora as trustbase_dr."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import posture_checks as pc
from access_paths.assembly import Assembly as Resolved
from access_paths.evaluator import evaluate
from access_paths.gate import evaluate_path, prepare
from access_paths.model import RegionModel
from access_paths.table import intended
from config import AppConfig
from policy_gates import evaluate as gate
from stacks.region import stack_name
from tests.access_paths.test_paths import _sides
from tests.conftest import Assembly, only

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def operator_config(app_config: AppConfig) -> AppConfig:
    return replace(app_config, regions=(replace(app_config.region(REGION), operator_access=True),))


@pytest.fixture(scope="module")
def operator_out(operator_config: AppConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app import build_app

    outdir = tmp_path_factory.mktemp("operator")
    app, _ = build_app(operator_config, outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    app.synth()  # raises ValidationFailed on any unacknowledged nag finding
    return outdir


def template(outdir: Path, part: str) -> dict[str, Any]:
    import json

    return dict(json.loads((outdir / f"{stack_name(REGION, part)}.template.json").read_text()))


def test_off_by_default(assembly: Assembly) -> None:
    network = assembly.template(stack_name(REGION, "network"))
    assert pc.resources(network, "AWS::EC2::Instance") == {}
    names = {str(e["Properties"]["ServiceName"]) for e in pc.resources(network, "AWS::EC2::VPCEndpoint").values()}
    assert not any("ssm" in n or "ec2messages" in n for n in names)
    detection = assembly.template(stack_name(REGION, "detection"))
    assert not [r for r in pc.resources(detection, "AWS::IAM::Role").values() if "database-operator" in str(r)]


def test_every_gate_passes_with_it_on(operator_out: Path, operator_config: AppConfig) -> None:
    result = gate(operator_out, app_config=operator_config, external_tools=False)
    assert result.ok, result.report()


def test_the_operator_paths_work_and_need_each_side(operator_out: Path) -> None:
    model = RegionModel.build(Resolved.load(operator_out), REGION)
    rows = [p for p in intended(model) if p.family == "operator"]
    assert len(rows) == 7
    for path in rows:
        request, policies = prepare(model, path)
        decision = evaluate(request, policies)
        assert decision.allowed, evaluate_path(model, path).message()
        for side, without in _sides(decision.allowed_by, policies):
            assert not evaluate(request, without).allowed, (path.name, side)


def test_the_host_admits_nobody_and_reaches_only_aurora_and_the_endpoints(operator_out: Path) -> None:
    network = template(operator_out, "network")
    host = only(pc.resources(network, "AWS::EC2::Instance"))["Properties"]
    assert host["AvailabilityZone"] == "eu-west-1c"  # not the AZ the AZ-loss drill takes down
    assert host["DisableApiTermination"] is True and host["EbsOptimized"] is True
    assert host["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert "NetworkInterfaces" not in host  # no public IP: a private app subnet
    template_data = only(pc.resources(network, "AWS::EC2::LaunchTemplate"))["Properties"]["LaunchTemplateData"]
    assert template_data["MetadataOptions"] == {"HttpTokens": "required"}  # IMDSv2 only
    operator_sg = only(
        {k: k for k in pc.resources(network, "AWS::EC2::SecurityGroup") if k.startswith("TiersOperator")}
    )
    ingress = [
        r
        for r in pc.resources(network, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [operator_sg, "GroupId"]}
    ]
    assert ingress == []
    egress = {
        (r["Properties"].get("DestinationSecurityGroupId", {}).get("Fn::GetAtt", [""])[0], r["Properties"]["FromPort"])
        for r in pc.resources(network, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [operator_sg, "GroupId"]}
    }
    assert egress == {("TiersDatabase3C71D9A3", 5532), ("NetworkEndpointSecurityGroup6DEF6240", 443)}
    endpoints = {
        str(e["Properties"]["ServiceName"]).rsplit(".", 1)[-1]: e["Properties"]
        for e in pc.resources(network, "AWS::EC2::VPCEndpoint").values()
    }
    for service in ("ssm", "ssmmessages", "ec2messages"):
        (statement,) = endpoints[service]["PolicyDocument"]["Statement"]
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}


def test_the_operator_role_port_forwards_only(operator_out: Path) -> None:
    detection = template(operator_out, "detection")
    role = next(
        r["Properties"]
        for r in pc.resources(detection, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == f"trustbase-database-operator-{REGION}"
    )
    assert role["MaxSessionDuration"] == 3600
    # No standing access: only the database-operator elevation's permission set opens it.
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition == {  # closed until the elevation workflow opens it for a window
        "ArnLike": {
            "aws:PrincipalArn": (
                "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_tb-euw1-database-operator_*"
            )
        },
        "DateLessThan": {"aws:CurrentTime": "1970-01-01T00:00:00Z"},
    }
    policy = only(
        {k: v for k, v in pc.resources(detection, "AWS::IAM::ManagedPolicy").items() if k.startswith("OperatorAccess")}
    )
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(by_sid) == {"PortForwardThroughTheHostOnly", "EndOwnSessions", "ConnectAsDrUser"}
    documents = [r for r in by_sid["PortForwardThroughTheHostOnly"]["Resource"] if "document/" in str(r)]
    assert str(documents).count("AWS-StartPortForwardingSessionToRemoteHost") == 1 and len(documents) == 1
    # the cluster and the restore drill's copies (new resource IDs), as trustbase_dr only
    assert ":dbuser:*/trustbase_dr" in json.dumps(by_sid["ConnectAsDrUser"]["Resource"])


def test_every_session_start_raises_an_alarm(assembly: Assembly) -> None:
    audit = assembly.template(stack_name(REGION, "audit"))
    patterns = [f["Properties"]["FilterPattern"] for f in pc.resources(audit, "AWS::Logs::MetricFilter").values()]
    assert '{ ($.eventSource = "ssm.amazonaws.com") && ($.eventName = "StartSession") }' in patterns
