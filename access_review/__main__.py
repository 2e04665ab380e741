from __future__ import annotations

import argparse
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from access_review import review
from config import AWS_REGIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m access_review", description="Quarterly IAM access review.")
    parser.add_argument("--region", required=True, help="region whose report this is, e.g. eu-west-1")
    parser.add_argument("--stale-days", type=int, default=90, help="flag principals unused for longer (default 90)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"), help="where the .md and .json go")
    parser.add_argument("--endpoint-url", help="a local AWS emulator, e.g. https://127.0.0.1:5000")
    parser.add_argument(
        "--audit-bucket",
        help="the region's audit bucket (SSM /trustbase/audit/bucket-name): "
        "review the quarter's elevations from its records",
    )
    args = parser.parse_args(argv)
    if args.region not in AWS_REGIONS:
        parser.error(f"--region {args.region!r} is not a known AWS region (e.g. us-east-1, eu-west-1, ap-southeast-2)")
    if args.stale_days <= 0:
        parser.error("--stale-days must be a positive number of days")
    try:
        iam = boto3.client("iam", region_name=args.region, endpoint_url=args.endpoint_url)
        s3 = boto3.client("s3", region_name=args.region, endpoint_url=args.endpoint_url) if args.audit_bucket else None
        result = review(iam, region=args.region, stale_days=args.stale_days, s3=s3, audit_bucket=args.audit_bucket)
    except (BotoCoreError, ClientError) as exc:
        print(f"access review failed: {exc}", file=sys.stderr)
        return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"access-review-{args.region}"
    stem.with_suffix(".md").write_text(result.to_markdown())
    stem.with_suffix(".json").write_text(result.to_json())
    for arn, violation in result.violations:
        print(f"VIOLATION {arn}: {violation}")
    elevations = f", {len(result.elevations)} elevation(s)" if result.elevation_source else ""
    print(
        f"{len(result.principals)} principals{elevations}, {len(result.violations)} violation(s); "
        f"report: {stem}.md / .json"
    )
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
