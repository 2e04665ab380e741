"""The compliance evidence report over the session's assembly."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from compliance_report import (
    FAIL,
    PARTIAL,
    PASS,
    Report,
    build,
    load_controls,
    mapped_resource_types,
    to_markdown,
    write,
)
from tests.conftest import Assembly

REQUIRED = {
    "SOC2-CC8.1",
    "ISO27001-A.8.32",
    "SOC2-CC6.1",
    "SOC2-CC6.6",
    "SOC2-CC6.7",
    "SOC2-CC7.1",
    "SOC2-CC7.2",
    "SOC2-A1.2",
    "ISO27001-A.8.8",
    "HIPAA-164.312(a)(2)(iv)",
    "HIPAA-164.312(b)",
    "HIPAA-164.312(e)(1)",
    "ISO27001-A.5.15",
    "ISO27001-A.8.13",
    "ISO27001-A.8.15",
    "ISO27001-A.8.24",
    "ISO27018",
    "GDPR-Art.5(1)(e)",
    "GDPR-Art.17",
    "GDPR-Art.32",
    "GDPR-Art.44",
    "SOC2-CC6.2",
    "SOC2-CC6.3",
    "ISO27001-A.5.18",
    "ISO27001-A.8.2",
    "HIPAA-164.312(a)(1)",
    "GDPR-Art.28",
}


@pytest.fixture(scope="module")
def report(assembly: Assembly) -> Report:
    return build(assembly.outdir)


def test_every_mapped_resource_type_is_still_created(assembly: Assembly) -> None:
    created = {
        res["Type"] for stack in assembly.stack_names for res in assembly.template(stack).get("Resources", {}).values()
    }
    missing = sorted(mapped_resource_types(load_controls()) - created)
    assert missing == [], f"controls.toml maps controls to resource types the app no longer creates: {missing}"


def test_a_control_mapped_to_a_vanished_resource_type_fails(assembly: Assembly) -> None:
    ghost = [
        {
            "id": "X",
            "framework": "test",
            "title": "ghost",
            "evidence": [{"type": "AWS::EC2::Instance", "path": ["ImageId"], "expect": "present", "proof": "none"}],
        }
    ]
    result = build(assembly.outdir, ghost)
    assert result.controls[0].status == FAIL
    assert all(e.detail == "no such resource in this region" for e in result.controls[0].evidence)


def test_a_weakened_setting_fails_its_control(assembly: Assembly) -> None:
    strict = [
        {
            "id": "Y",
            "framework": "test",
            "title": "lock",
            "evidence": [
                {
                    "type": "AWS::S3::Bucket",
                    "match": "AuditRecords",
                    "path": ["ObjectLockConfiguration", "Rule", "DefaultRetention", "Days"],
                    "expect": {"min": 100_000},
                    "proof": "none",
                }
            ],
        }
    ]
    assert build(assembly.outdir, strict).controls[0].status == FAIL


def test_all_required_controls_are_reported_and_none_fails(report: Report) -> None:
    assert {c.id for c in report.controls} >= REQUIRED
    assert {c.id: c.status for c in report.controls if c.status == FAIL} == {}
    # PARTIAL only where the mapping says what is still open, never silently
    for c in report.controls:
        assert (c.status == PARTIAL) == bool(c.pending), c.id
        assert c.status in (PASS, PARTIAL)


def test_every_control_has_evidence_in_every_region(report: Report, assembly: Assembly) -> None:
    regions = {r.name for r in assembly.config.regions}
    for c in report.controls:
        assert {e.region for e in c.evidence} == regions, c.id
        assert all(e.proof and e.resources for e in c.evidence), c.id


def test_report_lists_acknowledgments_and_pack_totals(report: Report, tmp_path: Path) -> None:
    assert {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"} <= set(report.totals_per_pack)
    assert all(t["unacknowledged_violations"] == 0 for t in report.totals_per_pack.values())
    assert report.acknowledgments and all(len(a["reason"]) >= 20 for a in report.acknowledgments)
    md, js = write(report, tmp_path)
    text = md.read_text()
    assert "## GDPR-Art.44" in text and "AwsSolutions::AwsSolutions-EC23" in text
    assert js.read_text().startswith("{")
    assert to_markdown(report).count("| **PARTIAL** |") == sum(c.status == PARTIAL for c in report.controls)


def test_a_region_without_macie_reports_iso27018_as_failed(tmp_path: Path) -> None:
    """Melbourne has no Macie: the region still synthesizes, and the report says FAIL there."""
    from app import build_app
    from config import DEFAULT_CONFIG_FILE, load_config

    cfg = load_config(
        {
            "region": [
                {
                    "name": "ap-southeast-4",
                    "jurisdiction": "AU",
                    "vpc_cidr": "10.50.0.0/16",
                    "availability_zones": ["ap-southeast-4a", "ap-southeast-4b", "ap-southeast-4c"],
                    "certificate_arn": "arn:aws:acm:ap-southeast-4:123456789012:certificate/44444444-4444-4444-8444-444444444444",
                    "db_instance_class": "r6g.large",
                    "s3_prefix_list_id": "pl-0123456789abcdef0",
                }
            ],
            "access": tomllib.loads(DEFAULT_CONFIG_FILE.read_text())["access"],
        },
        account="123456789012",
    )
    app, _ = build_app(cfg, outdir=str(tmp_path), context={"aws:cdk:enable-path-metadata": True})
    app.synth()
    statuses = {c.id: c.status for c in build(tmp_path).controls}
    assert statuses["ISO27018"] == FAIL  # no Macie in Melbourne
    assert statuses["SOC2-A1.2"] == FAIL  # no FIS there either: AZ loss cannot be rehearsed
    assert statuses["GDPR-Art.44"] == PASS


# ------------------------------------------------------------------------------ observed evidence (verify reports)


def _verify_report(
    path: Path, rows: list[tuple[str, str, str, str]], *, complete: bool = True, target: str = "live account"
) -> Path:
    """A verify report of eu-west-1 in account 111122223333 with (resource, check, status, detail) rows."""
    from verify.report import Report as VerifyReport
    from verify.report import Row

    report = VerifyReport(
        region="eu-west-1",
        account="111122223333",
        target=target,
        started_at="2026-11-29T05:00:00+00:00",
        finished_at="2026-11-29T05:03:00+00:00",
        complete=complete,
        progress="8/8 stacks" if complete else "3/8 stacks",
    )
    report.rows = [
        Row("trustbase-eu-west-1-keys", res, "AWS::KMS::Key", "k", check, check, status, detail)
        for res, check, status, detail in rows
    ]
    path.write_text(report.to_json())
    return path


def test_every_observed_check_is_one_verify_emits() -> None:
    import re

    source = (Path(__file__).resolve().parents[2] / "verify" / "judges.py").read_text()
    emitted = set(re.findall(r'(?:Finding|_exists|_status|_rule_present)\(\s*"([a-z0-9_.]+)"', source))
    observed = {e["observed"] for c in load_controls() for e in c["evidence"] if "observed" in e}
    assert len(observed) > 30 and observed - emitted == set()


def test_an_observed_pass_names_the_account_and_the_time(assembly: Assembly, tmp_path: Path) -> None:
    path = _verify_report(tmp_path / "verify-eu-west-1.json", [("ObjectsKey", "kms.rotation", "PASS", "rotation True")])
    result = build(assembly.outdir, verify_reports=[path])
    evidence = next(
        e
        for c in result.controls
        if c.id == "SOC2-CC6.1"
        for e in c.evidence
        if e.region == "eu-west-1" and "EnableKeyRotation" in e.what
    )
    assert evidence.observed_status == PASS
    assert evidence.observed == "PASS in account 111122223333 (live account) at 2026-11-29T05:03:00+00:00 (1 resources)"
    other = next(e for c in result.controls if c.id == "SOC2-CC6.1" for e in c.evidence if e.region == "us-east-1")
    assert other.observed_status is None and other.observed.startswith("not observed")
    assert "111122223333" in to_markdown(result)


def test_an_observed_fail_fails_the_control_with_the_resource(assembly: Assembly, tmp_path: Path) -> None:
    path = _verify_report(
        tmp_path / "verify-eu-west-1.json", [("ObjectsKey", "kms.rotation", "FAIL", "key rotation is off")]
    )
    result = build(assembly.outdir, verify_reports=[path])
    control = next(c for c in result.controls if c.id == "SOC2-CC6.1")
    assert control.status == FAIL
    evidence = next(e for e in control.evidence if e.region == "eu-west-1" and "EnableKeyRotation" in e.what)
    assert evidence.status == PASS  # the template is fine: the account drifted
    assert evidence.observed == (
        "FAIL in account 111122223333 (live account) at 2026-11-29T05:03:00+00:00: "
        "trustbase-eu-west-1-keys/ObjectsKey: key rotation is off"
    )


def test_an_incomplete_verify_report_proves_only_its_failures(assembly: Assembly, tmp_path: Path) -> None:
    path = _verify_report(
        tmp_path / "verify-eu-west-1.json", [("ObjectsKey", "kms.rotation", "PASS", "x")], complete=False
    )
    result = build(assembly.outdir, verify_reports=[path])
    assert result.observations == [f"{path}: incomplete (3/8 stacks): only its FAIL rows are used"]
    evidence = next(
        e
        for c in result.controls
        if c.id == "SOC2-CC6.1"
        for e in c.evidence
        if e.region == "eu-west-1" and "EnableKeyRotation" in e.what
    )
    assert evidence.observed_status is None and "stopped at 3/8 stacks" in evidence.observed
    failing = _verify_report(
        tmp_path / "f.json", [("ObjectsKey", "kms.rotation", "FAIL", "key rotation is off")], complete=False
    )
    assert (
        next(c for c in build(assembly.outdir, verify_reports=[failing]).controls if c.id == "SOC2-CC6.1").status
        == FAIL
    )


def test_an_emulator_report_is_not_evidence_of_an_account(assembly: Assembly, tmp_path: Path) -> None:
    path = _verify_report(
        tmp_path / "local-verify-eu-west-1.json",
        [("ObjectsKey", "kms.rotation", "PATCHED", "x")],
        target="local emulator (moto 5.2.5, patched)",
    )
    result = build(assembly.outdir, verify_reports=[path])
    assert result.observations == [f"ignored {path}: not a live account (local emulator (moto 5.2.5, patched))"]


@pytest.mark.parametrize(
    ("policy", "ok"),
    [
        ("ELBSecurityPolicy-TLS13-1-3-2021-06", True),
        ("ELBSecurityPolicy-FS-1-2-Res-2020-10", True),
        ("ELBSecurityPolicy-TLS13-1-2-2021-06", False),
        ("ELBSecurityPolicy-2016-08", False),
    ],
)
def test_the_tls_control_uses_the_one_list_of_allowed_policies(policy: str, ok: bool) -> None:
    from compliance_report import _satisfies

    assert _satisfies(policy, {"predicate": "tls_policy"}) is ok


def test_the_report_command_takes_verify_reports(assembly: Assembly, tmp_path: Path) -> None:
    from compliance_report.__main__ import main

    path = _verify_report(
        tmp_path / "verify-eu-west-1.json", [("ObjectsKey", "kms.rotation", "FAIL", "key rotation is off")]
    )
    assert main([str(assembly.outdir), str(tmp_path / "out"), "--verify", str(path)]) == 1
    assert "observed" in (tmp_path / "out" / "compliance.md").read_text()
    assert main([str(assembly.outdir), str(tmp_path / "out")]) == 0


def test_app_egress_to_the_internet_fails_the_subprocessor_control(assembly: Assembly, tmp_path: Path) -> None:
    """GDPR Art. 28: an HTTPS rule to anywhere on the app tier, without the firewall, fails it."""
    import shutil

    out = tmp_path / "cdk.out"
    shutil.copytree(assembly.outdir, out, ignore=shutil.ignore_patterns("asset.*"))
    path = out / "trustbase-eu-west-1-network.template.json"
    template = json.loads(path.read_text())
    template["Resources"]["PlantedEgress"] = {
        "Type": "AWS::EC2::SecurityGroupEgress",
        "Properties": {
            "GroupId": {"Fn::GetAtt": ["TiersApp987FE612", "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "CidrIp": "0.0.0.0/0",
        },
    }
    path.write_text(json.dumps(template))
    control = next(c for c in build(out).controls if c.id == "GDPR-Art.28")
    assert control.status == FAIL
    (bad,) = [e for e in control.evidence if e.status == FAIL]
    assert bad.region == "eu-west-1" and "egress to 0.0.0.0/0" in bad.detail


def test_every_proof_names_a_test_that_exists() -> None:
    """A control's proof must point at real tests: a renamed or deleted test would leave the auditor
    a dead reference."""
    import re

    root = Path(__file__).resolve().parents[2]
    text = (root / "compliance_report" / "controls.toml").read_text()
    named = set(re.findall(r"(tests/[\w/]+\.py)::(test_\w+)", text))
    assert len(named) > 40
    missing = [
        f"{file}::{name}"
        for file, name in sorted(named)
        if not (root / file).is_file() or not re.search(rf"^def {name}\(", (root / file).read_text(), re.MULTILINE)
    ]
    assert missing == []


def _github(sub: str | list[str] | None) -> dict[str, Any]:
    """A trust statement for GitHub's OIDC provider with our audience and `sub` (None: no sub)."""
    equals: dict[str, Any] = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    if sub is not None:
        equals["token.actions.githubusercontent.com:sub"] = sub
    return {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
        "Condition": {"StringEquals": equals},
    }


@pytest.mark.parametrize(
    ("statement", "ok"),
    [
        (_github("repo:o/r:environment:trustbase-eu-west-1"), True),
        (_github("repo:o/*"), False),
        (_github(None), False),
        ({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::1:root"}}, False),
        (_github(["repo:o/r:environment:trustbase-eu-west-1", "repo:o/fork:ref:refs/heads/main"]), False),
    ],
)
def test_the_pipeline_trust_predicate(statement: dict[str, Any], ok: bool) -> None:
    from posture_checks.predicates import only_github_oidc

    assert (only_github_oidc([statement]) == []) is ok


def test_a_deploy_job_without_its_environment_fails_change_management(
    assembly: Assembly, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evidence is the pipeline's definition: a deploy job that no longer names the region's
    environment (so nobody approves) fails SOC 2 CC8.1 and ISO 27001 A.8.32."""
    import shutil

    import yaml

    from compliance_report import pipeline

    root = Path(__file__).resolve().parents[2]
    workflows = tmp_path / "workflows"
    shutil.copytree(root / ".github" / "workflows", workflows)
    deploy = yaml.safe_load((workflows / "deploy.yml").read_text())
    assert pipeline.deploy_pipeline({}, "eu-west-1", workflows) == ["no role trustbase-eu-west-1-deployer"]
    del deploy["jobs"]["deploy"]["environment"]
    (workflows / "deploy.yml").write_text(yaml.safe_dump(deploy))
    monkeypatch.setattr(pipeline, "WORKFLOWS", workflows)
    report = build(assembly.outdir)
    failed = {c.id for c in report.controls if c.status == FAIL}
    assert failed == {"SOC2-CC8.1", "ISO27001-A.8.32"}
    details = [e.detail for c in report.controls if c.id == "SOC2-CC8.1" for e in c.evidence if e.status == FAIL]
    assert details and all("does not name the region's environment" in d for d in details)
