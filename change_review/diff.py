"""Two sets of stacks compared resource by resource, property by property.

For each resource the diff says what CloudFormation would do with it:
- added, removed (deleted, or orphaned when its DeletionPolicy is Retain);
- renamed: removed under one logical ID and added under another of the same type, which
  CloudFormation carries out as "create the new one, delete the old one" (a replacement);
- modified, and whether the modification replaces it: a change of type, or of a create-only
  property of its resource schema (`schema.create_only`), always does; a conditionally create-only
  property may.
The resource attributes DeletionPolicy and UpdateReplacePolicy are compared too. Metadata (CDK's
construct paths) is not: changing it changes nothing deployed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from change_review import schema
from change_review.assembly import StackTemplate
from contract import STATEFUL_TYPES

ABSENT = "(absent)"
POLICY_ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy")
# A resource without DeletionPolicy is deleted with the stack, which is what "Delete" says.
_DEFAULT_POLICY = "Delete"


class Action(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    RENAME = "rename"
    MODIFY = "modify"


class Replacement(StrEnum):
    NO = "no"
    MAYBE = "may replace"
    YES = "replace"


@dataclass(frozen=True)
class PropertyChange:
    """One changed value. `path` starts at the resource body: ("Properties", "KmsKeyId") or
    ("DeletionPolicy",). ABSENT stands for a value that is not there."""

    path: tuple[str, ...]
    before: Any = ABSENT
    after: Any = ABSENT

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class ResourceChange:
    stack: str
    region: str
    logical_id: str
    type: str
    action: Action
    replacement: Replacement = Replacement.NO
    changes: tuple[PropertyChange, ...] = ()
    renamed_from: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    replaced_by: tuple[str, ...] = ()
    """The create-only properties whose change replaces it (or the reason, e.g. "Type")."""

    @property
    def stateful(self) -> bool:
        """Data-holding before or after (a bucket turned into another type is a bucket lost)."""
        types = {self.type, str((self.before or {}).get("Type")), str((self.after or {}).get("Type"))}
        return bool(types & set(STATEFUL_TYPES))

    @property
    def condition_changed(self) -> bool:
        """A new or changed Condition on it, or a changed definition of that condition: when it is
        false, CloudFormation deletes the resource (removing a Condition deletes nothing)."""
        return (
            self.action is not Action.ADD
            and bool((self.after or {}).get("Condition"))
            and any(c.path[0] == "Condition" for c in self.changes)
        )

    @property
    def address(self) -> str:
        return f"{self.stack}/{self.logical_id}"

    @property
    def retained(self) -> bool:
        """A removed resource CloudFormation keeps (orphans) rather than deletes."""
        body = self.before or {}
        return self.action is Action.REMOVE and body.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")

    @property
    def destroys(self) -> bool:
        """CloudFormation would (or may) delete the physical resource."""
        if self.action is Action.REMOVE:
            return True
        return self.replacement is not Replacement.NO

    def policy(self, attribute: str, side: str) -> str:
        body = (self.before if side == "before" else self.after) or {}
        return str(body.get(attribute, _DEFAULT_POLICY))


@dataclass(frozen=True)
class StackDiff:
    name: str
    region: str
    status: str  # "new", "removed", "changed", "unchanged"
    resources: tuple[ResourceChange, ...] = ()
    other: tuple[PropertyChange, ...] = field(default=())
    """Changes outside Resources: Parameters, Outputs, Conditions, Mappings, Rules."""


def value_changes(before: Any, after: Any, path: tuple[str, ...] = ()) -> list[PropertyChange]:
    """The leaves that differ between two JSON values. Dicts are compared key by key and lists of
    equal length item by item; anything else is one change of the whole value."""
    if before == after:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[PropertyChange] = []
        for key in sorted(set(before) | set(after)):
            out += value_changes(before.get(key, ABSENT), after.get(key, ABSENT), (*path, str(key)))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += value_changes(b, a, (*path, str(i)))
        return out
    return [PropertyChange(path=path, before=before, after=after)]


def _modified(
    stack: StackTemplate, logical_id: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> ResourceChange:
    rtype = str(after.get("Type"))
    changes: list[PropertyChange] = []
    if before.get("Type") != after.get("Type"):
        changes.append(PropertyChange(("Type",), before.get("Type"), after.get("Type")))
    changes += value_changes(before.get("Properties", {}), after.get("Properties", {}), ("Properties",))
    for attribute in POLICY_ATTRIBUTES:
        if before.get(attribute, _DEFAULT_POLICY) != after.get(attribute, _DEFAULT_POLICY):
            changes.append(PropertyChange((attribute,), before.get(attribute, ABSENT), after.get(attribute, ABSENT)))
    for attribute in ("Condition", "UpdatePolicy", "CreationPolicy"):
        changes += value_changes(before.get(attribute, ABSENT), after.get(attribute, ABSENT), (attribute,))
    replacement = Replacement.NO
    reasons: list[str] = []
    if before.get("Type") != after.get("Type"):
        replacement, reasons = Replacement.YES, ["Type"]
    else:
        always = schema.create_only(rtype, stack.region)
        maybe = schema.conditionally_create_only(rtype, stack.region)
        for change in changes:
            if change.path[0] != "Properties" or len(change.path) < 2:
                continue
            prop_path = change.path[1:]
            if schema.is_within(prop_path, always):
                replacement = Replacement.YES
                reasons.append(".".join(prop_path))
            elif schema.is_within(prop_path, maybe):
                if replacement is Replacement.NO:
                    replacement = Replacement.MAYBE
                reasons.append(".".join(prop_path))
    return ResourceChange(
        stack=stack.name,
        region=stack.region,
        logical_id=logical_id,
        type=rtype,
        action=Action.MODIFY,
        replacement=replacement,
        changes=tuple(changes),
        before=before,
        after=after,
        replaced_by=tuple(dict.fromkeys(reasons)),
    )


def _similarity(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    pa, pb = a.get("Properties", {}), b.get("Properties", {})
    keys = set(pa) | set(pb)
    if not keys:
        return 1.0
    return sum(1 for k in keys if pa.get(k, ABSENT) == pb.get(k, ABSENT)) / len(keys)


def _pair_renames(removed: dict[str, Mapping[str, Any]], added: dict[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(old, new) logical IDs that look like one resource under a new ID: same type and at least half
    of their properties equal (a renamed construct keeps its settings). A deleted resource and an
    unrelated new one of the same type stay a deletion and an addition."""
    pairs: list[tuple[str, str]] = []
    types = {str(body.get("Type")) for body in removed.values()}
    for rtype in sorted(types):
        olds = [k for k, v in removed.items() if v.get("Type") == rtype]
        news = [k for k, v in added.items() if v.get("Type") == rtype]
        candidates = sorted(
            ((_similarity(removed[o], added[n]), o, n) for o in olds for n in news),
            key=lambda t: (-t[0], t[1], t[2]),
        )
        used: set[str] = set()
        for score, old, new in candidates:
            if score >= 0.5 and old not in used and new not in used:
                pairs.append((old, new))
                used |= {old, new}
    return pairs


def _redefined_conditions(
    base: StackTemplate | None, head: StackTemplate | None, other: list[PropertyChange]
) -> dict[str, PropertyChange]:
    """Conditions whose definition changed, directly or through a condition they use
    ({"Condition": name}), each as the change a resource that uses it undergoes."""
    if base is None or head is None:
        return {}
    old, new = base.template.get("Conditions", {}), head.template.get("Conditions", {})
    changed = {c.path[1] for c in other if c.path[0] == "Conditions" and len(c.path) > 1}
    grew = True
    while grew:  # a condition that uses a changed one is changed
        users = {n for n, d in new.items() if any(f'"Condition": "{c}"' in json.dumps(d) for c in changed)}
        grew = bool(users - changed)
        changed |= users
    return {n: PropertyChange(("Condition", n), old.get(n, ABSENT), new.get(n, ABSENT)) for n in changed if n in new}


def diff_stack(base: StackTemplate | None, head: StackTemplate | None) -> StackDiff:
    if base is None and head is None:
        raise ValueError("diff_stack needs at least one side")
    ref = head or base
    assert ref is not None
    old = dict(base.resources) if base else {}
    new = dict(head.resources) if head else {}
    changes: list[ResourceChange] = []
    removed = {k: v for k, v in old.items() if k not in new}
    added = {k: v for k, v in new.items() if k not in old}
    for old_id, new_id in _pair_renames(removed, added):
        changes.append(
            ResourceChange(
                stack=ref.name,
                region=ref.region,
                logical_id=new_id,
                type=str(added[new_id].get("Type")),
                action=Action.RENAME,
                replacement=Replacement.YES,
                changes=tuple(value_changes(removed[old_id], added[new_id])),
                renamed_from=old_id,
                before=removed.pop(old_id),
                after=added.pop(new_id),
                replaced_by=(f"logical ID {old_id} -> {new_id}",),
            )
        )
    for action, side in ((Action.REMOVE, removed), (Action.ADD, added)):
        changes += [
            ResourceChange(
                stack=ref.name,
                region=ref.region,
                logical_id=logical_id,
                type=str(body.get("Type")),
                action=action,
                before=body if action is Action.REMOVE else None,
                after=body if action is Action.ADD else None,
            )
            for logical_id, body in side.items()
        ]
    other: list[PropertyChange] = []
    for section in ("Parameters", "Outputs", "Conditions", "Mappings", "Rules"):
        other += value_changes(
            (base.template if base else {}).get(section, {}),
            (head.template if head else {}).get(section, {}),
            (section,),
        )
    redefined = _redefined_conditions(base, head, other)
    for logical_id in sorted(set(old) & set(new)):
        condition = new[logical_id].get("Condition")
        if old[logical_id] == new[logical_id] and condition not in redefined:
            continue
        change = _modified(ref, logical_id, old[logical_id], new[logical_id])
        if condition in redefined and old[logical_id].get("Condition") == condition:
            change = replace(change, changes=(*change.changes, redefined[condition]))
        if change.changes:  # only Metadata or DependsOn differed: nothing deployed changes
            changes.append(change)
    status = "new" if base is None else "removed" if head is None else "changed" if changes or other else "unchanged"
    changes.sort(key=lambda c: (c.logical_id, c.action.value))
    return StackDiff(name=ref.name, region=ref.region, status=status, resources=tuple(changes), other=tuple(other))


def diff_assemblies(base: Mapping[str, StackTemplate], head: Mapping[str, StackTemplate]) -> tuple[StackDiff, ...]:
    """Every stack of either side, in name order."""
    return tuple(diff_stack(base.get(name), head.get(name)) for name in sorted(set(base) | set(head)))
