"""The deploy pipeline's way in: GitHub's OIDC provider and, per region, a deployer and a reader
role that only the configured repository's jobs can assume, with short-lived tokens (no access
keys), under a permissions boundary. Expected values are literals from the shipped config
([delivery] github_repository = "example-org/trustbase", deploy_branch = "main") and from GitHub's
and AWS's documentation (the `sub` formats, the audience sts.amazonaws.com, cdk bootstrap's role
names with the default qualifier hnb659fds)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

import posture_checks as pc
from config import AppConfig
from posture_checks.predicates import as_list
from tests.conftest import Assembly

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
CICD = "trustbase-eu-west-1-cicd"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
ENVIRONMENT_SUB = "repo:example-org/trustbase:environment:trustbase-eu-west-1"
BRANCH_SUB = "repo:example-org/trustbase:ref:refs/heads/main"


def _roles(assembly: Assembly, stack: str = CICD) -> dict[str, dict[str, Any]]:
    template = assembly.template(stack)
    return {r["Properties"]["RoleName"]: r for r in pc.resources(template, "AWS::IAM::Role").values()}


def _policy_of(assembly: Assembly, role: dict[str, Any], stack: str = CICD) -> dict[str, Any]:
    """The statements of all the role's managed policies, as one document."""
    template = assembly.template(stack)
    statements = [
        st
        for ref in role["Properties"]["ManagedPolicyArns"]
        for st in template["Resources"][ref["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    ]
    return {"Statement": statements}


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


def test_the_reader_reads_for_verify_and_drift_and_no_object_or_secret_contents(assembly: Assembly) -> None:
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
    assert sorted(json.dumps(s["Condition"]) for s in decrypt) == [
        '{"StringEquals": {"kms:ViaService": "sns.eu-west-1.amazonaws.com"}}',
        '{"StringEquals": {"kms:ViaService": ["lambda.eu-west-1.amazonaws.com", "states.eu-west-1.amazonaws.com"]}}',
    ]


# The read-handler permissions the reader does not get, on purpose: none of them reads anything.
# WAF's association handler lists every service a web ACL can be attached to, with their writes;
# an EventBridge rule's handler lists iam:PassRole (a write); vpc-lattice's action is not in IAM.
NOT_GRANTED = {
    "AWS::EC2::VPCEndpoint": ["vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation"],
    "AWS::Events::Rule": ["iam:PassRole"],
    "AWS::WAFv2::WebACLAssociation": [
        "apigateway:SetWebACL",
        "apprunner:AssociateWebAcl",
        "apprunner:DisassociateWebAcl",
        "appsync:AssociateWebACL",
        "appsync:DisassociateWebACL",
        "appsync:SetWebACL",
        "bedrock-agentcore:GatewayAssociateWebACL",
        "bedrock-agentcore:GatewayDisassociateWebACL",
        "bedrock-agentcore:GatewayGetWebACLForResource",
        "cognito-idp:AssociateWebACL",
        "cognito-idp:DisassociateWebACL",
        "ec2:AssociateVerifiedAccessInstanceWebAcl",
        "ec2:DisassociateVerifiedAccessInstanceWebAcl",
        "elasticloadbalancing:CreateWebACLAssociation",
        "elasticloadbalancing:DeleteWebACLAssociation",
        "elasticloadbalancing:SetWebACL",
        "wafv2:AssociateWebACL",
        "wafv2:DisassociateWebACL",
    ],
}


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
def test_the_reader_can_read_every_resource_type_its_job_deploys(assembly: Assembly, region: str) -> None:
    """CloudFormation reads each resource with the caller's permissions: every permission of every
    type's read handler (CloudFormation's resource schemas, shipped by cfn-lint: AWS's data, not
    ours) is granted but the literal list above, for the region's stacks and, in the home region
    us-east-1, trustbase-identity."""
    from change_review.schema import read_permissions

    stack = f"trustbase-{region}-cicd"
    document = _policy_of(assembly, _roles(assembly, stack)[f"trustbase-{region}-reader"], stack)
    granted = {a.lower() for a in _actions(document)}
    parts = ("keys", "network", "data", "migrations", "edge", "audit", "detection", "lifecycle", "cicd")
    names = [f"trustbase-{region}-{p}" for p in parts] + (["trustbase-identity"] if region == "us-east-1" else [])
    missing: dict[str, set[str]] = {}
    for name in names:
        for resource in assembly.template(name)["Resources"].values():
            for action in read_permissions(resource["Type"], region) or ():
                if action.lower() not in granted:
                    missing.setdefault(resource["Type"], set()).add(action)
    assert {t: sorted(a) for t, a in missing.items()} == NOT_GRANTED


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
    assert job["permissions"] == {"contents": "read", "deployments": "read", "id-token": "write"}
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


def test_the_home_regions_roles_also_cover_the_identity_stack(assembly: Assembly) -> None:
    """us-east-1 is [access] home_region: its job deploys and checks trustbase-identity."""
    stack = "trustbase-us-east-1-cicd"
    identity = "arn:aws:cloudformation:us-east-1:123456789012:stack/trustbase-identity/*"
    for role in ("trustbase-us-east-1-deployer", "trustbase-us-east-1-reader"):
        document = _policy_of(assembly, _roles(assembly, stack)[role], stack)
        resources = [r for st in document["Statement"] for r in as_list(st["Resource"])]
        assert identity in resources, role
    eu = [
        r
        for role in ("trustbase-eu-west-1-deployer", "trustbase-eu-west-1-reader")
        for st in _policy_of(assembly, _roles(assembly)[role])["Statement"]
        for r in as_list(st["Resource"])
    ]
    assert not [r for r in eu if "trustbase-identity" in str(r)]


def test_with_delivery_the_home_region_must_host_a_region() -> None:
    import tomllib

    from config import DEFAULT_CONFIG_FILE, ConfigError, load_config

    raw = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    raw["access"]["home_region"] = "eu-central-1"
    with pytest.raises(ConfigError) as err:
        load_config(raw, account="123456789012")
    assert err.value.problems == [
        "access: field 'home_region': 'eu-central-1' hosts no trustbase region, so with [delivery] no region's "
        "deploy job would deploy or check trustbase-identity. Fix: use one of ['us-east-1', 'eu-west-1', "
        "'ap-southeast-2'] as home_region (Identity Center's region), or add a [[region]] for it"
    ]
    del raw["delivery"]
    assert load_config(raw, account="123456789012").access.home_region == "eu-central-1"


def test_the_identity_types_the_reader_is_given_are_the_identity_stacks(assembly: Assembly) -> None:
    from stacks.identity_stack import identity_resource_types

    synthesized = {r["Type"] for r in assembly.template("trustbase-identity")["Resources"].values()}
    assert synthesized - {"AWS::CDK::Metadata"} == set(identity_resource_types(assembly.config))
    assert set(identity_resource_types(assembly.config)) == {"AWS::SSO::PermissionSet", "AWS::IAM::OIDCProvider"}


@pytest.fixture(scope="module")
def with_dr_copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """eu-west-1 alone, with backup copies to its in-jurisdiction DR region eu-central-1 (and as
    Identity Center's home region, which [delivery] requires to host a region)."""
    import tomllib

    from app import build_app
    from config import DEFAULT_CONFIG_FILE, load_config

    raw = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    raw["region"] = [r for r in raw["region"] if r["name"] == REGION]
    raw["region"][0]["backup"] = {"dr_copy_region": "eu-central-1"}
    raw["access"]["home_region"] = REGION
    outdir = tmp_path_factory.mktemp("dr.out")
    app, _ = build_app(load_config(raw, account="123456789012"), outdir=str(outdir))
    app.synth()
    return outdir


def test_the_job_with_dr_copies_covers_the_dr_vault_stack_in_the_dr_region(
    with_dr_copies: Path, tmp_path: Path
) -> None:
    import boto3
    from botocore.stub import Stubber

    from change_review.__main__ import main

    template = json.loads((with_dr_copies / f"{CICD}.template.json").read_text())
    roles = {r["Properties"]["RoleName"]: r for r in pc.resources(template, "AWS::IAM::Role").values()}
    policies = template["Resources"]

    def resources_of(role: str) -> list[str]:
        return [
            str(r)
            for ref in roles[role]["Properties"]["ManagedPolicyArns"]
            for st in policies[ref["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
            for r in as_list(st["Resource"])
        ]

    deployer = resources_of("trustbase-eu-west-1-deployer")
    assert "arn:aws:iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-eu-central-1" in deployer
    assert "arn:aws:cloudformation:eu-central-1:123456789012:stack/trustbase-eu-west-1-*/*" in deployer
    assert "arn:aws:cloudformation:eu-central-1:123456789012:stack/trustbase-eu-west-1-*/*" in resources_of(
        "trustbase-eu-west-1-reader"
    )
    # the plan reads the DR vault stack's template in eu-central-1, the others in eu-west-1
    clients = {}
    stubs = []
    for where in (REGION, "eu-central-1"):
        client = boto3.client("cloudformation", region_name=where, aws_access_key_id="x", aws_secret_access_key="x")
        stub = Stubber(client)
        clients[where] = client
        stubs.append(stub)
    manifest = json.loads((with_dr_copies / "manifest.json").read_text())["artifacts"]
    for name, artifact in manifest.items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        where = artifact["environment"].rsplit("/", 1)[-1]
        stub = stubs[0] if where == REGION else stubs[1]
        stub.add_client_error(
            "get_template",
            service_error_code="ValidationError",
            service_message=f"Stack with id {name} does not exist",
            expected_params={"StackName": name, "TemplateStage": "Original"},
        )
    for stub in stubs:
        stub.activate()
    args = ["--deployed", "--region", REGION, "--head", str(with_dr_copies), "--out-dir", str(tmp_path)]
    assert main(args, client_for=clients.__getitem__) == 0
    for stub in stubs:
        stub.assert_no_pending_responses()
    review = json.loads((tmp_path / f"change-review-{REGION}.json").read_text())
    assert {(s["name"], s["region"], s["status"]) for s in review["stacks"]} >= {
        ("trustbase-eu-west-1-dr-vault", "eu-central-1", "new"),
        ("trustbase-identity", REGION, "new"),
    }
