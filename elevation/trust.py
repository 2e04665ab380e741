"""The trust documents of an elevation role under the fallback mechanism (no Identity Center).

The CDK construct deploys `closed_conditions` (the trust admits nobody: aws:CurrentTime is never
before 1970); the workflow writes `granted_trust` at grant and `closed_trust` again at expiry, so
the deployed template and the restored role are the same document. IAM user guide, "AWS global
condition context keys": aws:CurrentTime (date operators), aws:PrincipalArn, aws:userid (for an
assumed-role session, role-id:session-name) and aws:TokenIssueTime.
"""

from __future__ import annotations

from typing import Any

NEVER = "1970-01-01T00:00:00Z"
SESSION_REVOCATION_POLICY = "RevokeSessionsIssuedBeforeExpiry"


def _root(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


def closed_conditions(requester_role_arn: str) -> dict[str, dict[str, str]]:
    return {"ArnEquals": {"aws:PrincipalArn": requester_role_arn}, "DateLessThan": {"aws:CurrentTime": NEVER}}


def closed_trust(account: str, requester_role_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": _root(account)},
                "Action": "sts:AssumeRole",
                "Condition": closed_conditions(requester_role_arn),
            }
        ],
    }


def granted_trust(
    account: str, requester_role_arn: str, requester_user_id: str, not_before: str, expires_at: str
) -> dict[str, Any]:
    """Only the requester's own session of the requester role, only between the two instants."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElevationUntilExpiry",
                "Effect": "Allow",
                "Principal": {"AWS": _root(account)},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": requester_role_arn},
                    "StringEquals": {"aws:userid": requester_user_id},
                    "DateGreaterThan": {"aws:CurrentTime": not_before},
                    "DateLessThan": {"aws:CurrentTime": expires_at},
                },
            }
        ],
    }


def session_revocation(issued_before: str) -> dict[str, Any]:
    """IAM user guide, "Revoking IAM role temporary security credentials": deny every action to
    sessions whose token was issued before the revocation (a restored trust stops new sessions
    only; this ends the ones already issued)."""
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
