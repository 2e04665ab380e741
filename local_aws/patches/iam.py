"""AWS::IAM::Role: moto's model ignores ManagedPolicyArns, so a role came up with none of the
managed policies its template attaches (every trustbase role gets its permissions that way), and
it stores inline policy documents (`Policies`) as a Python dict's repr, which GetRolePolicy then
returns and no JSON reader can parse. This patch attaches the managed policies through moto's IAM
API and stores inline documents as JSON; the role's attachments and inline policies read back as
this patch wrote them (PATCHED). The boundary and the trust policy are moto's own (PASS)."""

from __future__ import annotations

import json
from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create


def _install(undo: Undo) -> None:
    from moto.iam.models import Role, iam_backends
    from moto.utilities.utils import get_partition

    def after(role: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        for arn in props.get("ManagedPolicyArns") or []:
            backend.attach_role_policy(str(arn), role.name)

    def before(props: dict[str, Any]) -> dict[str, Any]:
        policies = [
            {
                **pol,
                "PolicyDocument": json.dumps(pol["PolicyDocument"])
                if isinstance(pol.get("PolicyDocument"), dict)
                else pol.get("PolicyDocument"),
            }
            for pol in props.get("Policies") or []
        ]
        return {**props, "Policies": policies} if policies else props

    wrap_create(undo, Role, before=before, after=after)


PATCHES = (
    Patch(
        "iam.role-policies",
        "roles lose their managed policies; inline documents are stored unreadable",
        _install,
        frozenset({"iam.attachments"}),
    ),
)
