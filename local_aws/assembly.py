"""The synthesized cloud assembly as the emulator takes it: stacks in dependency order, and each
template localized (Lambda-backed custom resources dropped, listener certificates swapped for
local stand-ins), with the reason for every change."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import DATA_PLANE_VPC_SID

DROPPED_REASON = "Lambda-backed custom resource: moto runs Lambda only in Docker, which this machine lacks"


@dataclass(frozen=True)
class StackArtifact:
    name: str
    region: str
    template_file: Path
    assets_file: Path | None
    dependencies: tuple[str, ...]


def stacks_in_order(cdk_out: Path, regions: list[str] | None = None) -> list[StackArtifact]:
    """The assembly's stacks (optionally of some regions), dependencies first."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    stacks: dict[str, StackArtifact] = {}
    for name, art in artifacts.items():
        if art["type"] != "aws:cloudformation:stack":
            continue
        region = art["environment"].rsplit("/", 1)[-1]
        if regions and region not in regions:
            continue
        deps = tuple(d for d in art.get("dependencies", []) if artifacts[d]["type"] == "aws:cloudformation:stack")
        assets = next(
            (
                cdk_out / artifacts[d]["properties"]["file"]
                for d in art.get("dependencies", [])
                if artifacts[d]["type"] == "cdk:asset-manifest"
            ),
            None,
        )
        stacks[name] = StackArtifact(name, region, cdk_out / art["properties"]["templateFile"], assets, deps)
    if regions:
        unknown = sorted(set(regions) - {s.region for s in stacks.values()})
        if unknown:
            raise ValueError(f"--regions {', '.join(unknown)}: no stacks for it in {cdk_out}; synthesize it first")
    ordered: list[StackArtifact] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in stacks:
            return
        seen.add(name)
        for dep in stacks[name].dependencies:
            visit(dep)
        ordered.append(stacks[name])

    for name in stacks:
        visit(name)
    return ordered


@dataclass(frozen=True)
class Localized:
    template: dict[str, Any]
    dropped: dict[str, dict[str, str]]  # logical ID -> {"type", "reason"}: what the emulator does not get
    changed: dict[str, str]  # logical ID -> what was changed for the emulator


def localize(template: dict[str, Any], certificates: dict[str, str] | None = None) -> Localized:
    """The template as the emulator can take it, with the reason for every change. Lambda-backed
    custom resources are dropped (with DependsOn references to them); listener certificates are
    swapped for local stand-ins (`certificates`: configured ARN -> local ARN); the customer
    bucket's aws:SourceVpce statement is removed (no request to the emulator comes through a VPC
    endpoint, so it would refuse the drills' and verify's calls)."""
    out = copy.deepcopy(template)
    resources = out["Resources"]
    changed: dict[str, str] = {}
    for lid, r in resources.items():
        for cert in r.get("Properties", {}).get("Certificates", []) if r["Type"].endswith("::Listener") else []:
            arn = cert.get("CertificateArn")
            if certificates and arn in certificates:
                cert["CertificateArn"] = certificates[arn]
                changed[lid] = f"certificate {arn} exists only in the real account: a self-signed local stand-in serves"
    for lid, r in resources.items():
        if r["Type"] != "AWS::S3::BucketPolicy":
            continue
        statements = r["Properties"]["PolicyDocument"]["Statement"]
        kept = [st for st in statements if st.get("Sid") != DATA_PLANE_VPC_SID]
        if len(kept) != len(statements):
            r["Properties"]["PolicyDocument"]["Statement"] = kept
            changed[lid] = (
                f"statement {DATA_PLANE_VPC_SID} removed: the emulator has no VPC endpoints, so every request would "
                "be outside one; the offline access paths prove the statement"
            )
    dropped = {
        lid: {"type": r["Type"], "reason": DROPPED_REASON}
        for lid, r in resources.items()
        if r["Type"].startswith("Custom::") or r["Type"] == "AWS::CloudFormation::CustomResource"
    }
    for lid in dropped:
        del resources[lid]
    for r in resources.values():
        deps = r.get("DependsOn")
        if isinstance(deps, list):
            r["DependsOn"] = [d for d in deps if d not in dropped]
        elif isinstance(deps, str) and deps in dropped:
            del r["DependsOn"]
    referenced = json.dumps(out)
    for lid in dropped:
        if f'"{lid}"' in referenced:
            raise ValueError(f"cannot drop {lid}: other resources reference it")
    return Localized(out, dropped, changed)


def listener_certificates(template: dict[str, Any]) -> set[str]:
    return {
        c["CertificateArn"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
        for c in r.get("Properties", {}).get("Certificates", [])
        if isinstance(c.get("CertificateArn"), str)
    }
