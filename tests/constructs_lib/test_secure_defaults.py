"""Every secure construct: the default is compliant, and the named insecure override trips a
policy check or a cdk-nag rule (a check that cannot fail proves nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

import posture_checks as pc
from app import feature_flags, register_compliance_gates
from constructs_lib import nag
from constructs_lib.buckets import AccessLogBucket, SecureDataBucket
from constructs_lib.database import SecureAuroraCluster
from constructs_lib.edge import HttpsAlb
from constructs_lib.iam import ScopedRole
from constructs_lib.keys import DataClass, DataKey
from constructs_lib.network import ThreeAzVpc
from constructs_lib.retention import log_retention

AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/22222222-2222-4222-8222-222222222222"
FS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"


def new_stack(outdir: Path) -> tuple[App, Stack]:
    app = App(outdir=str(outdir), context=feature_flags())  # the same CDK feature flags as the app
    return app, Stack(app, "Test", env=Environment(account="123456789012", region="eu-west-1"))


def template(app: App, stack: Stack) -> dict[str, Any]:
    result: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return result


def nag_rules(app: App, outdir: Path) -> set[str]:
    """Synthesize with all four packs; return the rule names reported (empty = passed)."""
    register_compliance_gates(app)
    try:
        app.synth()
    except RuntimeError as exc:
        assert "ValidationFailed" in str(exc)
        report = json.loads((outdir / "validation-report.json").read_text())
        return {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    return set()


def a_key(stack: Stack, data_class: DataClass = DataClass.OBJECTS) -> kms.IKey:
    return DataKey(stack, f"{data_class.value}Key", data_class=data_class).key


def data_bucket(stack: Stack, **overrides: Any) -> SecureDataBucket:
    logs = AccessLogBucket(stack, "Logs", expiration_days=30)
    return SecureDataBucket(
        stack, "Data", encryption_key=a_key(stack), access_logs=logs, noncurrent_version_days=30, **overrides
    )


# ------------------------------------------------------------------------- buckets


def test_data_bucket_default_is_compliant(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    data_bucket(stack)
    assert pc.bucket_violations(template(app, stack)) == []


def test_data_bucket_plain_http_override_trips_policy_and_nag(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    data_bucket(stack, insecure_allow_plain_http=True)
    violations = pc.bucket_violations(template(app, stack))
    assert any("non-TLS" in v for v in violations) and any("TLS < 1.2" in v for v in violations)

    app2, stack2 = new_stack(tmp_path / "nag")
    data_bucket(stack2, insecure_allow_plain_http=True)
    assert "AwsSolutions-S10" in nag_rules(app2, tmp_path / "nag")


def test_secure_bucket_constructs_pass_all_nag_packs(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    data_bucket(stack)
    assert nag_rules(app, tmp_path) == set()


# ------------------------------------------------------------------------- keys


def test_key_without_rotation_trips_nag(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    DataKey(stack, "Key", data_class=DataClass.DATABASE, insecure_disable_rotation=True)
    rules = nag_rules(app, tmp_path)
    assert "AwsSolutions-KMS5" in rules


def test_key_policy_has_no_wildcard_action(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    for dc in DataClass:
        DataKey(stack, dc.value, data_class=dc)
    assert pc.wildcard_action_violations(template(app, stack)) == []


# ------------------------------------------------------------------------- IAM


def greedy_role(stack: Stack) -> ScopedRole:
    return ScopedRole(
        stack,
        "Greedy",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        description="deliberately over-privileged",
        statements=[iam.PolicyStatement(actions=["s3:*"], resources=["arn:aws:s3:::some-bucket"])],
    )


def test_wildcard_action_in_a_role_trips_policy_and_nag(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    greedy_role(stack)
    assert any("'s3:*'" in v for v in pc.wildcard_action_violations(template(app, stack)))
    app2, stack2 = new_stack(tmp_path / "nag")
    greedy_role(stack2)
    assert "AwsSolutions-IAM5[Action::s3:*]" in nag_rules(app2, tmp_path / "nag")


def test_role_without_boundary_trips_policy(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    iam.Role(stack, "Unbounded", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    assert pc.boundary_violations(template(app, stack)) != []


def test_acknowledgment_needs_a_specific_reason(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    with pytest.raises(nag.AcknowledgmentError, match="at least 20 characters"):
        nag.acknowledge(stack, "AwsSolutions-S1", "because")
    with pytest.raises(nag.AcknowledgmentError, match="unknown nag pack"):
        nag.acknowledge(stack, "Typo-S1", "a long enough reason for the test")


# ------------------------------------------------------------------------- database


def aurora(stack: Stack, **overrides: Any) -> SecureAuroraCluster:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=list(AZS),
        subnet_configuration=[ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    sg = ec2.SecurityGroup(stack, "Sg", vpc=vpc, allow_all_outbound=False)
    return SecureAuroraCluster(
        stack,
        "Aurora",
        vpc=vpc,
        availability_zones=AZS,
        security_group=sg,
        encryption_key=a_key(stack, DataClass.DATABASE),
        logs_key=a_key(stack, DataClass.LOGS),
        instance_class="r7g.large",
        backup_retention_days=7,
        log_retention=log_retention(30),
        **overrides,
    )


def test_aurora_default_is_compliant(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    aurora(stack)
    assert pc.aurora_violations(template(app, stack)) == []


def test_aurora_without_forced_tls_trips_policy(tmp_path: Path) -> None:
    # cdk-nag has no rule for rds.force_ssl: only our policy check catches it.
    app, stack = new_stack(tmp_path)
    aurora(stack, insecure_allow_plain_connections=True)
    assert any("rds.force_ssl" in v for v in pc.aurora_violations(template(app, stack)))


# ------------------------------------------------------------------------- edge


def alb(stack: Stack, tls_policy: str = FS_POLICY, hsts: int = 63_072_000, **overrides: Any) -> HttpsAlb:
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=list(AZS), nat_gateways=0)
    sg = ec2.SecurityGroup(stack, "Sg", vpc=vpc, allow_all_outbound=False)
    return HttpsAlb(
        stack,
        "Edge",
        vpc=vpc,
        security_group=sg,
        certificate_arn=CERT,
        tls_policy=tls_policy,
        hsts_max_age_seconds=hsts,
        access_log_bucket_name="logs-bucket",
        access_log_prefix="alb",
        app_port=8443,
        **overrides,
    )


def test_alb_default_is_compliant(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    alb(stack)
    assert pc.listener_violations(template(app, stack)) == []


def test_alb_non_forward_secret_policy_trips_policy(tmp_path: Path) -> None:
    # cdk-nag does not check the TLS policy: only our policy check catches RECOMMENDED_TLS.
    app, stack = new_stack(tmp_path)
    alb(stack, tls_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", insecure_tls_policy=True)
    assert any("forward-secrecy" in v for v in pc.listener_violations(template(app, stack)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tls_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}, "forward-secrecy-only"),
        ({"hsts": 3600}, "hsts_max_age_seconds"),
    ],
)
def test_alb_refuses_weak_settings_without_the_override(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    _, stack = new_stack(tmp_path)
    with pytest.raises(ValueError, match=message):
        alb(stack, **kwargs)


def test_hsts_check_catches_weak_headers() -> None:
    assert pc.hsts_violations("max-age=31536000; includeSubDomains; preload") == []
    assert pc.hsts_violations("max-age=600; includeSubDomains; preload") != []
    assert pc.hsts_violations("max-age=31536000; preload") == ["HSTS without includeSubDomains"]
    assert pc.hsts_violations(None) == ["no HSTS header attribute"]


# ------------------------------------------------------------------------- network


def test_vpc_refuses_fewer_than_three_azs(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    with pytest.raises(ValueError, match="3 distinct AZs"):
        ThreeAzVpc(
            stack,
            "Net",
            availability_zones=("eu-west-1a", "eu-west-1a", "eu-west-1b"),
            cidr="10.0.0.0/16",
            logs_key=a_key(stack),
            flow_log_retention=log_retention(30),
        )


def test_residency_check_catches_a_foreign_region(tmp_path: Path) -> None:
    from config import Jurisdiction

    bad = {"Resources": {"X": {"Type": "AWS::S3::Bucket", "Properties": {"Arn": "arn:aws:kms:us-east-1:1:key/x"}}}}
    assert pc.residency_violations(bad, Jurisdiction.EU) != []
    assert pc.residency_violations(bad, Jurisdiction.US) == []
    imported: dict[str, Any] = {"Resources": {"X": {"Properties": {"V": {"Fn::ImportValue": "y"}}}}}
    assert pc.residency_violations(imported, Jurisdiction.US) != []
