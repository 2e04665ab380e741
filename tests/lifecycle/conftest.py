"""A small world of several workspaces, users and visitors side by side, in a real PostgreSQL
(seeded as the owner, processed as the least-privileged `trustbase_lifecycle` role) and in a
versioned S3 bucket (moto), to prove that an erasure touches its subject and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import boto3
import pytest
from moto import mock_aws

REGION: Final = "eu-west-1"  # a literal type, as the S3 stubs want for LocationConstraint
BUCKET = "trustbase-customer-data-test"
LEDGER_BUCKET = "trustbase-audit-test"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@dataclass
class World:
    owner: Any  # superuser connection: seeding and inspection
    app: Any  # the lifecycle role's connection: what the code under test uses
    s3: Any
    workspaces: list[str] = field(default_factory=list)
    users: dict[str, list[str]] = field(default_factory=dict)  # workspace -> users
    visitors: dict[str, list[str]] = field(default_factory=dict)  # workspace -> visitors

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.owner.cursor()
        cur.execute(query, params)
        rows = cur.fetchall() if cur.description else []
        self.owner.commit()
        return [tuple(r) for r in rows]

    def count(self, table: str, where: str = "true", params: tuple[Any, ...] = ()) -> int:
        return int(self.sql(f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0])

    def put(self, key: str, versions: int = 2, delete_marker: bool = True) -> None:
        for i in range(versions):
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=f"v{i} of {key}".encode())
        if delete_marker:
            self.s3.delete_object(Bucket=BUCKET, Key=key)

    def versions(self, prefix: str) -> int:
        page = self.s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
        return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))

    def add_workspace(self, *, last_activity: datetime = NOW, region: str = REGION) -> str:
        ws = str(uuid.uuid4())
        self.sql(
            "INSERT INTO workspaces (id, name, region, last_activity_at) VALUES (%s, %s, %s, %s)",
            (ws, f"ws {ws[:8]}", region, last_activity),
        )
        self.workspaces.append(ws)
        self.users[ws], self.visitors[ws] = [], []
        self.put(f"workspaces/{ws}/settings.json", versions=2, delete_marker=False)
        return ws

    def add_user(self, ws: str, email: str | None = None, conversations: int = 2, messages: int = 3) -> str:
        user = str(uuid.uuid4())
        self.sql(
            "INSERT INTO end_users (id, workspace_id, email) VALUES (%s, %s, %s)",
            (user, ws, email or f"{user[:8]}@example.com"),
        )
        self._conversations(ws, "end_user_id", user, conversations, messages)
        self.users[ws].append(user)
        self.put(f"workspaces/{ws}/users/{user}/avatar.png")
        self.put(f"workspaces/{ws}/users/{user}/docs/a.pdf", versions=3, delete_marker=False)
        return user

    def add_visitor(self, ws: str, last_seen: datetime, conversations: int = 1, messages: int = 2) -> str:
        visitor = str(uuid.uuid4())
        self.sql(
            "INSERT INTO visitors (id, workspace_id, first_seen_at, last_seen_at) VALUES (%s, %s, %s, %s)",
            (visitor, ws, last_seen, last_seen),
        )
        self._conversations(ws, "visitor_id", visitor, conversations, messages)
        self.visitors[ws].append(visitor)
        self.put(f"visitors/{ws}/{visitor}/session.json")
        return visitor

    def _conversations(self, ws: str, column: str, subject: str, conversations: int, messages: int) -> None:
        for _ in range(conversations):
            conv = str(uuid.uuid4())
            self.sql(f"INSERT INTO conversations (id, workspace_id, {column}) VALUES (%s, %s, %s)", (conv, ws, subject))
            for m in range(messages):
                self.sql(
                    "INSERT INTO messages (id, conversation_id, workspace_id, body) VALUES (%s, %s, %s, %s)",
                    (str(uuid.uuid4()), conv, ws, f"message {m}"),
                )

    def snapshot(self) -> dict[str, Any]:
        """Everything, to compare before/after: rows per table and object versions per key."""
        rows = {
            t: sorted(str(r) for r in self.sql(f"SELECT * FROM {t}"))
            for t in ("workspaces", "end_users", "visitors", "conversations", "messages")
        }
        page = self.s3.list_object_versions(Bucket=BUCKET)
        objects = sorted((v["Key"], v["VersionId"]) for v in page.get("Versions", []) + page.get("DeleteMarkers", []))
        return {"rows": rows, "objects": objects}


@pytest.fixture
def world(pg_server: Any, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (BUCKET, LEDGER_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        owner = pg_server.connect(pg_database)
        app = pg_server.connect(pg_database, user="trustbase_lifecycle")
        yield World(owner, app, s3)
        app.close()
        owner.close()
