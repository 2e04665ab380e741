"""python -m verify --region R [--out-dir reports] [--profile P]

Read a deployed region back from its service APIs (read-only: the client refuses every other
call) and judge it with the predicates that gate the templates. Writes reports/verify-<region>.md
and .json after every stack, so a long run shows its progress.

Exit codes: 0 every check passed; 1 a check FAILED; 2 could not run (no credentials, no region).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from config.jurisdictions import AWS_REGIONS
from verify.engine import verify_region
from verify.readonly import ReadOnlySession, ReadOnlyViolation
from verify.report import FAIL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify", description=__doc__.split("\n\n")[1])
    parser.add_argument("--region", required=True, help="the hosting region to read, e.g. eu-west-1")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--profile", help="AWS profile (default: the environment's credentials)")
    parser.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # tests: a local emulator
    args = parser.parse_args(argv)
    if args.region not in AWS_REGIONS:
        parser.error(f"--region {args.region}: not an AWS region known to trustbase (config/jurisdictions.py)")
    try:
        session = ReadOnlySession(
            args.region,
            endpoint_url=args.endpoint_url,
            session=boto3.Session(profile_name=args.profile, region_name=args.region),
        )
        report = verify_region(session, args.region, out_dir=args.out_dir)
    except (BotoCoreError, ClientError) as exc:
        print(f"verify could not run in {args.region}: {exc}", file=sys.stderr)
        return 2
    except ReadOnlyViolation as exc:  # an observer asked for more than a read: a bug, never a verdict
        print(f"verify stopped: {exc}", file=sys.stderr)
        return 2
    counts = report.counts()
    print(f"verify {args.region} (account {report.account}): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"report: {args.out_dir}/verify-{args.region}.md and .json")
    return 1 if report.result == FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
