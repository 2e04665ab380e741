"""Quarterly access review: every IAM role and user with its last use, its policies, wildcard
or admin grants, and staleness; and every elevation of the quarter (who, what, why, approved by
whom, how long), read from the elevation records in the region's audit bucket. Plain boto3; runs
against a real account or a local emulator.

    python -m access_review --region eu-west-1 [--stale-days 90] [--out-dir reports] [--audit-bucket <name>]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

ADMIN_POLICY_NAMES = frozenset({"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"})
SERVICE_LINKED_PATH = "/aws-service-role/"


@dataclass
class Principal:
    kind: str  # "role" | "user"
    name: str
    arn: str
    created: str
    last_used: str | None
    attached_policies: list[str] = field(default_factory=list)
    inline_policies: list[str] = field(default_factory=list)
    permissions_boundary: str | None = None
    service_linked: bool = False
    violations: list[str] = field(default_factory=list)


@dataclass
class ElevationEntry:
    request_id: str
    elevation: str
    requester: str
    reason: str
    scope: str
    status: str
    requested_at: str
    hours: int
    approver: str | None
    granted_at: str | None
    expires_at: str | None
    ended_at: str | None
    ended_by: str | None
    held_minutes: int | None  # from grant to removal (None: never granted)
    violations: list[str] = field(default_factory=list)


def _t(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# A grant is removed by the workflow's expire step; allow it this long after expires_at (retries
# with backoff) before the review calls the grant overdue.
EXPIRY_GRACE = timedelta(minutes=30)


def judge_elevation(steps: list[dict[str, Any]], now: datetime) -> ElevationEntry:
    """One elevation's steps (as the broker recorded them), summarized and judged: approved by
    someone else before any grant, and removed at or before its expiry."""
    first = steps[0]
    by = {s["step"]: s for s in steps}
    approved, granted = by.get("approved"), by.get("granted")
    ended = next((s for s in steps if s["step"] in ("revoked", "expired", "refused")), None)
    entry = ElevationEntry(
        request_id=first["request_id"],
        elevation=first["elevation"],
        requester=first["requester"],
        reason=first["reason"],
        scope=first.get("scope", ""),
        status=ended["step"] if ended else ("granted" if granted else "approved" if approved else "pending"),
        requested_at=first["at"],
        hours=int(first["hours"]),
        approver=approved.get("approver") if approved else None,
        granted_at=granted["at"] if granted else None,
        expires_at=approved.get("expires_at") if approved else None,
        ended_at=ended["at"] if ended else None,
        ended_by=ended.get("by") if ended else None,
        held_minutes=None,
    )
    if granted:
        end = _t(ended["at"]) if ended else now
        entry.held_minutes = int((end - _t(granted["at"])).total_seconds() // 60)
        if not approved or steps.index(approved) > steps.index(granted):
            entry.violations.append("granted without an approval")
        if ended and steps.index(ended) < steps.index(granted):
            entry.violations.append(f"granted after it was {ended['step']}")
        if approved and approved.get("approver", "").casefold() == first["requester"].casefold():
            entry.violations.append("approved by the requester")
        if approved and end > _t(approved["expires_at"]) + EXPIRY_GRACE:
            what = f"removed at {ended['at']}" if ended else "still in place"
            entry.violations.append(f"outlived its expiry {approved['expires_at']} ({what})")
        if entry.held_minutes > entry.hours * 60 + EXPIRY_GRACE.total_seconds() // 60:
            entry.violations.append(f"held {entry.held_minutes} minutes for {entry.hours} approved hours")
    return entry


@dataclass
class Review:
    region: str
    generated_at: str
    stale_days: int
    principals: list[Principal]
    elevations: list[ElevationEntry] = field(default_factory=list)
    elevation_source: str = ""  # the audit bucket the elevations were read from ("" = not read)

    @property
    def violations(self) -> list[tuple[str, str]]:
        return [(p.arn, v) for p in self.principals for v in p.violations] + [
            (f"elevation {e.request_id}", v) for e in self.elevations for v in e.violations
        ]

    def to_json(self) -> str:
        data = asdict(self)
        data["violation_count"] = len(self.violations)
        return json.dumps(data, indent=2, default=str) + "\n"

    def to_markdown(self) -> str:
        lines = [
            f"# Access review: {self.region}",
            "",
            f"Generated {self.generated_at}. Stale after {self.stale_days} days without use.",
            f"**{len(self.violations)} violation(s)** across {len(self.principals)} principal(s).",
            "",
            "| kind | name | last used | attached | inline | boundary | violations |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in self.principals:
            lines.append(
                f"| {p.kind} | {p.name}{' (service-linked)' if p.service_linked else ''} | {p.last_used or 'never'} | "
                f"{', '.join(p.attached_policies) or '-'} | {', '.join(p.inline_policies) or '-'} | "
                f"{'yes' if p.permissions_boundary else 'no'} | {'; '.join(p.violations) or 'none'} |"
            )
        lines += ["", f"## Elevations of the quarter ({len(self.elevations)})", ""]
        if not self.elevation_source:
            lines.append("Not read: pass --audit-bucket (the region's audit bucket) to review elevations.")
        else:
            lines += [
                f"Read from s3://{self.elevation_source}/elevations/{self.region}/.",
                "",
                "| request | elevation | who | why | scope | approved by | hours | held (min) | status | violations |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ]
            for e in self.elevations:
                lines.append(
                    f"| {e.request_id} | {e.elevation} | {e.requester} | {e.reason} | {e.scope or '-'} | "
                    f"{e.approver or '-'} | {e.hours} | {e.held_minutes if e.held_minutes is not None else '-'} | "
                    f"{e.status} | {'; '.join(e.violations) or 'none'} |"
                )
        return "\n".join(lines) + "\n"


def wildcard_actions(document: dict[str, Any] | str) -> list[str]:
    """Allow statements granting `*`, `service:*` or NotAction (IAM returns documents URL-encoded)."""
    doc: dict[str, Any] = json.loads(unquote(document)) if isinstance(document, str) else document
    statements = doc.get("Statement", [])
    out = []
    for stmt in statements if isinstance(statements, list) else [statements]:
        if stmt.get("Effect") != "Allow":
            continue
        if "NotAction" in stmt:
            out.append("NotAction")
        actions = stmt.get("Action", [])
        for action in actions if isinstance(actions, list) else [actions]:
            if action == "*" or str(action).endswith(":*"):
                out.append(str(action))
    return out


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


class _Reviewer:
    def __init__(self, iam: Any, now: datetime, stale_days: int) -> None:
        self.iam, self.now, self.stale = iam, now, timedelta(days=stale_days)
        self._policy_cache: dict[str, list[str]] = {}

    def managed_wildcards(self, arn: str) -> list[str]:
        if arn not in self._policy_cache:
            version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            doc = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            self._policy_cache[arn] = wildcard_actions(doc)
        return self._policy_cache[arn]

    def judge(
        self,
        p: Principal,
        attached: list[dict[str, str]],
        inline_docs: dict[str, Any],
        created: datetime,
        last_used: datetime | None,
    ) -> None:
        if p.service_linked:
            return  # AWS owns and scopes these roles
        for policy in attached:
            if policy["PolicyName"] in ADMIN_POLICY_NAMES:
                p.violations.append(f"admin policy attached: {policy['PolicyName']}")
            for action in self.managed_wildcards(policy["PolicyArn"]):
                p.violations.append(f"wildcard grant {action!r} in {policy['PolicyName']}")
        for name, doc in inline_docs.items():
            for action in wildcard_actions(doc):
                p.violations.append(f"wildcard grant {action!r} in inline {name}")
        activity = last_used or created
        if self.now - activity > self.stale:
            days = (self.now - activity).days
            p.violations.append(f"unused for {days} days" if last_used else f"never used, created {days} days ago")

    def roles(self) -> list[Principal]:
        out = []
        for page in self.iam.get_paginator("list_roles").paginate():
            for summary in page["Roles"]:
                role = self.iam.get_role(RoleName=summary["RoleName"])["Role"]
                last_used = role.get("RoleLastUsed", {}).get("LastUsedDate")
                attached = self.iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
                inline_names = self.iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
                inline = {
                    n: self.iam.get_role_policy(RoleName=role["RoleName"], PolicyName=n)["PolicyDocument"]
                    for n in inline_names
                }
                p = Principal(
                    kind="role",
                    name=role["RoleName"],
                    arn=role["Arn"],
                    created=str(_iso(role["CreateDate"])),
                    last_used=_iso(last_used),
                    attached_policies=[a["PolicyName"] for a in attached],
                    inline_policies=list(inline_names),
                    permissions_boundary=role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
                    service_linked=role.get("Path", "/").startswith(SERVICE_LINKED_PATH),
                )
                self.judge(p, attached, inline, role["CreateDate"], last_used)
                out.append(p)
        return out

    def users(self) -> list[Principal]:
        out = []
        for page in self.iam.get_paginator("list_users").paginate():
            for user in page["Users"]:
                name = user["UserName"]
                uses = [user.get("PasswordLastUsed")]
                for key in self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                    info = self.iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
                    uses.append(info.get("LastUsedDate"))
                last_used = max((u for u in uses if u), default=None)
                attached = self.iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
                inline_names = self.iam.list_user_policies(UserName=name)["PolicyNames"]
                inline = {
                    n: self.iam.get_user_policy(UserName=name, PolicyName=n)["PolicyDocument"] for n in inline_names
                }
                p = Principal(
                    kind="user",
                    name=name,
                    arn=user["Arn"],
                    created=str(_iso(user["CreateDate"])),
                    last_used=_iso(last_used),
                    attached_policies=[a["PolicyName"] for a in attached],
                    inline_policies=list(inline_names),
                    permissions_boundary=user.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
                )
                self.judge(p, attached, inline, user["CreateDate"], last_used)
                out.append(p)
        return out


QUARTER = timedelta(days=92)


def review(
    iam: Any,
    *,
    region: str,
    stale_days: int = 90,
    now: datetime | None = None,
    s3: Any = None,
    audit_bucket: str | None = None,
) -> Review:
    """Review every IAM role and user visible to `iam` (a boto3 IAM client), and, with `s3` and
    `audit_bucket`, every elevation requested in the last quarter (92 days)."""
    now = now or datetime.now(UTC)
    reviewer = _Reviewer(iam, now, stale_days)
    principals = sorted(reviewer.roles() + reviewer.users(), key=lambda p: (p.kind, p.name))
    result = Review(region=region, generated_at=str(_iso(now)), stale_days=stale_days, principals=principals)
    if s3 is not None and audit_bucket:
        from elevation.broker import all_requests

        result.elevation_source = audit_bucket
        for request in all_requests(s3, audit_bucket, region):
            if now - _t(request.first["at"]) <= QUARTER:
                result.elevations.append(judge_elevation(request.steps, now))
    return result
