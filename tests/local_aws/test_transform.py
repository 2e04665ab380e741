"""The template transform and the deploy order, without an emulator."""

from __future__ import annotations

from typing import Any

import pytest

from local_aws.assembly import listener_certificates, localize, stacks_in_order
from tests.conftest import Assembly

TEMPLATE = {
    "Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Restrict": {
            "Type": "Custom::VpcRestrictDefaultSG",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}},
        },
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {}, "DependsOn": ["Restrict", "Fn"]},
        "Https": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {"Certificates": [{"CertificateArn": "arn:real"}]},
        },
    }
}


def test_localize_drops_lambda_backed_custom_resources_and_swaps_certificates() -> None:
    local = localize(TEMPLATE, {"arn:real": "arn:local"})
    out = local.template
    assert "Restrict" not in out["Resources"] and out["Resources"]["Vpc"]["DependsOn"] == ["Fn"]
    assert out["Resources"]["Https"]["Properties"]["Certificates"] == [{"CertificateArn": "arn:local"}]
    assert set(local.dropped) == {"Restrict"} and local.dropped["Restrict"]["type"] == "Custom::VpcRestrictDefaultSG"
    assert set(local.changed) == {"Https"} and len(local.changed["Https"]) > 20
    assert "Restrict" in TEMPLATE["Resources"]  # the input is not modified
    assert listener_certificates(TEMPLATE) == {"arn:real"}


def test_localize_refuses_to_drop_a_resource_others_reference() -> None:
    referenced = {
        "Resources": {
            **TEMPLATE["Resources"],
            "Out": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Ref": "Restrict"}}},
        }
    }
    with pytest.raises(ValueError, match="cannot drop Restrict"):
        localize(referenced)


def test_stacks_deploy_dependencies_first(assembly: Assembly) -> None:
    ordered = stacks_in_order(assembly.outdir)
    names = [a.name for a in ordered]
    for art in ordered:
        for dep in art.dependencies:
            assert names.index(dep) < names.index(art.name), (dep, art.name)
    assert {a.region for a in ordered} == {r.name for r in assembly.config.regions}
    assert all(a.assets_file and a.assets_file.exists() for a in ordered)


def test_unknown_region_is_a_clear_error(assembly: Assembly) -> None:
    with pytest.raises(ValueError, match="mars-north-1: no stacks for it"):
        stacks_in_order(assembly.outdir, ["mars-north-1"])


def test_localize_removes_only_the_customer_buckets_vpc_statement() -> None:
    """No request to the emulator comes through a VPC endpoint: the aws:SourceVpce Deny would refuse
    the drills' and verify's calls, so it alone goes, with the reason; the other statements stay."""
    keep = {
        "Sid": "DenyOutsideThisAccount",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": "*",
    }
    vpc = {
        "Sid": "DenyDataPlaneOutsideTheVpc",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:GetObject",
        "NotResource": "arn:aws:s3:::b/workspaces/_dr-drill/*",
    }
    template: dict[str, Any] = {
        "Resources": {
            "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": "b", "PolicyDocument": {"Version": "2012-10-17", "Statement": [keep, vpc]}},
            }
        }
    }
    local = localize(template)
    assert local.template["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"] == [keep]
    assert "no VPC endpoints" in local.changed["Policy"]
    assert template["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"] == [keep, vpc]  # a copy
