"""Row deletion for one data subject (user, visitor, workspace). Callers own the transaction."""

from __future__ import annotations

from typing import Any


def delete_user_rows(cur: Any, workspace_id: str, user_id: str) -> dict[str, int]:
    """Everything of one end user, scoped to their workspace (cascades conversations->messages)."""
    cur.execute(
        "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.end_user_id = %s AND c.workspace_id = %s",
        (user_id, workspace_id),
    )
    messages = int(cur.fetchone()[0])
    cur.execute("DELETE FROM conversations WHERE end_user_id = %s AND workspace_id = %s", (user_id, workspace_id))
    conversations = cur.rowcount
    cur.execute("DELETE FROM end_users WHERE id = %s AND workspace_id = %s", (user_id, workspace_id))
    return {"db_end_users": cur.rowcount, "db_conversations": conversations, "db_messages": messages}


def delete_visitor_subject(cur: Any, workspace_id: str, visitor_id: str) -> dict[str, int]:
    """Everything of one website visitor, scoped to their workspace (a DSAR)."""
    cur.execute("SELECT id FROM visitors WHERE id = %s AND workspace_id = %s", (visitor_id, workspace_id))
    return delete_visitor_rows(cur, [visitor_id]) if cur.fetchone() else {"db_visitors": 0}


def delete_visitor_rows(cur: Any, visitor_ids: list[str]) -> dict[str, int]:
    cur.execute(
        "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.visitor_id = ANY(%s::uuid[])",
        (visitor_ids,),
    )
    messages = int(cur.fetchone()[0])
    cur.execute("DELETE FROM conversations WHERE visitor_id = ANY(%s::uuid[])", (visitor_ids,))
    conversations = cur.rowcount
    cur.execute("DELETE FROM visitors WHERE id = ANY(%s::uuid[])", (visitor_ids,))
    return {"db_visitors": cur.rowcount, "db_conversations": conversations, "db_messages": messages}


# Children first, bounded per statement: a workspace with millions of messages is deleted in
# many small transactions instead of one that outlives the Lambda.
_WORKSPACE_TABLES = ("messages", "conversations", "visitors", "end_users")


def delete_workspace_chunk(cur: Any, workspace_id: str, limit: int) -> tuple[str, int]:
    """Delete up to `limit` rows of the first non-empty child table, or the workspace row itself
    once no child is left. Returns (table, rows deleted); ("", 0) when nothing is left.

    The chunk is the first `limit` rows of the workspace in the (workspace_id, id) index, deleted
    by their physical addresses (a TID scan). `DELETE ... WHERE id IN (SELECT ... LIMIT n)` looks
    equivalent, but on a large table PostgreSQL plans it as a hash semi-join over a sequential scan
    of the whole table: the cost of every chunk would follow the table, not the subject."""
    for table in _WORKSPACE_TABLES:
        cur.execute(
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE workspace_id = %s "
            "ORDER BY workspace_id, id LIMIT %s))",
            (workspace_id, limit),
        )
        if cur.rowcount:
            return table, cur.rowcount
    cur.execute("DELETE FROM workspaces WHERE id = %s", (workspace_id,))
    return ("workspaces", cur.rowcount) if cur.rowcount else ("", 0)
