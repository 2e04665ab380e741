"""DSAR erasure and workspace deletion: completeness, neighbours untouched, idempotency, crash
and retry, bad requests, no personal data in the ledger, ledger replay after a restore."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from lifecycle import erasure, ledger
from lifecycle.erasure import erase_objects, erase_rows, process, publish_ledger, validate
from lifecycle.replay import replay
from tests.lifecycle.conftest import BUCKET, LEDGER_BUCKET, REGION, World


def request(ws: str, user: str | None = None, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request_id": f"dsar-{uuid.uuid4()}",
        "kind": "user",
        "workspace_id": ws,
        "requester": "support-agent:u-4821",
        "region": REGION,
    }
    if user:
        base["user_id"] = user
    return {**base, **extra}


@pytest.fixture
def populated(world: World) -> World:
    """Two workspaces, two users each, visitors too."""
    for _ in range(2):
        ws = world.add_workspace()
        for _ in range(2):
            world.add_user(ws)
        world.add_visitor(ws, world.sql("SELECT now()")[0][0])
    return world


def only_subject_changed(before: dict[str, Any], after: dict[str, Any], subject: str) -> None:
    """Every row or object that disappeared belongs to `subject` (directly, or through one of
    the subject's conversations), and nothing appeared."""
    conversations = [r.split("'")[1] for r in before["rows"]["conversations"] if subject in r]
    for table, rows in before["rows"].items():
        gone = set(rows) - set(after["rows"][table])
        assert all(subject in r or any(c in r for c in conversations) for r in gone), (table, gone)
        assert set(after["rows"][table]) <= set(rows)
    gone_keys = {k for k, _ in set(before["objects"]) - set(after["objects"])}
    assert all(subject in k for k in gone_keys), gone_keys


def test_user_erasure_is_complete_and_touches_no_one_else(populated: World) -> None:
    w = populated
    ws = w.workspaces[0]
    user = w.users[ws][0]
    before = w.snapshot()
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, request(ws, user), REGION)
    assert result["outcome"] == "completed"
    assert w.count("end_users", "id = %s", (user,)) == 0 and w.count("conversations", "end_user_id = %s", (user,)) == 0
    assert w.versions(f"workspaces/{ws}/users/{user}/") == 0  # all versions and delete markers
    after = w.snapshot()
    only_subject_changed(before, after, user)
    assert len(before["rows"]["end_users"]) - len(after["rows"]["end_users"]) == 1
    assert result["counts"] == {"db_end_users": 1, "db_conversations": 2, "db_messages": 6, "s3_versions": 6}


def test_ledger_entry_has_no_personal_data(populated: World) -> None:
    w = populated
    ws = w.workspaces[0]
    w.sql("UPDATE end_users SET email = 'jane.doe@example.com' WHERE id = %s", (w.users[ws][1],))
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, request(ws, email="Jane.Doe@example.com"), REGION)
    assert result["outcome"] == "completed"
    published = w.s3.get_object(Bucket=LEDGER_BUCKET, Key=result["ledger_key"])["Body"].read().decode()
    row = json.dumps(w.sql("SELECT * FROM erasure_ledger"), default=str)
    for text in (published, row):
        assert "jane" not in text.lower() and "@" not in text
    entry = json.loads(published)
    assert entry["user_id"] == w.users[ws][1] and entry["status"] == "completed"
    assert set(entry) == {
        "request_id",
        "kind",
        "workspace_id",
        "user_id",
        "visitor_id",
        "requester",
        "region",
        "received_at",
        "completed_at",
        "status",
        "counts",
    }


def test_repeated_request_is_a_noop_that_reports_the_first_result(populated: World) -> None:
    w = populated
    ws = w.workspaces[0]
    req = request(ws, w.users[ws][0])
    first = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)
    before = w.snapshot()
    again = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)
    assert again["outcome"] == "duplicate" and again["first_result"]["counts"] == first["counts"]
    assert w.snapshot() == before


def test_request_id_reused_for_another_subject_is_rejected(populated: World) -> None:
    w = populated
    ws = w.workspaces[0]
    req = request(ws, w.users[ws][0])
    process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)
    before = w.snapshot()
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, {**req, "user_id": w.users[ws][1]}, REGION)
    assert result["outcome"] == "rejected" and result["field"] == "request_id"
    assert w.snapshot() == before


def test_crash_between_objects_and_rows_is_completed_by_the_retry(populated: World) -> None:
    w = populated
    ws = w.workspaces[1]
    user = w.users[ws][0]
    before = w.snapshot()
    req = request(ws, user)
    accepted = validate(w.app, req, REGION)
    erase_objects(w.s3, BUCKET, accepted)  # ... and the Lambda dies here
    assert w.versions(f"workspaces/{ws}/users/{user}/") == 0 and w.count("end_users", "id = %s", (user,)) == 1
    assert w.sql("SELECT status FROM erasure_ledger WHERE request_id = %s", (req["request_id"],)) == [("in_progress",)]
    retried = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)  # the state machine's retry
    assert retried["outcome"] == "completed"
    assert w.count("end_users", "id = %s", (user,)) == 0
    only_subject_changed(before, w.snapshot(), user)


def test_crash_inside_the_row_transaction_changes_nothing(populated: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w = populated
    ws = w.workspaces[0]
    user = w.users[ws][0]
    req = request(ws, user)
    accepted = erase_objects(w.s3, BUCKET, validate(w.app, req, REGION))
    rows_before = w.snapshot()["rows"]

    def crash(*_: Any) -> None:
        raise ConnectionError("Lambda timed out mid-transaction")

    monkeypatch.setattr(ledger, "complete", crash)
    with pytest.raises(ConnectionError):
        erase_rows(w.app, accepted)
    assert w.snapshot()["rows"] == rows_before  # rolled back: rows and ledger stay consistent
    monkeypatch.undo()
    done = erase_rows(w.app, accepted)
    assert done["rows_done"] and w.count("end_users", "id = %s", (user,)) == 0
    assert publish_ledger(w.app, w.s3, LEDGER_BUCKET, req["request_id"])["outcome"] == "completed"


def test_crash_before_publishing_the_ledger_is_repaired_by_the_retry(populated: World) -> None:
    w = populated
    ws = w.workspaces[0]
    req = request(ws, w.users[ws][0])
    accepted = erase_objects(w.s3, BUCKET, validate(w.app, req, REGION))
    erase_rows(w.app, accepted)  # committed; the publish step never ran
    assert ledger.published(w.s3, LEDGER_BUCKET, REGION) == []
    again = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)
    assert again["outcome"] == "duplicate"
    assert [e.request_id for e in ledger.published(w.s3, LEDGER_BUCKET, REGION)] == [req["request_id"]]


@pytest.mark.parametrize(
    ("mutate", "field", "reason"),
    [
        (lambda r, w: "not json", None, "JSON object"),
        (lambda r, w: {**r, "request_id": "x"}, "request_id", "8-128 characters"),
        (lambda r, w: {**r, "kind": "everything"}, "kind", "one of user, visitor, workspace"),
        (lambda r, w: {**r, "requester": ""}, "requester", "who asked"),
        (lambda r, w: {**r, "requester": "Jane Doe"}, "requester", "never a name or an email"),
        (lambda r, w: {**r, "workspace_id": "../../etc"}, "workspace_id", "must be a UUID"),
        (lambda r, w: {**r, "user_id": None}, "user_id", "exactly one of"),
        (lambda r, w: {**r, "email": "x@y.z"}, "user_id", "exactly one of"),
        (
            lambda r, w: {**{k: v for k, v in r.items() if k != "user_id"}, "email": "not-an-email"},
            "email",
            "not an email",
        ),
        (lambda r, w: {**r, "region": "us-east-1"}, "region", "this is the eu-west-1 pipeline"),
        (lambda r, w: {**r, "workspace_id": str(uuid.uuid4())}, "workspace_id", "unknown workspace"),
        (lambda r, w: {**r, "user_id": w.users[w.workspaces[1]][0]}, "user_id", "is not a member of workspace"),
        (lambda r, w: {**r, "kind": "workspace"}, "kind", "names no user"),
    ],
    ids=[
        "not-an-object",
        "short-id",
        "bad-kind",
        "no-requester",
        "requester-is-a-name",
        "bad-workspace",
        "no-subject",
        "two-subjects",
        "bad-email",
        "wrong-region",
        "unknown-workspace",
        "user-of-other-workspace",
        "workspace-with-user",
    ],
)
def test_bad_requests_are_rejected_and_erase_nothing(
    populated: World, capsys: pytest.CaptureFixture[str], mutate: Any, field: str | None, reason: str
) -> None:
    w = populated
    ws = w.workspaces[0]
    raw = mutate(request(ws, w.users[ws][0]), w)
    before = w.snapshot()
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, raw, REGION)
    assert result["outcome"] == "rejected" and result["field"] == field and reason in result["reason"]
    assert w.snapshot() == before and w.sql("SELECT count(*) FROM erasure_ledger") == [(0,)]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"event"' in line]
    assert any(e["event"] == "erasure.rejected" and e["reason"] == result["reason"] for e in logged)


def test_workspace_in_another_region_is_rejected(world: World) -> None:
    ws = world.add_workspace(region="us-east-1")
    result = process(world.app, world.s3, BUCKET, LEDGER_BUCKET, request(ws, kind="workspace"), REGION)
    assert result["outcome"] == "rejected" and "hosted in us-east-1" in result["reason"]


def test_workspace_deletion_uses_the_same_machinery(populated: World) -> None:
    w = populated
    ws, other = w.workspaces
    before = w.snapshot()
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, request(ws, kind="workspace"), REGION)
    assert result["outcome"] == "completed" and result["counts"]["db_workspaces"] == 1
    for table in ("end_users", "visitors", "conversations", "messages"):
        assert w.count(table, "workspace_id = %s", (ws,)) == 0 and w.count(table, "workspace_id = %s", (other,)) > 0
    assert w.versions(f"workspaces/{ws}/") == 0 and w.versions(f"visitors/{ws}/") == 0
    assert w.versions(f"workspaces/{other}/") > 0
    after = w.snapshot()
    assert before["rows"]["workspaces"] != after["rows"]["workspaces"]
    assert all(ws not in r for rows in after["rows"].values() for r in rows)


def test_replay_after_a_restore_erases_resurrected_subjects(populated: World, pg_server: Any) -> None:
    """Simulate a restore: take a copy of the data before the erasures, erase, then put the copy
    back (rows and object versions), and replay the published ledger."""
    w = populated
    ws0, ws1 = w.workspaces
    erased_user, erased_ws = w.users[ws0][0], ws1
    dump = {
        t: w.sql(f"SELECT * FROM {t}") for t in ("workspaces", "end_users", "visitors", "conversations", "messages")
    }
    objects = [
        (v["Key"], w.s3.get_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])["Body"].read())
        for v in w.s3.list_object_versions(Bucket=BUCKET).get("Versions", [])
    ]
    process(w.app, w.s3, BUCKET, LEDGER_BUCKET, request(ws0, erased_user), REGION)
    process(w.app, w.s3, BUCKET, LEDGER_BUCKET, request(ws1, kind="workspace"), REGION)

    # "restore": the database and the bucket as they were at backup time, ledger table included
    for table in ("messages", "conversations", "visitors", "end_users", "workspaces", "erasure_ledger"):
        w.sql(f"DELETE FROM {table}")
    for table in ("workspaces", "end_users", "visitors", "conversations", "messages"):
        for row in dump[table]:
            w.sql(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(row))})", row)
    for key, body in objects:
        w.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    assert w.count("end_users", "id = %s", (erased_user,)) == 1 and w.versions(f"workspaces/{ws1}/") > 0

    report = replay(w.app, w.s3, BUCKET, LEDGER_BUCKET, REGION)
    assert report.entries == 2 and report.subjects_resurrected == 2 and report.ledger_rows_restored == 2
    assert w.count("end_users", "id = %s", (erased_user,)) == 0 and w.count("workspaces", "id = %s", (erased_ws,)) == 0
    assert w.versions(f"workspaces/{ws0}/users/{erased_user}/") == 0 and w.versions(f"workspaces/{ws1}/") == 0
    assert w.count("end_users", "workspace_id = %s", (ws0,)) == 1  # the other user of ws0 is back and stays
    assert w.sql("SELECT count(*) FROM erasure_ledger WHERE status = 'completed'") == [(2,)]
    again = replay(w.app, w.s3, BUCKET, LEDGER_BUCKET, REGION)
    assert again.subjects_resurrected == 0 and again.ledger_rows_restored == 0  # idempotent


def test_parse_request_never_keeps_more_than_it_needs() -> None:
    req = erasure.parse_request(
        {
            "request_id": "dsar-00000001",
            "kind": "user",
            "workspace_id": str(uuid.uuid4()),
            "email": " a@b.c ",
            "requester": " ops ",
            "region": REGION,
        },
        REGION,
    )
    assert req.email == "a@b.c" and req.requester == "ops" and req.user_id is None


# ------------------------------------------------------------------ request IDs reused with an email


def test_request_id_reused_with_the_email_of_another_person_is_rejected(populated: World) -> None:
    """The comparison happens after the email is resolved to a user: a reused ID naming anyone else,
    by any identifier, is rejected and nothing runs (it used to be reported "duplicate")."""
    w = populated
    ws = w.workspaces[0]
    first, other = w.users[ws]
    w.sql("UPDATE end_users SET email = 'other.person@example.com' WHERE id = %s", (other,))
    req = request(ws, first)
    process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)
    before = w.snapshot()
    reused = {k: v for k, v in req.items() if k != "user_id"} | {"email": "other.person@example.com"}
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, reused, REGION)
    assert result["outcome"] == "rejected" and result["field"] == "request_id"
    assert w.snapshot() == before and w.count("end_users", "id = %s", (other,)) == 1


def test_a_resumed_request_may_name_the_same_user_by_email(populated: World) -> None:
    w = populated
    ws = w.workspaces[0]
    user = w.users[ws][0]
    w.sql("UPDATE end_users SET email = 'same.person@example.com' WHERE id = %s", (user,))
    req = request(ws, user)
    assert validate(w.app, req, REGION)["outcome"] == "accepted"  # then the worker crashed
    by_email = {k: v for k, v in req.items() if k != "user_id"} | {"email": "Same.Person@example.com"}
    assert validate(w.app, by_email, REGION)["outcome"] == "accepted"  # the same subject: resumed


# ------------------------------------------------------------------ visitor DSAR


def visitor_request(ws: str, visitor: str, **extra: Any) -> dict[str, Any]:
    return {
        "request_id": f"dsar-{uuid.uuid4()}",
        "kind": "visitor",
        "workspace_id": ws,
        "visitor_id": visitor,
        "requester": "support-agent:u-4821",
        "region": REGION,
        **extra,
    }


def test_visitor_erasure_is_complete_and_touches_no_one_else(populated: World) -> None:
    w = populated
    ws = w.workspaces[0]
    visitor = w.visitors[ws][0]
    before = w.snapshot()
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, visitor_request(ws, visitor), REGION)
    assert result["outcome"] == "completed"
    assert (
        w.count("visitors", "id = %s", (visitor,)) == 0 and w.count("conversations", "visitor_id = %s", (visitor,)) == 0
    )
    assert w.versions(f"visitors/{ws}/{visitor}/") == 0
    only_subject_changed(before, w.snapshot(), visitor)
    assert result["counts"] == {"db_visitors": 1, "db_conversations": 1, "db_messages": 2, "s3_versions": 3}
    entry = json.loads(w.s3.get_object(Bucket=LEDGER_BUCKET, Key=result["ledger_key"])["Body"].read())
    assert entry["kind"] == "visitor" and entry["visitor_id"] == visitor and entry["user_id"] is None


def test_visitor_requests_are_checked_like_users(populated: World) -> None:
    w = populated
    ws, other_ws = w.workspaces
    visitor = w.visitors[ws][0]
    before = w.snapshot()
    elsewhere = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, visitor_request(other_ws, visitor), REGION)
    assert elsewhere["outcome"] == "rejected" and elsewhere["field"] == "visitor_id"
    with_user = process(
        w.app, w.s3, BUCKET, LEDGER_BUCKET, visitor_request(ws, visitor, user_id=w.users[ws][0]), REGION
    )
    assert with_user["outcome"] == "rejected" and with_user["field"] == "kind"
    assert w.snapshot() == before
    req = visitor_request(ws, visitor)
    first = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)
    again = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, req, REGION)
    assert again["outcome"] == "duplicate" and again["first_result"]["counts"] == first["counts"]
    reused = process(
        w.app,
        w.s3,
        BUCKET,
        LEDGER_BUCKET,
        {**req, "visitor_id": w.visitors[other_ws][0], "workspace_id": other_ws},
        REGION,
    )
    assert reused["outcome"] == "rejected" and reused["field"] == "request_id"


def test_replay_erases_a_resurrected_visitor(populated: World) -> None:
    w = populated
    ws = w.workspaces[1]
    visitor = w.visitors[ws][0]
    snapshot = w.sql("SELECT * FROM visitors WHERE id = %s", (visitor,))
    process(w.app, w.s3, BUCKET, LEDGER_BUCKET, visitor_request(ws, visitor), REGION)
    # a restore brings the visitor back, and the restored ledger table predates the erasure (so
    # it holds no tombstone: the whole database is the pre-erasure copy)
    w.sql("DELETE FROM erasure_ledger")
    w.sql(
        "INSERT INTO visitors SELECT * FROM json_populate_record(null::visitors, %s::json)",
        (
            json.dumps(
                dict(
                    zip(
                        ("id", "workspace_id", "first_seen_at", "last_seen_at", "user_agent", "ip_prefix"),
                        snapshot[0],
                        strict=True,
                    )
                ),
                default=str,
            ),
        ),
    )
    w.put(f"visitors/{ws}/{visitor}/session.json")
    report = replay(w.app, w.s3, BUCKET, LEDGER_BUCKET, REGION)
    assert report.subjects_resurrected == 1 and report.ledger_rows_restored == 1
    assert w.count("visitors", "id = %s", (visitor,)) == 0 and w.versions(f"visitors/{ws}/{visitor}/") == 0


# ------------------------------------------------------------------ no personal data in logs or reasons

PERSONAL = "jane.doe@example.com"


@pytest.mark.parametrize(
    "field", ["user_id", "workspace_id", "visitor_id", "region", "kind", "request_id", "requester"]
)
def test_no_personal_data_in_reasons_logs_metrics_or_the_ledger(
    populated: World, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    """An email typed into the wrong field: the rejection names the field, never the value, and
    nothing that is printed (logs, EMF metrics) or stored contains it."""
    w = populated
    ws = w.workspaces[0]
    raw = request(ws, w.users[ws][0])
    if field == "visitor_id":
        raw = visitor_request(ws, PERSONAL)
    else:
        raw[field] = PERSONAL
    result = process(w.app, w.s3, BUCKET, LEDGER_BUCKET, raw, REGION)
    assert result["outcome"] == "rejected"
    printed = capsys.readouterr().out
    stored = json.dumps(w.sql("SELECT * FROM erasure_ledger"), default=str)
    for text in (json.dumps(result), printed, stored):
        assert "jane" not in text.lower(), text
