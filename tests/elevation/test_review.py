"""The quarterly access review lists every elevation of the quarter from the audit records (who,
what, why, approved by whom, how long) and flags one that broke the rules."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from access_review import review
from access_review.__main__ import main
from tests.elevation.test_broker import ALICE, BOB, BUCKET, REGION, T0, ask


def _plant(world: dict[str, Any], request_id: str, steps: list[dict[str, Any]]) -> None:
    """Records as a faulty broker might have written them (the review must not trust the broker)."""
    for i, step in enumerate(steps):
        body = {"request_id": request_id, "region": REGION, **step}
        world["s3"].put_object(
            Bucket=BUCKET,
            Key=f"elevations/{REGION}/{request_id}/{i:02d}-{step['step']}.json",
            Body=json.dumps(body).encode(),
        )


def test_the_review_reports_the_quarters_elevations_and_flags_broken_ones(world: dict[str, Any]) -> None:
    b, clock = world["idc"], world["clock"]
    on_time = ask(b, hours=2)
    b.approve(BOB, on_time)
    b.grant(on_time)
    clock.t = T0 + timedelta(hours=2)
    b.expire(on_time)
    first = {
        "step": "requested",
        "elevation": "customer-data-read",
        "requester": "eve@example.com",
        "reason": "INC-9: looking around",
        "hours": 1,
        "at": "2026-11-10T08:00:00Z",
    }
    _plant(world, "el-20261110T080000Z-0000000a", [first, {"step": "granted", "at": "2026-11-10T08:01:00Z"}])
    _plant(
        world,
        "el-20261110T080000Z-0000000b",
        [
            first,
            {
                "step": "approved",
                "approver": "bob@example.com",
                "expires_at": "2026-11-10T09:00:00Z",
                "at": "2026-11-10T08:01:00Z",
            },
            {"step": "granted", "at": "2026-11-10T08:02:00Z"},
        ],
    )
    _plant(world, "el-20260601T080000Z-0000000c", [{**first, "at": "2026-06-01T08:00:00Z"}])  # before the quarter
    _plant(
        world,
        "el-20261110T080000Z-0000000d",
        [
            first,
            {
                "step": "approved",
                "approver": "bob@example.com",
                "expires_at": "2026-11-10T09:00:00Z",
                "at": "2026-11-10T08:01:00Z",
            },
            {"step": "revoked", "by": "eve@example.com", "at": "2026-11-10T08:02:00Z"},
            {"step": "granted", "at": "2026-11-10T08:03:00Z"},
        ],
    )
    clock.t = T0 + timedelta(days=14)
    result = review(world["iam"], region=REGION, now=clock.t, s3=world["s3"], audit_bucket=BUCKET)
    by_id = {e.request_id: e for e in result.elevations}
    assert set(by_id) == {
        on_time,
        "el-20261110T080000Z-0000000a",
        "el-20261110T080000Z-0000000b",
        "el-20261110T080000Z-0000000d",
    }
    good = by_id[on_time]
    assert (good.requester, good.approver, good.reason, good.scope, good.hours, good.held_minutes, good.status) == (
        "alice@example.com",
        "bob@example.com",
        "INC-4711: attachments missing",
        "workspace:0a1b2c3d-0000-4000-8000-000000000001",
        2,
        120,
        "expired",
    )
    assert good.violations == []
    assert by_id["el-20261110T080000Z-0000000a"].violations[0] == "granted without an approval"
    overdue = by_id["el-20261110T080000Z-0000000b"].violations
    assert overdue[0] == "outlived its expiry 2026-11-10T09:00:00Z (still in place)"
    assert [v for w, v in result.violations if w.startswith("elevation ")] == [
        "granted without an approval",
        "held 8699 minutes for 1 approved hours",  # granted 2026-11-10T08:01, reviewed 2026-11-16T09:00
        "outlived its expiry 2026-11-10T09:00:00Z (still in place)",
        "held 8698 minutes for 1 approved hours",
        "granted after it was revoked",
    ]
    markdown = result.to_markdown()
    assert "## Elevations of the quarter (4)" in markdown
    assert f"| {on_time} | customer-data-read | alice@example.com | INC-4711: attachments missing |" in markdown


def test_the_cli_reviews_elevations_from_the_audit_bucket(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    b = world["idc"]
    request_id = ask(b)
    b.approve(BOB, request_id)
    b.revoke(ALICE, request_id, "not needed")
    main(["--region", REGION, "--out-dir", str(tmp_path), "--audit-bucket", BUCKET])
    report = json.loads((tmp_path / f"access-review-{REGION}.json").read_text())
    (entry,) = report["elevations"]
    assert (entry["request_id"], entry["status"], entry["ended_by"]) == (request_id, "revoked", "alice@example.com")
    assert "1 elevation(s)" in capsys.readouterr().out
