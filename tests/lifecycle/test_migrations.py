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
    ],
)
def test_roles_cannot_do_more_than_their_job(pg_server: Any, pg_database: str, user: str, statement: str) -> None:
    conn = pg_server.connect(pg_database, user=user)
    with pytest.raises(pg8000.dbapi.DatabaseError, match="permission denied"):
        conn.cursor().execute(statement)
    conn.close()
