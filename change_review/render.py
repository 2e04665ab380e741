"""The change review as Markdown (the pull-request comment, the deploy plan) and as JSON.

Stateful replacements and deletions come first and loudly, then the security-relevant changes,
the gate's findings and the full diff of every stack. GitHub refuses a comment over 65,536
characters, so the Markdown is cut at `MAX_COMMENT` with a pointer to the complete artifact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from change_review import security
from change_review.diff import ABSENT, Action, Replacement, ResourceChange, StackDiff
from change_review.stateful import EXAMPLE, Verdict

MARKER = "<!-- trustbase-change-review -->"  # the comment the workflow updates instead of adding another
MAX_COMMENT = 60_000
_VALUE_CHARS = 160


def _short(value: Any) -> str:
    text = value if value == ABSENT else json.dumps(value, sort_keys=True)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def what(change: ResourceChange) -> str:
    if change.action is Action.ADD:
        return "added"
    if change.action is Action.REMOVE:
        return "removed (retained: orphaned)" if change.retained else "removed (deleted)"
    if change.action is Action.RENAME:
        return f"REPLACED: logical ID {change.renamed_from} -> {change.logical_id}"
    if change.replacement is Replacement.YES:
        return f"REPLACED: {', '.join(change.replaced_by)} changed"
    if change.replacement is Replacement.MAYBE:
        return f"may be REPLACED: {', '.join(change.replaced_by)} changed"
    return f"modified ({len(change.changes)} value{'s' if len(change.changes) != 1 else ''})"


def summary(diffs: Sequence[StackDiff]) -> dict[str, int]:
    changes = [c for d in diffs for c in d.resources]
    return {
        "stacks_changed": sum(1 for d in diffs if d.status != "unchanged"),
        "added": sum(1 for c in changes if c.action is Action.ADD),
        "modified": sum(1 for c in changes if c.action is Action.MODIFY),
        "removed": sum(1 for c in changes if c.action is Action.REMOVE),
        "replaced": sum(1 for c in changes if c.action is Action.RENAME or c.replacement is not Replacement.NO),
        "security_relevant": len(security.security_changes(changes)),
        "broadening": sum(1 for c in changes if security.broadening(c)),
    }


def markdown(
    diffs: Sequence[StackDiff],
    verdict: Verdict,
    *,
    title: str,
    gate_log: str | None = None,
    gate_ok: bool | None = None,
    artifact_hint: str = "the run's change-review artifact",
) -> str:
    counts = summary(diffs)
    changes = [c for d in diffs for c in d.resources]
    out = [MARKER, f"## {title}", ""]
    out.append(
        f"{counts['stacks_changed']} of {len(diffs)} stacks change: {counts['added']} resources added, "
        f"{counts['modified']} modified, {counts['removed']} removed, {counts['replaced']} replaced; "
        f"{counts['security_relevant']} security-relevant, {counts['broadening']} widen access."
    )
    out.append("")
    if verdict.blocked:
        out += [
            "> [!CAUTION]",
            f"> **STATEFUL SAFETY: {len(verdict.blocked)} change(s) would replace or delete data, or weaken "
            "its removal policy. The pipeline refuses this change** unless the commit names each one:",
            ">",
        ]
        for change, kind in verdict.blocked:
            out.append(f"> - **{kind}** `{change.address}` ({change.type}): {what(change)}")
        out += [">", f"> Override (a git trailer in the commit message): `{EXAMPLE}`", ""]
    if verdict.approved:
        out.append("**Stateful changes approved by a commit trailer:**")
        out.append("")
        for change, override in verdict.approved:
            out.append(
                f"- {override.kind} `{change.address}` ({change.type}): {what(change)}. Reason: {override.reason}"
            )
        out.append("")
    for override in verdict.unused:
        out.append(f"> [!WARNING]\n> Override `{override.kind} {override.address}` matches no change: check its name.")
        out.append("")
    relevant = security.security_changes(changes)
    out.append("### Security-relevant changes")
    out.append("")
    if relevant:
        out.append("| stack | resource | type | change | categories | widens access |")
        out.append("|---|---|---|---|---|---|")
        for change, cats in relevant:
            widens = security.broadening(change)
            out.append(
                f"| {change.stack} | `{change.logical_id}` | {change.type} | {what(change)} | {', '.join(cats)} | "
                f"{'**yes** (' + str(len(widens)) + ')' if widens else 'no'} |"
            )
        out.append("")
        widening = [(c, security.broadening(c)) for c, _ in relevant if security.broadening(c)]
        if widening:
            out.append("<details><summary>What widens access (new IAM statements and security-group rules)</summary>")
            out.append("")
            for change, added in widening:
                for item in added:
                    text = item if len(item) <= 4 * _VALUE_CHARS else item[: 4 * _VALUE_CHARS - 1] + "…"
                    out.append(f"- `{change.address}`: `{text.replace('`', chr(39))}`")
            out += ["", "</details>", ""]
    else:
        out += ["None.", ""]
    if gate_log is not None:
        state = "passed" if gate_ok else "FAILED"
        lines = gate_log.strip().splitlines()
        lines = lines[-200:] if len(lines) > 200 else lines
        # A fence longer than any run of backticks in the log: the log cannot close it (or add markdown).
        fence = "`" * (max((len(r) for r in re.findall(r"`+", "\n".join(lines))), default=0) + 3)
        out += [f"### Gates: {state}", "", "<details><summary>Gate output</summary>", "", fence]
        out += lines
        out += [fence, "", "</details>", ""]
    out.append("### Diff per stack")
    out.append("")
    for diff in diffs:
        if diff.status == "unchanged":
            continue
        out.append(f"<details><summary><b>{diff.name}</b> ({diff.status}, {len(diff.resources)} resources)</summary>")
        out.append("")
        out.append("| resource | type | change | value | before | after |")
        out.append("|---|---|---|---|---|---|")
        for change in diff.resources:
            rows = change.changes if change.action is Action.MODIFY else ()
            out.append(f"| `{change.logical_id}` | {change.type} | {what(change)} | | | |")
            for pc in rows:
                out.append(f"| | | | `{pc.dotted}` | {_short(pc.before)} | {_short(pc.after)} |")
        for pc in diff.other:
            out.append(f"| | | | `{pc.dotted}` | {_short(pc.before)} | {_short(pc.after)} |")
        out += ["", "</details>", ""]
    if counts["stacks_changed"] == 0:
        out += ["No stack changes.", ""]
    text = "\n".join(out)
    if len(text) > MAX_COMMENT:
        cut = text[: MAX_COMMENT - 300]
        text = (
            cut[: cut.rfind("\n")]
            + f"\n\n… cut at {MAX_COMMENT:,} characters: the complete review is in {artifact_hint}.\n"
        )
    return text


def record(diffs: Sequence[StackDiff], verdict: Verdict) -> dict[str, Any]:
    """The machine-readable review (reports/change-review.json)."""

    def change_json(c: ResourceChange) -> dict[str, Any]:
        return {
            "stack": c.stack,
            "region": c.region,
            "logical_id": c.logical_id,
            "type": c.type,
            "action": c.action.value,
            "replacement": c.replacement.value,
            "replaced_by": list(c.replaced_by),
            "renamed_from": c.renamed_from,
            "stateful": c.stateful,
            "categories": list(security.categories(c)),
            "broadening": list(security.broadening(c)),
            "changes": [{"path": pc.dotted, "before": pc.before, "after": pc.after} for pc in c.changes],
        }

    return {
        "summary": summary(diffs),
        "stateful_ok": verdict.ok,
        "blocked": [{"address": c.address, "type": c.type, "kind": k} for c, k in verdict.blocked],
        "approved": [{"address": c.address, "kind": o.kind, "reason": o.reason} for c, o in verdict.approved],
        "unused_overrides": [{"address": o.address, "kind": o.kind} for o in verdict.unused],
        "stacks": [
            {"name": d.name, "region": d.region, "status": d.status, "resources": [change_json(c) for c in d.resources]}
            for d in diffs
        ],
    }
