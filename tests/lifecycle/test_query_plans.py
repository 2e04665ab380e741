"""Erasure and retention cost follows the subject, not the table: every statement the lifecycle
runs reaches the subject's rows through an index.

The statements are not listed by hand: they are recorded while the real code erases a user (by
ID and by email), a visitor and a workspace, runs both retention jobs and replays the ledger.
Each is then EXPLAINed with sequential scans disabled: if no index can serve it, PostgreSQL still
plans a Seq Scan (at a prohibitive cost), and the test names the statement and the table. The
foreign keys' cascades and checks, which EXPLAIN does not show, are covered by requiring an index
led by every foreign key's columns."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta

from lifecycle.erasure import process
from lifecycle.replay import replay
from lifecycle.retention import expire_visitors, expire_workspaces
from tests.lifecycle.conftest import BUCKET, LEDGER_BUCKET, NOW, REGION, World
from tests.lifecycle.test_erasure import request, visitor_request

CUSTOMER_TABLES = frozenset({"workspaces", "end_users", "visitors", "conversations", "messages", "erasure_ledger"})


class RecordingCursor:
    def __init__(self, cursor: Any, log: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._cursor, self._log = cursor, log

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._log.append((sql, tuple(params or ())))
        return self._cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class Recording:
    """A DB-API connection that records every statement the code under test executes."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self._conn.cursor(), self.statements)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def seq_scans(owner: Any, statements: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """'<table>: <statement>' for every statement whose plan scans a customer table sequentially
    although sequential scans are disabled, i.e. where no index can serve it."""
    found: set[str] = set()
    cur = owner.cursor()
    for sql, params in statements:
        if not re.match(r"\s*(SELECT|DELETE|UPDATE|INSERT)\b", sql, re.IGNORECASE) or (
            "pg_" in sql and "FROM" not in sql
        ):
            continue
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cur.fetchone()[0]
        owner.rollback()
        stack = [plan[0]["Plan"]]
        while stack:
            node = stack.pop()
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in CUSTOMER_TABLES:
                found.add(f"{node['Relation Name']}: {' '.join(sql.split())[:160]}")
            stack += node.get("Plans", [])
    return sorted(found)


def run_every_lifecycle_statement(w: World) -> list[tuple[str, tuple[Any, ...]]]:
    recording = Recording(w.app)
    ws, other = w.add_workspace(), w.add_workspace()
    by_id, by_email = w.add_user(ws), w.add_user(ws, email="subject@example.com")
    visitor = w.add_visitor(ws, NOW)
    old_visitor = w.add_visitor(ws, NOW - relativedelta(months=10))
    inactive = w.add_workspace(last_activity=NOW - relativedelta(months=14))
    w.add_user(inactive)
    for raw in (request(ws, by_id), request(ws, email="subject@example.com"), visitor_request(ws, visitor),
                request(other, kind="workspace")):  # fmt: skip
        assert process(recording, w.s3, BUCKET, LEDGER_BUCKET, raw, REGION)["outcome"] == "completed"
    assert expire_visitors(recording, w.s3, BUCKET, months=9, now=NOW + timedelta(days=1)).subjects == 1
    assert expire_workspaces(recording, w.s3, BUCKET, LEDGER_BUCKET, months=13, now=NOW, region=REGION).done
    replay(recording, w.s3, BUCKET, LEDGER_BUCKET, REGION)
    assert w.count("end_users", "id IN (%s, %s)", (by_id, by_email)) == 0
    assert w.count("visitors", "id = %s", (old_visitor,)) == 0 and w.count("workspaces", "id = %s", (inactive,)) == 0
    unique = list({repr(s): s for s in recording.statements}.values())  # params may hold lists
    assert len({sql for sql, _ in unique}) >= 15, unique  # the recording saw the lifecycle's statements
    return unique


def test_every_lifecycle_statement_uses_an_index_on_the_subject(world: World) -> None:
    assert seq_scans(world.owner, run_every_lifecycle_statement(world)) == []


def test_the_plan_check_fails_when_an_index_is_dropped(world: World) -> None:
    statements = run_every_lifecycle_statement(world)
    world.sql("DROP INDEX messages_workspace_id_idx")
    found = seq_scans(world.owner, statements)
    assert found and all(f.startswith("messages: ") for f in found), found
    assert any("DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE workspace_id" in f for f in found)


def foreign_keys_without_an_index(owner: Any) -> list[str]:
    """Foreign keys (child table, columns) whose columns do not lead any index of the child: a
    delete of the parent would scan the child to cascade or to check."""
    cur = owner.cursor()
    cur.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname,
               array(SELECT attname FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k)
        FROM pg_constraint c
        WHERE c.contype = 'f'
          AND NOT EXISTS (
              SELECT 1 FROM pg_index i
              WHERE i.indrelid = c.conrelid AND i.indisvalid
                AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] @> c.conkey
                AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] <@ c.conkey)
        """
    )
    rows = [f"{table}.{'/'.join(cols)} ({name})" for table, name, cols in cur.fetchall()]
    owner.rollback()
    return sorted(rows)


def test_every_foreign_key_is_led_by_an_index(world: World) -> None:
    assert foreign_keys_without_an_index(world.owner) == []


@pytest.mark.parametrize(
    ("index", "foreign_key"),
    [("messages_workspace_id_idx", "messages.workspace_id"), ("conversations_visitor_idx", "conversations.visitor_id")],
)
def test_the_foreign_key_check_fails_without_its_index(world: World, index: str, foreign_key: str) -> None:
    world.sql(f"DROP INDEX {index}")
    assert [f for f in foreign_keys_without_an_index(world.owner) if f.startswith(foreign_key)]
