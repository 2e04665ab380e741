"""Sign-in only through the identity provider, and no standing access to customer data, in the
synthesized templates: Identity Center (the shipped config) and the SAML fallback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import build_app
from config import AppConfig, load_config
from elevation.trust import closed_trust
from tests.conftest import Assembly, only
from tests.stacks.variants import eu_west_1

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
METADATA = Path(__file__).parents[1] / "config" / "data" / "idp-metadata.xml"


def roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def opened_by_account(trust: dict[str, Any]) -> list[dict[str, Any]]:
    """Trust statements that admit principals of the account (root principal) with no condition
    naming who (aws:PrincipalArn): any IAM user or role of the account with sts:AssumeRole."""
    return [
        s
        for s in trust["Statement"]
        if s.get("Principal", {}).get("AWS")
        in (ROOT, {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{ACCOUNT}:root"]]})
        and not any("aws:PrincipalArn" in block for block in s.get("Condition", {}).values())
    ]


def test_only_break_glass_is_open_to_account_principals(assembly: Assembly) -> None:
    """Every human role trusts the identity provider's roles only; break-glass is the exception."""
    open_roles: list[str] = []
    for stack in assembly.stack_names:
        for props in roles(assembly.template(stack)).values():
            if opened_by_account(props["AssumeRolePolicyDocument"]):
                open_roles.append(str(props.get("RoleName")))
    assert sorted(open_roles) == [
        "trustbase-break-glass-ap-southeast-2",
        "trustbase-break-glass-eu-west-1",
        "trustbase-break-glass-us-east-1",
    ]


def test_the_auditor_and_the_elevation_are_opened_only_by_their_permission_sets(assembly: Assembly) -> None:
    by_name = {p.get("RoleName"): p for p in roles(assembly.template("trustbase-eu-west-1-detection")).values()}
    for role, permission_set in (
        ("trustbase-auditor-eu-west-1", "tb-euw1-auditor"),
        ("trustbase-eu-west-1-elevation-customer-data-read", "tb-euw1-customer-data-read"),
    ):
        (statement,) = by_name[role]["AssumeRolePolicyDocument"]["Statement"]
        expected: dict[str, Any] = {
            "ArnLike": {
                "aws:PrincipalArn": (
                    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{permission_set}_*"
                )
            }
        }
        if "elevation" in role:  # deployed closed: only the workflow opens it, for a window
            expected["DateLessThan"] = {"aws:CurrentTime": "1970-01-01T00:00:00Z"}
        assert statement["Condition"] == expected
        assert by_name[role]["MaxSessionDuration"] == (14400 if "auditor" in role else 3600)


def test_identity_center_permission_sets_do_one_thing_each(assembly: Assembly) -> None:
    template = assembly.template("trustbase-identity")
    sets = {
        v["Properties"]["Name"]: v["Properties"]
        for v in template["Resources"].values()
        if v["Type"] == "AWS::SSO::PermissionSet"
    }
    assert sorted(sets) == sorted(
        f"tb-{r}-{w}"
        for r in ("use1", "euw1", "apse2")
        for w in ("auditor", "requester", "approver", "customer-data-read")
    )
    for name, props in sets.items():
        assert props["SessionDuration"] == "PT1H"
        region = {"use1": "us-east-1", "euw1": "eu-west-1", "apse2": "ap-southeast-2"}[name.split("-")[1]]
        assert props["PermissionsBoundary"] == {
            "CustomerManagedPolicyReference": {"Name": f"trustbase-permissions-boundary-{region}"}
        }
        actions = sorted(
            {
                a
                for s in props["InlinePolicy"]["Statement"]
                for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            }
        )
        resources = {s["Resource"] for s in props["InlinePolicy"]["Statement"]}
        assert len(resources) == 1
        if name.endswith(("requester", "approver")):
            assert actions == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
            assert resources == {f"arn:aws:lambda:{region}:{ACCOUNT}:function:trustbase-{region}-elevation-broker"}
        elif name.endswith("auditor"):
            assert actions == ["sts:AssumeRole"]
        else:  # an elevation: assume its role, tagging the session with the approved workspace
            assert actions == ["sts:AssumeRole", "sts:TagSession"]
        if not name.endswith(("requester", "approver")):
            (resource,) = resources
            assert resource.startswith(f"arn:aws:iam::{ACCOUNT}:role/trustbase-") and region in resource


def test_the_broker_url_requires_signed_requests(assembly: Assembly) -> None:
    template = assembly.template("trustbase-eu-west-1-detection")
    url = only({k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Url"})
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    assert not [v for v in template["Resources"].values() if v["Type"] == "AWS::Lambda::Permission"]


# --------------------------------------------------------------------------- SAML fallback
@pytest.fixture(scope="module")
def saml(tmp_path_factory: pytest.TempPathFactory) -> tuple[AppConfig, Path]:
    raw = eu_west_1()
    raw["access"] = {"identity_source": "saml", "home_region": "eu-west-1", "saml_metadata_file": str(METADATA)}
    config = load_config(raw, account=ACCOUNT)
    outdir = tmp_path_factory.mktemp("saml")
    app, _ = build_app(config, outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    app.synth()
    return config, outdir


def _template(outdir: Path, stack: str) -> dict[str, Any]:
    return dict(json.loads((outdir / f"{stack}.template.json").read_text()))


def test_saml_roles_trust_only_the_provider_and_the_elevation_starts_closed(saml: tuple[AppConfig, Path]) -> None:
    _config, outdir = saml
    by_name = {p.get("RoleName"): p for p in roles(_template(outdir, "trustbase-eu-west-1-detection")).values()}
    provider = f"arn:aws:iam::{ACCOUNT}:saml-provider/trustbase-idp"
    for role in ("trustbase-auditor-eu-west-1", "trustbase-eu-west-1-requester", "trustbase-eu-west-1-approver"):
        (statement,) = by_name[role]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Federated": provider}
        assert statement["Action"] == "sts:AssumeRoleWithSAML"
        assert statement["Condition"] == {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    # The deployed trust is exactly the document the workflow restores at expiry (no drift).
    trust = by_name["trustbase-eu-west-1-elevation-customer-data-read"]["AssumeRolePolicyDocument"]
    restored = closed_trust(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/trustbase-eu-west-1-requester")
    assert trust == restored
    assert trust["Statement"][0]["Condition"]["DateLessThan"] == {"aws:CurrentTime": "1970-01-01T00:00:00Z"}


def test_saml_provider_and_the_boundary_carve_out(saml: tuple[AppConfig, Path]) -> None:
    _config, outdir = saml
    identity = _template(outdir, "trustbase-identity")
    provider = only({k: v for k, v in identity["Resources"].items() if v["Type"] == "AWS::IAM::SAMLProvider"})
    assert provider["Properties"]["Name"] == "trustbase-idp"
    assert 'entityID="https://idp.example.com/saml2"' in provider["Properties"]["SamlMetadataDocument"]
    keys = _template(outdir, "trustbase-eu-west-1-keys")
    boundary = only({k: v for k, v in keys["Resources"].items() if v["Type"] == "AWS::IAM::ManagedPolicy"})
    statements = {s.get("Sid"): s for s in boundary["Properties"]["PolicyDocument"]["Statement"]}
    role = f"arn:aws:iam::{ACCOUNT}:role/trustbase-eu-west-1-elevation-customer-data-read"
    assert statements["DenyPrivilegeEscalation"]["NotResource"] == role
    kept = statements["DenyElevationRoleChangesButTrust"]
    assert kept["Resource"] == role
    assert "iam:UpdateAssumeRolePolicy" not in kept["Action"] and "iam:PutRolePolicy" not in kept["Action"]
    assert {"iam:UpdateRole", "iam:PutRolePermissionsBoundary", "iam:Attach*", "iam:Delete*"} <= set(kept["Action"])


def test_every_access_path_holds_under_the_saml_fallback(saml: tuple[AppConfig, Path]) -> None:
    """The SAML variant through the gate: the requester role's real policy and boundary assume the
    elevation only while the workflow's trust is open (during: allowed; after, another person,
    before any approval: denied), and neither the approver nor an IAM user nor root ever can."""
    from access_paths.assembly import Assembly as Resolved
    from access_paths.gate import check, evaluate_path
    from access_paths.model import RegionModel
    from access_paths.table import forbidden, intended

    _config, outdir = saml
    resolved = Resolved.load(outdir)
    assert check(resolved) == []
    model = RegionModel.build(resolved, "eu-west-1")
    rows = [r for r in (*intended(model), *forbidden(model)) if r.who == "role:{detection:People/Requester/Role.Arn}"]
    assert {(r.elevation_window, r.expect.value) for r in rows} >= {
        ("during", "allow"),
        ("after", "deny"),
        ("another", "deny"),
        (None, "deny"),
    }
    during = next(r for r in rows if r.elevation_window == "during")
    assert evaluate_path(model, during).decision.allowed
