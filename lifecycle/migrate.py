"""Apply lifecycle/migrations/*.sql in order, once each, recording a checksum.

A migration that changed after it was applied is refused (fix forward with a new file).
Concurrent runners serialize on an advisory lock. Usable from the Lambda (on deploy) and tests.

A migration whose first line is `-- trustbase:no-transaction` runs outside a transaction, one
statement at a time (statements end with `;` at the end of a line): `CREATE INDEX CONCURRENTLY`
needs that, so a live table is never locked against writes while an index is built. Such an index
left INVALID by an interrupted build is dropped and built again on the next run; the migration is
recorded only once every index it names is valid.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import DATABASE_NAME, DB_PORT, Link

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_ID = 0x7472757374  # "trust"


class MigrationError(RuntimeError):
    pass


NO_TRANSACTION = "-- trustbase:no-transaction"
_CONCURRENT_INDEX = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def transactional(self) -> bool:
        return not self.sql.startswith(NO_TRANSACTION)

    def statements(self) -> list[str]:
        """The statements of a no-transaction migration, comments dropped."""
        body = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        return [s.strip() for s in re.split(r";\s*$", body, flags=re.MULTILINE) if s.strip()]

    def concurrent_indexes(self) -> list[str]:
        return _CONCURRENT_INDEX.findall(self.sql)


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
        if not m.transactional:
            if _apply_without_transaction(conn, m):
                applied.append(f"{m.version:04d}_{m.name}")
            continue
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


def _apply_without_transaction(conn: Any, m: Migration) -> bool:
    """Run a no-transaction migration under a session advisory lock. Returns True if applied now."""
    cur = conn.cursor()
    conn.commit()
    conn.autocommit = True
    try:
        cur.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            cur.execute("SELECT checksum FROM schema_migrations WHERE version = %s", (m.version,))
            row = cur.fetchone()
            if row:
                if row[0] != m.checksum:
                    raise MigrationError(
                        f"migration {m.version:04d}_{m.name} changed after it was applied; add a new migration instead"
                    )
                return False
            for index in m.concurrent_indexes():  # left INVALID by an interrupted build: build it again
                if _index_state(cur, index) == "invalid":
                    cur.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index}"')
            for statement in m.statements():
                cur.execute(statement)
            broken = [i for i in m.concurrent_indexes() if _index_state(cur, i) != "valid"]
            if broken:
                raise MigrationError(f"migration {m.version:04d}_{m.name}: indexes not valid after the build: {broken}")
            cur.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (m.version, m.name, m.checksum),
            )
            return True
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    finally:
        conn.autocommit = False


def _index_state(cur: Any, name: str) -> str:
    cur.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,))
    row = cur.fetchone()
    return "missing" if row is None else "valid" if row[0] else "invalid"


def main(argv: list[str] | None = None) -> int:
    """python -m lifecycle.migrate --region R --secret-arn ARN [--host H] [--tunnel 127.0.0.1:P]

    Applies the migrations to Aurora as the master user, whose password RDS manages in Secrets
    Manager (fetched here, never printed), over TLS verified against the RDS CA bundle."""
    import argparse
    import json
    import ssl

    import boto3
    import pg8000.dbapi

    parser = argparse.ArgumentParser(prog="python -m lifecycle.migrate", description=main.__doc__)
    parser.add_argument("--region", required=True)
    parser.add_argument("--secret-arn", required=True, help="the cluster's RDS-managed master secret")
    parser.add_argument("--host", help=f"cluster endpoint (default: SSM {Link.CLUSTER_ENDPOINT.parameter_name})")
    parser.add_argument("--port", type=int, default=DB_PORT)
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument("--ca-bundle", required=True, help="RDS CA bundle (PEM)")
    parser.add_argument("--tunnel", metavar="HOST:PORT", help="connect through a port forward (e.g. SSM)")
    args = parser.parse_args(argv)
    session = boto3.Session(region_name=args.region)
    ssm = session.client("ssm")
    host = args.host or ssm.get_parameter(Name=Link.CLUSTER_ENDPOINT.parameter_name)["Parameter"]["Value"]
    secret = json.loads(session.client("secretsmanager").get_secret_value(SecretId=args.secret_arn)["SecretString"])
    context = ssl.create_default_context(cafile=args.ca_bundle)
    connect_host, connect_port = host, args.port
    if args.tunnel:
        connect_host, port = args.tunnel.rsplit(":", 1)
        connect_port = int(port)
        context.check_hostname = False  # the chain is still verified
    conn = pg8000.dbapi.connect(
        user=secret["username"],
        password=secret["password"],
        host=connect_host,
        port=connect_port,
        database=args.database,
        ssl_context=context,
        timeout=30,
    )
    applied = migrate(conn)
    conn.close()
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
