"""Map config retention days to CDK's RetentionDays enum (whose values are names, not days)."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

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
