"""The deploy pipeline's way in: GitHub's OIDC provider and, per region, a deployer and a reader
role that only the configured repository's jobs can assume, with short-lived tokens (no access
keys), under a permissions boundary. Expected values are literals from the shipped config
([delivery] github_repository = "example-org/trustbase", deploy_branch = "main") and from GitHub's
and AWS's documentation (the `sub` formats, the audience sts.amazonaws.com, cdk bootstrap's role
names with the default qualifier hnb659fds)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

import posture_checks as pc
from config import AppConfig
from tests.conftest import Assembly

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
CICD = "trustbase-eu-west-1-cicd"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
ENVIRONMENT_SUB = "repo:example-org/trustbase:environment:trustbase-eu-west-1"
BRANCH_SUB = "repo:example-org/trustbase:ref:refs/heads/main"


def _roles(assembly: Assembly) -> dict[str, dict[str, Any]]:
    template = assembly.template(CICD)
    return {r["Properties"]["RoleName"]: r for r in pc.resources(template, "AWS::IAM::Role").values()}


def _policy_of(assembly: Assembly, role: dict[str, Any]) -> dict[str, Any]:
    template = assembly.template(CICD)
    (ref,) = role["Properties"]["ManagedPolicyArns"]
    policy: dict[str, Any] = template["Resources"][ref["Ref"]]["Properties"]["PolicyDocument"]
    return policy


def _actions(document: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for st in document["Statement"]:
        if st["Effect"] == "Allow":
            out |= {st["Action"]} if isinstance(st["Action"], str) else set(st["Action"])
    return out


def test_the_account_has_one_github_oidc_provider_in_the_identity_stack(assembly: Assembly) -> None:
    providers = [
        r
        for name in assembly.stack_names
        for r in pc.resources(assembly.template(name), "AWS::IAM::OIDCProvider").values()
    ]
    assert len(providers) == 1  # IAM: one provider per URL per account
    props = providers[0]["Properties"]
    assert props["Url"] == "https://token.actions.githubusercontent.com"
    assert props["ClientIdList"] == ["sts.amazonaws.com"]
    assert pc.resources(assembly.template("trustbase-identity"), "AWS::IAM::OIDCProvider")


def test_only_the_repositorys_region_environment_can_assume_the_deployer(assembly: Assembly) -> None:
    trust = _roles(assembly)["trustbase-eu-west-1-deployer"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": ENVIRONMENT_SUB,
                }
            },
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
        }
    ]


def test_the_reader_is_for_the_region_environment_and_the_deploy_branch_only(assembly: Assembly) -> None:
    (statement,) = _roles(assembly)["trustbase-eu-west-1-reader"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [ENVIRONMENT_SUB, BRANCH_SUB],
        }
    }


def test_the_deployer_may_only_assume_the_regions_cdk_bootstrap_roles_and_read_templates(assembly: Assembly) -> None:
    document = _policy_of(assembly, _roles(assembly)["trustbase-eu-west-1-deployer"])
    assume = [s for s in document["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert assume and assume[0]["Resource"] == [
        "arn:aws:iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-eu-west-1",
        "arn:aws:iam::123456789012:role/cdk-hnb659fds-file-publishing-role-123456789012-eu-west-1",
    ]
    assert _actions(document) == {"sts:AssumeRole", "cloudformation:DescribeStacks", "cloudformation:GetTemplate"}


def test_the_reader_reads_for_verify_and_drift_and_never_data(assembly: Assembly) -> None:
    document = _policy_of(assembly, _roles(assembly)["trustbase-eu-west-1-reader"])
    actions = _actions(document)
    for needed in (
        "cloudformation:DetectStackDrift",
        "cloudformation:DescribeStackDriftDetectionStatus",
        "cloudformation:DescribeStackResourceDrifts",
        "rds:DescribeDBClusters",
        "s3:GetEncryptionConfiguration",
        "kms:GetKeyPolicy",
        "ec2:DescribeSecurityGroups",
        "elasticloadbalancing:DescribeListeners",
        "iam:GetRole",
        "sns:Publish",
    ):
        assert needed in actions, needed
    for never in ("s3:GetObject", "secretsmanager:GetSecretValue", "iam:PassRole", "wafv2:AssociateWebACL"):
        assert never not in actions, never
    assert not [a for a in actions if "*" in a]  # no wildcard actions
    decrypt = [s for s in document["Statement"] if "kms:Decrypt" in s["Action"]]
    assert [s["Condition"] for s in decrypt] == [{"StringEquals": {"kms:ViaService": "sns.eu-west-1.amazonaws.com"}}]


def test_the_reader_can_read_every_resource_type_of_the_region_for_drift_detection(assembly: Assembly) -> None:
    """CloudFormation reads each resource with the caller's permissions: for every type in the
    region's stacks, the read permissions its resource schema lists (AWS's data, shipped by
    cfn-lint) are granted, except data reads and non-read verbs, which no type here needs."""
    from change_review.schema import read_permissions

    actions = {a.lower() for a in _actions(_policy_of(assembly, _roles(assembly)["trustbase-eu-west-1-reader"]))}
    missing: dict[str, list[str]] = {}
    for name in assembly.stack_names:
        if not name.startswith("trustbase-eu-west-1-"):
            continue
        for resource in assembly.template(name)["Resources"].values():
            for action in read_permissions(resource["Type"], REGION) or ():
                verb = action.split(":", 1)[1]
                if verb.startswith(("Describe", "Get", "List")) and action.lower() not in actions:
                    missing.setdefault(resource["Type"], []).append(action)
    # Left out on purpose: kms:Decrypt outside SNS (a data read), and a permission IAM does not have.
    assert {t: sorted(set(a)) for t, a in missing.items()} == {
        "AWS::EC2::VPCEndpoint": ["vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation"],
    }


def test_both_roles_carry_the_pipeline_boundary_which_admits_exactly_their_actions(assembly: Assembly) -> None:
    template = assembly.template(CICD)
    roles = _roles(assembly)
    boundary_ids = {r["Properties"]["PermissionsBoundary"]["Ref"] for r in roles.values()}
    assert len(boundary_ids) == 1
    boundary = template["Resources"][boundary_ids.pop()]["Properties"]
    assert boundary["ManagedPolicyName"] == "trustbase-pipeline-boundary-eu-west-1"
    ceiling = _actions(boundary["PolicyDocument"])
    for role in roles.values():
        assert _actions(_policy_of(assembly, role)) <= ceiling
    denials = {s["Sid"] for s in boundary["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"}
    assert {"DenyOtherRegions", "DenyPrivilegeEscalation", "DenyKeyAndBucketPolicyTampering"} <= denials


def test_the_workflows_use_the_roles_and_environments_the_stacks_trust() -> None:
    """The join between the workflows and the trust: the environment each deploy job names is the
    one in the deployer's `sub`, and the roles the jobs assume are the roles the stack creates."""
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())
    job = deploy["jobs"]["deploy"]
    assert job["environment"] == "trustbase-${{ matrix.region }}"
    assert job["strategy"]["max-parallel"] == 1 and job["strategy"]["fail-fast"] is True
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    roles = [s["with"]["role-to-assume"] for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert roles == [
        "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/trustbase-${{ matrix.region }}-deployer",
        "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/trustbase-${{ matrix.region }}-reader",
    ]
    text = "\n".join(p.read_text() for p in (ROOT / ".github/workflows").glob("*.yml"))
    assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text and "AWS_SECRET" not in text
    drift = yaml.safe_load((ROOT / ".github/workflows/drift.yml").read_text())
    assert "environment" not in drift["jobs"]["drift"]  # a scheduled job on main: the branch `sub`
    assert drift[True]["schedule"]  # PyYAML reads the key `on` as True


def test_without_delivery_there_is_no_pipeline(app_config: AppConfig, tmp_path: Path) -> None:
    from app import build_app

    config = replace(app_config, regions=(app_config.region(REGION),), delivery=None)
    app, regions = build_app(config, outdir=str(tmp_path))
    assert regions[REGION].cicd is None
    names = [s.stack_name for s in app.node.children if hasattr(s, "stack_name")]
    assert CICD not in names


@pytest.mark.parametrize("field", ["github_repository", "deploy_branch", "bootstrap_qualifier"])
def test_delivery_errors_name_the_field_and_the_fix(field: str) -> None:
    import tomllib

    from config import DEFAULT_CONFIG_FILE, ConfigError, load_config

    wrong = {"github_repository": "owner", "deploy_branch": "refs/heads/x", "bootstrap_qualifier": "far-too-long"}
    raw = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    raw["delivery"] = {**raw["delivery"], field: wrong[field]}
    with pytest.raises(ConfigError) as err:
        load_config(raw, account="123456789012")
    (line,) = [p for p in err.value.problems if f"field '{field}'" in p]
    assert line.startswith(f"delivery: field '{field}': {wrong[field]!r} is not") and "Fix: " in line
