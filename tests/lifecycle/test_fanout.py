"""The fan-out of a large subject (lifecycle/fanout.py) on moto S3 and the real PostgreSQL:
shards partition the subject exactly, every shard is idempotent, a crashed shard resumes, and a
shard cannot reach outside its request's subject."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lifecycle import erasure, fanout
from lifecycle.fanout import FanoutSettings
from lifecycle.objects import ObjectErasureError
from tests.lifecycle.conftest import BUCKET, REGION, World

SETTINGS = FanoutSettings(object_min_versions=50, object_shards=8, row_min_messages=100, row_shards=4)


def all_versions(w: World, prefix: str) -> int:
    pages = w.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix)
    return sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)


@pytest.fixture
def big(world: World) -> tuple[World, str, str]:
    """A workspace of 12 users: settings.json (2 versions) + 12 x (avatar: 2 versions and a delete
    marker; docs/a.pdf: 3 versions) = 74 versions, 12 x 2 conversations x 5 messages = 120
    messages; plus a "folder" object whose key is exactly a user's prefix (75 versions). And
    another workspace that must not lose anything."""
    ws = world.add_workspace()
    for _ in range(12):
        world.add_user(ws, conversations=2, messages=5)
    world.put(f"workspaces/{ws}/users/{world.users[ws][5]}/", versions=1, delete_marker=False)
    other = world.add_workspace()
    world.add_user(other)
    return world, ws, other


def request(ws: str, kind: str = "workspace", **subject: str) -> dict[str, Any]:
    return {
        "request_id": f"fan-{uuid.uuid4()}",
        "kind": kind,
        "workspace_id": ws,
        "requester": "support:u-7",
        "region": REGION,
        **subject,
    }


def test_a_small_subject_keeps_the_direct_path(world: World) -> None:
    ws = world.add_workspace()
    world.add_user(ws)
    accepted = erasure.validate(world.app, request(ws), REGION)
    assert erasure.plan_objects(world.s3, BUCKET, accepted, SETTINGS)["object_shards"] == []
    assert erasure.plan_rows(world.app, accepted, SETTINGS)["row_shards"] == []


def test_object_shards_split_the_subject_into_disjoint_sub_prefixes(big: tuple[World, str, str]) -> None:
    w, ws, other = big
    accepted = erasure.validate(w.app, request(ws), REGION)
    shards = erasure.plan_objects(w.s3, BUCKET, accepted, SETTINGS)["object_shards"]
    assert 2 < len(shards) <= 8
    prefixes = [p for shard in shards for p in shard["prefixes"]]
    users = [p for p in prefixes if p.startswith(f"workspaces/{ws}/users/")]
    assert len(users) == 12 and sorted(set(prefixes) - set(users)) == [f"visitors/{ws}/"]  # one per user; no visitors
    assert not any(a != b and b.startswith(a) for a in prefixes for b in prefixes)  # disjoint
    results = []
    for shard in shards:
        item = {"request": accepted, "shard": shard}
        while True:
            item = erasure.erase_object_shard(w.s3, BUCKET, item)
            if item["done"]:
                break
        results.append(item["deleted"])
    # every user's versions, each exactly once; settings.json (directly under the workspace) is left
    assert sum(results) == 73 and all_versions(w, f"workspaces/{ws}/") == 2
    # idempotent: a repeated child (a redrive, a duplicate delivery) deletes nothing and is done
    for shard in shards:
        again = erasure.erase_object_shard(w.s3, BUCKET, {"request": accepted, "shard": shard})
        assert again["deleted"] == 0 and again["done"]
    # the direct step after the map counts the children's work in and erases the rest
    step = erasure.erase_objects(w.s3, BUCKET, {**accepted, "object_shards": shards, "object_results": results})
    assert step["objects_done"] and step["s3_versions"] == 75 and "object_results" not in step
    assert all_versions(w, f"workspaces/{ws}/") == 0
    assert all_versions(w, f"workspaces/{other}/") == 8  # settings.json 2 + avatar 3 + docs 3


def test_a_shard_that_crashes_mid_way_resumes_from_what_is_left(world: World) -> None:
    ws = world.add_workspace()
    user = world.add_user(ws)
    for i in range(1_200):
        world.s3.put_object(Bucket=BUCKET, Key=f"workspaces/{ws}/users/{user}/files/{i:05d}", Body=b"x")
    prefixes = [f"workspaces/{ws}/", f"visitors/{ws}/"]
    shard = {"prefixes": [f"workspaces/{ws}/users/{user}/"]}
    real = world.s3.delete_objects
    calls: list[int] = []

    class CrashAfterFirstDelete:
        def __getattr__(self, name: str) -> Any:
            return getattr(world.s3, name)

        def delete_objects(self, **kwargs: Any) -> Any:
            calls.append(len(kwargs["Delete"]["Objects"]))
            if len(calls) == 2:
                raise ConnectionError("the Lambda died mid-shard")
            return real(**kwargs)

    with pytest.raises(ConnectionError):
        fanout.erase_object_shard(CrashAfterFirstDelete(), BUCKET, shard, prefixes)
    assert calls[0] == 1000 and all_versions(world, f"workspaces/{ws}/users/{user}/") == 1_206 - 1_000
    deleted, done = fanout.erase_object_shard(world.s3, BUCKET, shard, prefixes)  # the retry
    assert done and deleted == 206 and all_versions(world, f"workspaces/{ws}/users/{user}/") == 0


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        ({"prefixes": ["workspaces/"]}, "not inside this request's subject prefixes"),
        ({"prefixes": ["OTHER"]}, "not inside this request's subject prefixes"),
        ({"prefixes": ["SELFusers/", "OTHERusers/"]}, "not inside this request's subject prefixes"),
        ({"prefixes": ["workspaces/0"]}, "not inside this request's subject prefixes"),  # a cut of another level
        ({"prefixes": []}, "non-empty list 'prefixes'"),
        ("workspaces/", "non-empty list 'prefixes'"),
    ],
)
def test_a_shard_cannot_reach_outside_its_subject(big: tuple[World, str, str], shard: Any, message: str) -> None:
    w, ws, other = big
    mine = f"workspaces/{ws}/"
    if isinstance(shard, dict):
        shard = {
            "prefixes": [p.replace("SELF", mine).replace("OTHER", f"workspaces/{other}/") for p in shard["prefixes"]]
        }
    before = w.snapshot()
    with pytest.raises(ObjectErasureError, match=message):
        fanout.erase_object_shard(w.s3, BUCKET, shard, [mine, f"visitors/{ws}/"])
    assert w.snapshot() == before


def test_row_shards_delete_exactly_the_workspace_messages(big: tuple[World, str, str]) -> None:
    w, ws, other = big
    accepted = erasure.validate(w.app, request(ws), REGION)
    shards = erasure.plan_rows(w.app, accepted, SETTINGS)["row_shards"]
    assert (
        len(shards) == 4 and shards[0]["low"] == "00000000-0000-0000-0000-000000000000" and shards[-1]["high"] is None
    )
    deleted = 0
    for shard in shards:
        item = erasure.erase_row_shard(w.app, {"request": accepted, "shard": shard})
        assert item["done"]
        deleted += item["deleted"]
    assert deleted == 120 and w.count("messages", "workspace_id = %s", (ws,)) == 0
    assert w.count("messages", "workspace_id = %s", (other,)) == 6
    assert w.count("conversations", "workspace_id = %s", (ws,)) == 24  # the direct step's job, afterwards
    again = erasure.erase_row_shard(w.app, {"request": accepted, "shard": shards[0]})
    assert again["deleted"] == 0 and again["done"]


def test_a_row_shard_acts_only_for_a_workspace_erasure_in_the_ledger(big: tuple[World, str, str]) -> None:
    w, _, other = big
    shard = {"table": "messages", "low": "00000000-0000-0000-0000-000000000000", "high": None}
    with pytest.raises(ValueError, match="no workspace erasure"):
        fanout.erase_row_shard(w.app, "fan-unknown-request", shard)
    user = erasure.validate(w.app, request(other, "user", user_id=w.users[other][0]), REGION)
    with pytest.raises(ValueError, match="no workspace erasure"):
        fanout.erase_row_shard(w.app, user["request_id"], shard)
    with pytest.raises(ValueError, match="names table 'messages'"):
        fanout.erase_row_shard(w.app, user["request_id"], {**shard, "table": "workspaces"})
    assert w.count("messages", "workspace_id = %s", (other,)) == 6


def test_a_parent_with_very_many_children_is_cut_by_name_and_the_plan_stays_small(world: World) -> None:
    """300 user prefixes under users/ (more than MAX_CHILDREN = 256): the plan names at most 256
    cuts of their names (users/0.. or users/00..), each key under exactly one, and stays far under
    the 256 KiB state limit."""
    import json

    ws = world.add_workspace()
    keys = [f"workspaces/{ws}/users/{uuid.uuid4()}/f" for _ in range(300)]
    for key in keys:
        world.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    accepted = erasure.validate(world.app, request(ws), REGION)
    plan = erasure.plan_objects(world.s3, BUCKET, accepted, SETTINGS)
    prefixes = [p for shard in plan["object_shards"] for p in shard["prefixes"]]
    cuts = [p for p in prefixes if p.startswith(f"workspaces/{ws}/users/")]
    assert 16 <= len(cuts) <= 256 and len({len(p) for p in cuts}) == 1 and not any(p.endswith("/") for p in cuts)
    assert all(sum(k.startswith(p) for p in prefixes) == 1 for k in keys)
    assert len(json.dumps(plan)) < 256 * 1024
    deleted = sum(
        erasure.erase_object_shard(world.s3, BUCKET, {"request": accepted, "shard": s})["deleted"]
        for s in plan["object_shards"]
    )
    assert deleted == 300 and all_versions(world, f"workspaces/{ws}/users/") == 0
