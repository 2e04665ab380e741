"""After a restore: re-apply every published erasure so that no erased subject comes back.

Run it against the restored database (and the data bucket, if objects were restored) BEFORE
the restored data is used. The published ledger (audit bucket, Object Lock) is authoritative:
it survives the restore, while the restored `erasure_ledger` table is as old as the backup.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lifecycle import ledger, user_prefixes, visitor_prefixes, workspace_prefixes
from lifecycle.metrics import log
from lifecycle.objects import erase_prefixes
from lifecycle.subjects import delete_user_rows, delete_visitor_subject, delete_workspace_chunk


@dataclass
class ReplayReport:
    entries: int = 0
    ledger_rows_restored: int = 0
    subjects_resurrected: int = 0
    rows_removed: int = 0
    s3_versions_removed: int = 0


def replay(conn: Any, s3: Any, bucket: str, ledger_bucket: str, region: str) -> ReplayReport:
    report = ReplayReport()
    cur = conn.cursor()
    for entry in ledger.published(s3, ledger_bucket, region):
        report.entries += 1
        try:
            removed = 0
            if entry.kind == "user" and entry.user_id:
                removed = sum(delete_user_rows(cur, entry.workspace_id, entry.user_id).values())
                prefixes = user_prefixes(entry.workspace_id, entry.user_id)
            elif entry.kind == "visitor" and entry.visitor_id:
                removed = sum(delete_visitor_subject(cur, entry.workspace_id, entry.visitor_id).values())
                prefixes = visitor_prefixes(entry.workspace_id, entry.visitor_id)
            else:
                while True:
                    table, n = delete_workspace_chunk(cur, entry.workspace_id, 5000)
                    removed += n
                    if table in ("workspaces", ""):
                        break
                prefixes = workspace_prefixes(entry.workspace_id)
            report.ledger_rows_restored += int(ledger.restore_entry(cur, entry))
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        s3_removed, _ = erase_prefixes(s3, bucket, prefixes)
        report.rows_removed += removed
        report.s3_versions_removed += s3_removed
        report.subjects_resurrected += int(bool(removed or s3_removed))
    log("erasure.replay", region=region, **asdict(report))
    return report
