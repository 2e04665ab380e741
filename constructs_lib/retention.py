"""Map config retention days to CDK's RetentionDays enum (whose values are names, not days)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from config.model import LOG_RETENTION_DAYS

# RetentionDays members in ascending order, INFINITE excluded: trustbase never keeps logs forever.
_FINITE = [m for m in logs.RetentionDays if m is not logs.RetentionDays.INFINITE]
if len(_FINITE) != len(LOG_RETENTION_DAYS):
    raise RuntimeError("CDK RetentionDays and config LOG_RETENTION_DAYS diverged")
_BY_DAYS: dict[int, logs.RetentionDays] = dict(zip(LOG_RETENTION_DAYS, _FINITE, strict=True))


def log_retention(days: int) -> logs.RetentionDays:
    try:
        return _BY_DAYS[days]
    except KeyError:
        raise ValueError(f"{days} is not a CloudWatch Logs retention value; use one of {LOG_RETENTION_DAYS}") from None


# Stateful resources (keys, buckets, log groups, vaults) are kept when their stack is deleted or
# they would be replaced, but deleted when the create that made them rolls back (CloudFormation's
# RetainExceptOnCreate: "new, empty, and unused resources are deleted"). Plain Retain would leave
# fixed-name resources behind a failed first deploy, and its retry would fail with "already exists".
KEEP = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    retention: logs.RetentionDays,
    name: str | None = None,
) -> logs.LogGroup:
    """A CloudWatch Logs group encrypted with `key`, with finite retention, kept as KEEP says.
    Created directly under `scope` (a function, not a construct) so logical IDs stay put."""
    return logs.LogGroup(
        scope, construct_id, log_group_name=name, encryption_key=key, retention=retention, removal_policy=KEEP
    )
