"""Migrations: applied once, in order, refused when edited; and the least-privilege roles."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pg8000.dbapi
import pytest

from lifecycle.migrate import MIGRATIONS_DIR, MigrationError, migrate, migrations


def test_migrations_are_numbered_without_gaps() -> None:
    assert [m.version for m in migrations()] == list(range(1, len(migrations()) + 1))


def test_rerun_applies_nothing(pg_server: Any, pg_database: str) -> None:
    conn = pg_server.connect(pg_database)
    assert migrate(conn) == []
    conn.close()


def test_an_edited_migration_is_refused(pg_server: Any, pg_database: str, tmp_path: Path) -> None:
    edited = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, edited)
    first = sorted(edited.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- a sneaky change\n")
    conn = pg_server.connect(pg_database)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(conn, edited)
    conn.close()


def test_a_gap_in_versions_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1")
    (tmp_path / "0003_c.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="without gaps"):
        migrations(tmp_path)


@pytest.mark.parametrize(
    ("user", "statement"),
    [
        (
            "trustbase_lifecycle",
            "INSERT INTO workspaces (id, name, region) VALUES (gen_random_uuid(), 'x', 'eu-west-1')",
        ),
        ("trustbase_lifecycle", "UPDATE end_users SET email = 'x@y.z'"),
        ("trustbase_lifecycle", "DELETE FROM erasure_ledger"),
        ("trustbase_lifecycle", "CREATE TABLE evil (x int)"),
        ("trustbase_dr", "SELECT * FROM end_users"),
        (
            "trustbase_app",
            "INSERT INTO erasure_ledger (request_id, kind, workspace_id, requester, region, received_at, "
            "status) VALUES ('r', 'workspace', gen_random_uuid(), 'x', 'eu-west-1', now(), 'completed')",
        ),
        ("trustbase_app", "UPDATE erasure_ledger SET status = 'completed'"),
        ("trustbase_app", "CREATE TABLE evil (x int)"),
        ("trustbase_app", "TRUNCATE messages"),
        ("trustbase_app", "SELECT * FROM trustbase_dr.canary"),
        ("trustbase_app", "ALTER TABLE messages ADD COLUMN x int"),
    ],
)
def test_roles_cannot_do_more_than_their_job(pg_server: Any, pg_database: str, user: str, statement: str) -> None:
    conn = pg_server.connect(pg_database, user=user)
    with pytest.raises(pg8000.dbapi.DatabaseError, match=r"permission denied|must be owner"):
        conn.cursor().execute(statement)
    conn.close()


def test_the_app_user_reads_and_writes_customer_data_and_reads_the_ledger(pg_server: Any, pg_database: str) -> None:
    """What the app tier needs (it connects as trustbase_app, the user its role may rds-db:connect as)."""
    conn = pg_server.connect(pg_database, user="trustbase_app")
    cur = conn.cursor()
    cur.execute("INSERT INTO workspaces (id, name, region) VALUES (gen_random_uuid(), 'w', 'eu-west-1') RETURNING id")
    workspace = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO end_users (id, workspace_id, email) VALUES (gen_random_uuid(), %s, 'a@b.c') RETURNING id",
        (workspace,),
    )
    user = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO conversations (id, workspace_id, end_user_id) VALUES (gen_random_uuid(), %s, %s) RETURNING id",
        (workspace, user),
    )
    conversation = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO messages (id, conversation_id, workspace_id, body) VALUES (gen_random_uuid(), %s, %s, 'hi')",
        (conversation, workspace),
    )
    cur.execute("UPDATE end_users SET display_name = 'A' WHERE id = %s", (user,))
    cur.execute("SELECT count(*) FROM erasure_ledger")
    assert cur.fetchone()[0] == 0
    cur.execute("DELETE FROM workspaces WHERE id = %s", (workspace,))
    conn.commit()
    conn.close()


def test_an_index_left_invalid_by_an_interrupted_build_is_built_again(pg_server: Any, pg_database: str) -> None:
    """CREATE INDEX CONCURRENTLY that is interrupted leaves an INVALID index, which IF NOT EXISTS
    would then skip for ever. The runner drops it and builds it again before recording."""
    owner = pg_server.connect(pg_database)  # a superuser: only it may mark an index invalid
    cur = owner.cursor()
    cur.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'messages_workspace_id_idx'::regclass")
    cur.execute("DELETE FROM schema_migrations WHERE name = 'subject_indexes'")
    owner.commit()
    conn = pg_server.connect(pg_database, user=pg_server.admin)
    assert migrate(conn) == ["0005_subject_indexes"]
    cur.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'messages_workspace_id_idx'::regclass")
    assert cur.fetchone()[0] is True
    owner.rollback()
    conn.close()
    owner.close()


def test_no_transaction_migrations_run_one_statement_at_a_time() -> None:
    subject = next(m for m in migrations() if m.name == "subject_indexes")
    assert not subject.transactional
    assert all(
        s.upper().startswith(("CREATE INDEX CONCURRENTLY", "DROP INDEX CONCURRENTLY")) for s in subject.statements()
    )
    assert subject.concurrent_indexes() == [
        "messages_workspace_id_idx",
        "conversations_workspace_id_idx",
        "end_users_workspace_id_idx",
        "visitors_workspace_id_idx",
        "workspaces_region_activity_idx",
    ]
