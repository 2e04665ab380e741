"""The access-path table over the real synthesized assembly: every intended path allowed, every
forbidden one denied, in every region; and every intended path depends on each side that grants it
(remove the identity grant, the boundary's, or the resource policy's, and it is denied)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from access_paths.assembly import Assembly
from access_paths.evaluator import Policies, Policy, PolicyKind, StatementRef, evaluate
from access_paths.gate import check, evaluate_path, prepare
from access_paths.model import RegionModel
from access_paths.table import FAMILIES, OPTIONAL_FAMILIES, Expect, forbidden, intended
from tests.conftest import Assembly as SynthesizedAssembly

INTENDED_FAMILIES = sorted(
    f for f, what in FAMILIES.items() if not what.startswith("FORBIDDEN") and f not in OPTIONAL_FAMILIES
)
FORBIDDEN_FAMILIES = sorted(f for f, what in FAMILIES.items() if what.startswith("FORBIDDEN"))


@pytest.fixture(scope="module")
def models(assembly: SynthesizedAssembly) -> dict[str, RegionModel]:
    resolved = Assembly.load(Path(assembly.outdir))
    return {region: RegionModel.build(resolved, region) for region in resolved.regions()}


def test_the_gate_finds_nothing_on_the_real_assembly(assembly: SynthesizedAssembly) -> None:
    assert check(Assembly.load(Path(assembly.outdir))) == []


def test_every_family_has_paths_in_every_region(models: dict[str, RegionModel]) -> None:
    assert set(models) == {"us-east-1", "eu-west-1", "ap-southeast-2"}
    for region, model in models.items():
        families = {p.family for p in (*intended(model), *forbidden(model))}
        assert families == set(FAMILIES) - OPTIONAL_FAMILIES, region


def test_generated_families_cover_every_alarm_and_encrypted_log_group(models: dict[str, RegionModel]) -> None:
    """22 alarms per region publish to the alerts topic (12 security alarms, 2 FIS stop conditions,
    5 lifecycle alarms, the Macie and the Inspector dead-letter alarms, the elevation workflow's); 14
    CMK-encrypted log groups (flow logs, Aurora, the migration function, WAF, the trail, 5 lifecycle
    functions and the state machine, the elevation broker, its steps function and its workflow)."""
    model = models["eu-west-1"]
    alarms = {
        p.name.split(" publishes")[0] for p in intended(model) if p.family == "alarms" and p.action == "sns:Publish"
    }
    assert len({a for a in alarms if a.startswith("alarm ")}) == 22
    assert alarms - {a for a in alarms if a.startswith("alarm ")} == {"rule trustbase-eu-west-1-inspector-critical"}
    groups = {p.name.split(" (")[0] for p in intended(model) if p.family == "log-groups"}
    assert len(groups) == 14


def _without(policy: Policy | None, refs: set[StatementRef]) -> Policy | None:
    if policy is None:
        return None
    return replace(policy, statements=tuple(s for s in policy.statements if s.ref not in refs))


def _sides(decision_refs: tuple[StatementRef, ...], policies: Policies) -> list[tuple[str, Policies]]:
    """The request's policies with each granting side removed in turn."""
    by_kind: dict[PolicyKind, set[StatementRef]] = {}
    for ref in decision_refs:
        by_kind.setdefault(ref.kind, set()).add(ref)
    sides = []
    if PolicyKind.IDENTITY in by_kind:
        refs = by_kind[PolicyKind.IDENTITY]
        identity = tuple(p for p in (_without(p, refs) for p in policies.identity) if p is not None)
        sides.append(("identity", replace(policies, identity=identity)))
    if PolicyKind.BOUNDARY in by_kind:
        sides.append(
            ("boundary", replace(policies, boundary=_without(policies.boundary, by_kind[PolicyKind.BOUNDARY])))
        )
    resource_refs = set().union(
        *(by_kind.get(k, set()) for k in (PolicyKind.RESOURCE, PolicyKind.KEY, PolicyKind.TRUST))
    )
    if resource_refs:
        sides.append(("resource", replace(policies, resource=_without(policies.resource, resource_refs))))
    return sides


@pytest.mark.parametrize("family", INTENDED_FAMILIES)
def test_each_intended_path_fails_when_either_side_is_removed(models: dict[str, RegionModel], family: str) -> None:
    """For every intended path of the family, in every region: it is allowed, and removing the
    statements of any one side that allow it (identity policy, permissions boundary, or the
    resource's own policy: bucket, key, topic, queue or trust) denies it. So no side is decorative,
    and a broken grant on either side is a broken path."""
    checked, problems = 0, []
    for region, model in models.items():
        for path in (p for p in intended(model) if p.family == family):
            request, policies = prepare(model, path)
            decision = evaluate(request, policies)
            assert decision.allowed, evaluate_path(model, path).message()
            sides = _sides(decision.allowed_by, policies)
            assert sides, f"[{region}] {path.name}: allowed by no statement?"
            for side, without in sides:
                if evaluate(request, without).allowed:
                    problems.append(f"[{region}] {path.name}: still allowed without its {side} grant")
            checked += 1
    assert checked > 0
    assert problems == []


@pytest.mark.parametrize("family", FORBIDDEN_FAMILIES)
def test_each_forbidden_path_is_denied(models: dict[str, RegionModel], family: str) -> None:
    for model in models.values():
        rows = [p for p in forbidden(model) if p.family == family]
        assert rows
        for path in rows:
            assert path.expect is Expect.DENY
            outcome = evaluate_path(model, path)
            assert not outcome.decision.allowed, outcome.message()
