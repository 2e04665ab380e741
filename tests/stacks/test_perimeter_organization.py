"""[perimeter] organization_id: the resource and endpoint perimeters admit this organization
instead of this account; the access paths still hold, and another account (outside the
organization) is still denied at the endpoint, the bucket and the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from access_paths.assembly import Assembly
from access_paths.gate import check
from app import build_app
from config import ConfigError, load_config
from tests.stacks.variants import eu_west_1

ORG = "o-a1b2c3d4e5"
ACCOUNT = "123456789012"


def _raw(**perimeter: Any) -> dict[str, Any]:
    return eu_west_1(perimeter=perimeter)


@pytest.fixture(scope="module")
def org_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_config(_raw(organization_id=ORG), account=ACCOUNT)
    assert config.perimeter.organization_id == ORG
    outdir = tmp_path_factory.mktemp("org")
    app, _ = build_app(config, outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    app.synth()
    return outdir


def _template(outdir: Path, part: str) -> dict[str, Any]:
    return dict(json.loads((outdir / f"trustbase-eu-west-1-{part}.template.json").read_text()))


def _statements(outdir: Path, part: str, rtype: str, path: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for res in _template(outdir, part)["Resources"].values():
        if res["Type"] == rtype:
            doc = res["Properties"]
            for key in path:
                doc = doc[key]
            out += doc["Statement"]
    return out


def test_keys_buckets_and_queues_deny_principals_outside_the_organization(org_out: Path) -> None:
    perimeter = [
        *(s for s in _statements(org_out, "keys", "AWS::KMS::Key", ("KeyPolicy",))),
        *(
            s
            for part in ("data", "audit")
            for s in _statements(org_out, part, "AWS::S3::BucketPolicy", ("PolicyDocument",))
        ),
        *(
            s
            for part in ("lifecycle", "detection")
            for s in _statements(org_out, part, "AWS::SQS::QueuePolicy", ("PolicyDocument",))
        ),
    ]
    denies = [s for s in perimeter if s.get("Sid") == "DenyOutsideThisOrganization"]
    assert len(denies) == 6 + 3 + 5  # 6 keys, customer + audit + Config buckets, 5 queues (as without an org)
    for s in denies:
        assert s["Condition"] == {
            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        }
    assert not [s for s in perimeter if s.get("Sid") == "DenyOutsideThisAccount"]


def test_endpoint_policies_admit_the_organization(org_out: Path) -> None:
    endpoints = [
        r["Properties"]
        for r in _template(org_out, "network")["Resources"].values()
        if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert endpoints
    for props in endpoints:
        (statement,) = props["PolicyDocument"]["Statement"]
        assert statement["Sid"] == "ThisOrganizationOnly"
        conditions = statement["Condition"]["StringEquals"]
        assert conditions["aws:PrincipalOrgID"] == ORG
        assert "aws:PrincipalAccount" not in conditions
        assert conditions.get("aws:ResourceOrgID") in (ORG, None)
    assert any(
        p["PolicyDocument"]["Statement"][0]["Condition"]["StringEquals"].get("aws:ResourceOrgID") == ORG
        for p in endpoints
    )


def test_every_access_path_holds_with_the_organization_perimeter(org_out: Path) -> None:
    """Intended paths carry aws:PrincipalOrgID (the account is in the organization); another account
    has none, so the external family stays denied."""
    assert check(Assembly.load(org_out)) == []


@pytest.mark.parametrize("value", ["o-short", "O-A1B2C3D4E5", "r-a1b2", 12])
def test_a_bad_organization_id_names_the_field(value: Any) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(_raw(organization_id=value), account=ACCOUNT)
    (problem,) = exc.value.problems
    assert problem.startswith("perimeter: field 'organization_id': ") and "describe-organization" in problem


def test_an_unknown_perimeter_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="did you mean 'organization_id'"):
        load_config(_raw(organisation_id=ORG), account=ACCOUNT)
