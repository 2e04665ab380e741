"""python -m local_aws [--cdk-out cdk.out] [--regions R ...] [--out-dir reports] [--no-drills]

The main job with no AWS account: start the local AWS, deploy every region's synthesized stacks
to it through CloudFormation, verify every resource and key property, run the DR drills
against the deployment, print where the reports are, stop the emulator.

Exit codes: 0 every check and drill passed or was honestly NOT_EMULATED / PARTIAL; 1 a check or
a drill FAILED; 2 could not run (no cloud assembly, emulator did not start).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from config import DEFAULT_CONFIG_FILE, load_config_file
from dr_drill import FAIL, Clients, DrillError, DrillReport, az_loss, db_failover, restore, s3_recover
from local_aws.deploy import PASS, LocalAws, RegionDeployment, deploy_region, stacks_in_order
from local_aws.emulator import running_emulator


def run_drills(endpoint: str, region: str, out_dir: Path, config: Path = DEFAULT_CONFIG_FILE) -> list[DrillReport]:
    targets = load_config_file(config).region(region).dr
    aws = LocalAws(endpoint, region)
    clients = Clients(ssm=aws.client("ssm"), s3=aws.client("s3"), rds=aws.client("rds"),
                      backup=aws.client("backup"), fis=aws.client("fis"))  # fmt: skip
    reports = [
        s3_recover(clients, region, targets),
        db_failover(clients, region, targets, timeout=60, interval=1),
        az_loss(clients, region, targets, timeout=60, interval=1),
        restore(clients, region, targets, timeout=60, interval=1),
    ]
    for r in reports:
        r.write(out_dir)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_aws", description=__doc__.split("\n\n")[1])
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--regions", nargs="*", help="only these regions (default: every region in the assembly)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--no-drills", action="store_true")
    args = parser.parse_args(argv)
    if not (args.cdk_out / "manifest.json").exists():
        print(f"no cloud assembly in {args.cdk_out}: run `make synth` first", file=sys.stderr)
        return 2
    try:
        artifacts = stacks_in_order(args.cdk_out, args.regions)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    regions = list(dict.fromkeys(a.region for a in artifacts))
    # The emulator takes any credentials; never hand it real ones.
    for var, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ[var] = value
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)

    deployments: list[RegionDeployment] = []
    drills: dict[str, list[DrillReport]] = {}
    written: list[Path] = []
    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with running_emulator(log=args.out_dir / "local-emulator.log") as endpoint:
            for region in regions:
                deployment = deploy_region(endpoint, artifacts, region)
                deployments.append(deployment)
                written += deployment.write(args.out_dir)
                if args.no_drills:
                    continue
                if deployment.result != PASS:
                    print(f"[local] {region}: deploy failed, drills skipped", flush=True)
                    continue
                try:
                    drills[region] = run_drills(endpoint, region, args.out_dir)
                except DrillError as exc:
                    print(f"[local] {region}: drills could not run: {exc}", file=sys.stderr)
                    return 1
    except RuntimeError as exc:
        print(f"[local] {exc}", file=sys.stderr)
        return 2

    print("\nregion           deploy  checks  not emulated  drills")
    failed = False
    for d in deployments:
        results = ", ".join(f"{r.scenario} {r.result}" for r in drills.get(d.region, [])) or "-"
        failed |= d.result != PASS or any(r.result == FAIL for r in drills.get(d.region, []))
        print(f"{d.region:16} {d.result:7} {d.count(PASS):6}  {d.count('NOT_EMULATED'):12}  {results}")
    print(f"\nreports in {args.out_dir}/: local-deploy-<region>.md|json, drill-<scenario>-<region>.md|json")
    print("PARTIAL = every emulated step passed; the rest is listed as NOT_EMULATED with the reason.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
