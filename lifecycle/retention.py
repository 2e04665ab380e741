"""Scheduled retention: visitors unseen for `visitor_data_months` and workspaces inactive for
`inactive_workspace_months` are deleted with everything they own, in Aurora and in S3 (every
version and delete marker).

Work is done in bounded batches, each committed, so a run on a huge backlog stops before the
Lambda's time runs out (`done: false`) and the next run resumes: selection is by the same
predicate, so whatever is left is found again. Objects are erased before rows, so a crash never
leaves objects that no row points to. The cutoff uses calendar months (PostgreSQL intervals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from lifecycle import visitor_prefixes, workspace_prefixes
from lifecycle.budget import Budget
from lifecycle.erasure import erase_workspace
from lifecycle.fanout import FanoutSettings, count_up_to, plan_rows
from lifecycle.metrics import emit, log
from lifecycle.objects import erase_prefixes
from lifecycle.subjects import delete_visitor_rows

RETENTION_REQUESTER = "trustbase-retention-policy"
_LOCKS = {"visitors": 0x76697369, "workspaces": 0x776F726B}  # one run per job at a time


def _lock(conn: Any, job: str) -> bool:
    """A session-level advisory lock: a second run while one is going does nothing."""
    cur = conn.cursor()
    cur.execute("SELECT pg_try_advisory_lock(%s)", (_LOCKS[job],))
    got = bool(cur.fetchone()[0])
    conn.commit()
    if not got:
        log("retention.skipped", job=job, reason="another run holds the lock")
    return got


def _unlock(conn: Any, job: str) -> None:
    cur = conn.cursor()
    cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCKS[job],))
    conn.commit()


@dataclass
class RunReport:
    job: str
    now: str
    months: int
    subjects: int = 0
    s3_versions: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    done: bool = False
    handed_off: int = 0  # large workspaces started on the erasure state machine

    def add(self, counts: dict[str, int]) -> None:
        for k, v in counts.items():
            self.rows[k] = self.rows.get(k, 0) + v

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def expire_visitors(
    conn: Any, s3: Any, bucket: str, *, months: int, now: datetime, batch_size: int = 200, budget: Budget | None = None
) -> RunReport:
    budget = budget or Budget()
    report = RunReport("visitors", now.isoformat(), months)
    if not _lock(conn, "visitors"):
        return report
    try:
        _expire_visitors(conn, s3, bucket, report, months=months, now=now, batch_size=batch_size, budget=budget)
    finally:
        _unlock(conn, "visitors")
    _finish(report)
    return report


def _expire_visitors(
    conn: Any, s3: Any, bucket: str, report: RunReport, *, months: int, now: datetime, batch_size: int, budget: Budget
) -> None:
    cur = conn.cursor()
    while budget.take():
        cur.execute(
            "SELECT id, workspace_id FROM visitors WHERE last_seen_at < %s::timestamptz - make_interval(months => %s) "
            "ORDER BY last_seen_at LIMIT %s",
            (now, months, batch_size),
        )
        rows = [(str(r[0]), str(r[1])) for r in cur.fetchall()]
        if not rows:
            conn.rollback()
            report.done = True
            break
        try:
            for visitor_id, workspace_id in rows:  # objects first: a crash leaves rows to find again
                deleted, _ = erase_prefixes(s3, bucket, visitor_prefixes(workspace_id, visitor_id))
                report.s3_versions += deleted
            report.add(delete_visitor_rows(cur, [v for v, _ in rows]))
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        report.subjects += len(rows)


# Starts an erasure execution: (execution name, input) -> None. Idempotent by name (see handoff).
StartErasure = Callable[[str, dict[str, Any]], None]


def is_large(conn: Any, s3: Any, bucket: str, workspace_id: str, settings: FanoutSettings) -> bool:
    """At or above a fan-out threshold: messages, or objects (each counted up to its threshold)."""
    cur = conn.cursor()
    try:
        rows = plan_rows(cur, workspace_id, settings)
    finally:
        conn.rollback()
    if rows:
        return True
    prefixes = workspace_prefixes(workspace_id)
    return count_up_to(s3, bucket, prefixes, settings.object_min_versions) >= settings.object_min_versions


def handoff_name(workspace_id: str) -> str:
    """The execution name (Step Functions: 1-80 characters, no ':'), unique per workspace."""
    return f"retention-workspace-{workspace_id}"


def expire_workspaces(
    conn: Any,
    s3: Any,
    bucket: str,
    ledger_bucket: str,
    *,
    months: int,
    now: datetime,
    region: str,
    budget: Budget | None = None,
    start_erasure: StartErasure | None = None,
    fanout: FanoutSettings | None = None,
) -> RunReport:
    """Each inactive workspace is deleted through the erasure machinery (a ledger entry
    `retention:workspace:<id>`), so a restore's ledger replay deletes it again. With
    `start_erasure`, a workspace at or above the fan-out thresholds is handed to the erasure state
    machine (its Distributed Maps) instead of this function's bounded direct path."""
    budget = budget or Budget()
    report = RunReport("workspaces", now.isoformat(), months)
    if not _lock(conn, "workspaces"):
        return report
    try:
        _expire_workspaces(
            conn,
            s3,
            bucket,
            ledger_bucket,
            report,
            months=months,
            now=now,
            region=region,
            budget=budget,
            start_erasure=start_erasure,
            fanout=fanout or FanoutSettings(),
        )
    finally:
        _unlock(conn, "workspaces")
    _finish(report)
    return report


def _expire_workspaces(
    conn: Any,
    s3: Any,
    bucket: str,
    ledger_bucket: str,
    report: RunReport,
    *,
    months: int,
    now: datetime,
    region: str,
    budget: Budget,
    start_erasure: StartErasure | None,
    fanout: FanoutSettings,
) -> None:
    cur = conn.cursor()
    handed_off: list[str] = []  # this run's; the machine deletes them (a later run hands them off again: a no-op)
    while True:
        cur.execute(
            "SELECT id FROM workspaces WHERE region = %s AND last_activity_at < %s::timestamptz - make_interval(months => %s) "
            "AND NOT (id = ANY(%s::uuid[])) ORDER BY last_activity_at LIMIT 1",
            (region, now, months, handed_off),
        )
        row = cur.fetchone()
        conn.rollback()
        if row is None:
            report.done = True
            break
        workspace_id = str(row[0])
        request = {
            "request_id": f"retention:workspace:{workspace_id}",
            "workspace_id": workspace_id,
            "requester": RETENTION_REQUESTER,
            "region": region,
        }
        if start_erasure is not None and is_large(conn, s3, bucket, workspace_id, fanout):
            start_erasure(handoff_name(workspace_id), {**request, "kind": "workspace"})
            handed_off.append(workspace_id)
            report.handed_off += 1
            log("retention.handed_off", workspace_id=workspace_id, execution=handoff_name(workspace_id))
            continue
        if not erase_workspace(conn, s3, bucket, ledger_bucket, request, budget):
            break  # out of budget: the next run resumes this workspace
        report.subjects += 1


def _finish(report: RunReport) -> None:
    log("retention.run", **report.as_dict())
    emit(
        {"RetentionSubjectsDeleted": report.subjects, "RetentionBacklogRemaining": 0 if report.done else 1},
        {"Job": report.job},
    )
