"""The compliance gate: all four cdk-nag packs ran, found nothing unacknowledged, and every
acknowledgment is specific (>= 20 chars), resource-scoped, and listed in the README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.nag import MIN_REASON_CHARS, PACKS
from tests.conftest import ROOT, Assembly

# Acknowledgments that aws-cdk-lib itself records for its own constructs (not ours):
# rule id -> start of CDK's reason. They are listed in the README too.
CDK_BUILTIN = {
    "CloudFormation-Validate::F3002": "AWS::EC2::FlowLog DestinationOptions accepts properties in camelCase",
    "CloudFormation-Validate::F3003": "AWS::EC2::FlowLog DestinationOptions accepts properties in camelCase",
}


def is_cdk_builtin(rule: str, reason: str) -> bool:
    return rule in CDK_BUILTIN and reason.startswith(CDK_BUILTIN[rule])


def acknowledgments(assembly: Assembly, *, include_cdk_builtin: bool = False) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) for every acknowledgment recorded in the assembly."""
    out = []
    for stack in assembly.stack_names:
        for path, entries in assembly.metadata(stack).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    out += [
                        (path, rule, reason)
                        for rule, reason in entry["data"].items()
                        if include_cdk_builtin or not is_cdk_builtin(rule, reason)
                    ]
    return out


def test_all_packs_ran_and_reported_no_violation(assembly: Assembly) -> None:
    report: dict[str, Any] = json.loads((assembly.outdir / "validation-report.json").read_text())
    by_plugin = {p["pluginName"]: p for p in report["pluginReports"]}
    assert set(PACKS) <= set(by_plugin), f"packs missing from the report: {set(PACKS) - set(by_plugin)}"
    for name, plugin in by_plugin.items():
        assert plugin["conclusion"] == "success", name
        assert plugin["violations"] == [], name


def test_synth_needs_no_context_lookup(assembly: Assembly) -> None:
    """Offline synth: no stack may ask for a context value (AZs, VPCs, AMIs...). In-process
    synth silently uses dummy values; the CLI fails without credentials."""
    assert assembly.manifest.get("missing", []) == []
    for stack in assembly.stack_names:
        for entries in assembly.metadata(stack).values():
            errors = [e["data"] for e in entries if e["type"] == "aws:cdk:error"]
            assert errors == [], (stack, errors)


def test_every_acknowledgment_has_a_specific_reason(assembly: Assembly) -> None:
    acks = acknowledgments(assembly, include_cdk_builtin=True)
    assert acks, "expected the known, documented acknowledgments"
    short = [(p, r, why) for p, r, why in acks if len(why.strip()) < MIN_REASON_CHARS]
    assert short == []


def test_acknowledgments_sit_on_resources_not_stacks(assembly: Assembly) -> None:
    for path, rule, _ in acknowledgments(assembly):
        assert path.count("/") >= 2, f"{rule} acknowledged on {path}: too broad (stack or app level)"


@pytest.fixture(scope="module")
def readme() -> str:
    return (ROOT / "README.md").read_text()


def test_readme_documents_each_acknowledged_rule(assembly: Assembly, readme: str) -> None:
    acks = acknowledgments(assembly, include_cdk_builtin=True)
    rules = {rule.split("::", 1)[1].split("[", 1)[0] for _, rule, _ in acks}
    # only the first column of the "Acknowledged findings" table counts, not a mention elsewhere
    section = readme.split("## Acknowledged findings", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| rule")]
    first_column = " ".join(row.split("|")[1] for row in rows)
    listed = {
        r
        for r in rules
        if r in first_column or r.replace("CloudFormation Validate::", "CloudFormation Validate ") in first_column
    }
    missing = sorted(rules - listed)
    assert rows and missing == [], f"acknowledged rules not in README.md's table: {missing}"


def test_the_gate_fails_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    """A gate that cannot fail proves nothing: a plain bucket must fail synth."""
    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_s3 as s3

    from app import register_compliance_gates

    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Bad", env=Environment(account="123456789012", region="eu-west-1")), "Plain")
    register_compliance_gates(app)
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10", "HIPAA.Security-S3DefaultEncryptionKMS"} <= rules
