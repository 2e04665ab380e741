"""python -m drift --region R [--out-dir reports] [--profile P] [--no-alert] [--config regions.toml]

Drift detection on every trustbase stack the region's deploy job deploys (config/regions.toml says
which), then verify; on any drift, failed detection or failed check, one message to the region's
alerts topic; the report in <out-dir>/drift-<region>.md and .json.
Exit codes: 0 no drift and every check passed; 1 drift or a failed check (alerted); 2 the alert
could not be sent (the report keeps every finding) or the job could not run.
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

from config import DEFAULT_CONFIG_FILE, AppConfig, ConfigError, load_config_file
from contract import CICD_PART, IDENTITY_STACK, STACK_PARTS, Link, stack_name
from drift import DriftReport, detect_stacks, now, write
from drift import alert as publish
from verify.engine import verify_region
from verify.readonly import ReadOnlySession
from verify.report import FAIL, Report

VerifyFn = Callable[[str, Path], Report]


def targets(app_config: AppConfig, region: str) -> list[tuple[str, str]]:
    """(stack, region) of every stack the region's deploy job deploys: the region's stacks, its DR
    vault stack (in the DR region), and trustbase-identity in Identity Center's home region."""
    rc = app_config.region(region)
    parts = (*STACK_PARTS, CICD_PART) if app_config.delivery is not None else STACK_PARTS
    out = [(stack_name(region, part), region) for part in parts]
    if rc.backup.dr_copy_region:
        out.append((stack_name(region, "dr-vault"), rc.backup.dr_copy_region))
    if app_config.access.home_region == region:
        out.append((IDENTITY_STACK, region))
    return out


def run(
    region: str,
    session: Any,
    out_dir: Path,
    *,
    verify: VerifyFn,
    stacks: list[tuple[str, str]],
    endpoint_url: str | None = None,
    send_alert: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> DriftReport:
    """Drift of `stacks` (`session`: a boto3 Session of the reader role), verify, and one alert."""
    clients: dict[str, Any] = {}

    def client_for(where: str) -> Any:
        if where not in clients:
            clients[where] = session.client("cloudformation", region_name=where, endpoint_url=endpoint_url)
        return clients[where]

    report = DriftReport(region=region, started_at=now())
    report.stacks = detect_stacks(client_for, stacks, sleep=sleep)
    write(report, out_dir)  # a partial report even if verify stops
    try:
        verified = verify(region, out_dir)
        report.verify_counts = verified.counts()
        report.verify_failures = [
            f"{r.stack}/{r.resource} ({r.type}) {r.check}: {r.what}{': ' + r.detail if r.detail else ''}"
            for r in verified.rows
            if r.status == FAIL
        ]
    except Exception as exc:  # a verify that cannot run is a problem to alert on, not a crash
        report.verify_failures = [f"verify could not run: {type(exc).__name__}: {exc}"]
    if report.problems and send_alert:
        try:
            report.alert_message_id = alert(session, region, endpoint_url, report)
        except (BotoCoreError, ClientError) as exc:  # the findings stay in the report; the job fails
            report.alert_error = str(exc)
    write(report, out_dir)
    return report


def alert(session: Any, region: str, endpoint_url: str | None, report: DriftReport) -> str:
    """Publish `report`'s problems to the region's alerts topic (found through its SSM link)."""
    ssm = session.client("ssm", region_name=region, endpoint_url=endpoint_url)
    topic = ssm.get_parameter(Name=Link.ALERTS_TOPIC_ARN.parameter_name)["Parameter"]["Value"]
    sns = session.client("sns", region_name=region, endpoint_url=endpoint_url)
    return publish(sns, topic, report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drift", description=__doc__.split("\n\n")[1])
    parser.add_argument("--region", required=True, help="the hosting region, e.g. eu-west-1")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--profile", help="AWS profile (default: the environment's credentials)")
    parser.add_argument("--no-alert", action="store_true", help="write the report, publish nothing")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_FILE, help="regions.toml (which stacks)")
    args = parser.parse_args(argv)
    try:
        app_config = load_config_file(args.config)
        stacks = targets(app_config, args.region)
    except ConfigError as exc:
        print(f"{exc}\n(config file: {args.config})", file=sys.stderr)
        return 2
    except KeyError:
        parser.error(f"--region {args.region}: not a region of {args.config}")
    session = boto3.Session(profile_name=args.profile, region_name=args.region)

    def verify(region: str, out_dir: Path) -> Report:
        return verify_region(ReadOnlySession(region, session=session), region, out_dir=out_dir)

    try:
        report = run(args.region, session, args.out_dir, verify=verify, stacks=stacks, send_alert=not args.no_alert)
    except (BotoCoreError, ClientError) as exc:
        # The run itself failed before any finding (a client could not be made): say so.
        failed = DriftReport(region=args.region, started_at=now(), verify_failures=[f"the drift job failed: {exc}"])
        write(failed, args.out_dir)
        print(f"drift could not run in {args.region}: {exc}", file=sys.stderr)
        return 2
    print(f"drift {args.region}: {len(report.problems)} problem(s); report {args.out_dir}/drift-{args.region}.md")
    for problem in report.problems:
        print(f"  - {problem}")
    if report.alert_error:
        print(f"drift {args.region}: the alert could not be sent: {report.alert_error}", file=sys.stderr)
        return 2
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
