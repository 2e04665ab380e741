"""python -m drift --region R [--out-dir reports] [--profile P] [--no-alert]

Drift detection on every trustbase stack of the region, then verify; on any drift or failed check,
one message to the region's alerts topic; the report in <out-dir>/drift-<region>.md and .json.
Exit codes: 0 no drift and every check passed; 1 drift or a failed check (alerted); 2 could not run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from config.jurisdictions import AWS_REGIONS
from contract import CICD_PART, STACK_PARTS, Link, stack_name
from drift import DriftReport, alert, detect_stack, now, write
from verify.engine import verify_region
from verify.readonly import ReadOnlySession
from verify.report import FAIL, Report

VerifyFn = Callable[[str, Path], Report]


def run(
    region: str,
    session: Any,
    out_dir: Path,
    *,
    verify: VerifyFn,
    endpoint_url: str | None = None,
    send_alert: bool = True,
    parts: tuple[str, ...] = (*STACK_PARTS, CICD_PART),
    sleep: Callable[[float], None] | None = None,
) -> DriftReport:
    """Drift of the region's stacks (`session`: a boto3 Session of the reader role), verify, alert."""
    cloudformation = session.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    report = DriftReport(region=region, started_at=now())
    for part in parts:
        report.stacks.append(detect_stack(cloudformation, stack_name(region, part), sleep=sleep or time.sleep))
        write(report, out_dir)  # progress: a long run leaves a partial report
    verified = verify(region, out_dir)
    report.verify_counts = verified.counts()
    report.verify_failures = [
        f"{r.stack}/{r.resource} ({r.type}) {r.check}: {r.what}{': ' + r.detail if r.detail else ''}"
        for r in verified.rows
        if r.status == FAIL
    ]
    if report.problems and send_alert:
        ssm = session.client("ssm", region_name=region, endpoint_url=endpoint_url)
        topic = ssm.get_parameter(Name=Link.ALERTS_TOPIC_ARN.parameter_name)["Parameter"]["Value"]
        sns = session.client("sns", region_name=region, endpoint_url=endpoint_url)
        report.alert_message_id = alert(sns, topic, report)
    write(report, out_dir)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drift", description=__doc__.split("\n\n")[1])
    parser.add_argument("--region", required=True, help="the hosting region, e.g. eu-west-1")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--profile", help="AWS profile (default: the environment's credentials)")
    parser.add_argument("--no-alert", action="store_true", help="write the report, publish nothing")
    args = parser.parse_args(argv)
    if args.region not in AWS_REGIONS:
        parser.error(f"--region {args.region}: not an AWS region known to trustbase (config/jurisdictions.py)")
    session = boto3.Session(profile_name=args.profile, region_name=args.region)

    def verify(region: str, out_dir: Path) -> Report:
        return verify_region(ReadOnlySession(region, session=session), region, out_dir=out_dir)

    try:
        report = run(args.region, session, args.out_dir, verify=verify, send_alert=not args.no_alert)
    except (BotoCoreError, ClientError) as exc:
        print(f"drift could not run in {args.region}: {exc}", file=sys.stderr)
        return 2
    print(f"drift {args.region}: {len(report.problems)} problem(s); report {args.out_dir}/drift-{args.region}.md")
    for problem in report.problems:
        print(f"  - {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
