"""Compliance evidence report: what the synthesized cloud assembly proves, and what `verify` observed.

For each control in controls.toml and each region: the resources that implement it, the
setting, the test or rule that proves it on the template, and a status. Given verify reports
(`python -m verify --region R`), each evidence item also says what was observed in which account
at what time, read from the service APIs with the same predicates. Also every acknowledged
cdk-nag finding with its reason, and totals per pack.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import posture_checks as pc
from compliance_report import pipeline
from config.jurisdictions import AWS_REGIONS
from contract import CICD_PART, IDENTITY_STACK, ORGANIZATION_STACK, stack_name
from posture_checks import predicates
from verify.report import Report as VerifyReport

CONTROLS_FILE = Path(__file__).with_name("controls.toml")
# Change management (SOC 2 CC8.1, ISO 27001 A.8.32): judged on the workflows and the region's
# pipeline roles (compliance_report/pipeline.py).
PIPELINE_CHECKS: dict[str, Any] = {
    "deploy-pipeline": pipeline.deploy_pipeline,
    "change-review": lambda roles, region: pipeline.change_review(),
    "drift-detection": pipeline.drift_detection,
}
PIPELINE_FILES = {
    "deploy-pipeline": "deploy.yml",
    "change-review": "change-review-verdict.yml",
    "drift-detection": "drift.yml",
}
PASS, FAIL, PARTIAL = "PASS", "FAIL", "PARTIAL"


@dataclass
class EvidenceResult:
    region: str
    what: str  # "AWS::X::Y Properties.a.b == v" or a named check
    proof: str
    resources: list[str]
    status: str
    detail: str = ""
    observed_status: str | None = None  # from a verify report: PASS / FAIL, None when not observed
    observed: str = "not observed (no verify report for this region)"


@dataclass
class ControlResult:
    id: str
    framework: str
    title: str
    status: str
    pending: str | None
    evidence: list[EvidenceResult] = field(default_factory=list)


@dataclass
class Report:
    regions: list[str]
    controls: list[ControlResult]
    acknowledgments: list[dict[str, str]]
    totals_per_pack: dict[str, dict[str, int]]
    observations: list[str] = field(default_factory=list)  # which verify reports were used (or ignored, why)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def load_controls(path: Path = CONTROLS_FILE) -> list[dict[str, Any]]:
    controls: list[dict[str, Any]] = tomllib.loads(path.read_text())["control"]
    return controls


def mapped_resource_types(controls: list[dict[str, Any]]) -> set[str]:
    return {e["type"] for c in controls for e in c["evidence"] if "type" in e}


class Assembly:
    """Templates and metadata of a cdk.out directory, grouped by region."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        manifest = json.loads((outdir / "manifest.json").read_text())
        self.stacks: dict[str, str] = {}  # stack -> region
        for name, artifact in manifest["artifacts"].items():
            if artifact["type"] == "aws:cloudformation:stack":
                self.stacks[name] = artifact["environment"].rsplit("/", 1)[-1]
        self.templates = {s: json.loads((outdir / f"{s}.template.json").read_text()) for s in self.stacks}

    @property
    def regions(self) -> list[str]:
        """The hosting regions: those with a regional stack (the account-wide identity stack lives in
        Identity Center's home region, which need not host anything)."""
        return sorted({r for s, r in self.stacks.items() if s not in (IDENTITY_STACK, ORGANIZATION_STACK)})

    def resources(self, region: str, rtype: str) -> dict[str, dict[str, Any]]:
        out = {}
        for stack, r in self.stacks.items():
            if r == region:
                out.update({f"{stack}/{k}": v for k, v in pc.resources(self.templates[stack], rtype).items()})
        return out

    def acknowledgments(self) -> list[dict[str, str]]:
        out = []
        for stack in self.stacks:
            metadata = json.loads((self.outdir / f"{stack}.metadata.json").read_text())
            for path, entries in metadata.items():
                for entry in entries:
                    if entry["type"] == "aws:cdk:acknowledged-rules":
                        out += [{"construct": path, "rule": rule, "reason": why} for rule, why in entry["data"].items()]
        return sorted(out, key=lambda a: (a["rule"], a["construct"]))

    def validation_report(self) -> dict[str, Any] | None:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else None


def _get(props: dict[str, Any], path: list[str]) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# Named judges a control may use instead of a literal: the same predicates the template checks and
# verify apply, so e.g. "an allowed TLS policy" is defined once (contract.FORWARD_SECRET_TLS_POLICIES).
PREDICATES: dict[str, Any] = {
    "tls_policy": predicates.tls_policy,
    "denies_outside_account": predicates.denies_outside_account,
    "only_identity_provider": predicates.only_identity_provider,
    "only_github_oidc": predicates.only_github_oidc,
    "hsts_listener_attributes": lambda attrs: predicates.hsts(
        {a.get("Key"): a.get("Value") for a in attrs or [] if isinstance(a, dict)}.get(predicates.HSTS_ATTRIBUTE)
    ),
}


def _satisfies(value: Any, expect: Any) -> bool:
    if isinstance(expect, dict) and "predicate" in expect:
        return bool(PREDICATES[expect["predicate"]](value) == [])
    if expect == "present":
        return value not in (None, "", [], {})
    if isinstance(expect, dict) and "min" in expect:
        try:
            return value is not None and float(value) >= float(expect["min"])
        except (TypeError, ValueError):
            return False
    if isinstance(expect, dict) and "one_of" in expect:
        return value in expect["one_of"]
    return bool(value == expect)


def _describe(e: dict[str, Any]) -> str:
    if "check" in e:
        return f"check: {e['check']}"
    where = f" (logical IDs {e['match']}*)" if e.get("match") else ""
    return f"{e['type']}{where}: {'.'.join(e['path'])} = {json.dumps(e['expect'])}"


def evaluate_evidence(assembly: Assembly, region: str, e: dict[str, Any]) -> EvidenceResult:
    if e.get("check") == "residency":
        jurisdiction = AWS_REGIONS.get(region)
        if jurisdiction is None:
            return EvidenceResult(region, _describe(e), e["proof"], [], FAIL, f"{region} has no jurisdiction")
        # The identity stack serves every region's people (IAM Identity Center has one home region,
        # and its permission sets name each region's roles): it holds no data, and its references
        # are the documented exception, as is the home region in the brokers and boundaries.
        home = (
            assembly.stacks.get(IDENTITY_STACK)
            if any(
                r.get("Type") == "AWS::SSO::PermissionSet"
                for r in assembly.templates.get(IDENTITY_STACK, {}).get("Resources", {}).values()
            )
            else None
        )
        regional = {
            s: r for s, r in assembly.stacks.items() if r == region and s not in (IDENTITY_STACK, ORGANIZATION_STACK)
        }
        problems = [
            v
            for s in regional
            for v in pc.residency_violations(assembly.templates[s], jurisdiction, identity_center_region=home)
        ]
        stacks = sorted(regional)
        return EvidenceResult(region, _describe(e), e["proof"], stacks, FAIL if problems else PASS, "; ".join(problems))
    if e.get("check") in PIPELINE_CHECKS:
        cicd = stack_name(region, CICD_PART)
        roles = {k: v for k, v in assembly.resources(region, "AWS::IAM::Role").items() if k.startswith(f"{cicd}/")}
        problems = PIPELINE_CHECKS[e["check"]](roles, region)
        where = [cicd, f".github/workflows/{PIPELINE_FILES[e['check']]}"]
        return EvidenceResult(region, _describe(e), e["proof"], where, FAIL if problems else PASS, "; ".join(problems))
    if e.get("check") == "egress":
        stacks = sorted(s for s, r in assembly.stacks.items() if r == region and s.endswith("-network"))
        problems = []
        for name in stacks:
            template = assembly.templates[name]
            groups = pc.resources(template, "AWS::NetworkFirewall::RuleGroup")
            if groups:  # subprocessor_domains: HTTPS out, through the firewall's allow-list only
                targets = next(iter(groups.values()))["Properties"]["RuleGroup"]["RulesSource"]["RulesSourceList"][
                    "Targets"
                ]
                problems += pc.egress_violations(template, internet_allowed_for=("TiersApp",))
                problems += pc.egress_firewall_violations(template, tuple(targets))
            else:  # no internet egress from any tier
                problems += pc.egress_violations(template)
        status = FAIL if problems or not stacks else PASS
        return EvidenceResult(
            region,
            _describe(e),
            e["proof"],
            stacks,
            status,
            "; ".join(problems) or ("" if stacks else "no network stack"),
        )
    found = {
        k: v
        for k, v in assembly.resources(region, e["type"]).items()
        if k.split("/", 1)[1].startswith(e.get("match", ""))
    }
    if not found:
        return EvidenceResult(region, _describe(e), e["proof"], [], FAIL, "no such resource in this region")
    bad = [k for k, v in found.items() if not _satisfies(_get(v.get("Properties", {}), e["path"]), e["expect"])]
    status = FAIL if bad else PASS
    return EvidenceResult(
        region, _describe(e), e["proof"], sorted(found), status, f"not satisfied by: {', '.join(bad)}" if bad else ""
    )


def load_verify_reports(paths: list[Path]) -> tuple[dict[str, VerifyReport], list[str]]:
    """{region: the verify report} from complete reports; notes say which were used or ignored."""
    used: dict[str, VerifyReport] = {}
    notes = []
    for path in paths:
        report = VerifyReport.from_json(path.read_text())
        if report.target != "live account":  # the emulator's report proves patches, not an account
            notes.append(f"ignored {path}: not a live account ({report.target})")
            continue
        if not report.complete:
            # What an unfinished run saw failing is still drift; what it did not reach proves nothing.
            report.rows = [r for r in report.rows if r.status == "FAIL"]
            notes.append(f"{path}: incomplete ({report.progress}): only its FAIL rows are used")
        if report.region in used and used[report.region].finished_at >= report.finished_at:
            notes.append(f"ignored {path}: an equal or newer report of {report.region} is used")
            continue
        used[report.region] = report
        if report.complete:
            notes.append(f"{path}: {report.region}, account {report.account} ({report.target}), {report.finished_at}")
    return used, notes


def observe_evidence(result: EvidenceResult, e: dict[str, Any], verified: dict[str, VerifyReport]) -> None:
    """Fill in what verify observed for this evidence item in its region (the rows of its check)."""
    check = e.get("observed")
    if not check:
        result.observed = "not observable from the service APIs (proved on the template only)"
        return
    report = verified.get(result.region)
    if report is None:
        return
    rows = [r for r in report.rows if r.check == check and r.resource.startswith(e.get("match", ""))]
    where = f"in account {report.account} ({report.target}) at {report.finished_at or report.started_at}"
    if not report.complete:
        if rows:
            result.observed_status = FAIL
            result.observed = f"FAIL {where} (incomplete run): " + "; ".join(
                f"{r.stack}/{r.resource}: {r.detail}" for r in rows
            )
        else:
            result.observed = f"not observed (the run {where} stopped at {report.progress})"
        return
    if not rows:
        result.observed_status = FAIL
        result.observed = f"FAIL: no {check} row {where}"
        return
    failed = [r for r in rows if r.status != "PASS"]  # a live report has only PASS and FAIL
    result.observed_status = FAIL if failed else PASS
    if failed:
        result.observed = f"FAIL {where}: " + "; ".join(f"{r.stack}/{r.resource}: {r.detail}" for r in failed)
    else:
        result.observed = f"PASS {where} ({len(rows)} resources)"


def build(
    outdir: Path, controls: list[dict[str, Any]] | None = None, verify_reports: list[Path] | None = None
) -> Report:
    assembly = Assembly(outdir)
    verified, notes = load_verify_reports(verify_reports or [])
    results = []
    for c in controls if controls is not None else load_controls():
        evidence = []
        for e in c["evidence"]:
            for region in assembly.regions:
                result = evaluate_evidence(assembly, region, e)
                observe_evidence(result, e, verified)
                evidence.append(result)
        failed = any(r.status == FAIL or r.observed_status == FAIL for r in evidence)
        status = FAIL if failed else (PARTIAL if c.get("pending") else PASS)
        results.append(ControlResult(c["id"], c["framework"], c["title"], status, c.get("pending"), evidence))
    acks = assembly.acknowledgments()
    totals: dict[str, dict[str, int]] = {}
    report = assembly.validation_report()
    ack_counts = Counter(a["rule"].split("::", 1)[0] for a in acks)
    for plugin in report["pluginReports"] if report else []:
        totals[plugin["pluginName"]] = {
            "unacknowledged_violations": sum(len(v["violatingConstructs"]) for v in plugin["violations"]),
            "acknowledged": ack_counts.get(plugin["pluginName"].replace(" ", "-"), 0),
        }
    return Report(
        regions=assembly.regions, controls=results, acknowledgments=acks, totals_per_pack=totals, observations=notes
    )


def to_markdown(report: Report) -> str:
    lines = [
        "# trustbase compliance evidence",
        "",
        "Proved on the template: the synthesized cloud assembly (`cdk.out/`), what will be deployed,",
        f"in {', '.join(report.regions)}. Observed: read back from a deployed account by `verify`",
        "(read-only, the same predicates), per region, with the account and the time.",
        "PASS = every region's resources carry the setting (and, where observed, every deployed one does);",
        "PARTIAL = what exists passes, but part of the control is still being built (see note);",
        "FAIL = a region lacks the resource or the setting, on the template or in the account.",
        "",
        "Verify reports used: "
        + ("; ".join(report.observations) if report.observations else "none (template evidence only)."),
        "",
        "## Summary",
        "",
        "| control | framework | title | status |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c.id} | {c.framework} | {c.title} | **{c.status}** |" for c in report.controls]
    for c in report.controls:
        lines += ["", f"## {c.id}: {c.title}", "", f"Framework: {c.framework}. Status: **{c.status}**."]
        if c.pending:
            lines.append(f"Still open: {c.pending}.")
        lines += [
            "",
            "| region | setting | resources | proved on the template by | template | observed |",
            "|---|---|---|---|---|---|",
        ]
        for e in c.evidence:
            resources = "<br>".join(e.resources) or "none"
            detail = f" ({e.detail})" if e.detail else ""
            lines.append(f"| {e.region} | {e.what} | {resources} | {e.proof} | {e.status}{detail} | {e.observed} |")
    lines += [
        "",
        "## Acknowledged findings",
        "",
        "Totals per pack (from the validation report):",
        "",
        "| pack | unacknowledged violations | acknowledged |",
        "|---|---|---|",
    ]
    lines += [
        f"| {p} | {t['unacknowledged_violations']} | {t['acknowledged']} |"
        for p, t in sorted(report.totals_per_pack.items())
    ]
    lines += ["", "| rule | construct | reason |", "|---|---|---|"]
    lines += [f"| {a['rule']} | {a['construct']} | {a['reason']} |" for a in report.acknowledgments]
    return "\n".join(lines) + "\n"


def write(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / "compliance.md", out_dir / "compliance.json"
    md.write_text(to_markdown(report))
    js.write_text(report.to_json())
    return md, js
