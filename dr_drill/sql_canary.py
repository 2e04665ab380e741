"""The SQL canary: a row written to the Aurora writer before the fault and read back after it.

On AWS the drill logs in as the `trustbase_dr` database user with an IAM auth token over TLS
verified against the RDS CA bundle (never a password); the table trustbase_dr.canary is created
by the lifecycle migrations. Against the local emulator there is no database engine behind the
Aurora API, so the drills report the canary as NOT_EMULATED instead of pretending.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contract import CANARY_TABLE, DATABASE_NAME, DR_DB_USER


@dataclass
class SqlCanary:
    """Write/read canary rows through `connect()` (a DB-API connection to one endpoint)."""

    connect: Callable[[], Any]
    host: str = ""

    def write(self) -> tuple[str, datetime]:
        canary_id = str(uuid.uuid4())
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(
                f"INSERT INTO {CANARY_TABLE} (id, note) VALUES (%s, %s) RETURNING written_at",
                (canary_id, "dr drill canary"),
            )
            written_at: datetime = cur.fetchone()[0]
            conn.commit()
        finally:
            conn.close()
        return canary_id, written_at

    def read(self, canary_id: str) -> datetime | None:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT written_at FROM {CANARY_TABLE} WHERE id = %s", (canary_id,))
            row = cur.fetchone()
            conn.rollback()
        finally:
            conn.close()
        return None if row is None else row[0]

    def instance(self) -> str:
        """The Aurora instance this connection reached (Aurora PostgreSQL's aurora_db_instance_identifier())."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT aurora_db_instance_identifier()")
            name: str = cur.fetchone()[0]
            conn.rollback()
        finally:
            conn.close()
        return name

    def newest(self) -> datetime | None:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT max(written_at) FROM {CANARY_TABLE}")
            row = cur.fetchone()
            conn.rollback()
        finally:
            conn.close()
        return None if row is None else row[0]


CanaryFactory = Callable[[str, int], SqlCanary]
"""(endpoint host, port) -> a canary connected to that endpoint."""


def iam_canary_factory(
    rds: Any,
    *,
    ca_bundle: str,
    database: str = DATABASE_NAME,
    user: str = DR_DB_USER,
    tunnel: str | None = None,
    copy_tunnel: str | None = None,
    copy_id: str | None = None,
) -> CanaryFactory:
    """Canaries that log in with a fresh IAM auth token per connection, over verified TLS.

    `tunnel` ("127.0.0.1:15432") reaches the source cluster through a port forward (e.g. SSM), and
    `copy_tunnel` the restore drill's copy `copy_id` through another one: each endpoint goes through
    its own forward while the token and the TLS server name stay the endpoint's. With a tunnel, an
    endpoint that has none is refused rather than sent through the wrong one."""
    import pg8000.dbapi

    def route(host: str) -> str | None:
        if tunnel is None and copy_tunnel is None:
            return None
        if copy_id and host.startswith(f"{copy_id}."):
            if copy_tunnel is None:
                raise ValueError(f"{host} is the restored copy: pass --db-copy-tunnel to reach it")
            return copy_tunnel
        if tunnel is None:
            raise ValueError(f"{host} has no port forward: pass --db-tunnel")
        return tunnel

    def factory(host: str, port: int) -> SqlCanary:
        through = route(host)

        def connect() -> Any:
            token = rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
            context = ssl.create_default_context(cafile=ca_bundle)
            if through:
                t_host, t_port = through.rsplit(":", 1)
                context.check_hostname = False  # the tunnel's address is not the certificate's name ...
                context.verify_mode = ssl.CERT_REQUIRED  # ... but the chain is still verified
                return pg8000.dbapi.connect(
                    user=user,
                    password=token,
                    host=t_host,
                    port=int(t_port),
                    database=database,
                    ssl_context=context,
                    timeout=10,
                )
            return pg8000.dbapi.connect(
                user=user, password=token, host=host, port=port, database=database, ssl_context=context, timeout=10
            )

        return SqlCanary(connect, host)

    return factory
