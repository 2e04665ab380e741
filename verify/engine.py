"""Walk a region's deployed stacks, observe every resource through its service API, judge it, and
write the report as it goes (a long run in a big account shows its progress in the files)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract import STACK_PARTS, stack_name
from verify.declared import Resolver, Stack
from verify.judges import JUDGES, Context
from verify.observers import OBSERVERS as OBSERVERS  # re-exported: the tests replace entries
from verify.readonly import ReadOnlySession, ReadOnlyViolation
from verify.report import FAIL, NOT_EMULATED, PASS, PATCHED, Report, Row

# The property whose referenced values a type's checks compare (see Verifier._patched_source).
PATCHED_SOURCES = {"AWS::SSM::Parameter": "Value", "AWS::IAM::ManagedPolicy": "PolicyDocument"}
# Not resources: CDK's analytics marker.
SKIPPED_TYPES = frozenset({"AWS::CDK::Metadata"})
# Reads in flight at once per stack: enough to keep client and service both busy, few enough to stay
# far below the read APIs' throttling limits of a live account (most allow 5 to 20 per second).
OBSERVE_WORKERS = 4
COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")
NOT_FOUND = ("NotFound", "NoSuch", "NonExistent", "DoesNotExist", "ResourceNotFound", "InvalidParameterValue")


@dataclass(frozen=True)
class Emulation:
    """The local emulator's limits and what only our patches wrote. Live runs have none of this,
    so they can only PASS or FAIL."""

    target: str
    not_emulated_types: Mapping[str, str] = field(default_factory=dict)  # created by nothing in moto
    not_emulated_checks: Mapping[str, str] = field(default_factory=dict)  # check ID -> why moto cannot show it
    patched: Mapping[str, str] = field(default_factory=dict)  # check ID -> "patch <name>: <gap>"
    dropped: Mapping[str, Mapping[str, Mapping[str, str]]] = field(
        default_factory=dict
    )  # stack -> {lid: {type, reason}}
    patched_types: Mapping[str, str] = field(default_factory=dict)  # resource type whose model is a patch -> patch


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Verifier:
    def __init__(
        self,
        session: ReadOnlySession,
        region: str,
        *,
        emulation: Emulation | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.session = session
        self.region = region
        self.emulation = emulation
        self.log = log
        self._ssm: dict[str, str | None] = {}

    def _ssm_value(self, name: str) -> str | None:
        if name not in self._ssm:
            try:
                self._ssm[name] = self.session.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
            except ClientError:
                self._ssm[name] = None
        return self._ssm[name]

    def run(
        self, *, parts: tuple[str, ...] = STACK_PARTS, out_dir: Path | None = None, stem: str | None = None
    ) -> Report:
        account = self.session.client("sts").get_caller_identity()["Account"]
        target = self.emulation.target if self.emulation else "live account"
        report = Report(region=self.region, account=account, target=target, started_at=_now())
        stem = stem or f"verify-{self.region}"
        names = [stack_name(self.region, part) for part in parts]
        for i, name in enumerate(names, 1):
            report.stacks.append(name)
            self._stack(name, account, report)
            report.progress = f"{i}/{len(names)} stacks, last {name}"
            if out_dir is not None:
                report.write(out_dir, stem)
            c = report.counts()
            self.log(f"[verify] {self.region} {i}/{len(names)} {name}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
        report.complete, report.finished_at, report.progress = True, _now(), f"{len(names)}/{len(names)} stacks"
        if out_dir is not None:
            report.write(out_dir, stem)
        return report

    # ------------------------------------------------------------------ one stack
    def _stack(self, name: str, account: str, report: Report) -> None:
        cfn = self.session.client("cloudformation")

        def add(lid: str, rtype: str, physical: str, check: str, what: str, status: str, detail: str) -> None:
            report.rows.append(Row(name, lid, rtype, physical, check, what, status, detail))

        try:
            described = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as exc:
            add(
                name,
                "AWS::CloudFormation::Stack",
                "",
                "cloudformation.stack",
                "stack deployed",
                FAIL,
                f"not found ({_code(exc)})",
            )
            return
        status = described["StackStatus"]
        add(
            name,
            "AWS::CloudFormation::Stack",
            described.get("StackId", ""),
            "cloudformation.stack",
            "stack deployed and stable",
            PASS if status in COMPLETE else FAIL,
            status,
        )
        body = cfn.get_template(StackName=name)["TemplateBody"]
        template: dict[str, Any] = json.loads(body) if isinstance(body, str) else dict(body)
        physical: dict[str, str] = {}
        statuses: dict[str, str] = {}
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
            for r in page["StackResourceSummaries"]:
                if r.get("PhysicalResourceId"):
                    physical[r["LogicalResourceId"]] = r["PhysicalResourceId"]
                statuses[r["LogicalResourceId"]] = r.get("ResourceStatus", "")
        deployed_with = {
            p["ParameterKey"]: p.get("ResolvedValue") or p.get("ParameterValue", "")
            for p in described.get("Parameters", [])
        }
        stack = Stack(name, self.region, account, template, physical, statuses, deployed_with)
        resolver = Resolver(stack, self._ssm_value)
        dropped = self.emulation.dropped.get(name, {}) if self.emulation else {}
        # Each resource is read on its own, so up to OBSERVE_WORKERS reads are in flight at once (the
        # client builds one request while the service answers another); rows keep the template's order.
        todo = [
            (lid, res.get("Type", ""), physical.get(lid, ""), res.get("Properties", {}) or {})
            for lid, res in template.get("Resources", {}).items()
            if res.get("Type", "") not in SKIPPED_TYPES
        ]
        with ThreadPoolExecutor(max_workers=OBSERVE_WORKERS) as pool:
            observed = pool.map(lambda t: self._resource(t[0], t[1], t[2], t[3], resolver, dropped), todo)
            for (lid, rtype, phys, _), rows in zip(todo, observed, strict=True):
                for row in rows:
                    add(lid, rtype, phys, *row)
        for lid, d in dropped.items():  # removed from the template the emulator got
            if lid not in template.get("Resources", {}):
                add(lid, d["type"], "", f"{d['type']}.exists", f"{d['type']} exists", NOT_EMULATED, d["reason"])

    def _patched_source(self, value: Any, resolver: Resolver) -> str | None:
        """When a value this resource holds was produced by a patched model (an SSM link carrying a
        patched cluster's endpoint, say), the read-back proves the patch: name it."""
        assert self.emulation is not None
        for lid in sorted(_referenced(value)):
            rtype = resolver.stack.type_of(lid)
            if rtype in self.emulation.patched_types:
                return f"holds a value of {lid} ({rtype}), created by patch {self.emulation.patched_types[rtype]}"
        return None

    # ------------------------------------------------------------------ one resource
    def _resource(
        self,
        lid: str,
        rtype: str,
        physical: str,
        props: dict[str, Any],
        resolver: Resolver,
        dropped: Mapping[str, Mapping[str, str]],
    ) -> list[tuple[str, str, str, str]]:
        em = self.emulation
        exists = (f"{rtype}.exists", f"{rtype} exists")
        if lid in dropped:
            return [(*exists, NOT_EMULATED, dropped[lid]["reason"])]
        if em and rtype in em.not_emulated_types:
            if physical:
                return [
                    (
                        *exists,
                        FAIL,
                        "the emulator now creates this type: remove it from the not-emulated list "
                        "and let its observer read it",
                    )
                ]
            return [(*exists, NOT_EMULATED, em.not_emulated_types[rtype])]
        if not physical:
            return [(*exists, FAIL, "CloudFormation lists no physical resource: not created")]
        observer, judge = OBSERVERS.get(rtype), JUDGES.get(rtype)
        if observer is None or judge is None:
            return [(*exists, FAIL, "no observer for this resource type: add one to verify/observers.py and judges.py")]
        try:
            observed = observer(self.session, physical, props, resolver)
        except ReadOnlyViolation:
            raise
        except ClientError as exc:
            code = _code(exc)
            if not any(k in code for k in NOT_FOUND):
                return [(*exists, FAIL, f"could not read: {code}: {str(exc)[:200]}")]
            observed = {"exists": False}
        except (BotoCoreError, KeyError, IndexError, TypeError, ValueError) as exc:
            return [(*exists, FAIL, f"could not read: {type(exc).__name__}: {str(exc)[:200]}")]
        if not observed.get("exists"):
            return [(*exists, FAIL, "not found through the service API (CloudFormation lists it)")]
        try:
            findings = judge(observed, Context(lid, rtype, props, resolver))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            return [(*exists, FAIL, f"could not judge: {type(exc).__name__}: {str(exc)[:200]}")]
        rows = []
        # A value taken from a patched model (an SSM link to a cluster endpoint, a policy naming a log
        # group's ARN) proves the patch, not AWS.
        source_key = PATCHED_SOURCES.get(rtype)
        patched_source = self._patched_source(props.get(source_key), resolver) if em and source_key else None
        for f in findings:
            if em and f.check in em.not_emulated_checks:
                rows.append((f.check, f.what, NOT_EMULATED, em.not_emulated_checks[f.check]))
            elif f.problems:
                rows.append((f.check, f.what, FAIL, "; ".join(f.problems)))
            elif em and f.check in em.patched:
                rows.append((f.check, f.what, PATCHED, f"{em.patched[f.check]}; read back: {f.detail}"))
            elif em and patched_source:
                rows.append((f.check, f.what, PATCHED, f"{patched_source}; read back: {f.detail}"))
            else:
                rows.append((f.check, f.what, PASS, f.detail))
        return rows


def _referenced(value: Any) -> set[str]:
    """Logical IDs a template value refers to (Ref, GetAtt, ${X} in Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(str(arg[0] if isinstance(arg, list) else str(arg).split(".")[0]))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _referenced(arg[1] if isinstance(arg, list) else {})
            else:
                found |= _referenced(arg)
    elif isinstance(value, list):
        for item in value:
            found |= _referenced(item)
    return found


def verify_region(
    session: ReadOnlySession,
    region: str,
    *,
    out_dir: Path | None = None,
    stem: str | None = None,
    emulation: Emulation | None = None,
    parts: tuple[str, ...] = STACK_PARTS,
    log: Callable[[str], None] = print,
) -> Report:
    """Observe and judge every resource of the region's stacks; write <out_dir>/<stem>.md|json
    after every stack (default stem: verify-<region>)."""
    return Verifier(session, region, emulation=emulation, log=log).run(parts=parts, out_dir=out_dir, stem=stem)
