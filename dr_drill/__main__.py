"""python -m dr_drill <scenario> --region R [--endpoint-url URL] [--dry-run] [--confirm ACCOUNT/REGION]

Exit codes: 0 PASS, 1 FAIL, 3 PARTIAL (some step not emulated, or a dry run), 2 could not run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3

from config import DEFAULT_CONFIG_FILE, ConfigError, load_config_file
from contract import CANARY_TABLE, DATABASE_NAME
from dr_drill import FAIL, PASS, SCENARIOS, Clients, DrillError, az_loss, db_failover, restore, s3_recover
from dr_drill.sql_canary import iam_canary_factory

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_local(endpoint_url: str | None) -> bool:
    return bool(endpoint_url) and urlparse(endpoint_url).hostname in LOCAL_HOSTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dr_drill", description="Run a DR drill and measure RTO/RPO.")
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--region", required=True)
    parser.add_argument("--endpoint-url", help="local AWS emulator (127.0.0.1 only), e.g. http://127.0.0.1:5000")
    parser.add_argument("--dry-run", action="store_true", help="discover and print the plan; change nothing")
    parser.add_argument(
        "--confirm", metavar="ACCOUNT/REGION", help="required against real AWS: the account and region to act on"
    )
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG_FILE, help="regions.toml with the RTO/RPO targets"
    )
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for recovery before failing")
    parser.add_argument(
        "--db-ca-bundle", help="RDS CA bundle (PEM) to verify Aurora's TLS certificate for the SQL canary"
    )
    parser.add_argument("--db-tunnel", metavar="HOST:PORT", help="reach Aurora through a port forward (e.g. SSM)")
    parser.add_argument(
        "--db-copy-tunnel",
        metavar="HOST:PORT",
        help="restore with --db-tunnel: the port forward to the copy (<copy-id>.cluster-...)",
    )
    parser.add_argument(
        "--copy-id", help="restore: the copy's cluster identifier (so a port forward can be set up first)"
    )
    parser.add_argument("--db-name", default=DATABASE_NAME, help=f"database holding {CANARY_TABLE}")
    parser.add_argument(
        "--skip-sql-canary",
        action="store_true",
        help="real AWS without database access: accept a PARTIAL result instead of proving RPO",
    )
    args = parser.parse_args(argv)

    if args.endpoint_url and not is_local(args.endpoint_url):
        parser.error(f"--endpoint-url {args.endpoint_url} is not on this machine; emulators run on 127.0.0.1 only")
    try:
        targets = load_config_file(args.config).region(args.region).dr
    except (ConfigError, KeyError) as exc:
        parser.error(f"--region {args.region}: not a configured trustbase region ({exc})")
    session = boto3.Session(region_name=args.region)
    kw = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    if not args.endpoint_url and not args.dry_run:
        account = session.client("sts").get_caller_identity()["Account"]
        if args.confirm != f"{account}/{args.region}":
            print(
                f"refusing to inject faults into real account {account} in {args.region}: "
                f"re-run with --confirm {account}/{args.region} (or --dry-run first)",
                file=sys.stderr,
            )
            return 2
    canary = None
    aurora = args.scenario in ("db-failover", "az-loss", "restore")
    if aurora and not args.endpoint_url and not args.dry_run and not args.skip_sql_canary:
        if not args.db_ca_bundle:
            parser.error(
                f"{args.scenario} on AWS proves RPO with a SQL canary: pass --db-ca-bundle "
                "(the RDS global bundle), or --skip-sql-canary to accept a PARTIAL result"
            )
        if args.scenario == "restore" and args.db_tunnel and not (args.db_copy_tunnel and args.copy_id):
            parser.error(
                "restore through a port forward reads the copy through its own: pass --copy-id NAME and "
                "--db-copy-tunnel HOST:PORT (forwarding to NAME.cluster-...), or the copy reads as the source"
            )
        canary = iam_canary_factory(
            session.client("rds"),
            ca_bundle=args.db_ca_bundle,
            database=args.db_name,
            tunnel=args.db_tunnel,
            copy_tunnel=args.db_copy_tunnel,
            copy_id=args.copy_id,
        )
    clients = Clients(
        ssm=session.client("ssm", **kw),
        s3=session.client("s3", **kw),
        rds=session.client("rds", **kw),
        backup=session.client("backup", **kw),
        fis=session.client("fis", **kw),
    )
    try:
        if args.scenario == "s3-recover":
            report = s3_recover(clients, args.region, targets, dry_run=args.dry_run)
        elif args.scenario == "restore":
            report = restore(
                clients,
                args.region,
                targets,
                dry_run=args.dry_run,
                timeout=args.timeout,
                canary=canary,
                copy_id=args.copy_id,
            )
        elif args.scenario == "az-loss":
            report = az_loss(clients, args.region, targets, dry_run=args.dry_run, timeout=args.timeout, canary=canary)
        else:
            report = db_failover(
                clients, args.region, targets, dry_run=args.dry_run, timeout=args.timeout, canary=canary
            )
    except DrillError as exc:
        print(f"drill could not run: {exc}", file=sys.stderr)
        return 2
    md, js = report.write(args.out_dir)
    print(
        f"{report.scenario} in {report.region}: {report.result}; RTO {report.rto_seconds} s, RPO {report.rpo_seconds} s"
    )
    print(f"reports: {md} and {js}")
    return {PASS: 0, FAIL: 1}.get(report.result, 3)


if __name__ == "__main__":
    sys.exit(main())
