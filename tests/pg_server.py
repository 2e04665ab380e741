"""A real PostgreSQL server for the tests: Debian's binaries (scripts/ensure-postgres.sh puts
them there), a throwaway cluster in a temp dir, on 127.0.0.1 and a free port, stopped at exit.
Never skipped: if the server cannot start, the tests that need it fail with the reason."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pg8000.dbapi

from contract import MASTER_USERNAME
from local_aws.emulator import free_port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries: run scripts/ensure-postgres.sh (apt-get install postgresql)")
    return Path(found[-1]).parent


@dataclass
class PgServer:
    root: Path
    port: int
    run_as: str | None  # initdb refuses to run as root: the cluster then belongs to `postgres`
    host: str = "127.0.0.1"
    superuser: str = "postgres"
    # Stands in for RDS's master user: may create roles and databases, but is no superuser (RDS
    # gives its master user rds_superuser, never superuser). Migrations run as this user.
    admin: str = MASTER_USERNAME  # as on Aurora: the migrating master user is not a superuser
    _bin: Path = field(init=False, repr=False)  # where initdb and pg_ctl live, set by start()

    @classmethod
    def start(cls, *, durable: bool = False) -> PgServer:
        """A throw-away cluster. Tests run it with fsync off (speed); `durable=True` keeps
        PostgreSQL's defaults (fsync, full-page writes), as the benchmark needs."""
        bin_dir = _bin_dir()
        root = Path(tempfile.mkdtemp(prefix="trustbase-pg-"))
        run_as = "postgres" if os.geteuid() == 0 else None
        if run_as:
            pw = pwd.getpwnam(run_as)
            os.chown(root, pw.pw_uid, pw.pw_gid)
        server = cls(root, free_port(), run_as)
        data = root / "data"
        server._run(bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        server._run(
            bin_dir / "pg_ctl",
            "-D",
            data,
            "-l",
            root / "server.log",
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1"
            + ("" if durable else " -c fsync=off -c full_page_writes=off"),
            "start",
        )
        server._bin = bin_dir
        conn = server.connect()
        conn.autocommit = True
        conn.cursor().execute(f"CREATE ROLE {server.admin} LOGIN CREATEROLE CREATEDB NOSUPERUSER")
        conn.close()
        return server

    def _run(self, *args: Any) -> None:
        result = subprocess.run([str(a) for a in args], user=self.run_as, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stderr or result.stdout}\n{log[-2000:]}")

    def stop(self) -> None:
        self._run(self._bin / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, database: str = "postgres", user: str | None = None) -> pg8000.dbapi.Connection:
        return pg8000.dbapi.connect(user=user or self.superuser, host=self.host, port=self.port, database=database)

    def create_database(self, name: str) -> None:
        """A database owned by the master-user stand-in (as RDS's default database is)."""
        conn = self.connect()
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{name}" OWNER {self.admin}')
        conn.close()

    def drop_database(self, name: str) -> None:
        conn = self.connect()
        conn.autocommit = True
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
