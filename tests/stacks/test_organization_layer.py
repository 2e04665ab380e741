"""The optional organization layer: a Region-deny SCP and an identity-perimeter RCP, synthesized
from config and evaluated offline (the SCP as a ceiling on every principal, the RCP as Deny
statements on a resource whose own policy was planted open)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from access_paths.evaluator import Policies, PolicyKind, Principal, Request, evaluate, parse_policy
from app import build_app
from config import ConfigError, load_config
from tests.conftest import only
from tests.stacks.variants import eu_west_1

ORG = "o-a1b2c3d4e5"
ACCOUNT = "123456789012"
BUCKET = "arn:aws:s3:::customer-data"


def _raw(**perimeter: Any) -> dict[str, Any]:
    return eu_west_1(perimeter=perimeter)


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    config = load_config(
        _raw(organization_id=ORG, organization_targets=["ou-a1b2-c3d4e5f6"], management_account="111122223333"),
        account=ACCOUNT,
    )
    outdir = tmp_path_factory.mktemp("orglayer")
    app, _ = build_app(config, outdir=str(outdir))
    app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert manifest["artifacts"]["trustbase-organization"]["environment"] == "aws://111122223333/us-east-1"
    template = json.loads((outdir / "trustbase-organization.template.json").read_text())
    found = {
        r["Properties"]["Type"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Organizations::Policy"
    }
    assert set(found) == {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}
    for props in found.values():
        assert props["TargetIds"] == ["ou-a1b2-c3d4e5f6"]
    return {t: p["Content"] for t, p in found.items()}


def test_no_organization_layer_by_default(tmp_path: Path) -> None:
    config = load_config(_raw(), account=ACCOUNT)
    app, _ = build_app(config, outdir=str(tmp_path))
    assert "trustbase-organization" not in [c.node.id for c in app.node.children]


def _allow_all() -> Any:
    return parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        kind=PolicyKind.IDENTITY,
        where="administrator",
    )


def _under_scp(scp: dict[str, Any], action: str, region: str) -> bool:
    """SCPs are a ceiling like a boundary: FullAWSAccess plus the SCP's Deny."""
    ceiling = parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, *scp["Statement"]]},
        kind=PolicyKind.BOUNDARY,
        where="SCPs",
    )
    who = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/any-role")
    request = Request(who, action, "*", ACCOUNT, {"aws:RequestedRegion": (region,)})
    return evaluate(request, Policies(identity=(_allow_all(),), boundary=ceiling)).allowed


@pytest.mark.parametrize(
    ("action", "region", "allowed"),
    [
        ("s3:GetObject", "eu-west-1", True),  # the hosting region
        ("kms:Decrypt", "us-east-1", True),  # Identity Center's home region (the shipped [access])
        ("s3:GetObject", "sa-east-1", False),
        ("ec2:RunInstances", "ap-southeast-1", False),
        ("iam:CreateRole", "us-east-1", True),  # a global service
        ("sts:AssumeRole", "us-east-1", True),
    ],
)
def test_the_scp_denies_every_region_but_the_hosting_ones(
    policies: dict[str, Any], action: str, region: str, allowed: bool
) -> None:
    assert _under_scp(policies["SERVICE_CONTROL_POLICY"], action, region) is allowed


PLANTED_OPEN = {
    "Sid": "Planted",
    "Effect": "Allow",
    "Principal": "*",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": f"{BUCKET}/*",
}


def _bucket(rcp: dict[str, Any] | None, who: Principal, action: str, context: dict[str, str]) -> bool:
    statements = [PLANTED_OPEN, *(rcp["Statement"] if rcp else [])]
    resource = parse_policy({"Statement": statements}, kind=PolicyKind.RESOURCE, where="bucket + RCP")
    ctx = {"aws:SecureTransport": ("true",), **{k: (v,) for k, v in context.items()}}
    if who.service:
        ctx["aws:PrincipalIsAWSService"] = ("true",)
    else:
        ctx |= {"aws:PrincipalIsAWSService": ("false",), "aws:PrincipalAccount": (who.account,)}
    request = Request(who, action, f"{BUCKET}/x", ACCOUNT, ctx)
    identity = () if who.service else (_allow_all(),)
    return evaluate(request, Policies(identity=identity, resource=resource)).allowed


OUTSIDER = Principal.role("arn:aws:iam::999999999999:role/attacker")
MEMBER = Principal.role("arn:aws:iam::444455556666:role/reader")
ELB_EU_WEST_1 = Principal.role("arn:aws:iam::156460612806:role/elb-log-delivery")


def test_the_rcp_keeps_another_organization_out_of_a_bucket_planted_open(policies: dict[str, Any]) -> None:
    rcp = policies["RESOURCE_CONTROL_POLICY"]
    assert _bucket(None, OUTSIDER, "s3:GetObject", {}) is True  # the planted grant alone opens the bucket
    assert _bucket(rcp, OUTSIDER, "s3:GetObject", {}) is False  # the RCP keeps it shut
    assert _bucket(rcp, MEMBER, "s3:GetObject", {"aws:PrincipalOrgID": ORG}) is True
    assert _bucket(rcp, MEMBER, "s3:GetObject", {"aws:PrincipalOrgID": ORG, "aws:SecureTransport": "false"}) is False
    # ELB log delivery of the hosting region (its account, in regions older than August 2022)
    assert _bucket(rcp, ELB_EU_WEST_1, "s3:PutObject", {}) is True
    # a resource tagged dp:exclude:identity=true is the documented escape hatch
    assert _bucket(rcp, OUTSIDER, "s3:GetObject", {"aws:ResourceTag/dp:exclude:identity": "true"}) is True


def test_the_rcp_admits_services_only_on_behalf_of_the_organization(policies: dict[str, Any]) -> None:
    rcp = policies["RESOURCE_CONTROL_POLICY"]
    logging = Principal.of_service("logging.s3.amazonaws.com")
    ours = {"aws:SourceAccount": ACCOUNT, "aws:SourceOrgID": ORG}
    theirs = {"aws:SourceAccount": "999999999999", "aws:SourceOrgID": "o-zzzzzzzzzz"}
    assert _bucket(rcp, logging, "s3:PutObject", ours) is True
    assert _bucket(rcp, logging, "s3:PutObject", theirs) is False  # confused deputy


@pytest.mark.parametrize(
    ("perimeter", "says"),
    [
        ({"organization_targets": ["r-a1b2"]}, "needs organization_id"),
        ({"organization_id": ORG, "organization_targets": ["root"]}, "is not a root, OU or account ID"),
        ({"organization_id": ORG, "organization_targets": "r-a1b2"}, "must be a list"),
        ({"organization_id": ORG, "organization_targets": ["r-a1b2", "r-a1b2"]}, "listed twice"),
        ({"organization_id": ORG, "management_account": "1111"}, "is not a 12-digit account ID"),
    ],
)
def test_bad_organization_layer_settings_name_the_field(perimeter: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(_raw(**perimeter), account=ACCOUNT)
    assert any(p.startswith("perimeter: field '") and says in p and "Fix: " in p for p in exc.value.problems)


def test_the_identity_perimeter_names_the_organization(policies: dict[str, Any]) -> None:
    statement = only(
        {s["Sid"]: s for s in policies["RESOURCE_CONTROL_POLICY"]["Statement"] if s["Sid"] == "EnforceOrgIdentities"}
    )
    assert statement["Condition"]["StringNotEqualsIfExists"]["aws:PrincipalOrgID"] == ORG
    assert statement["Condition"]["StringNotEqualsIfExists"]["aws:PrincipalAccount"] == ["156460612806"]
