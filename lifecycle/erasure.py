"""GDPR erasure (DSAR) and workspace deletion, as the steps of the erasure state machine.

    validate -> plan_objects [-> erase_object_shard x N] -> erase_objects
             -> plan_rows [-> erase_row_shard x N] -> erase_rows
             -> (wait for in-flight uploads) -> sweep_objects -> publish_ledger

A large subject's objects and rows fan out over a Distributed Map (lifecycle/fanout.py); the
direct steps then erase what is left, so a small subject skips the map altogether. The validate
step's ledger entry is also the tombstone: from then on, the database refuses new rows for the
subject (migration 0006), and the final sweep removes an object uploaded while the rows went.

Order matters for crash safety: objects go first, then the rows and the ledger's "completed" in
one transaction. A crash after the objects leaves the request "in_progress"; the retry validates
it as a resumption (the subject may already be partly gone), erases what is left and completes.
Every step is idempotent, and a repeated request ID reports the first result.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lifecycle import fanout, ledger, user_prefixes, visitor_prefixes, workspace_prefixes
from lifecycle.budget import Budget
from lifecycle.metrics import emit, log
from lifecycle.objects import erase_prefixes
from lifecycle.subjects import delete_user_rows, delete_visitor_subject, delete_workspace_chunk

KINDS = ("user", "visitor", "workspace")
# Rejection reasons and logs name fields and IDs, never the offending value: a value typed into the
# wrong field may be personal data (an email in user_id), and reasons end up in logs and in the
# execution's failure cause.
_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
# Who asked, as a role and an opaque ID ("support-agent:u-4821", "workspace-owner:3f2a..."), never a
# name or an email: it is stored in the ledger and published under Object Lock for years.
_REQUESTER = re.compile(r"^[a-z][a-z0-9-]{0,31}(?::[A-Za-z0-9_-]{1,64})?$")


class Rejected(ValueError):
    """A request that must not be processed. Nothing has been erased."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Request:
    request_id: str
    kind: str
    workspace_id: str
    requester: str
    region: str
    user_id: str | None = None
    email: str | None = None  # only ever used to find the user; never stored or logged
    visitor_id: str | None = None


def _uuid(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Rejected(
            f"field '{key}' must be a UUID (the value is not repeated here: it may be personal data)", key
        ) from None


def parse_request(raw: Any, region: str) -> Request:
    """Validate the shape of a request. Raises Rejected naming the field and the fix."""
    if not isinstance(raw, dict):
        raise Rejected("the request must be a JSON object", None)
    request_id = raw.get("request_id")
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        raise Rejected(
            "field 'request_id' must be 8-128 characters of letters, digits and ._:- (the idempotency key)",
            "request_id",
        )
    kind = raw.get("kind", "user")
    if kind not in KINDS:
        raise Rejected(f"field 'kind' must be one of {', '.join(KINDS)}", "kind")
    requester = raw.get("requester")
    if not isinstance(requester, str) or not _REQUESTER.match(requester.strip()):
        raise Rejected(
            "field 'requester' must say who asked as <role>[:<opaque id>] (lower-case role, then letters, "
            "digits, - or _), e.g. support-agent:u-4821; never a name or an email: it is kept in the ledger",
            "requester",
        )
    target_region = raw.get("region")
    if target_region != region:
        shown = (
            f"{target_region!r}"
            if isinstance(target_region, str) and _REGION_CODE.match(target_region)
            else "not this region"
        )
        raise Rejected(
            f"field 'region' is {shown} but this is the {region} pipeline: "
            "send the request to the pipeline of the region that hosts the workspace",
            "region",
        )
    workspace_id = _uuid(raw, "workspace_id")
    user_id = email = visitor_id = None
    if kind != "visitor" and raw.get("visitor_id") is not None:
        raise Rejected("only a visitor erasure names 'visitor_id': remove it or use kind 'visitor'", "visitor_id")
    if kind == "visitor":
        if raw.get("user_id") is not None or raw.get("email") is not None:
            raise Rejected("a visitor erasure names only 'visitor_id' (no 'user_id' or 'email')", "kind")
        visitor_id = _uuid(raw, "visitor_id")
    elif kind == "user":
        has_id, has_email = raw.get("user_id") is not None, raw.get("email") is not None
        if has_id == has_email:
            raise Rejected("a user erasure names exactly one of 'user_id' or 'email'", "user_id")
        if has_id:
            user_id = _uuid(raw, "user_id")
        elif not isinstance(raw["email"], str) or not _EMAIL.match(raw["email"].strip()):
            raise Rejected("field 'email' is not an email address", "email")
        else:
            email = raw["email"].strip()
    elif raw.get("user_id") is not None or raw.get("email") is not None:
        raise Rejected("a workspace deletion names no user: remove 'user_id'/'email' or use kind 'user'", "kind")
    return Request(request_id, kind, workspace_id, requester.strip(), region, user_id, email, visitor_id)


def _accepted(entry: ledger.LedgerEntry, outcome: str = "accepted") -> dict[str, Any]:
    return {
        "outcome": outcome,
        "request_id": entry.request_id,
        "kind": entry.kind,
        "workspace_id": entry.workspace_id,
        "user_id": entry.user_id,
        "visitor_id": entry.visitor_id,
        "requester": entry.requester,
        "region": entry.region,
    }


def _reject(request_id: Any, reason: str, field: str | None) -> dict[str, Any]:
    rid = request_id if isinstance(request_id, str) and _REQUEST_ID.match(request_id) else None
    log("erasure.rejected", request_id=rid, field=field, reason=reason)
    emit({"ErasuresRejected": 1}, {"Reason": field or "request"})
    return {"outcome": "rejected", "request_id": rid, "field": field, "reason": reason}


def validate(conn: Any, raw: Any, region: str, now: datetime | None = None) -> dict[str, Any]:
    """Step 1. Returns outcome "accepted" (ledger entry in_progress), "duplicate" (the first
    result, nothing to do) or "rejected" (logged; nothing erased)."""
    try:
        req = parse_request(raw, region)
    except Rejected as exc:
        return _reject(raw.get("request_id") if isinstance(raw, dict) else None, exc.reason, exc.field)
    cur = conn.cursor()
    try:
        existing = ledger.get(cur, req.request_id)
        if existing is not None:
            # The same request again, or an ID reused for another subject? Compare subjects by ID,
            # resolving an email first: the ledger never holds the email.
            same = existing.kind == req.kind and existing.workspace_id == req.workspace_id
            if same and req.kind == "user":
                named = req.user_id
                if req.email is not None:
                    cur.execute(
                        "SELECT id FROM end_users WHERE workspace_id = %s AND lower(email) = lower(%s)",
                        (req.workspace_id, req.email),
                    )
                    found_row = cur.fetchone()
                    named = None if found_row is None else str(found_row[0])
                same = named is not None and named == existing.user_id
            elif same and req.kind == "visitor":
                same = req.visitor_id == existing.visitor_id
            conn.rollback()
            if not same:
                return _reject(
                    req.request_id,
                    f"request_id {req.request_id} was already used, and this request does not name the same subject "
                    "(an email that no longer matches a user cannot confirm it): use a new request_id, or the user_id",
                    "request_id",
                )
            if existing.status == "completed":
                log("erasure.duplicate", request_id=req.request_id)
                return {**_accepted(existing, "duplicate"), "first_result": asdict(existing)}
            log("erasure.resumed", request_id=req.request_id)
            return _accepted(existing)  # a retry after a crash: continue where it stopped
        cur.execute("SELECT region FROM workspaces WHERE id = %s", (req.workspace_id,))
        row = cur.fetchone()
        if row is None:
            conn.rollback()
            return _reject(req.request_id, f"unknown workspace {req.workspace_id} in {region}", "workspace_id")
        if row[0] != region:
            conn.rollback()
            return _reject(
                req.request_id, f"workspace {req.workspace_id} is hosted in {row[0]}, not {region}", "region"
            )
        user_id = req.user_id
        if req.kind == "user":
            if req.email is not None:
                cur.execute(
                    "SELECT id FROM end_users WHERE workspace_id = %s AND lower(email) = lower(%s)",
                    (req.workspace_id, req.email),
                )
            else:
                cur.execute("SELECT id FROM end_users WHERE workspace_id = %s AND id = %s", (req.workspace_id, user_id))
            found = cur.fetchone()
            if found is None:
                conn.rollback()
                subject = "the user with that email" if req.email else f"user {user_id}"
                return _reject(req.request_id, f"{subject} is not a member of workspace {req.workspace_id}", "user_id")
            user_id = str(found[0])
        if req.kind == "visitor":
            cur.execute(
                "SELECT 1 FROM visitors WHERE workspace_id = %s AND id = %s", (req.workspace_id, req.visitor_id)
            )
            if cur.fetchone() is None:
                conn.rollback()
                return _reject(
                    req.request_id,
                    f"visitor {req.visitor_id} is not a visitor of workspace {req.workspace_id}",
                    "visitor_id",
                )
        received = (now or datetime.now(UTC)).isoformat()
        entry = ledger.begin(
            cur,
            ledger.LedgerEntry(
                req.request_id,
                req.kind,
                req.workspace_id,
                user_id,
                req.requester,
                region,
                received,
                visitor_id=req.visitor_id,
            ),
        )
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    log("erasure.accepted", request_id=req.request_id, kind=req.kind, workspace_id=req.workspace_id)
    return _accepted(entry)


def _prefixes(accepted: dict[str, Any]) -> list[str]:
    if accepted["kind"] == "user":
        return user_prefixes(accepted["workspace_id"], accepted["user_id"])
    if accepted["kind"] == "visitor":
        return visitor_prefixes(accepted["workspace_id"], accepted["visitor_id"])
    return workspace_prefixes(accepted["workspace_id"])


# Keys a fan-out adds to the execution's state; the direct steps fold their results in and drop them.
_FANOUT_KEYS = ("object_shards", "object_results", "row_shards", "row_results")


def _without_fanout(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in _FANOUT_KEYS}


def _shard_total(results: Any) -> int:
    if results is None:
        return 0
    if not isinstance(results, list) or not all(isinstance(n, int) and n >= 0 for n in results):
        raise ValueError("a map's results must be the list of counts its children deleted")
    return sum(results)


def plan_objects(s3: Any, bucket: str, accepted: dict[str, Any], settings: fanout.FanoutSettings) -> dict[str, Any]:
    """Step 2a: [] (the direct path) or the key-range shards of a large subject's prefixes."""
    shards = fanout.plan_objects(s3, bucket, _prefixes(accepted), settings)
    log("erasure.objects_planned", request_id=accepted["request_id"], shards=len(shards))
    return {**accepted, "object_shards": shards}


def erase_object_shard(s3: Any, bucket: str, item: dict[str, Any], budget: Budget | None = None) -> dict[str, Any]:
    """A Distributed Map child: one key range of one of the request's prefixes. Loops until
    `done`; `deleted` accumulates over the loop."""
    deleted, done = fanout.erase_object_shard(s3, bucket, item["shard"], _prefixes(item["request"]), budget)
    return {**item, "deleted": int(item.get("deleted", 0)) + deleted, "done": done}


def plan_rows(conn: Any, accepted: dict[str, Any], settings: fanout.FanoutSettings) -> dict[str, Any]:
    """Step 3a: [] (the direct path) or the ID ranges of a large workspace's messages."""
    shards: list[dict[str, Any]] = []
    if accepted["kind"] == "workspace":
        cur = conn.cursor()
        try:
            shards = fanout.plan_rows(cur, accepted["workspace_id"], settings)
        finally:
            conn.rollback()
    log("erasure.rows_planned", request_id=accepted["request_id"], shards=len(shards))
    return {**accepted, "row_shards": shards}


def erase_row_shard(conn: Any, item: dict[str, Any], budget: Budget | None = None) -> dict[str, Any]:
    """A Distributed Map child: one ID range of the workspace's messages. Loops until `done`."""
    deleted, done = fanout.erase_row_shard(conn, item["request"]["request_id"], item["shard"], budget)
    return {**item, "deleted": int(item.get("deleted", 0)) + deleted, "done": done}


def erase_objects(s3: Any, bucket: str, accepted: dict[str, Any], budget: Budget | None = None) -> dict[str, Any]:
    """Step 2: every version and delete marker under the subject's prefixes. Loops in the state
    machine until `objects_done` (bounded by the budget per invocation). After a fan-out, what
    the children deleted is counted in and whatever they left is erased here."""
    budget = budget or Budget()
    fanned = _shard_total(accepted.get("object_results"))
    accepted = _without_fanout(accepted)
    total, done = accepted.get("s3_versions", 0) + fanned, False
    while budget.take():
        deleted, done = erase_prefixes(s3, bucket, _prefixes(accepted), max_pages=10)
        total += deleted
        if done:
            break
    return {**accepted, "s3_versions": total, "objects_done": done}


def erase_rows(conn: Any, accepted: dict[str, Any], budget: Budget | None = None, chunk: int = 5000) -> dict[str, Any]:
    """Step 3. A user's rows go in ONE transaction together with the ledger's "completed". A
    workspace is deleted in bounded chunks (each committed); the workspace row itself and the
    ledger's "completed" go last, in one transaction. Loops until `rows_done`."""
    budget = budget or Budget()
    fanned = _shard_total(accepted.get("row_results"))
    accepted = _without_fanout(accepted)
    cur = conn.cursor()
    counts: dict[str, int] = dict(accepted.get("counts", {}))
    if fanned:
        counts["db_messages"] = counts.get("db_messages", 0) + fanned
    try:
        entry = ledger.get(cur, accepted["request_id"])
        if entry is None:
            raise RuntimeError(f"no ledger entry for {accepted['request_id']}: validate first")
        if entry.status == "completed":
            conn.rollback()
            return {**accepted, "counts": entry.counts, "rows_done": True}
        if accepted["kind"] in ("user", "visitor"):
            subject = (
                delete_user_rows(cur, accepted["workspace_id"], accepted["user_id"])
                if accepted["kind"] == "user"
                else delete_visitor_subject(cur, accepted["workspace_id"], accepted["visitor_id"])
            )
            for k, v in subject.items():
                counts[k] = counts.get(k, 0) + v
        else:
            while True:
                if not budget.take():
                    conn.commit()
                    return {**accepted, "counts": counts, "rows_done": False}
                table, n = delete_workspace_chunk(cur, accepted["workspace_id"], chunk)
                if table:
                    counts[f"db_{table}"] = counts.get(f"db_{table}", 0) + n
                if table in ("workspaces", ""):
                    break
                conn.commit()
        counts["s3_versions"] = int(accepted.get("s3_versions", 0))
        ledger.complete(cur, accepted["request_id"], counts)
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    log("erasure.rows_erased", request_id=accepted["request_id"], counts=counts)
    return {**accepted, "counts": counts, "rows_done": True}


def sweep_objects(s3: Any, bucket: str, accepted: dict[str, Any], budget: Budget | None = None) -> dict[str, Any]:
    """Step 4: after the rows are gone (and the wait for uploads already in flight), erase the
    prefixes once more. The application writes an object only after its row, which the tombstone
    refuses from validation on; an object that landed meanwhile goes here. Loops until `sweep_done`."""
    budget = budget or Budget()
    swept, done = int(accepted.get("swept_versions", 0)), False
    while budget.take():
        deleted, done = erase_prefixes(s3, bucket, _prefixes(accepted), max_pages=10)
        swept += deleted
        if done:
            break
    if done and swept:
        log("erasure.swept_late_objects", request_id=accepted["request_id"], versions=swept)
    return {**accepted, "swept_versions": swept, "sweep_done": done}


def publish_ledger(conn: Any, s3: Any, ledger_bucket: str, request_id: str) -> dict[str, Any]:
    """Step 4: the completed entry goes to the Object-Lock audit bucket; emit the metric."""
    cur = conn.cursor()
    entry = ledger.get(cur, request_id)
    conn.rollback()
    if entry is None or entry.status != "completed":
        raise RuntimeError(f"ledger entry {request_id} is not completed; cannot publish")
    key = ledger.publish(s3, ledger_bucket, entry)
    received = datetime.fromisoformat(entry.received_at)
    completed = datetime.fromisoformat(entry.completed_at or entry.received_at)
    emit(
        {"ErasuresCompleted": 1, "ErasureSeconds": round((completed - received).total_seconds(), 3)},
        {"Kind": entry.kind},
    )
    log("erasure.completed", request_id=request_id, ledger_key=key, counts=entry.counts)
    return {"outcome": "completed", "request_id": request_id, "ledger_key": key, "counts": entry.counts}


def process(conn: Any, s3: Any, bucket: str, ledger_bucket: str, raw: Any, region: str) -> dict[str, Any]:
    """All steps in order, as the state machine runs them (used by tests and local runs)."""
    result = validate(conn, raw, region)
    if result["outcome"] == "rejected":
        return result
    if result["outcome"] == "duplicate":
        ledger.publish(s3, ledger_bucket, ledger.LedgerEntry(**result["first_result"]))  # make sure it is published
        return result
    step = erase_objects(s3, bucket, result)
    while not step["objects_done"]:
        step = erase_objects(s3, bucket, step)
    step = erase_rows(conn, step)
    while not step["rows_done"]:
        step = erase_rows(conn, step)
    step = sweep_objects(s3, bucket, step)
    while not step["sweep_done"]:
        step = sweep_objects(s3, bucket, step)
    return publish_ledger(conn, s3, ledger_bucket, result["request_id"])


def erase_workspace(
    conn: Any, s3: Any, bucket: str, ledger_bucket: str, request: dict[str, Any], budget: Budget
) -> bool:
    """Retention's workspace deletion through the same machinery, within a budget.
    Returns True when the workspace is gone and its ledger entry published."""
    cur = conn.cursor()
    entry = ledger.begin(
        cur,
        ledger.LedgerEntry(
            request["request_id"],
            "workspace",
            request["workspace_id"],
            None,
            request["requester"],
            request["region"],
            datetime.now(UTC).isoformat(),
        ),
    )
    conn.commit()
    accepted = _accepted(entry)
    step = erase_objects(s3, bucket, accepted, budget)
    if not step["objects_done"]:
        return False
    step = erase_rows(conn, step, budget)
    if not step["rows_done"]:
        return False
    publish_ledger(conn, s3, ledger_bucket, request["request_id"])
    return True
