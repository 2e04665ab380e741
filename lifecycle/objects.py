"""Erase S3 objects completely: every version and every delete marker under given prefixes."""

from __future__ import annotations

from typing import Any

from contract import SUBJECT_PREFIX


class ObjectErasureError(RuntimeError):
    pass


def erase_prefixes(s3: Any, bucket: str, prefixes: list[str], *, max_pages: int | None = None) -> tuple[int, bool]:
    """Delete all versions and delete markers under each prefix, 1,000 per request.
    Returns (versions deleted, finished). `max_pages` bounds the work of one call; calling again
    continues (each page lists from the start of what is left). Only subject prefixes of the
    documented layout are accepted, so a bad ID can never widen the blast radius."""
    for prefix in prefixes:
        if not SUBJECT_PREFIX.match(prefix):
            raise ObjectErasureError(f"refusing to erase {prefix!r}: not a workspace, user or visitor prefix")
    deleted = 0
    pages = 0
    for prefix in prefixes:
        while True:
            if max_pages is not None and pages >= max_pages:
                return deleted, False
            n = delete_page(s3, bucket, prefix)
            if not n:
                break
            pages += 1
            deleted += n
    return deleted, True


def delete_page(s3: Any, bucket: str, prefix: str) -> int:
    """List the first 1,000 versions and delete markers left under `prefix` and delete them in one
    DeleteObjects (at most 1,000 keys). Returns how many; 0 when nothing is left. Listing from the
    start of what is left makes every caller resumable and idempotent. The caller checks `prefix`."""
    page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=1000)
    items = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        if v["Key"].startswith(prefix)
    ]
    if not items:
        return 0
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": items, "Quiet": True})
    errors = result.get("Errors", [])
    if errors:
        first = errors[0]
        raise ObjectErasureError(
            f"S3 refused {len(errors)} deletions under {prefix} (first: {first.get('Key')} {first.get('Code')})"
        )
    return len(items)


def remaining_versions(s3: Any, bucket: str, prefixes: list[str]) -> int:
    total = 0
    for prefix in prefixes:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            total += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
    return total
