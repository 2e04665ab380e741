"""Retention boundaries (just under / just over 9 and 13 months), completeness in both stores,
bounded batches that resume, and neighbours untouched."""

from __future__ import annotations

from datetime import timedelta

from dateutil.relativedelta import relativedelta

from lifecycle import ledger
from lifecycle.budget import Budget
from lifecycle.retention import expire_visitors, expire_workspaces
from tests.lifecycle.conftest import BUCKET, LEDGER_BUCKET, NOW, REGION, World

MINUTE = timedelta(minutes=1)
NINE = relativedelta(months=9)
THIRTEEN = relativedelta(months=13)


def test_visitor_boundary_just_under_and_just_over_nine_months(world: World) -> None:
    ws = world.add_workspace()
    keep = world.add_visitor(ws, NOW - NINE + MINUTE)
    expire = world.add_visitor(ws, NOW - NINE - MINUTE)
    report = expire_visitors(world.app, world.s3, BUCKET, months=9, now=NOW)
    assert report.done and report.subjects == 1
    assert world.count("visitors", "id = %s", (keep,)) == 1 and world.count("visitors", "id = %s", (expire,)) == 0
    assert world.count("conversations", "visitor_id = %s", (expire,)) == 0
    assert world.versions(f"visitors/{ws}/{expire}/") == 0  # both versions and the delete marker
    assert world.versions(f"visitors/{ws}/{keep}/") == 3
    assert report.rows == {"db_visitors": 1, "db_conversations": 1, "db_messages": 2} and report.s3_versions == 3


def test_visitor_expiry_touches_nothing_else(world: World) -> None:
    a, b = world.add_workspace(), world.add_workspace()
    world.add_user(a)
    world.add_user(b)
    fresh = [world.add_visitor(ws, NOW - relativedelta(months=3)) for ws in (a, b)]
    old = [world.add_visitor(ws, NOW - relativedelta(months=10)) for ws in (a, b)]
    before = world.snapshot()
    expire_visitors(world.app, world.s3, BUCKET, months=9, now=NOW)
    after = world.snapshot()
    gone_rows = {t: set(before["rows"][t]) - set(after["rows"][t]) for t in before["rows"]}
    assert all(not any(v in r for v in fresh) for rows in gone_rows.values() for r in rows)
    assert len(gone_rows["visitors"]) == 2 and not gone_rows["end_users"] and not gone_rows["workspaces"]
    gone_objects = {k for k, _ in set(before["objects"]) - set(after["objects"])}
    assert gone_objects == {f"visitors/{ws}/{v}/session.json" for ws, v in zip((a, b), old, strict=True)}


def test_visitor_expiry_in_bounded_batches_resumes_where_it_stopped(world: World) -> None:
    ws = world.add_workspace()
    old = [world.add_visitor(ws, NOW - relativedelta(months=12), conversations=1, messages=1) for _ in range(5)]
    first = expire_visitors(world.app, world.s3, BUCKET, months=9, now=NOW, batch_size=2, budget=Budget(max_batches=1))
    assert not first.done and first.subjects == 2 and world.count("visitors") == 3
    second = expire_visitors(world.app, world.s3, BUCKET, months=9, now=NOW, batch_size=2, budget=Budget(max_batches=5))
    assert second.done and second.subjects == 3 and world.count("visitors") == 0
    assert all(world.versions(f"visitors/{ws}/{v}/") == 0 for v in old)


def test_short_on_time_does_one_batch_then_stops(world: World) -> None:
    ws = world.add_workspace()
    for _ in range(3):
        world.add_visitor(ws, NOW - relativedelta(months=12))
    short = Budget(lambda: 10.0, reserve=30)
    report = expire_visitors(world.app, world.s3, BUCKET, months=9, now=NOW, batch_size=1, budget=short)
    assert not report.done and report.subjects == 1 and world.count("visitors") == 2  # progress, then stop


def test_workspace_boundary_just_under_and_just_over_thirteen_months(world: World) -> None:
    keep = world.add_workspace(last_activity=NOW - THIRTEEN + MINUTE)
    expire = world.add_workspace(last_activity=NOW - THIRTEEN - MINUTE)
    for ws in (keep, expire):
        world.add_user(ws)
        world.add_visitor(ws, NOW - relativedelta(months=1))
    report = expire_workspaces(world.app, world.s3, BUCKET, LEDGER_BUCKET, months=13, now=NOW, region=REGION)
    assert report.done and report.subjects == 1
    assert world.count("workspaces", "id = %s", (keep,)) == 1 and world.count("workspaces", "id = %s", (expire,)) == 0
    for table in ("end_users", "visitors", "conversations", "messages"):
        assert world.count(table, "workspace_id = %s", (expire,)) == 0
        assert world.count(table, "workspace_id = %s", (keep,)) > 0
    assert world.versions(f"workspaces/{expire}/") == 0 and world.versions(f"visitors/{expire}/") == 0
    assert world.versions(f"workspaces/{keep}/") > 0
    entries = ledger.published(world.s3, LEDGER_BUCKET, REGION)
    assert [(e.kind, e.workspace_id, e.requester) for e in entries] == [
        ("workspace", expire, "trustbase-retention-policy")
    ]
    assert entries[0].counts["db_workspaces"] == 1 and entries[0].counts["s3_versions"] > 0


def test_huge_workspace_is_deleted_over_several_bounded_runs(world: World) -> None:
    ws = world.add_workspace(last_activity=NOW - relativedelta(months=20))
    for _ in range(3):
        world.add_user(ws, conversations=2, messages=5)
    runs = 0
    while True:
        runs += 1
        report = expire_workspaces(
            world.app, world.s3, BUCKET, LEDGER_BUCKET, months=13, now=NOW, region=REGION, budget=Budget(max_batches=2)
        )
        if report.done:
            break
        assert runs < 50, "never finished"
    assert runs > 2  # it really was cut into bounded pieces
    assert world.count("workspaces") == 0 and world.count("messages") == 0 and world.versions(f"workspaces/{ws}/") == 0


def test_workspaces_of_another_region_are_not_touched(world: World) -> None:
    other = world.add_workspace(last_activity=NOW - relativedelta(months=30), region="us-east-1")
    report = expire_workspaces(world.app, world.s3, BUCKET, LEDGER_BUCKET, months=13, now=NOW, region=REGION)
    assert report.done and report.subjects == 0 and world.count("workspaces", "id = %s", (other,)) == 1
