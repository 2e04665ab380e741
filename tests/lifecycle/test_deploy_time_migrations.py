"""The deploy-time migration handler (the CDK trigger's target): it reads the RDS-managed master
secret from Secrets Manager (moto), connects with exactly those credentials to the configured
endpoint, applies the migrations on a real PostgreSQL as a master user that, like RDS's, may create
roles but is no superuser, and raises on failure so the deploy fails.

The TLS connection itself (verified against the RDS CA bundle) cannot be made to the test server,
which has no certificate: `db.connect_password` is replaced by a connection to the test server that
records the arguments the handler passed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lifecycle import db, handlers
from lifecycle.migrate import MigrationError, migrations

REGION = "eu-west-1"


@pytest.fixture
def deploy_env(pg_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh, empty database; a master secret naming the master-user stand-in; the env the stack sets."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(name)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="rds!cluster-test", SecretString=json.dumps({"username": pg_server.admin, "password": "pw"})
        )
        monkeypatch.setenv("MASTER_SECRET_ARN", secret["ARN"])
        monkeypatch.setenv("DB_HOST", "trustbase-eu-west-1.cluster-x.eu-west-1.rds.amazonaws.com")
        monkeypatch.setenv("DB_PORT", "5532")
        monkeypatch.setenv("DB_NAME", name)
        calls: list[dict[str, Any]] = []

        def connect_password(**kwargs: Any) -> Any:
            calls.append(kwargs)
            return pg_server.connect(name, user=kwargs["user"])

        monkeypatch.setattr(db, "connect_password", connect_password)
        yield name, calls
    pg_server.drop_database(name)


def test_applies_every_migration_with_the_master_secret(pg_server: Any, deploy_env: Any) -> None:
    name, calls = deploy_env
    result = handlers.migrate({"RequestType": "Create"}, None)
    assert result == {"applied": [f"{m.version:04d}_{m.name}" for m in migrations()]}
    assert calls == [
        {
            "host": "trustbase-eu-west-1.cluster-x.eu-west-1.rds.amazonaws.com",
            "port": 5532,
            "database": name,
            "user": pg_server.admin,
            "password": "pw",
        }
    ]
    conn = pg_server.connect(name)
    cur = conn.cursor()
    cur.execute(
        "SELECT rolname FROM pg_roles WHERE rolname IN ('trustbase_app', 'trustbase_dr', 'trustbase_lifecycle') ORDER BY 1"
    )
    assert [r[0] for r in cur.fetchall()] == ["trustbase_app", "trustbase_dr", "trustbase_lifecycle"]
    conn.close()


def test_a_second_deploy_applies_nothing(deploy_env: Any) -> None:
    handlers.migrate({}, None)
    assert handlers.migrate({}, None) == {"applied": []}


def test_an_edited_migration_fails_the_deploy(pg_server: Any, deploy_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trigger turns the exception into a failed deployment."""
    name, _ = deploy_env
    handlers.migrate({}, None)
    conn = pg_server.connect(name)
    conn.cursor().execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    conn.commit()
    conn.close()
    with pytest.raises(MigrationError, match="changed after it was applied"):
        handlers.migrate({}, None)
