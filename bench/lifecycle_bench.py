"""Lifecycle benchmark: does the cost of an erasure follow the subject, not the table?

On the real PostgreSQL (Debian's server, a throw-away cluster), through the project's own
functions (erasure.process, retention.expire_*) as the least-privileged lifecycle role, at two
table sizes 10x apart. Each size is seeded in SQL (generate_series): a background population of
workspaces, users, conversations and messages, plus the same measured subjects at both sizes.
S3 is moto in-process (empty prefixes): the figures are the database's. The server runs with
PostgreSQL's durable defaults (fsync and full-page writes on), unlike the tests' cluster.

    .venv/bin/python bench/lifecycle_bench.py [--small 1000000] [--large 10000000] [--repeat 3]

Prints the table and writes reports/bench-lifecycle.json (figures, targets, the machine).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifecycle.budget import Budget  # noqa: E402
from lifecycle.erasure import process  # noqa: E402
from lifecycle.migrate import migrate  # noqa: E402
from lifecycle.retention import expire_visitors, expire_workspaces  # noqa: E402

REGION: Final = "eu-west-1"  # a literal type, as the S3 stubs want for LocationConstraint
BUCKET, LEDGER = "bench-data", "bench-ledger"
NOW = datetime(2026, 11, 29, tzinfo=UTC)
TARGETS = {
    "same_subject_large_vs_small": 1.5,  # at most, for a 10x larger table
    "workspace_rows_per_second": 20_000,  # at least
    "retention_visitors_per_day": 1_000_000,  # one invocation per hour (15 min each) keeps up with this backlog
}
INVOCATION_SECONDS = 15 * 60  # a retention run stops before the Lambda's 15 minutes
# Messages per background workspace: 10 users x 10 conversations x 20 messages.
BACKGROUND = {"users": 10, "conversations": 10, "messages": 20}


def seed_background(cur: Any, messages: int) -> None:
    per_ws = BACKGROUND["users"] * BACKGROUND["conversations"] * BACKGROUND["messages"]
    workspaces = max(1, messages // per_ws)
    cur.execute("CREATE TEMP TABLE bg AS SELECT gen_random_uuid() AS id FROM generate_series(1, %s)", (workspaces,))
    cur.execute(
        "INSERT INTO workspaces (id, name, region, last_activity_at) SELECT id, 'bg', %s, %s FROM bg", (REGION, NOW)
    )
    cur.execute(
        "INSERT INTO end_users (id, workspace_id, email) SELECT gen_random_uuid(), bg.id, 'u' || g || '@bg.invalid' "
        "FROM bg, generate_series(1, %s) g",
        (BACKGROUND["users"],),
    )
    cur.execute(
        "INSERT INTO conversations (id, workspace_id, end_user_id) SELECT gen_random_uuid(), u.workspace_id, u.id "
        "FROM end_users u JOIN bg ON bg.id = u.workspace_id, generate_series(1, %s)",
        (BACKGROUND["conversations"],),
    )
    cur.execute(
        "INSERT INTO messages (id, conversation_id, workspace_id, body) SELECT gen_random_uuid(), c.id, c.workspace_id, "
        "'background message body' FROM conversations c JOIN bg ON bg.id = c.workspace_id, generate_series(1, %s)",
        (BACKGROUND["messages"],),
    )
    cur.execute(
        "INSERT INTO visitors (id, workspace_id, last_seen_at) SELECT gen_random_uuid(), bg.id, %s FROM bg, generate_series(1, 5)",
        (NOW,),
    )
    cur.execute("DROP TABLE bg")


def seed_workspace(cur: Any, *, users: int, conversations: int, messages: int, last_activity: datetime = NOW) -> str:
    """One workspace with `users` users, each with `conversations` conversations of `messages` messages."""
    ws = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO workspaces (id, name, region, last_activity_at) VALUES (%s, 'subject', %s, %s)",
        (ws, REGION, last_activity),
    )
    cur.execute(
        "INSERT INTO end_users (id, workspace_id, email) SELECT gen_random_uuid(), %s, 'u' || g || '@s.invalid' "
        "FROM generate_series(1, %s) g",
        (ws, users),
    )
    cur.execute(
        "INSERT INTO conversations (id, workspace_id, end_user_id) SELECT gen_random_uuid(), %s, u.id "
        "FROM end_users u, generate_series(1, %s) WHERE u.workspace_id = %s",
        (ws, conversations, ws),
    )
    cur.execute(
        "INSERT INTO messages (id, conversation_id, workspace_id, body) SELECT gen_random_uuid(), c.id, %s, "
        "'subject message body' FROM conversations c, generate_series(1, %s) WHERE c.workspace_id = %s",
        (ws, messages, ws),
    )
    return ws


def seed_visitors(cur: Any, ws: str, count: int, *, last_seen: datetime, messages: int) -> list[str]:
    cur.execute(
        "INSERT INTO visitors (id, workspace_id, last_seen_at) SELECT gen_random_uuid(), %s, %s "
        "FROM generate_series(1, %s) RETURNING id",
        (ws, last_seen, count),
    )
    ids = [str(r[0]) for r in cur.fetchall()]
    cur.execute(
        "INSERT INTO conversations (id, workspace_id, visitor_id) SELECT gen_random_uuid(), %s, v "
        "FROM unnest(%s::uuid[]) v",
        (ws, ids),
    )
    cur.execute(
        "INSERT INTO messages (id, conversation_id, workspace_id, body) SELECT gen_random_uuid(), c.id, %s, 'hi' "
        "FROM conversations c, generate_series(1, %s) WHERE c.visitor_id = ANY(%s::uuid[])",
        (ws, messages, ids),
    )
    return ids


def users_of(cur: Any, ws: str) -> list[str]:
    cur.execute("SELECT id FROM end_users WHERE workspace_id = %s ORDER BY id", (ws,))
    return [str(r[0]) for r in cur.fetchall()]


class Size:
    """One database at one table size, with the measured subjects seeded."""

    def __init__(self, pg: Any, messages: int, repeat: int) -> None:
        self.name = f"bench_{messages}"
        pg.create_database(self.name)
        admin = pg.connect(self.name, user=pg.admin)
        migrate(admin)
        admin.close()
        owner = pg.connect(self.name)
        cur = owner.cursor()
        started = time.perf_counter()
        self.small_users = [
            users_of(cur, seed_workspace(cur, users=1, conversations=1, messages=100))[0] for _ in range(repeat)
        ]
        self.large_users = [
            users_of(cur, seed_workspace(cur, users=1, conversations=10, messages=1000))[0] for _ in range(repeat)
        ]
        host = seed_workspace(cur, users=1, conversations=1, messages=1)
        self.visitor_host = host
        self.visitors = seed_visitors(cur, host, repeat, last_seen=NOW, messages=50)
        self.small_workspaces = [seed_workspace(cur, users=2, conversations=10, messages=100) for _ in range(repeat)]
        self.large_workspaces = [seed_workspace(cur, users=20, conversations=100, messages=100) for _ in range(repeat)]
        expired_host = seed_workspace(cur, users=1, conversations=1, messages=1)
        self.expired_visitors = len(
            seed_visitors(cur, expired_host, 20_000, last_seen=NOW - timedelta(days=400), messages=2)
        )
        self.inactive = [
            seed_workspace(cur, users=2, conversations=5, messages=10, last_activity=NOW - timedelta(days=500))
            for _ in range(50)
        ]
        cur.execute("SELECT count(*) FROM messages")
        subjects = int(cur.fetchone()[0])
        if subjects >= messages:
            raise SystemExit(
                f"a table of {messages:,} messages cannot hold the {subjects:,} messages of the measured "
                "subjects: use a larger --small/--large or a smaller --repeat"
            )
        seed_background(cur, messages - subjects)  # the table holds `messages` in all
        owner.commit()
        owner.autocommit = True
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT count(*) FROM messages")
        self.messages = int(cur.fetchone()[0])
        self.seed_seconds = round(time.perf_counter() - started, 1)
        owner.close()
        self.conn = pg.connect(self.name, user="trustbase_lifecycle")

    def workspace_id_of(self, user: str) -> str:
        cur = self.conn.cursor()
        cur.execute("SELECT workspace_id FROM end_users WHERE id = %s", (user,))
        ws = str(cur.fetchone()[0])
        self.conn.rollback()
        return ws


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def erase(size: Size, s3: Any, raw: dict[str, Any]) -> None:
    result = process(size.conn, s3, BUCKET, LEDGER, raw, REGION)
    if result.get("outcome") != "completed":
        raise SystemExit(f"benchmark erasure did not complete: {result}")
    # A fast figure must be a real erasure: the subject's rows are gone (checked outside the timing
    # by the caller's median, which includes this query; it is an index lookup).
    subject = raw.get("user_id") or raw.get("visitor_id")
    column = {"user": "end_user_id", "visitor": "visitor_id"}.get(raw["kind"], "workspace_id")
    cur = size.conn.cursor()
    cur.execute(f"SELECT count(*) FROM conversations WHERE {column} = %s", (subject or raw["workspace_id"],))
    left = int(cur.fetchone()[0])
    size.conn.rollback()
    if left:
        raise SystemExit(f"benchmark erasure left {left} conversations of its subject")


def request(ws: str, kind: str, **subject: str) -> dict[str, Any]:
    return {
        "request_id": f"bench-{uuid.uuid4()}",
        "kind": kind,
        "workspace_id": ws,
        "requester": "bench",
        "region": REGION,
        **subject,
    }


def measure_size(size: Size, s3: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"messages_in_table": size.messages, "seed_seconds": size.seed_seconds}

    def median_of(requests: list[dict[str, Any]]) -> float:
        seconds = []
        for r in requests:
            start = time.perf_counter()
            erase(size, s3, r)
            seconds.append(time.perf_counter() - start)
        return round(statistics.median(seconds), 3)

    out["user_100_messages_s"] = median_of(
        [request(size.workspace_id_of(u), "user", user_id=u) for u in size.small_users]
    )
    out["user_10000_messages_s"] = median_of(
        [request(size.workspace_id_of(u), "user", user_id=u) for u in size.large_users]
    )
    out["visitor_s"] = median_of([request(size.visitor_host, "visitor", visitor_id=v) for v in size.visitors])
    out["workspace_2000_messages_s"] = median_of([request(w, "workspace") for w in size.small_workspaces])
    out["workspace_200000_messages_s"] = median_of([request(w, "workspace") for w in size.large_workspaces])
    # rows of one large workspace: 20 users + 2,000 conversations + 200,000 messages + the workspace
    out["workspace_rows_per_second"] = round((20 + 2_000 + 200_000 + 1) / out["workspace_200000_messages_s"])
    report: dict[str, Any] = {}

    def visitors() -> None:
        report["v"] = expire_visitors(size.conn, s3, BUCKET, months=9, now=NOW, budget=Budget())

    seconds = timed(visitors)
    if report["v"].subjects != size.expired_visitors:
        raise SystemExit(f"retention expired {report['v'].subjects} visitors, expected {size.expired_visitors}")
    out["retention_visitors_per_second"] = round(size.expired_visitors / seconds, 1)

    def workspaces() -> None:
        report["w"] = expire_workspaces(
            size.conn, s3, BUCKET, LEDGER, months=13, now=NOW, region=REGION, budget=Budget()
        )

    seconds = timed(workspaces)
    if report["w"].subjects != len(size.inactive):
        raise SystemExit(f"retention deleted {report['w'].subjects} workspaces, expected {len(size.inactive)}")
    out["retention_workspaces_per_hour"] = round(len(size.inactive) / seconds * 3600)
    return out


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": mem,
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


COLUMNS = [
    ("user_100_messages_s", "user erasure, 100 messages (s)"),
    ("user_10000_messages_s", "user erasure, 10,000 messages (s)"),
    ("visitor_s", "visitor erasure, 50 messages (s)"),
    ("workspace_2000_messages_s", "workspace erasure, 2,000 messages (s)"),
    ("workspace_200000_messages_s", "workspace erasure, 200,000 messages (s)"),
    ("workspace_rows_per_second", "workspace erasure, rows per second"),
    ("retention_visitors_per_second", "retention: expired visitors per second"),
    ("retention_workspaces_per_hour", "retention: inactive workspaces per hour"),
]
LOWER_IS_BETTER = {k for k, _ in COLUMNS if k.endswith("_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000_000, help="messages in the small table (subjects included)")
    parser.add_argument("--large", type=int, default=10_000_000, help="messages in the large table (>= 10x --small)")
    parser.add_argument("--repeat", type=int, default=3, help="subjects of each kind per size (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-lifecycle.json")
    args = parser.parse_args()
    if args.large < 10 * args.small:
        parser.error("--large must be at least 10x --small")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import boto3
    from moto import mock_aws

    # The tests' throw-away PostgreSQL (Debian's server); imported by name: tests/ is not type-checked.
    pg = importlib.import_module("tests.pg_server").PgServer.start(durable=True)  # fsync on, as in production
    try:
        with mock_aws():
            s3 = boto3.client("s3", region_name=REGION)
            for bucket in (BUCKET, LEDGER):
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            results = {}
            for label, messages in (("small", args.small), ("large", args.large)):
                print(f"[bench-lifecycle] seeding a table of {messages:,} messages ...", flush=True)
                size = Size(pg, messages, args.repeat)
                print(
                    f"[bench-lifecycle] {size.messages:,} messages in the table, seeded in {size.seed_seconds} s",
                    flush=True,
                )
                with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # the steps' log lines
                    results[label] = measure_size(size, s3)
                size.conn.close()
    finally:
        pg.stop()
    ratios = {k: round(results["large"][k] / results["small"][k], 2) for k, _ in COLUMNS if k in LOWER_IS_BETTER}
    checks = {
        "same_subject_large_vs_small": max(ratios.values()) <= TARGETS["same_subject_large_vs_small"],
        "workspace_rows_per_second": min(r["workspace_rows_per_second"] for r in results.values())
        >= TARGETS["workspace_rows_per_second"],
        "retention_visitors_per_day": min(r["retention_visitors_per_second"] for r in results.values())
        * INVOCATION_SECONDS
        * 24
        >= TARGETS["retention_visitors_per_day"],
    }
    print(f"\n{'':44} {'small':>12} {'large':>12} {'large/small':>12}")
    print(
        f"{'messages in the table':44} {results['small']['messages_in_table']:>12,} {results['large']['messages_in_table']:>12,}"
    )
    for key, label in COLUMNS:
        ratio = f"{ratios[key]:.2f}" if key in ratios else ""
        print(f"{label:44} {results['small'][key]:>12} {results['large'][key]:>12} {ratio:>12}")
    print()
    for name, ok in checks.items():
        print(f"{'MET   ' if ok else 'MISSED'} {name} (target {TARGETS[name]})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"machine": machine(), "targets": TARGETS, "met": checks, "ratios": ratios, "results": results}, indent=2
        )
        + "\n"
    )
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
