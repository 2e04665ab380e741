"""The gate (`python -m policy_gates`) fails, naming what is wrong, on one planted defect of every
class: a broken intended path per path family, a forbidden grant per forbidden family, a violation
of each posture promise, and each documented integration fact. Each test copies eu-west-1's
synthesized templates, plants exactly one defect, and runs the gate (our own checks and the access
paths; cfn-lint and checkov are proven separately in test_gates.py)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policy_gates import GateResult, evaluate
from tests.conftest import Assembly

REGION = "eu-west-1"
Template = dict[str, Any]


class Copy:
    """eu-west-1's stacks of the synthesized assembly, in a directory of their own."""

    def __init__(self, source: Path, target: Path) -> None:
        manifest = json.loads((source / "manifest.json").read_text())
        keep = {n: a for n, a in manifest["artifacts"].items() if n.startswith(f"trustbase-{REGION}-")}
        for artifact in keep.values():
            if artifact["type"] == "aws:cloudformation:stack":
                shutil.copy(source / artifact["properties"]["templateFile"], target)
        manifest["artifacts"] = keep
        self.dir = target
        self.manifest = manifest
        self.save_manifest()

    def save_manifest(self) -> None:
        (self.dir / "manifest.json").write_text(json.dumps(self.manifest))

    def template(self, part: str) -> Template:
        return dict(json.loads((self.dir / f"trustbase-{REGION}-{part}.template.json").read_text()))

    def save(self, part: str, template: Template) -> None:
        (self.dir / f"trustbase-{REGION}-{part}.template.json").write_text(json.dumps(template))

    def edit(self, part: str, change: Callable[[Template], None]) -> None:
        template = self.template(part)
        change(template)
        self.save(part, template)

    def gate(self) -> GateResult:
        return evaluate(self.dir, external_tools=False)


@pytest.fixture
def copy(assembly: Assembly, tmp_path: Path) -> Copy:
    return Copy(Path(assembly.outdir), tmp_path)


def _documents(template: Template) -> list[dict[str, Any]]:
    docs = []
    for res in template["Resources"].values():
        p = res.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if isinstance(p.get(key), dict):
                docs.append(p[key])
    return docs


def drop_sid(sid: str) -> Callable[[Template], None]:
    def change(template: Template) -> None:
        removed = 0
        for doc in _documents(template):
            before = len(doc["Statement"])
            doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != sid]
            removed += before - len(doc["Statement"])
        assert removed, f"no statement {sid} to plant the defect on"

    return change


def statement(template: Template, sid: str) -> dict[str, Any]:
    return next(s for doc in _documents(template) for s in doc["Statement"] if s.get("Sid") == sid)


def assert_finds(result: GateResult, *needles: str) -> None:
    findings = result.own + result.access
    assert not result.ok
    hits = [f for f in findings if all(n in f for n in needles)]
    assert hits, "\n".join(findings[:40])


def test_the_unchanged_copy_passes(copy: Copy) -> None:
    result = copy.gate()
    assert result.ok, result.report()


# --------------------------------------------------------------------- one broken path per family

BROKEN_PATHS = [
    # (family, stack part, the statement whose loss breaks it, words the finding must contain)
    ("alarms", "audit", "CloudWatchAlarmsPublish", ("cloudwatch.amazonaws.com", "sns:Publish", "DENIED")),
    ("config", "keys", "ConfigDeliversSnapshots", ("config.amazonaws.com", "kms:GenerateDataKey", "DENIED")),
    ("guardduty", "audit", "GuardDutyWrite", ("guardduty.amazonaws.com", "s3:PutObject", "DENIED")),
    ("elb-logs", "data", "AlbAccessLogDelivery", ("logdelivery.elasticloadbalancing.amazonaws.com", "DENIED")),
    ("s3-access-logs", "data", "S3ServerAccessLogsFromThisAccount", ("logging.s3.amazonaws.com", "DENIED")),
    ("log-groups", "keys", "CloudWatchLogsInThisRegionAndAccount", (f"logs.{REGION}.amazonaws.com", "DENIED")),
    ("app", "edge", "ObjectKeyThroughS3", ("trustbase-app-eu-west-1", "kms:Decrypt", "DENIED")),
    ("lifecycle", "lifecycle", "ConnectAsLifecycleUser", ("rds-db:connect", "trustbase_lifecycle", "DENIED")),
    ("state-machine", "keys", "VendedLogDeliveryDecrypts", ("delivery.logs.amazonaws.com", "DENIED")),
    ("scheduler", "lifecycle", "InvokeRetention", ("lambda:InvokeFunction", "trustbase-eu-west-1-retention", "DENIED")),
    ("backup", "data", "ClusterSnapshots", ("rds:CreateDBClusterSnapshot", "DENIED")),
    ("fis", "edge", "FailOverThisCluster", ("rds:FailoverDBCluster", "DENIED")),
    ("auditor", "detection", "DecryptAuditRecordsThroughS3", ("trustbase-auditor-eu-west-1", "kms:Decrypt", "DENIED")),
    ("break-glass", "detection", "IncidentResponse", ("trustbase-break-glass-eu-west-1", "DENIED")),
    ("migrations", "migrations", "ReadMasterSecret", ("secretsmanager:GetSecretValue", "DENIED")),
]


@pytest.mark.parametrize(("family", "part", "sid", "needles"), BROKEN_PATHS, ids=[b[0] for b in BROKEN_PATHS])
def test_a_broken_intended_path_fails_the_gate(
    copy: Copy, family: str, part: str, sid: str, needles: tuple[str, ...]
) -> None:
    copy.edit(part, drop_sid(sid))
    assert_finds(copy.gate(), f"{family}:", *needles)


def test_cloudtrail_with_a_source_account_condition_cannot_assume_its_role(copy: Copy) -> None:
    """The CloudTrail defect, planted back: CloudTrail sends no aws:SourceAccount to this role."""

    def condition(template: Template) -> None:
        role = next(r for k, r in template["Resources"].items() if k.startswith("TrailLogsDeliveryRole"))
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] = {
            "StringEquals": {"aws:SourceAccount": "123456789012"}
        }

    copy.edit("audit", condition)
    assert_finds(copy.gate(), "cloudtrail:", "sts:AssumeRole", "DENIED")


def test_the_dsar_intake_without_sts_in_the_boundary(copy: Copy) -> None:
    """The DSAR-intake defect, planted back: the boundary does not allow sts:AssumeRole."""

    def no_sts(template: Template) -> None:
        ceiling = statement(template, "Ceiling")
        ceiling["Action"] = [a for a in ceiling["Action"] if a != "sts:AssumeRole"]

    copy.edit("keys", no_sts)
    assert_finds(copy.gate(), "dsar-intake:", "trustbase-app-eu-west-1", "sts:AssumeRole", "DENIED")


# --------------------------------------------------------------------- one forbidden grant per family


def test_audit_records_deletable_by_an_admin(copy: Copy) -> None:
    copy.edit("audit", drop_sid("NoDeletionByAnyone"))
    assert_finds(copy.gate(), "audit-immutable:", "hypothetical-account-admin", "s3:DeleteObject", "ALLOWED")


def test_the_app_role_reading_every_prefix(copy: Copy) -> None:
    def widen(template: Template) -> None:
        stmt = statement(template, "ObjectsUnderCustomerPrefixes")
        stmt["Resource"] = [{"Fn::Join": ["", [stmt["Resource"][0]["Fn::Join"][1][0], "/*"]]}]

    copy.edit("edge", widen)
    assert_finds(copy.gate(), "app-confined:", "trustbase-app-eu-west-1", "/internal/x", "ALLOWED")


def test_customer_data_open_to_another_account(copy: Copy) -> None:
    def open_bucket(template: Template) -> None:
        policy = next(r for k, r in template["Resources"].items() if k.startswith("CustomerDataBucketPolicy"))
        bucket = policy["Properties"]["Bucket"]
        policy["Properties"]["PolicyDocument"]["Statement"].append(
            {
                "Sid": "Planted",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket["Ref"], "Arn"]}, "/*"]]},
            }
        )

    copy.edit("data", open_bucket)
    result = copy.gate()
    # The resource perimeter (Deny outside this account) still keeps the other account out ...
    assert not [f for f in result.access if "external:" in f and "999999999999" in f], result.report()
    # ... while the widened grant is still caught for this account's own roles.
    assert_finds(result, "app-confined:", "/internal/x", "ALLOWED", "Planted")

    def drop_perimeter(template: Template) -> None:
        policy = next(r for k, r in template["Resources"].items() if k.startswith("CustomerDataBucketPolicy"))
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [st for st in statements if st.get("Sid") != "DenyOutsideThisAccount"]

    copy.edit("data", drop_perimeter)  # without the account perimeter, the network perimeter still holds ...
    assert not [f for f in copy.gate().access if "external:" in f and "999999999999" in f]

    def drop_network_perimeter(template: Template) -> None:
        policy = next(r for k, r in template["Resources"].items() if k.startswith("CustomerDataBucketPolicy"))
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [st for st in statements if st.get("Sid") != "DenyDataPlaneOutsideTheVpc"]

    copy.edit("data", drop_network_perimeter)  # ... and without both, the planted grant opens the bucket
    assert_finds(copy.gate(), "external:", "999999999999", "s3:GetObject", "ALLOWED")


def test_a_key_granted_to_another_account_stays_closed_by_the_perimeter(copy: Copy) -> None:
    def open_key(template: Template) -> None:
        key = next(r for k, r in template["Resources"].items() if k.startswith("ObjectsKey"))
        key["Properties"]["KeyPolicy"]["Statement"].append(
            {
                "Sid": "Planted",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        )

    copy.edit("keys", open_key)
    result = copy.gate()
    assert not [f for f in result.access if "external:" in f and "kms:Decrypt" in f], result.report()

    def drop_perimeter(template: Template) -> None:
        key = next(r for k, r in template["Resources"].items() if k.startswith("ObjectsKey"))
        statements = key["Properties"]["KeyPolicy"]["Statement"]
        statements[:] = [st for st in statements if st.get("Sid") != "DenyOutsideThisAccount"]

    copy.edit("keys", drop_perimeter)
    assert_finds(copy.gate(), "external:", "999999999999", "kms:Decrypt", "ALLOWED")


def test_customer_data_outside_the_vpc_is_caught_without_the_network_perimeter(copy: Copy) -> None:
    def drop_vpc_statement(template: Template) -> None:
        policy = next(r for k, r in template["Resources"].items() if k.startswith("CustomerDataBucketPolicy"))
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [st for st in statements if st.get("Sid") != "DenyDataPlaneOutsideTheVpc"]

    copy.edit("data", drop_vpc_statement)
    result = copy.gate()
    assert_finds(result, "external:", "an account administrator outside the VPC: s3:GetObject", "ALLOWED")
    assert_finds(result, "external:", "the app role's credentials used outside the VPC: s3:GetObject", "ALLOWED")


def test_an_endpoint_policy_planted_open_still_leaves_another_account_out(copy: Copy) -> None:
    """The endpoint is one of three layers: open it to everyone, and another account is still kept
    out by the resource (no cross-account grant) and the identity side (its own account's policy)."""

    def open_endpoints(template: Template) -> None:
        for r in template["Resources"].values():
            if r["Type"] == "AWS::EC2::VPCEndpoint" and "PolicyDocument" in r["Properties"]:
                r["Properties"]["PolicyDocument"] = {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
                }

    copy.edit("network", open_endpoints)
    result = copy.gate()
    assert not [f for f in result.access if "external:" in f], result.report()
    # The open policies really are what the evaluator used: the other account's request now passes
    # the endpoint and is refused by the state machine side instead.
    from access_paths.assembly import Assembly as Resolved
    from access_paths.gate import evaluate_path
    from access_paths.model import RegionModel
    from access_paths.table import forbidden

    model = RegionModel.build(Resolved.load(copy.dir), "eu-west-1")
    row = next(
        r for r in forbidden(model) if r.name == "another account's principal starts an erasure through our endpoint"
    )
    assert "endpoint policy" not in evaluate_path(model, row).decision.reason


def test_a_standing_human_role_is_caught(copy: Copy) -> None:
    """The trust the auditor had before sign-in through the IdP (any account principal with MFA):
    an IAM user, the root user and an operator without an elevation could then assume it."""

    def standing_auditor(template: Template) -> None:
        role = next(
            r
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::IAM::Role" and k.startswith("AccessAuditorRole")
        )
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}

    copy.edit("detection", standing_auditor)
    result = copy.gate()
    assert_finds(
        result, "no-standing-access:", "an IAM user with every permission and MFA assumes the auditor role", "ALLOWED"
    )
    assert_finds(result, "no-standing-access:", "the account's root user assumes the auditor role", "ALLOWED")


def test_an_elevation_open_to_every_permission_set_is_caught(copy: Copy) -> None:
    def any_permission_set(template: Template) -> None:
        role = next(
            r
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::IAM::Role" and k.startswith("ElevationCustomerDataReadRole")
        )
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        # a standing trust: any permission set's role, at any time (no closed window)
        statement["Condition"] = {
            "ArnLike": {
                "aws:PrincipalArn": "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_*"
            }
        }

    copy.edit("detection", any_permission_set)
    assert_finds(
        copy.gate(),
        "no-standing-access:",
        "an operator without an approved elevation (requester access) assumes the customer-data-read elevation",
        "ALLOWED",
    )


def test_an_erasure_function_deleting_outside_the_subject_prefixes(copy: Copy) -> None:
    def widen(template: Template) -> None:
        policy = next(r for k, r in template["Resources"].items() if k.startswith("LifecycleErasureObjectsRolePolicy"))
        stmt = next(
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "DeleteSubjectVersions"
        )
        stmt["Resource"] = [{"Fn::Join": ["", [stmt["Resource"][0]["Fn::Join"][1][0], "/*"]]}]

    copy.edit("lifecycle", widen)
    assert_finds(copy.gate(), "erasure-confined:", "s3:DeleteObject", "/internal/x", "ALLOWED")


# --------------------------------------------------------------------- one violation per posture promise


def _first(template: Template, rtype: str, prefix: str = "") -> dict[str, Any]:
    return next(r for k, r in template["Resources"].items() if r["Type"] == rtype and k.startswith(prefix))


def _listener(protocol: str) -> Callable[[Template], dict[str, Any]]:
    def find(template: Template) -> dict[str, Any]:
        return next(
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener" and r["Properties"]["Protocol"] == protocol
        )

    return find


POSTURE = [
    (
        "encryption at rest",
        "data",
        lambda t: _first(t, "AWS::S3::Bucket", "CustomerData")["Properties"].pop("BucketEncryption"),
        ("data.template.json", "CustomerDataBucket", "no default encryption"),
    ),
    (
        "TLS policy",
        "edge",
        lambda t: _listener("HTTPS")(t).update(SslPolicy="ELBSecurityPolicy-2016-08"),
        ("edge.template.json", "ELBSecurityPolicy-2016-08"),
    ),
    ("HSTS", "edge", lambda t: _listener("HTTPS")(t).pop("ListenerAttributes"), ("edge.template.json", "no HSTS")),
    (
        "redirect",
        "edge",
        lambda t: _listener("HTTP")(t).update(
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}]
        ),
        ("edge.template.json", "other than a 301 redirect"),
    ),
    (
        "boundary",
        "edge",
        lambda t: _first(t, "AWS::IAM::Role", "AppTier")["Properties"].pop("PermissionsBoundary"),
        ("edge.template.json", "AppTier", "without PermissionsBoundary"),
    ),
    (
        "wildcard",
        "edge",
        lambda t: statement(t, "ConnectAsAppUser").update(Action="rds-db:*"),
        ("edge.template.json", "wildcard action 'rds-db:*'"),
    ),
    (
        "egress",
        "network",
        lambda t: (
            _first(t, "AWS::EC2::SecurityGroup", "TiersApp")["Properties"]
            .setdefault("SecurityGroupEgress", [])
            .append({"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"})
        ),
        ("network.template.json", "TiersApp", "egress to 0.0.0.0/0"),
    ),
    (
        "Object Lock",
        "audit",
        lambda t: _first(t, "AWS::S3::Bucket", "AuditRecords")["Properties"]["ObjectLockConfiguration"]["Rule"][
            "DefaultRetention"
        ].update(Mode="GOVERNANCE"),
        ("audit.template.json", "AuditRecordsBucket", "not COMPLIANCE"),
    ),
    (
        "trail validation",
        "audit",
        lambda t: _first(t, "AWS::CloudTrail::Trail")["Properties"].update(EnableLogFileValidation=False),
        ("audit.template.json", "Trail", "log file validation off"),
    ),
    (
        "residency",
        "data",
        lambda t: _first(t, "AWS::S3::Bucket", "CustomerData")["Properties"]["Tags"].append(
            {"Key": "replica", "Value": "us-east-1"}
        ),
        ("data.template.json", "reference to us-east-1 (outside EU)"),
    ),
]


@pytest.mark.parametrize(("promise", "part", "plant", "needles"), POSTURE, ids=[p[0] for p in POSTURE])
def test_a_posture_violation_fails_the_gate(
    copy: Copy, promise: str, part: str, plant: Callable[[Template], Any], needles: tuple[str, ...]
) -> None:
    copy.edit(part, plant)
    assert_finds(copy.gate(), *needles)


# --------------------------------------------------------------------- integration facts


def test_config_delivering_to_an_object_lock_bucket(copy: Copy) -> None:
    copy.edit(
        "audit", lambda t: _first(t, "AWS::S3::Bucket", "ConfigRecords")["Properties"].update(ObjectLockEnabled=True)
    )
    assert_finds(copy.gate(), "ConfigDelivery", "has Object Lock")


def test_a_delivery_channel_created_before_the_recorder(copy: Copy) -> None:
    copy.edit("detection", lambda t: _first(t, "AWS::Config::DeliveryChannel").pop("DependsOn"))
    assert_finds(copy.gate(), "ConfigDelivery", "does not depend on the configuration recorder")


def test_a_trusting_stack_that_does_not_depend_on_the_trusted_role(copy: Copy) -> None:
    deps = copy.manifest["artifacts"][f"trustbase-{REGION}-lifecycle"]["dependencies"]
    copy.manifest["artifacts"][f"trustbase-{REGION}-lifecycle"]["dependencies"] = [
        d for d in deps if d != f"trustbase-{REGION}-edge"
    ]
    copy.save_manifest()
    assert_finds(copy.gate(), "LifecycleSubmitterRole", "trustbase-app-eu-west-1", "does not depend on")


def test_a_fixed_name_resource_that_survives_a_failed_first_deploy(copy: Copy) -> None:
    copy.edit(
        "data", lambda t: _first(t, "AWS::Logs::LogGroup", "AuroraPostgresqlLogs").update(DeletionPolicy="Retain")
    )
    assert_finds(copy.gate(), "AuroraPostgresqlLogs", "fixed LogGroupName is Retain")


def test_a_deployer_without_its_bootstrap_grant_breaks_the_pipeline_path(copy: Copy) -> None:
    def plant(template: Template) -> None:
        policy = _first(template, "AWS::IAM::ManagedPolicy", "PipelineDeployerPolicy")
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [s for s in statements if s.get("Sid") != "AssumeCdkBootstrapRoles"]

    copy.edit("cicd", plant)
    assert_finds(copy.gate(), "deployer assumes the region's CDK bootstrap deploy role", "DENIED")


def test_a_managed_policy_over_iams_size_quota(copy: Copy) -> None:
    """IAM quotas: a managed policy holds at most 6,144 characters (white space not counted). The
    pipeline reader's policy, with 120 more read actions of 40 characters, no longer fits."""

    def plant(template: Template) -> None:
        policy = _first(template, "AWS::IAM::ManagedPolicy", "PipelineReaderPolicy")
        policy["Properties"]["PolicyDocument"]["Statement"].append(
            {
                "Effect": "Allow",
                "Action": [f"ec2:DescribeSomethingVeryLongNumber{i:05d}" for i in range(120)],
                "Resource": "*",
            }
        )

    copy.edit("cicd", plant)
    assert_finds(copy.gate(), "PipelineReaderPolicy", "over IAM's 6144")


def test_a_trust_policy_over_iams_length_quota(copy: Copy) -> None:
    def plant(template: Template) -> None:
        role = _first(template, "AWS::IAM::Role", "PipelineReaderRole")
        condition = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]
        condition["token.actions.githubusercontent.com:sub"] = [
            f"repo:example-org/repository-{i:03d}:ref:refs/heads/main" for i in range(50)
        ]

    copy.edit("cicd", plant)
    assert_finds(copy.gate(), "PipelineReaderRole", "trust policy of", "over IAM's 2048")


def test_a_deploy_time_action_beside_a_protected_database(copy: Copy) -> None:
    """The migration trigger planted back into the data stack: its failure could not roll back."""
    migrations = copy.template("migrations")
    trigger_id, trigger = next((k, r) for k, r in migrations["Resources"].items() if r["Type"] == "Custom::Trigger")

    def plant(template: Template) -> None:
        template["Resources"][trigger_id] = trigger

    copy.edit("data", plant)
    assert_finds(copy.gate(), "trustbase-eu-west-1-data", trigger_id, "deletion-protected", "AuroraCluster")
