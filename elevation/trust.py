"""The trust documents of an elevation role: closed by default, opened by the workflow for exactly
the people holding an active, approved elevation, each only during its window.

Both mechanisms use them. Under Identity Center the principal is the role Identity Center
provisions for the elevation's permission set (ArnLike aws:PrincipalArn), and the person is its
session (Identity Center names the session after the user: aws:userid `<role id>:<user name>`);
the temporary account assignment is how the person signs in, the trust is what expires. Under the
SAML fallback the principal is the requester role and the person its SAML session
(aws:userid `<role id>:<RoleSessionName>`).

The CDK construct deploys `closed_conditions` (nobody: aws:CurrentTime is never before 1970); the
workflow writes `trust_for` of the active grants at grant, and the closed document again when none
is left, so the deployed template and the restored role are the same document. IAM user guide,
"AWS global condition context keys": aws:CurrentTime (date operators), aws:PrincipalArn,
aws:userid and aws:TokenIssueTime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NEVER = "1970-01-01T00:00:00Z"
SESSION_REVOCATION_POLICY = "RevokeSessionsIssuedBeforeExpiry"


@dataclass(frozen=True)
class Grant:
    """One active elevation: who (the session's aws:userid, exact or `*:<user>`), when, and the
    session tags the person must set when assuming the role (the approved scope, e.g. the
    workspace: aws:RequestTag, with sts:TagSession)."""

    user_id: str
    not_before: str
    expires_at: str
    tags: tuple[tuple[str, str], ...] = ()


def principal_condition(principal: str) -> dict[str, dict[str, str]]:
    """ArnLike for an Identity Center pattern (it has wildcards), ArnEquals for a role ARN."""
    return {("ArnLike" if "*" in principal else "ArnEquals"): {"aws:PrincipalArn": principal}}


def closed_conditions(principal: str) -> dict[str, dict[str, str]]:
    return {**principal_condition(principal), "DateLessThan": {"aws:CurrentTime": NEVER}}


def _root(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


def trust_for(account: str, principal: str, grants: list[Grant]) -> dict[str, Any]:
    """The trust of an elevation role: one statement per active grant, or the closed one."""
    if not grants:
        statements = [
            {
                "Effect": "Allow",
                "Principal": {"AWS": _root(account)},
                "Action": "sts:AssumeRole",
                "Condition": closed_conditions(principal),
            }
        ]
    else:
        statements = [_grant_statement(i, account, principal, g) for i, g in enumerate(grants)]
    return {"Version": "2012-10-17", "Statement": statements}


def _grant_statement(i: int, account: str, principal: str, g: Grant) -> dict[str, Any]:
    condition: dict[str, dict[str, Any]] = {
        **principal_condition(principal),
        ("StringLike" if "*" in g.user_id else "StringEquals"): {"aws:userid": g.user_id},
        "DateGreaterThan": {"aws:CurrentTime": g.not_before},
        "DateLessThan": {"aws:CurrentTime": g.expires_at},
    }
    if g.tags:  # the approved scope, as session tags the person must set, and no other tag
        condition.setdefault("StringEquals", {}).update({f"aws:RequestTag/{k}": v for k, v in g.tags})
        condition["ForAllValues:StringEquals"] = {"aws:TagKeys": [k for k, _ in g.tags]}
    return {
        "Sid": f"Elevation{i}",
        "Effect": "Allow",
        "Principal": {"AWS": _root(account)},
        "Action": ["sts:AssumeRole", "sts:TagSession"] if g.tags else "sts:AssumeRole",
        "Condition": condition,
    }


def closed_trust(account: str, principal: str) -> dict[str, Any]:
    return trust_for(account, principal, [])


def session_revocation(issued_before: str) -> dict[str, Any]:
    """IAM user guide, "Revoking IAM role temporary security credentials": deny every action to
    sessions whose token was issued before the revocation (a closed trust stops new sessions only;
    this ends the ones already issued)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
            }
        ],
    }
