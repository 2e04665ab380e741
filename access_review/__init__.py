"""Quarterly access review: every IAM role and user with its last use, its policies, wildcard
or admin grants, and staleness. Plain boto3; runs against a real account or a local emulator.

    python -m access_review --region eu-west-1 [--stale-days 90] [--out-dir reports]
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
class Review:
    region: str
    generated_at: str
    stale_days: int
    principals: list[Principal]

    @property
    def violations(self) -> list[tuple[str, str]]:
        return [(p.arn, v) for p in self.principals for v in p.violations]

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

    def judge(self, p: Principal, attached: list[dict[str, str]], inline_docs: dict[str, Any],
              created: datetime, last_used: datetime | None) -> None:  # fmt: skip
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
                    kind="role", name=role["RoleName"], arn=role["Arn"], created=str(_iso(role["CreateDate"])),
                    last_used=_iso(last_used), attached_policies=[a["PolicyName"] for a in attached],
                    inline_policies=list(inline_names),
                    permissions_boundary=role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
                    service_linked=role.get("Path", "/").startswith(SERVICE_LINKED_PATH),
                )  # fmt: skip
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
                    kind="user", name=name, arn=user["Arn"], created=str(_iso(user["CreateDate"])),
                    last_used=_iso(last_used), attached_policies=[a["PolicyName"] for a in attached],
                    inline_policies=list(inline_names),
                    permissions_boundary=user.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
                )  # fmt: skip
                self.judge(p, attached, inline, user["CreateDate"], last_used)
                out.append(p)
        return out


def review(iam: Any, *, region: str, stale_days: int = 90, now: datetime | None = None) -> Review:
    """Review every IAM role and user visible to `iam` (a boto3 IAM client)."""
    now = now or datetime.now(UTC)
    reviewer = _Reviewer(iam, now, stale_days)
    principals = sorted(reviewer.roles() + reviewer.users(), key=lambda p: (p.kind, p.name))
    return Review(region=region, generated_at=str(_iso(now)), stale_days=stale_days, principals=principals)
