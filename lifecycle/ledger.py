"""The erasure ledger: one entry per erasure, no personal data.

It lives in two places. The `erasure_ledger` table is updated in the same transaction as the
erased rows, so the database can never say "done" for rows still present. Each completed entry
is also published as an immutable JSON object to the audit bucket (Object Lock), outside the
database: a restored backup rewinds the table but not that copy, and `replay()` re-applies every
published erasure to the restored data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from contract import ledger_object_key, ledger_prefix


@dataclass(frozen=True)
class LedgerEntry:
    request_id: str
    kind: str  # "user" | "visitor" | "workspace"
    workspace_id: str
    user_id: str | None
    requester: str
    region: str
    received_at: str
    status: str = "in_progress"
    completed_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    visitor_id: str | None = None  # kind "visitor" only (published entries before it omit the field)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LedgerEntry:
        return cls(**json.loads(text))


_COLUMNS = (
    "request_id, kind, workspace_id, user_id, requester, region, received_at, status, completed_at, counts, visitor_id"
)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _entry(row: Any) -> LedgerEntry:
    counts = row[9] if isinstance(row[9], dict) else json.loads(row[9] or "{}")
    return LedgerEntry(
        str(row[0]),
        row[1],
        str(row[2]),
        None if row[3] is None else str(row[3]),
        row[4],
        row[5],
        _iso(row[6]) or "",
        row[7],
        _iso(row[8]),
        {k: int(v) for k, v in counts.items()},
        None if row[10] is None else str(row[10]),
    )


def get(cur: Any, request_id: str) -> LedgerEntry | None:
    cur.execute(f"SELECT {_COLUMNS} FROM erasure_ledger WHERE request_id = %s", (request_id,))
    row = cur.fetchone()
    return None if row is None else _entry(row)


def begin(cur: Any, entry: LedgerEntry) -> LedgerEntry:
    """Record an accepted request (idempotent: an existing entry wins). Caller commits."""
    cur.execute(
        "INSERT INTO erasure_ledger (request_id, kind, workspace_id, user_id, visitor_id, requester, region, "
        "received_at, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'in_progress') ON CONFLICT (request_id) DO NOTHING",
        (
            entry.request_id,
            entry.kind,
            entry.workspace_id,
            entry.user_id,
            entry.visitor_id,
            entry.requester,
            entry.region,
            entry.received_at,
        ),
    )
    found = get(cur, entry.request_id)
    assert found is not None
    return found


def complete(cur: Any, request_id: str, counts: dict[str, int]) -> None:
    """Mark done with the counts, in the caller's transaction (the one that deleted the rows)."""
    cur.execute(
        "UPDATE erasure_ledger SET status = 'completed', completed_at = clock_timestamp(), counts = %s::jsonb "
        "WHERE request_id = %s AND status = 'in_progress'",
        (json.dumps(counts, sort_keys=True), request_id),
    )


def restore_entry(cur: Any, entry: LedgerEntry) -> bool:
    """Put a published entry back into a restored database. True if it was missing."""
    cur.execute(
        f"INSERT INTO erasure_ledger ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s) "
        "ON CONFLICT (request_id) DO UPDATE SET status = EXCLUDED.status, completed_at = EXCLUDED.completed_at, "
        "counts = EXCLUDED.counts WHERE erasure_ledger.status <> 'completed'",
        (
            entry.request_id,
            entry.kind,
            entry.workspace_id,
            entry.user_id,
            entry.requester,
            entry.region,
            entry.received_at,
            entry.status,
            entry.completed_at,
            json.dumps(entry.counts, sort_keys=True),
            entry.visitor_id,
        ),
    )
    return bool(cur.rowcount)


def object_key(region: str, request_id: str) -> str:
    return ledger_object_key(region, request_id)


def publish(s3: Any, ledger_bucket: str, entry: LedgerEntry) -> str:
    """Write the completed entry to the audit bucket (Object Lock keeps it). Idempotent."""
    if entry.status != "completed":
        raise ValueError(f"ledger entry {entry.request_id} is not completed; only completed entries are published")
    key = object_key(entry.region, entry.request_id)
    s3.put_object(Bucket=ledger_bucket, Key=key, Body=entry.to_json().encode(), ContentType="application/json")
    return key


def published(s3: Any, ledger_bucket: str, region: str) -> list[LedgerEntry]:
    entries = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=ledger_bucket, Prefix=ledger_prefix(region)):
        for obj in page.get("Contents", []):
            entries.append(LedgerEntry.from_json(s3.get_object(Bucket=ledger_bucket, Key=obj["Key"])["Body"].read()))
    return sorted(entries, key=lambda e: (e.completed_at or "", e.request_id))
