"""Lambda entry points. Configuration comes from the environment the stack sets:
DB_HOST, DB_PORT, DB_NAME, DB_USER, DATA_BUCKET, LEDGER_BUCKET, VISITOR_MONTHS, WORKSPACE_MONTHS.
Errors are raised, never swallowed: the caller (Scheduler, Step Functions) retries with backoff
and then sends the event to a dead-letter queue with an alarm on it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3

from lifecycle import db, erasure
from lifecycle.budget import Budget
from lifecycle.replay import replay
from lifecycle.retention import expire_visitors, expire_workspaces


def _budget(context: Any) -> Budget:
    return Budget(lambda: context.get_remaining_time_in_millis() / 1000, reserve=60)


def _region() -> str:
    return os.environ["AWS_REGION"]


def retention(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """{"job": "visitors" | "workspaces"} from EventBridge Scheduler."""
    job = event.get("job")
    conn, s3 = db.from_environment(), boto3.client("s3")
    try:
        now = datetime.now(UTC)
        if job == "visitors":
            report = expire_visitors(conn, s3, os.environ["DATA_BUCKET"], months=int(os.environ["VISITOR_MONTHS"]),
                                     now=now, budget=_budget(context))  # fmt: skip
        elif job == "workspaces":
            report = expire_workspaces(conn, s3, os.environ["DATA_BUCKET"], os.environ["LEDGER_BUCKET"],
                                       months=int(os.environ["WORKSPACE_MONTHS"]), now=now, region=_region(),
                                       budget=_budget(context))  # fmt: skip
        else:
            raise ValueError("event field 'job' must be 'visitors' or 'workspaces'")
        return report.as_dict()
    finally:
        conn.close()


def erasure_step(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One state of the erasure state machine: {"step": ..., "input": ...}."""
    step, payload = event.get("step"), event.get("input", {})
    s3 = boto3.client("s3")
    if step == "erase_objects":  # S3 only: no database connection needed
        return erasure.erase_objects(s3, os.environ["DATA_BUCKET"], payload, _budget(context))
    conn = db.from_environment()
    try:
        if step == "validate":
            return erasure.validate(conn, payload, _region())
        if step == "erase_rows":
            return erasure.erase_rows(conn, payload, _budget(context))
        if step == "publish_ledger":
            return erasure.publish_ledger(conn, s3, os.environ["LEDGER_BUCKET"], payload["request_id"])
        if step == "replay":
            return vars(replay(conn, s3, os.environ["DATA_BUCKET"], os.environ["LEDGER_BUCKET"], _region()))
        raise ValueError(
            "event field 'step' must be one of validate, erase_objects, erase_rows, publish_ledger, replay"
        )
    finally:
        conn.close()


def migrate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deploy-time migrations (a CDK trigger, synchronous): apply every pending migration as the
    master user, whose password RDS manages in Secrets Manager. Raises on any error, which fails
    the deploy. Returns what was applied (never the secret)."""
    import json

    from lifecycle import migrate as migrations

    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["MASTER_SECRET_ARN"])["SecretString"]
    )
    conn = db.connect_password(host=os.environ["DB_HOST"], port=int(os.environ["DB_PORT"]),
                               database=os.environ["DB_NAME"], user=secret["username"], password=secret["password"])  # fmt: skip
    try:
        applied = migrations.migrate(conn)
    finally:
        conn.close()
    return {"applied": applied}
