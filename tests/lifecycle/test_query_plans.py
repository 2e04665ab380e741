"""Erasure and retention cost follows the subject, not the table: every statement the lifecycle
runs reaches the subject's rows through an index.

The statements are not listed by hand: they are recorded while the real code erases a user (by
ID and by email), a visitor and a workspace, runs both retention jobs and replays the ledger.
Each is then EXPLAINed, with the planner's ordinary settings, against a database seeded with a
background population (and ANALYZEd) so that a subject is a small part of each table, as in
production: a Seq Scan of a customer table fails the test, naming the statement and the table.
(Disabling sequential scans instead would hide the worst case: the planner's own choice of a hash
semi-join over a full scan for `DELETE ... WHERE id IN (SELECT ... LIMIT n)`, which it makes even
when an index exists.) The foreign keys' cascades and checks, which EXPLAIN does not show, are
covered by requiring an index led by every foreign key's columns."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta

from lifecycle import erasure
from lifecycle.erasure import process
from lifecycle.fanout import FanoutSettings
from lifecycle.replay import replay
from lifecycle.retention import expire_visitors, expire_workspaces
from lifecycle.subjects import delete_workspace_chunk
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


def seed_background(owner: Any, workspaces: int = 2000) -> None:
    """Other customers, so that every table is large next to one subject: 2,000 workspaces of 5
    users with 2 conversations of 5 messages each (100,000 messages), 5 visitors each, and 2,000
    ledger entries; then ANALYZE, so the planner knows it."""
    cur = owner.cursor()
    cur.execute("CREATE TEMP TABLE bg AS SELECT gen_random_uuid() AS id FROM generate_series(1, %s)", (workspaces,))
    cur.execute(
        "INSERT INTO workspaces (id, name, region, last_activity_at) SELECT id, 'bg', %s, now() FROM bg", (REGION,)
    )
    cur.execute(
        "INSERT INTO end_users (id, workspace_id, email) SELECT gen_random_uuid(), bg.id, 'u' || g || '@bg.invalid' "
        "FROM bg, generate_series(1, 5) g"
    )
    cur.execute(
        "INSERT INTO conversations (id, workspace_id, end_user_id) SELECT gen_random_uuid(), u.workspace_id, u.id "
        "FROM end_users u JOIN bg ON bg.id = u.workspace_id, generate_series(1, 2)"
    )
    cur.execute(
        "INSERT INTO messages (id, conversation_id, workspace_id, body) SELECT gen_random_uuid(), c.id, c.workspace_id, "
        "'background' FROM conversations c JOIN bg ON bg.id = c.workspace_id, generate_series(1, 5)"
    )
    cur.execute(
        "INSERT INTO visitors (id, workspace_id, last_seen_at) SELECT gen_random_uuid(), bg.id, now() "
        "FROM bg, generate_series(1, 5)"
    )
    cur.execute(
        "INSERT INTO erasure_ledger (request_id, kind, workspace_id, requester, region, received_at, status) "
        "SELECT 'bg-' || id, 'workspace', id, 'retention', %s, now(), 'completed' FROM bg",
        (REGION,),
    )
    cur.execute("DROP TABLE bg")
    owner.commit()
    owner.autocommit = True
    cur.execute("ANALYZE")
    owner.autocommit = False


def seq_scans(owner: Any, statements: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """'<table>: <statement>' for every statement whose plan scans a customer table sequentially."""
    found: set[str] = set()
    cur = owner.cursor()
    for sql, params in statements:
        if not re.match(r"\s*(SELECT|DELETE|UPDATE|INSERT)\b", sql, re.IGNORECASE) or (
            "pg_" in sql and "FROM" not in sql
        ):
            continue
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
    for raw in (
        request(ws, by_id),
        request(ws, email="subject@example.com"),
        visitor_request(ws, visitor),
        request(other, kind="workspace"),
    ):
        assert process(recording, w.s3, BUCKET, LEDGER_BUCKET, raw, REGION)["outcome"] == "completed"
    # a workspace large enough (for these thresholds) to fan out its rows: plan and row shards
    fan = w.add_workspace()
    w.add_user(fan, conversations=2, messages=5)
    accepted = erasure.validate(recording, request(fan, kind="workspace"), REGION)
    planned = erasure.plan_rows(recording, accepted, FanoutSettings(row_min_messages=5, row_shards=2))
    assert len(planned["row_shards"]) == 2
    results = [
        erasure.erase_row_shard(recording, {"request": accepted, "shard": s})["deleted"] for s in planned["row_shards"]
    ]
    step = erasure.erase_rows(recording, {**planned, "row_results": results})
    assert step["rows_done"] and step["counts"]["db_messages"] == 10
    assert expire_visitors(recording, w.s3, BUCKET, months=9, now=NOW + timedelta(days=1)).subjects == 1
    assert expire_workspaces(recording, w.s3, BUCKET, LEDGER_BUCKET, months=13, now=NOW, region=REGION).done
    replay(recording, w.s3, BUCKET, LEDGER_BUCKET, REGION)
    assert w.count("end_users", "id IN (%s, %s)", (by_id, by_email)) == 0
    assert w.count("visitors", "id = %s", (old_visitor,)) == 0 and w.count("workspaces", "id = %s", (inactive,)) == 0
    unique = list({repr(s): s for s in recording.statements}.values())  # params may hold lists
    assert len({sql for sql, _ in unique}) >= 15, unique  # the recording saw the lifecycle's statements
    return unique


def test_every_lifecycle_statement_uses_an_index_on_the_subject(world: World) -> None:
    statements = run_every_lifecycle_statement(world)
    seed_background(world.owner)
    assert seq_scans(world.owner, statements) == []


def test_the_plan_check_fails_when_an_index_is_dropped(world: World) -> None:
    statements = run_every_lifecycle_statement(world)
    seed_background(world.owner)
    world.sql("DROP INDEX messages_workspace_id_idx")
    found = seq_scans(world.owner, statements)
    assert found and all(f.startswith("messages: ") for f in found), found
    assert any("SELECT ctid FROM messages WHERE workspace_id" in f for f in found), found


def big_workspace(w: World, messages: int = 40_000) -> str:
    """A workspace that is a large part of the messages table (the case where plans go wrong)."""
    ws = w.add_workspace()
    w.sql("INSERT INTO end_users (id, workspace_id, email) VALUES (gen_random_uuid(), %s, 'big@example.com')", (ws,))
    w.sql(
        "INSERT INTO conversations (id, workspace_id, end_user_id) SELECT gen_random_uuid(), %s, id FROM end_users "
        "WHERE workspace_id = %s",
        (ws, ws),
    )
    w.sql(
        "INSERT INTO messages (id, conversation_id, workspace_id, body) SELECT gen_random_uuid(), c.id, %s, 'm' "
        "FROM conversations c, generate_series(1, %s) WHERE c.workspace_id = %s",
        (ws, messages, ws),
    )
    return ws


def workspace_chunk_statements(w: World, ws: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The chunked deletion's statements for `ws`, as the real code issues them (rolled back)."""
    recording = Recording(w.owner)
    delete_workspace_chunk(recording.cursor(), ws, 5000)
    w.owner.rollback()
    return recording.statements


def test_a_large_workspace_is_deleted_in_chunks_through_the_index(world: World) -> None:
    ws = big_workspace(world)
    seed_background(world.owner)
    statements = workspace_chunk_statements(world, ws)
    assert statements and seq_scans(world.owner, statements) == []


def test_the_plan_check_catches_the_planner_s_full_scan_for_an_in_subquery(world: World) -> None:
    """The form the chunked deletion had before: the index exists, and for a large subject the
    planner still prefers a hash semi-join over a full scan of the table."""
    ws = big_workspace(world)
    seed_background(world.owner)
    sql = "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE workspace_id = %s LIMIT %s)"
    assert seq_scans(world.owner, [(sql, (ws, 5000))]) == [f"messages: {sql}"]


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
