"""Apply lifecycle/migrations/*.sql in order, once each, recording a checksum.

A migration that changed after it was applied is refused (fix forward with a new file).
Concurrent runners serialize on an advisory lock. Usable from the Lambda (on deploy) and tests.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_ID = 0x7472757374  # "trust"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_case.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must be 1..n without gaps, found {versions}")
    return found


def migrate(conn: Any, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    cur = conn.cursor()
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL, "
        "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.commit()
    applied: list[str] = []
    for m in migrations(directory):
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        cur.execute("SELECT checksum FROM schema_migrations WHERE version = %s", (m.version,))
        row = cur.fetchone()
        if row:
            if row[0] != m.checksum:
                conn.rollback()
                raise MigrationError(
                    f"migration {m.version:04d}_{m.name} changed after it was applied; add a new migration instead"
                )
            conn.commit()
            continue
        try:
            cur.execute(m.sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (m.version, m.name, m.checksum),
            )
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        applied.append(f"{m.version:04d}_{m.name}")
    return applied
