"""Stateful safety: no pipeline replaces or deletes data by accident.

A change fails when it would, for a data-holding resource (contract.STATEFUL_TYPES: the Aurora
cluster, buckets, keys, log groups, vaults, secrets, queues):
- replace it: a new logical ID (a renamed construct), a changed type, or a change to a create-only
  property (always or possibly: both count);
- delete it: the resource is gone from the template (also when it would be retained: the stack
  stops managing it, and a fixed-name resource then blocks its own re-creation), or a Condition
  on it is added or changed (CloudFormation deletes it when the condition is false);
- weaken its DeletionPolicy or UpdateReplacePolicy to Delete;
unless the commit carries an override that names that change, as a git trailer:

    Stateful-Change: replace trustbase-eu-west-1-data/DatabaseCluster5B53A178: restore drill moved to v2

One trailer per resource and kind (`replace`, `delete`, `removal-policy`); the reason is required.
For a renamed resource either logical ID may be named. An override that matches no change is
reported (a typo would otherwise look like an approval), but does not fail the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from change_review.diff import Action, ResourceChange, StackDiff
from change_review.security import weakens_removal_policy

TRAILER = "Stateful-Change"
Kind = Literal["replace", "delete", "removal-policy"]
KINDS: tuple[Kind, ...] = ("replace", "delete", "removal-policy")
_LINE = re.compile(rf"^{TRAILER}\s*:\s*(?P<value>.*)$", re.IGNORECASE)
_VALUE = re.compile(r"^(?P<kind>\S+)\s+(?P<stack>[^/\s]+)/(?P<logical_id>[^:\s]+)\s*:\s*(?P<reason>.*)$")
EXAMPLE = f"{TRAILER}: replace trustbase-eu-west-1-data/DatabaseCluster5B53A178: <why this is safe>"


class OverrideError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StatefulOverride(BaseModel):
    """One approved stateful change, from a commit trailer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    stack: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    logical_id: str = Field(pattern=r"^[A-Za-z0-9]{1,255}$")
    reason: str = Field(min_length=10)

    @field_validator("reason")
    @classmethod
    def _a_reason(cls, value: str) -> str:
        return value.strip()

    @property
    def address(self) -> str:
        return f"{self.stack}/{self.logical_id}"


def parse_overrides(commit_messages: str) -> list[StatefulOverride]:
    """The `Stateful-Change:` trailers in `commit_messages` (e.g. `git log --format=%B base..head`).
    Raises OverrideError naming each malformed trailer, its line and the fix."""
    found: list[StatefulOverride] = []
    problems: list[str] = []
    for number, line in enumerate(commit_messages.splitlines(), start=1):
        match = _LINE.match(line.strip())
        if not match:
            continue
        value = _VALUE.match(match["value"].strip())
        where = f"commit message line {number} ({line.strip()!r})"
        if not value:
            problems.append(f"{where}: not '<kind> <stack>/<logical-id>: <reason>'. Fix: write it as `{EXAMPLE}`")
            continue
        try:
            found.append(
                StatefulOverride(
                    kind=value["kind"],  # type: ignore[arg-type]  # validated as a Literal by pydantic
                    stack=value["stack"],
                    logical_id=value["logical_id"],
                    reason=value["reason"],
                )
            )
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"])
                fix = {
                    "kind": f"use one of {', '.join(KINDS)}",
                    "stack": "name the stack as deployed, e.g. trustbase-eu-west-1-data",
                    "logical_id": "copy the logical ID from the change review (letters and digits)",
                    "reason": "say in at least 10 characters why losing or orphaning it is safe",
                }.get(field, f"see {EXAMPLE}")
                problems.append(f"{where}: field '{field}': {error['msg']}. Fix: {fix}")
    if problems:
        raise OverrideError(problems)
    return found


def kinds_of(change: ResourceChange) -> tuple[Kind, ...]:
    """What a change would do to a stateful resource that needs an override (none for others)."""
    if not change.stateful:
        return ()
    kinds: list[Kind] = []
    if change.action is Action.REMOVE or change.condition_changed:
        kinds.append("delete")
    if change.action is not Action.REMOVE and change.destroys:
        kinds.append("replace")
    if weakens_removal_policy(change):
        kinds.append("removal-policy")
    return tuple(kinds)


@dataclass(frozen=True)
class Verdict:
    blocked: tuple[tuple[ResourceChange, Kind], ...]
    approved: tuple[tuple[ResourceChange, StatefulOverride], ...]
    unused: tuple[StatefulOverride, ...]

    @property
    def ok(self) -> bool:
        return not self.blocked


def check(diffs: Iterable[StackDiff], overrides: Iterable[StatefulOverride]) -> Verdict:
    pending = list(overrides)
    blocked: list[tuple[ResourceChange, Kind]] = []
    approved: list[tuple[ResourceChange, StatefulOverride]] = []
    used: set[int] = set()
    for diff in diffs:
        for change in diff.resources:
            names = {change.logical_id} | ({change.renamed_from} if change.renamed_from else set())
            for kind in kinds_of(change):
                match = next(
                    (
                        (i, o)
                        for i, o in enumerate(pending)
                        if o.kind == kind and o.stack == change.stack and o.logical_id in names
                    ),
                    None,
                )
                if match is None:
                    blocked.append((change, kind))
                else:
                    used.add(match[0])
                    approved.append((change, match[1]))
    unused = tuple(o for i, o in enumerate(pending) if i not in used)
    return Verdict(blocked=tuple(blocked), approved=tuple(approved), unused=unused)
