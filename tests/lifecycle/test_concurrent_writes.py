"""Erasure against concurrent writes: the application keeps writing to a subject while its erasure
runs, on the real PostgreSQL (as the app's own database role) and moto S3. Nothing of the subject
may survive: the ledger entry written at validation is a tombstone the database enforces
(migration 0006), and a final sweep removes objects that landed while the rows went."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pg8000
import pytest

from lifecycle import erasure
from tests.lifecycle.conftest import BUCKET, LEDGER_BUCKET, REGION, World

TOMBSTONE = "23514"  # check_violation, constraint erasure_tombstone


def request(ws: str, kind: str = "workspace", **subject: str) -> dict[str, Any]:
    return {
        "request_id": f"race-{uuid.uuid4()}",
        "kind": kind,
        "workspace_id": ws,
        "requester": "support:u-7",
        "region": REGION,
        **subject,
    }


class AppWriter(threading.Thread):
    """The application: as fast as it can, a new conversation with a message for the subject, then
    the message's attachment in S3 (row first, then the object: the app's contract)."""

    def __init__(self, w: World, connect: Any, ws: str, user: str) -> None:
        super().__init__(daemon=True)
        self.w, self.conn, self.ws, self.user = w, connect(), ws, user
        self.written, self.refused, self.failures = 0, 0, []  # type: ignore[var-annotated]
        self.stop = threading.Event()

    def run(self) -> None:
        cur = self.conn.cursor()
        while not self.stop.is_set():
            conv, msg = str(uuid.uuid4()), str(uuid.uuid4())
            try:
                cur.execute(
                    "INSERT INTO conversations (id, workspace_id, end_user_id) VALUES (%s, %s, %s)",
                    (conv, self.ws, self.user),
                )
                cur.execute(
                    "INSERT INTO messages (id, conversation_id, workspace_id, body) VALUES (%s, %s, %s, 'hi')",
                    (msg, conv, self.ws),
                )
                self.conn.commit()
            except pg8000.dbapi.DatabaseError as exc:
                self.conn.rollback()
                code = exc.args[0].get("C") if exc.args and isinstance(exc.args[0], dict) else None
                if code == TOMBSTONE:
                    self.refused += 1
                elif code != "23503":  # a foreign key failing once the parent is gone is the other refusal
                    self.failures.append(exc)
                time.sleep(0.002)
                continue
            self.written += 1
            self.w.s3.put_object(Bucket=BUCKET, Key=f"workspaces/{self.ws}/users/{self.user}/att/{msg}", Body=b"x")

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=10)
        self.conn.close()


@pytest.fixture
def app_connect(pg_server: Any, pg_database: str) -> Any:
    return lambda: pg_server.connect(pg_database, user="trustbase_app")


def drive(w: World, raw: dict[str, Any], writer: AppWriter, *, chunk: int) -> dict[str, Any]:
    """The state machine's steps in order, with the writer running throughout; small row chunks so
    the writer gets between them."""
    writer.start()
    time.sleep(0.2)  # the app is writing before the erasure is even accepted
    step = erasure.validate(w.app, raw, REGION)
    assert step["outcome"] == "accepted", step
    time.sleep(0.2)
    step = erasure.erase_objects(w.s3, BUCKET, step)
    while True:
        step = erasure.erase_rows(w.app, step, chunk=chunk)
        if step["rows_done"]:
            break
        time.sleep(0.01)
    time.sleep(0.2)
    writer.finish()  # the upload grace period: in-flight uploads have landed
    step = erasure.sweep_objects(w.s3, BUCKET, step)
    assert step["sweep_done"]
    return erasure.publish_ledger(w.app, w.s3, LEDGER_BUCKET, raw["request_id"])


def test_nothing_written_during_a_workspace_erasure_survives_it(world: World, app_connect: Any) -> None:
    ws = world.add_workspace()
    users = [world.add_user(ws, conversations=5, messages=20) for _ in range(3)]
    writer = AppWriter(world, app_connect, ws, users[0])
    result = drive(world, request(ws), writer, chunk=25)
    assert result["outcome"] == "completed"
    assert writer.failures == [] and writer.written > 0 and writer.refused > 0  # it really raced, and was refused
    for table in ("messages", "conversations", "end_users", "visitors"):
        assert world.count(table, "workspace_id = %s", (ws,)) == 0, table
    assert world.count("workspaces", "id = %s", (ws,)) == 0
    pages = world.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=f"workspaces/{ws}/")
    assert sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages) == 0


def test_nothing_written_during_a_user_erasure_survives_it(world: World, app_connect: Any) -> None:
    ws = world.add_workspace()
    user, bystander = world.add_user(ws), world.add_user(ws)
    writer = AppWriter(world, app_connect, ws, user)
    result = drive(world, request(ws, "user", user_id=user), writer, chunk=5000)
    assert result["outcome"] == "completed"
    assert writer.failures == [] and writer.written > 0 and writer.refused > 0
    assert world.count("conversations", "end_user_id = %s", (user,)) == 0
    assert world.count("end_users", "id = %s", (user,)) == 0
    assert world.versions(f"workspaces/{ws}/users/{user}/") == 0
    assert world.count("end_users", "id = %s", (bystander,)) == 1  # the rest of the workspace is untouched


def test_an_upload_in_flight_when_the_rows_went_is_caught_by_the_final_sweep(world: World, app_connect: Any) -> None:
    """Deterministic: the app wrote its row before the tombstone, its upload lands after the rows
    were erased. Without the sweep the object would survive."""
    ws = world.add_workspace()
    user = world.add_user(ws)
    app = app_connect()
    cur = app.cursor()
    conv = str(uuid.uuid4())
    cur.execute("INSERT INTO conversations (id, workspace_id, end_user_id) VALUES (%s, %s, %s)", (conv, ws, user))
    app.commit()
    raw = request(ws, "user", user_id=user)
    step = erasure.validate(world.app, raw, REGION)
    step = erasure.erase_objects(world.s3, BUCKET, step)
    step = erasure.erase_rows(world.app, step)
    world.s3.put_object(Bucket=BUCKET, Key=f"workspaces/{ws}/users/{user}/att/late.png", Body=b"late")
    assert world.versions(f"workspaces/{ws}/users/{user}/") == 1  # it would survive here
    step = erasure.sweep_objects(world.s3, BUCKET, step)
    assert step["sweep_done"] and step["swept_versions"] == 1
    assert world.versions(f"workspaces/{ws}/users/{user}/") == 0
    app.close()


def test_an_erased_subject_cannot_be_written_back(world: World, app_connect: Any) -> None:
    """A sync job or a stale cache re-inserting an erased user (same ID) is refused, for good."""
    ws = world.add_workspace()
    user = world.add_user(ws)
    other = world.add_workspace()
    visitor = world.add_visitor(ws, world.sql("SELECT now()")[0][0])
    erasure.process(world.app, world.s3, BUCKET, LEDGER_BUCKET, request(ws, "user", user_id=user), REGION)
    erasure.process(world.app, world.s3, BUCKET, LEDGER_BUCKET, request(ws, "visitor", visitor_id=visitor), REGION)
    erasure.process(world.app, world.s3, BUCKET, LEDGER_BUCKET, request(other), REGION)
    app = app_connect()
    cur = app.cursor()
    for statement, params in (
        ("INSERT INTO end_users (id, workspace_id, email) VALUES (%s, %s, 'back@example.com')", (user, ws)),
        ("INSERT INTO visitors (id, workspace_id) VALUES (%s, %s)", (visitor, ws)),
        ("INSERT INTO workspaces (id, name, region) VALUES (%s, 'back', %s)", (other, REGION)),
    ):
        if "workspaces" in statement:  # the workspace row itself may come back (a new, empty tenant) ...
            cur.execute(statement, params)
            app.commit()
            # ... but nothing can be written into it
            statement, params = (
                "INSERT INTO end_users (id, workspace_id, email) VALUES (%s, %s, 'x@example.com')",
                (str(uuid.uuid4()), other),
            )
        with pytest.raises(pg8000.dbapi.DatabaseError) as refused:
            cur.execute(statement, params)
        app.rollback()
        assert refused.value.args[0]["C"] == TOMBSTONE and refused.value.args[0]["n"] == "erasure_tombstone"
    app.close()


def test_without_the_tombstone_an_erased_user_comes_back(world: World, app_connect: Any) -> None:
    """The failing-without case: drop the trigger and the same re-insert succeeds."""
    ws = world.add_workspace()
    user = world.add_user(ws)
    erasure.process(world.app, world.s3, BUCKET, LEDGER_BUCKET, request(ws, "user", user_id=user), REGION)
    world.sql("DROP TRIGGER end_users_erasure_tombstone ON end_users")
    app = app_connect()
    app.cursor().execute(
        "INSERT INTO end_users (id, workspace_id, email) VALUES (%s, %s, 'back@example.com')", (user, ws)
    )
    app.commit()
    app.close()
    assert world.count("end_users", "id = %s", (user,)) == 1


def test_data_cannot_be_moved_out_of_a_subject_under_erasure(world: World, app_connect: Any) -> None:
    """An update that would move a conversation from a visitor under erasure to another subject is
    refused (checked as the row was), so nothing escapes the erasure by moving."""
    ws = world.add_workspace()
    keeper = world.add_user(ws)
    visitor = world.add_visitor(ws, world.sql("SELECT now()")[0][0])
    assert erasure.validate(world.app, request(ws, "visitor", visitor_id=visitor), REGION)["outcome"] == "accepted"
    app = app_connect()
    with pytest.raises(pg8000.dbapi.DatabaseError) as refused:
        app.cursor().execute(
            "UPDATE conversations SET visitor_id = NULL, end_user_id = %s WHERE visitor_id = %s", (keeper, visitor)
        )
    app.rollback()
    app.close()
    assert refused.value.args[0]["n"] == "erasure_tombstone"
    assert world.count("conversations", "visitor_id = %s", (visitor,)) == 1
