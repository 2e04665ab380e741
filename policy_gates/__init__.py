"""Policy-as-code beyond cdk-nag: cfn-lint, checkov and our own template checks over every
synthesized template. `python -m policy_gates <cdk.out>` exits non-zero on any finding."""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import posture_checks as pc
from config import AppConfig, RegionConfig, load_config_file
from config.jurisdictions import AWS_REGIONS
from contract import PROJECT, IdentitySource
from policy_gates import warm
from policy_gates.cache import CacheStats, Tool, run_cached

ROOT = Path(__file__).resolve().parents[1]
SKIPS_FILE = Path(__file__).with_name("checkov_skips.toml")
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@dataclass(frozen=True)
class Skip:
    check: str
    resources: tuple[str, ...]
    reason: str
    when: str = ""  # a RegionConfig flag ("operator_access", or "not reserve_lambda_concurrency")

    def matches(self, check: str, logical_id: str) -> bool:
        return check == self.check and any(fnmatch.fnmatchcase(logical_id, g) for g in self.resources)

    def active(self, app_config: AppConfig) -> bool:
        """A skip tied to a config flag applies only where some region has the flag in that state:
        otherwise the resources it names are not synthesized, and it is neither used nor stale."""
        if not self.when:
            return True
        flag = self.when.removeprefix("not ").strip()
        wanted = not self.when.startswith("not ")
        return any(getattr(rc, flag) is wanted for rc in app_config.regions)


@dataclass
class GateResult:
    cfn_lint: list[str] = field(default_factory=list)
    checkov: list[str] = field(default_factory=list)
    own: list[str] = field(default_factory=list)
    access: list[str] = field(default_factory=list)
    stale_skips: list[str] = field(default_factory=list)
    checkov_skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.cfn_lint or self.checkov or self.own or self.access or self.stale_skips)

    def report(self) -> str:
        lines = []
        for name in ("cfn_lint", "checkov", "own", "access", "stale_skips"):
            items: list[str] = getattr(self, name)
            lines.append(f"{name}: {len(items)} finding(s)")
            lines += [f"  - {i}" for i in items]
        lines.append(f"checkov skipped with a listed reason: {len(self.checkov_skipped)}")
        return "\n".join(lines)


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    raw = tomllib.loads(path.read_text())
    skips = []
    flags = {f.name for f in fields(RegionConfig) if isinstance(f.default, bool)}
    for i, s in enumerate(raw.get("skip", [])):
        keys = set(s) - {"when"}
        if keys != {"check", "resources", "reason"} or len(str(s["reason"]).strip()) < 20 or not s["resources"]:
            raise ValueError(
                f"{path}: skip #{i} needs exactly check, resources (non-empty) and a reason of >= 20 chars"
            )
        when = str(s.get("when", ""))
        if when and when.removeprefix("not ").strip() not in flags:
            raise ValueError(f"{path}: skip #{i}: when = {when!r} names no region flag; use one of {sorted(flags)}")
        skips.append(Skip(check=s["check"], resources=tuple(s["resources"]), reason=s["reason"], when=when))
    return skips


def templates_in(outdir: Path) -> list[Path]:
    return sorted(outdir.glob("*.template.json"))


def _site_packages(venv_python: Path) -> Path:
    found = sorted(venv_python.parents[1].glob("lib/python*/site-packages"))
    return found[0] if found else venv_python.parents[1] / "lib"


CFN_LINT_TOOL = Tool(
    "cfn-lint",
    ("--format", "json"),
    ROOT / "requirements.lock",
    _site_packages(CFN_LINT),
    (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml"),
)
CHECKOV_TOOL = Tool(
    "checkov",
    ("--framework", "cloudformation", "--quiet", "--compact", "--skip-download", "-o", "json"),
    ROOT / "requirements-checkov.lock",
    _site_packages(CHECKOV),
    (".checkov.yaml", ".checkov.yml"),
)


def _cfn_lint_uncached(templates: list[Path]) -> dict[str, list[str]]:
    proc = warm.run("cfn-lint", [str(CFN_LINT), *CFN_LINT_TOOL.args, *map(str, templates)])
    if proc.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) and not proc.stdout.strip():
        raise RuntimeError(f"cfn-lint failed to run: {proc.stderr[-2000:]}")
    matches: list[dict[str, Any]] = json.loads(proc.stdout or "[]")
    found: dict[str, list[str]] = {t.name: [] for t in templates}
    for m in matches:
        if m["Level"] in ("Error", "Warning"):
            name = Path(m["Filename"]).name
            found[name].append(f"{name}: {m['Rule']['Id']} {m['Message']}")
    return found


def run_cfn_lint(templates: list[Path], stats: CacheStats | None = None) -> list[str]:
    """cfn-lint's errors and warnings, each template judged once per content (policy_gates/cache.py)."""
    found = run_cached(CFN_LINT_TOOL, templates, _cfn_lint_uncached, stats)
    return [finding for t in templates for finding in found[t.name]]


@dataclass(frozen=True)
class CheckovFailure:
    template: str
    check_id: str
    logical_id: str
    name: str

    def __str__(self) -> str:
        return f"{self.template}: {self.check_id} {self.logical_id} ({self.name})"


def _checkov_uncached(templates: list[Path]) -> dict[str, list[list[str]]]:
    cmd = [str(CHECKOV), *CHECKOV_TOOL.args]
    for t in templates:
        cmd += ["-f", str(t)]
    proc = warm.run("checkov", cmd)
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"checkov produced no JSON (exit {proc.returncode}): {proc.stderr[-2000:]}") from exc
    reports = data if isinstance(data, list) else [data]
    # A template checkov could not parse is an error, never a clean result (a run that parsed every
    # file and found no check that applies, as for a stack of permission sets, is clean).
    found: dict[str, list[list[str]]] = {t.name: [] for t in templates}
    for report in reports:
        results = report.get("results", {})
        if results.get("parsing_errors") or report.get("summary", report).get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse {results.get('parsing_errors')}: fix the template(s)")
        for f in results.get("failed_checks", []):
            name = Path(f["file_path"]).name
            found[name].append([name, f["check_id"], f["resource"].split(".", 1)[-1], f["check_name"]])
    return found


def run_checkov(templates: list[Path], stats: CacheStats | None = None) -> list[CheckovFailure]:
    """checkov's failed checks (before our listed skips), each template judged once per content."""
    found = run_cached(CHECKOV_TOOL, templates, _checkov_uncached, stats)
    return [CheckovFailure(*f) for t in templates for f in found[t.name]]


def apply_skips(failures: list[CheckovFailure], skips: list[Skip]) -> tuple[list[str], list[str], list[str]]:
    """(unlisted failures, skipped failures, stale skips)."""
    unlisted, skipped, used = [], [], set()
    for f in failures:
        skip = next((s for s in skips if s.matches(f.check_id, f.logical_id)), None)
        if skip is None:
            unlisted.append(str(f))
        else:
            skipped.append(str(f))
            used.add(id(skip))
    stale = [f"{s.check} {list(s.resources)}: matches no failed check any more" for s in skips if id(s) not in used]
    return unlisted, skipped, stale


TEMPLATE_NAME = re.compile(
    re.escape(PROJECT) + r"-(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)-(?P<part>[a-z-]+)\.template\.json"
)


def run_own_checks(templates: list[Path], app_config: AppConfig | None = None) -> list[str]:
    """Our posture checks, per template: IAM (wildcards, boundaries), buckets, listeners (TLS policy,
    HSTS, redirect), Aurora, egress, residency; the audit trail and the Object Lock bucket in each
    region's audit stack. Region-specific limits come from the validated config."""
    app_config = app_config or load_config_file()
    regions = {rc.name: rc for rc in app_config.regions}
    out = []
    for t in templates:
        template = json.loads(t.read_text())
        found: list[str] = []
        for check in (
            pc.wildcard_action_violations,
            pc.boundary_violations,
            pc.bucket_violations,
            pc.listener_violations,
            pc.aurora_violations,
        ):
            found += check(template)
        m = TEMPLATE_NAME.fullmatch(t.name)
        rc = regions.get(m["region"]) if m else None
        found += pc.egress_violations(
            template,
            internet_allowed_for=("TiersApp",) if rc and (rc.app_internet_egress or rc.subprocessor_domains) else (),
        )
        if rc and rc.subprocessor_domains and m and m["part"] == "network":
            found += pc.egress_firewall_violations(template, rc.subprocessor_domains)
        if m:
            jurisdiction = AWS_REGIONS.get(m["region"])
            if jurisdiction is None:
                found.append(f"region {m['region']} has no approved jurisdiction")
            else:
                access = app_config.access
                home = access.home_region if access.identity_source is IdentitySource.IDENTITY_CENTER else None
                found += pc.residency_violations(template, jurisdiction, identity_center_region=home)
            if m["part"] == "audit":
                found += pc.trail_violations(template)
                # the region's configured lock, or, for a region the config does not know, a year
                lock_days = rc.retention.audit_lock_days if rc else MIN_AUDIT_LOCK_DAYS
                found += pc.audit_bucket_violations(template, min_lock_days=lock_days)
        out += [f"{t.name}: {v}" for v in found]
    return out


# The shortest Object Lock retention any region may run with (a year of audit evidence).
MIN_AUDIT_LOCK_DAYS = 365


def run_access_paths(outdir: Path) -> list[str]:
    """Every intended access path allowed and every forbidden one denied, in every region, plus the
    documented integration facts (access_paths/)."""
    if not (outdir / "manifest.json").exists():
        return [f"{outdir}: no manifest.json, so the access paths cannot be evaluated: gate a whole cloud assembly"]
    from access_paths.assembly import Assembly
    from access_paths.gate import check

    return check(Assembly.load(outdir))


def evaluate(
    outdir: Path,
    skips: list[Skip] | None = None,
    *,
    report_stale: bool = True,
    checkov_failures: list[CheckovFailure] | None = None,
    external_tools: bool = True,
    app_config: AppConfig | None = None,
    stats: dict[str, CacheStats] | None = None,
) -> GateResult:
    """Run every gate over the templates in `outdir` (`checkov_failures`: reuse an earlier checkov
    run; `external_tools=False`: only our own checks and the access paths, as the planted-defect
    tests do; `stats`: filled with each tool's cache hits and misses).

    The gates are independent, so cfn-lint and checkov run at the same time (each a process of its
    own) while this process runs our own checks and the access paths. Each tool judges only the
    templates whose content it has not judged before (policy_gates/cache.py)."""
    templates = templates_in(outdir)
    if not templates:
        raise FileNotFoundError(f"no *.template.json in {outdir}: synthesize first")
    app_config = app_config or load_config_file()
    result = GateResult()
    with ThreadPoolExecutor(max_workers=2) as pool:
        lint = checkov = None
        if external_tools:
            lint_stats, checkov_stats = CacheStats(), CacheStats()
            if stats is not None:
                stats.update({"cfn-lint": lint_stats, "checkov": checkov_stats})
            lint = pool.submit(run_cfn_lint, templates, lint_stats)
            if checkov_failures is None:
                checkov = pool.submit(run_checkov, templates, checkov_stats)
        result.own = run_own_checks(templates, app_config)
        result.access = run_access_paths(outdir)
        if lint is not None:
            result.cfn_lint = lint.result()
            failures = checkov.result() if checkov is not None else checkov_failures or []
            active = [k for k in (load_skips() if skips is None else skips) if k.active(app_config)]
            result.checkov, result.checkov_skipped, stale = apply_skips(failures, active)
            result.stale_skips = stale if report_stale else []
    return result
