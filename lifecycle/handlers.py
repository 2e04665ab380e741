"""Lambda entry points. Configuration comes from the environment the stack sets:
DB_HOST, DB_PORT, DB_NAME, DB_USER, DATA_BUCKET, LEDGER_BUCKET, VISITOR_MONTHS, WORKSPACE_MONTHS and
the FANOUT_* thresholds.
Errors are raised, never swallowed: the caller (Scheduler, Step Functions) retries with backoff
and then sends the event to a dead-letter queue with an alarm on it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import boto3

from lifecycle import db, erasure
from lifecycle.budget import Budget
from lifecycle.fanout import FanoutSettings
from lifecycle.metrics import log
from lifecycle.replay import replay
from lifecycle.retention import StartErasure, expire_visitors, expire_workspaces


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
            report = expire_visitors(
                conn,
                s3,
                os.environ["DATA_BUCKET"],
                months=int(os.environ["VISITOR_MONTHS"]),
                now=now,
                budget=_budget(context),
            )
        elif job == "workspaces":
            report = expire_workspaces(
                conn,
                s3,
                os.environ["DATA_BUCKET"],
                os.environ["LEDGER_BUCKET"],
                months=int(os.environ["WORKSPACE_MONTHS"]),
                now=now,
                region=_region(),
                budget=_budget(context),
                start_erasure=_erasure_starter(),
                fanout=_fanout(),
            )
        else:
            raise ValueError("event field 'job' must be 'visitors' or 'workspaces'")
        return report.as_dict()
    finally:
        conn.close()


def _fanout() -> FanoutSettings:
    """The region's [region.erasure] fan-out thresholds, which the stack puts in the environment."""
    d = FanoutSettings()
    return FanoutSettings(
        object_min_versions=int(os.environ.get("FANOUT_OBJECT_MIN_VERSIONS", d.object_min_versions)),
        object_shards=int(os.environ.get("FANOUT_OBJECT_SHARDS", d.object_shards)),
        row_min_messages=int(os.environ.get("FANOUT_ROW_MIN_MESSAGES", d.row_min_messages)),
        row_shards=int(os.environ.get("FANOUT_ROW_SHARDS", d.row_shards)),
    )


def _erasure_starter() -> StartErasure | None:
    """Starts an erasure execution by name (the Step Functions endpoint). "Executions with the same
    name and input are considered idempotent" while the first is open; once it is closed the same
    name raises ExecutionAlreadyExists for 90 days: the workspace was handed off before (it is gone,
    or its failure is in the erasure DLQ and alarmed, to be redriven)."""
    arn = os.environ.get("ERASURE_STATE_MACHINE_ARN")
    if not arn:
        return None
    client = boto3.client("stepfunctions", region_name=_region())

    def start(name: str, payload: dict[str, Any]) -> None:
        try:
            client.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload, sort_keys=True))
        except client.exceptions.ExecutionAlreadyExists:
            log("retention.handoff_exists", execution=name)

    return start


STEPS = (
    "validate",
    "plan_objects",
    "erase_object_shard",
    "erase_objects",
    "plan_rows",
    "erase_row_shard",
    "erase_rows",
    "sweep_objects",
    "publish_ledger",
    "replay",
)


def erasure_step(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One state of the erasure state machine: {"step": ..., "input": ...}."""
    step, payload = event.get("step"), event.get("input", {})
    if step not in STEPS:
        raise ValueError(f"event field 'step' must be one of {', '.join(STEPS)}")
    s3 = boto3.client("s3")
    bucket = os.environ["DATA_BUCKET"]
    # S3 only: no database connection needed.
    if step == "plan_objects":
        return erasure.plan_objects(s3, bucket, payload, _fanout())
    if step == "erase_object_shard":
        return erasure.erase_object_shard(s3, bucket, payload, _budget(context))
    if step == "erase_objects":
        return erasure.erase_objects(s3, bucket, payload, _budget(context))
    if step == "sweep_objects":
        return erasure.sweep_objects(s3, bucket, payload, _budget(context))
    conn = db.from_environment()
    try:
        if step == "validate":
            return erasure.validate(conn, payload, _region())
        if step == "plan_rows":
            return erasure.plan_rows(conn, payload, _fanout())
        if step == "erase_row_shard":
            return erasure.erase_row_shard(conn, payload, _budget(context))
        if step == "erase_rows":
            return erasure.erase_rows(conn, payload, _budget(context))
        if step == "publish_ledger":
            return erasure.publish_ledger(conn, s3, os.environ["LEDGER_BUCKET"], payload["request_id"])
        return vars(replay(conn, s3, bucket, os.environ["LEDGER_BUCKET"], _region()))
    finally:
        conn.close()


def migrate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deploy-time migrations (a CDK trigger, synchronous): apply every pending migration as the
    master user, whose password RDS manages in Secrets Manager. Raises on any error, which fails
    the deploy. Returns what was applied (never the secret)."""
    from lifecycle import migrate as migrations

    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["MASTER_SECRET_ARN"])["SecretString"]
    )
    conn = db.connect_password(
        host=os.environ["DB_HOST"],
        port=int(os.environ["DB_PORT"]),
        database=os.environ["DB_NAME"],
        user=secret["username"],
        password=secret["password"],
    )
    try:
        applied = migrations.migrate(conn)
    finally:
        conn.close()
    return {"applied": applied}
