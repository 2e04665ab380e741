"""Fan-out of a large subject's erasure over a Step Functions Distributed Map.

A small subject keeps the direct path (one function loops over its prefixes, then its rows). A
subject above the configured size is split into shards that children of a Distributed Map erase
in parallel, at most `concurrency` at a time:

- S3: each subject prefix is split into its sub-prefixes (ListObjectVersions with a delimiter, a
  few levels down: a workspace's users/, then one prefix per user), and runs of them become the
  shards. S3 scales its request rate per partitioned prefix, so children on different
  sub-prefixes add up instead of competing. Sub-prefixes of one level are disjoint: a version
  falls in one shard at most, and the direct step after the map erases whatever no shard named
  (objects directly under a split prefix). A child lists each of its prefixes from the start of
  what is left and deletes what it lists (1,000 per DeleteObjects); so a retry after a crash
  resumes, and a repeat deletes nothing. (Listing needs no KeyMarker, whose edge cases
  emulators get wrong.)
- Database: a workspace's messages (the only table of that size) are cut into ranges of their
  random (v4) UUIDs, [low, high), each deleted in chunks through the (workspace_id, id) index.

After the map, the direct steps run as before: they erase whatever is left (nothing, normally)
and complete the ledger. So the fan-out only ever moves work earlier; it never decides what is
erased.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from contract import SUBJECT_PREFIX
from lifecycle import ledger
from lifecycle.budget import Budget
from lifecycle.objects import ObjectErasureError, delete_page


@dataclass(frozen=True)
class FanoutSettings:
    """From the region's `[region.erasure]` config (the stack puts them in the environment)."""

    object_min_versions: int = 10_000
    object_shards: int = 100
    row_min_messages: int = 200_000
    row_shards: int = 16


# ----------------------------------------------------------------------------------- S3


def count_up_to(s3: Any, bucket: str, prefixes: list[str], limit: int) -> int:
    """Versions and delete markers under the prefixes, counting stops at `limit` (one listing page
    per 1,000: deciding costs at most limit/1,000 requests, never the subject's size)."""
    counted = 0
    for prefix in prefixes:
        markers: dict[str, str] = {}
        while counted < limit:
            page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=1000, **markers)
            counted += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
            if not page.get("IsTruncated"):
                break
            markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page.get("NextVersionIdMarker", "")}
    return counted


def _sub_prefixes(s3: Any, bucket: str, prefix: str, *, max_pages: int = 10) -> list[str]:
    found: list[str] = []
    markers: dict[str, str] = {}
    for _ in range(max_pages):
        page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=1000, **markers)
        found += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page.get("IsTruncated"):
            break
        markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page.get("NextVersionIdMarker", "")}
    return found


# The plan travels in the execution's state (at most 256 KiB), so it names at most this many
# prefixes (about 100 KiB), and a parent with very many children is cut by the first characters
# of their names instead (a workspace of 100,000 users: users/0 .. users/f, 16 prefixes).
MAX_PLAN_PREFIXES = 1000
MAX_CHILDREN = 256


def _grouped(parent: str, children: list[str]) -> list[str]:
    """At most MAX_CHILDREN disjoint prefixes covering `children`: the children themselves, or
    their names cut to the longest common length that still yields few enough. (Children of one
    level contain no delimiter before their last character, so no cut is a prefix of another.)"""
    if len(children) <= MAX_CHILDREN:
        return children
    cut = sorted({c[: len(parent) + 1] for c in children})
    for k in range(2, 64):
        longer = sorted({c[: len(parent) + k] for c in children})
        if len(longer) > MAX_CHILDREN:
            break
        cut = longer
    return cut


def sub_prefixes(s3: Any, bucket: str, prefix: str, shards: int, *, depth: int = 3) -> list[str]:
    """Disjoint sub-prefixes of `prefix`, descending level by level (a workspace: users/, then one
    per user) until there are at least `shards` of them, `depth` levels, or a level would name more
    than MAX_PLAN_PREFIXES. A prefix without sub-prefixes stays as it is; objects directly under a
    prefix that was split are left for the direct step that follows the map."""
    frontier = [prefix]
    for _ in range(depth):
        below: list[str] = []
        split = False
        for q in frontier:
            children = _grouped(q, _sub_prefixes(s3, bucket, q))
            below += children or [q]
            split = split or bool(children)
        if not split or len(below) > MAX_PLAN_PREFIXES:
            break
        frontier = sorted(below)
        if len(frontier) >= shards:
            break
    return frontier


def plan_objects(s3: Any, bucket: str, prefixes: list[str], settings: FanoutSettings) -> list[dict[str, Any]]:
    """[] for a small subject (the direct path); otherwise at most `object_shards` shards, each a
    run of consecutive disjoint sub-prefixes of the subject's prefixes."""
    if count_up_to(s3, bucket, prefixes, settings.object_min_versions) < settings.object_min_versions:
        return []
    found = sorted(p for prefix in prefixes for p in sub_prefixes(s3, bucket, prefix, settings.object_shards))
    count = min(settings.object_shards, len(found))
    groups = [found[len(found) * i // count : len(found) * (i + 1) // count] for i in range(count)]
    return [{"prefixes": g} for g in groups if g]


def check_object_shard(shard: Any, allowed: list[str]) -> list[str]:
    """A shard may only name prefixes inside the request's own subject prefixes."""
    prefixes = shard.get("prefixes") if isinstance(shard, dict) else None
    if not isinstance(prefixes, list) or not prefixes:
        raise ObjectErasureError("an object shard must be an object with a non-empty list 'prefixes'")
    for prefix in prefixes:
        if not isinstance(prefix, str) or not any(prefix.startswith(a) and SUBJECT_PREFIX.match(a) for a in allowed):
            raise ObjectErasureError(f"refusing shard prefix {prefix!r}: not inside this request's subject prefixes")
    return prefixes


def erase_object_shard(
    s3: Any, bucket: str, shard: dict[str, Any], allowed: list[str], budget: Budget | None = None
) -> tuple[int, bool]:
    """Delete every version and delete marker under the shard's prefixes, 1,000 per request,
    within the budget; each listing starts from what is left, so a retry resumes and a repeat
    deletes nothing. Returns (deleted, finished)."""
    prefixes = check_object_shard(shard, allowed)
    budget = budget or Budget()
    deleted = 0
    for prefix in prefixes:
        while True:
            if not budget.take():
                return deleted, False
            n = delete_page(s3, bucket, prefix)
            if not n:
                break
            deleted += n
    return deleted, True


# ----------------------------------------------------------------------------------- rows


def uuid_ranges(shards: int) -> list[tuple[str, str | None]]:
    """[low, high) ranges covering the whole UUID space; v4 IDs are uniform over it."""
    cuts = [str(uuid.UUID(int=(i << 128) // shards)) for i in range(shards)]
    return [(low, high) for low, high in zip(cuts, [*cuts[1:], None], strict=True)]


def plan_rows(cur: Any, workspace_id: str, settings: FanoutSettings) -> list[dict[str, Any]]:
    """[] for a workspace under the threshold; otherwise its messages in `row_shards` ID ranges.
    The count stops at the threshold (an index-only scan of at most that many entries)."""
    cur.execute(
        "SELECT count(*) FROM (SELECT 1 FROM messages WHERE workspace_id = %s LIMIT %s) AS capped",
        (workspace_id, settings.row_min_messages),
    )
    if int(cur.fetchone()[0]) < settings.row_min_messages:
        return []
    return [{"table": "messages", "low": low, "high": high} for low, high in uuid_ranges(settings.row_shards)]


def erase_row_shard(
    conn: Any, request_id: str, shard: Any, budget: Budget | None = None, chunk: int = 5000
) -> tuple[int, bool]:
    """Delete the messages of the request's workspace with low <= id < high, `chunk` rows per
    committed transaction, within the budget. Only for a workspace erasure still in progress:
    the ledger, not the caller, names the workspace. Returns (deleted, finished)."""
    if not isinstance(shard, dict) or shard.get("table") != "messages":
        raise ValueError("a row shard names table 'messages' and an ID range low..high")
    low, high = str(uuid.UUID(str(shard.get("low")))), shard.get("high")
    high = None if high is None else str(uuid.UUID(str(high)))
    budget = budget or Budget()
    cur = conn.cursor()
    entry = ledger.get(cur, request_id)
    conn.rollback()
    if entry is None or entry.kind != "workspace":
        raise ValueError(f"no workspace erasure {request_id} in the ledger: a row shard belongs to one")
    if entry.status == "completed":
        return 0, True
    bound = "" if high is None else " AND id < %s"
    params: tuple[Any, ...] = (entry.workspace_id, low, *(() if high is None else (high,)), chunk)
    deleted = 0
    try:
        while budget.take():
            cur.execute(
                "DELETE FROM messages WHERE ctid = ANY(ARRAY(SELECT ctid FROM messages WHERE workspace_id = %s "
                f"AND id >= %s{bound} ORDER BY workspace_id, id LIMIT %s))",
                params,
            )
            n = cur.rowcount
            conn.commit()
            deleted += n
            if n == 0:  # not `n < chunk`: a row an update moved (new ctid) would end the shard early
                return deleted, True
    except Exception:
        conn.rollback()
        raise
    return deleted, False
