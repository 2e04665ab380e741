"""Aurora connections for the Lambdas: IAM database authentication (a 15-minute token from the
function's role, never a password) over TLS verified against the RDS CA bundle shipped in the
asset (lifecycle/rds-ca-bundle.pem, committed data whose SHA-256 the asset build checks)."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

CA_BUNDLE = Path(__file__).resolve().parent / "rds-ca-bundle.pem"


def tls_context() -> ssl.SSLContext:
    """TLS 1.2+ with Aurora's certificate verified against the RDS CA bundle (and its host name)."""
    context = ssl.create_default_context(cafile=str(CA_BUNDLE))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect_iam(*, host: str, port: int, database: str, user: str, region: str, rds: Any = None) -> Any:
    import boto3
    import pg8000.dbapi

    rds = rds or boto3.client("rds", region_name=region)
    token = rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
    return pg8000.dbapi.connect(
        user=user, password=token, host=host, port=port, database=database, ssl_context=tls_context(), timeout=30
    )


def connect_password(*, host: str, port: int, database: str, user: str, password: str) -> Any:
    """The master user only (deploy-time migrations): its password is the RDS-managed secret."""
    import pg8000.dbapi

    return pg8000.dbapi.connect(
        user=user, password=password, host=host, port=port, database=database, ssl_context=tls_context(), timeout=30
    )


def from_environment() -> Any:
    env = os.environ
    return connect_iam(
        host=env["DB_HOST"],
        port=int(env["DB_PORT"]),
        database=env["DB_NAME"],
        user=env["DB_USER"],
        region=env["AWS_REGION"],
    )
