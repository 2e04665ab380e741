"""python -m local_aws [--cdk-out cdk.out] [--regions R ...] [--out-dir reports] [--no-drills]

The main job with no AWS account: start the local AWS, deploy every region's synthesized stacks
to it through CloudFormation, read every resource back and judge it with `verify` (the same
observers and predicates as for a live account), run the DR drills against the deployment,
print the counts per region, stop the emulator.

Exit codes: 0 nothing FAILED (PASS, PATCHED and NOT_EMULATED rows, PARTIAL drills); 1 a check
or a drill FAILED or a stack did not deploy; 2 could not run (no cloud assembly, emulator did
not start).
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO, TypeVar

from config import DEFAULT_CONFIG_FILE, load_config_file
from dr_drill import FAIL, Clients, DrillError, DrillReport, az_loss, db_failover, restore, s3_recover
from local_aws.assembly import stacks_in_order
from local_aws.deploy import LocalAws, RegionDeployment, deploy_region
from local_aws.emulation import emulation_for
from local_aws.emulator import running_emulators
from verify import Report, verify_region
from verify.readonly import ReadOnlySession
from verify.report import FAIL as CHECK_FAIL
from verify.report import NOT_EMULATED, PASS, PATCHED


def run_drills(endpoint: str, region: str, out_dir: Path, config: Path = DEFAULT_CONFIG_FILE) -> list[DrillReport]:
    targets = load_config_file(config).region(region).dr
    aws = LocalAws(endpoint, region)
    clients = Clients(
        ssm=aws.client("ssm"),
        s3=aws.client("s3"),
        rds=aws.client("rds"),
        backup=aws.client("backup"),
        fis=aws.client("fis"),
    )
    reports = [
        s3_recover(clients, region, targets),
        db_failover(clients, region, targets, timeout=60, interval=1),
        az_loss(clients, region, targets, timeout=60, interval=1),
        restore(clients, region, targets, timeout=60, interval=1),
    ]
    for r in reports:
        r.write(out_dir)
    return reports


def verify_local(endpoint: str, deployment: RegionDeployment, out_dir: Path) -> Report:
    """verify, read-only, against the emulator: reports/local-verify-<region>.md|json."""
    session = ReadOnlySession(
        deployment.region, endpoint_url=endpoint, session=LocalAws(endpoint, deployment.region).session
    )
    return verify_region(
        session,
        deployment.region,
        out_dir=out_dir,
        stem=f"local-verify-{deployment.region}",
        emulation=emulation_for(deployment),
    )


_T = TypeVar("_T")


class _PerThreadOutput(io.TextIOBase):
    """sys.stdout while regions run side by side: a thread that asked for it writes to a buffer of
    its own (so one region's lines stay together); every other write goes to the real stdout."""

    def __init__(self, default: TextIO) -> None:
        self.default = default
        self._local = threading.local()

    def write(self, text: str) -> int:
        buffer: io.StringIO | None = getattr(self._local, "buffer", None)
        return (buffer or self.default).write(text)

    def flush(self) -> None:
        self.default.flush()

    def captured(self, fn: Callable[..., _T], *args: Any) -> tuple[str, _T | None, Exception | None]:
        """Run fn(*args) with this thread's output captured: (output, result, None), or, when it
        raises, (output so far with the traceback, None, the exception)."""
        buffer = self._local.buffer = io.StringIO()
        try:
            return buffer.getvalue(), fn(*args), None
        except Exception as exc:
            buffer.write(traceback.format_exc())
            return buffer.getvalue(), None, exc
        finally:
            self._local.buffer = None

    @property
    def encoding(self) -> str:  # type: ignore[override]  # what code that inspects sys.stdout expects
        return self.default.encoding

    def isatty(self) -> bool:
        return self.default.isatty()

    def writable(self) -> bool:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_aws", description=__doc__.split("\n\n")[1])
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--regions", nargs="*", help="only these regions (default: every region in the assembly)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--no-drills", action="store_true")
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_FILE,
        help="the regions.toml the assembly was synthesized from (its DR targets judge the drills)",
    )
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
    if not regions:
        print(f"no stack to deploy in {args.cdk_out}", file=sys.stderr)
        return 2
    # A SIGTERM (make interrupted, a CI timeout) unwinds like an exception: the emulators are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # The emulator takes any credentials; never hand it real ones.
    for var, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ[var] = value
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)

    results: list[tuple[RegionDeployment, Report | None, list[DrillReport]]] = []
    args.out_dir.mkdir(parents=True, exist_ok=True)

    def one_region(region: str, endpoint: str) -> tuple[RegionDeployment, Report | None, list[DrillReport]]:
        """Deploy, verify and drill one region on an emulator of its own."""
        deployment = deploy_region(endpoint, artifacts, region)
        deployment.write(args.out_dir)
        if not deployment.ok:
            print(f"[local] {region}: deploy failed, verify and drills skipped", flush=True)
            return deployment, None, []
        report = verify_local(endpoint, deployment, args.out_dir)
        drills = [] if args.no_drills else run_drills(endpoint, region, args.out_dir, args.config)
        return deployment, report, drills

    # Regions share nothing (residency), so each gets an emulator of its own (one process forks a
    # server per region) and they run side by side; each region's output is printed whole, in
    # region order, when it is done.
    print(f"[local] {len(regions)} region(s), each on an emulator of its own: {', '.join(regions)}", flush=True)
    output = _PerThreadOutput(sys.stdout)
    failure: tuple[int, str] | None = None
    try:
        with (
            running_emulators(len(regions), log=args.out_dir / "local-emulator.log") as endpoints,
            ThreadPoolExecutor(max_workers=len(regions)) as pool,
        ):
            sys.stdout = output
            try:
                futures = {
                    region: pool.submit(output.captured, one_region, region, endpoint)
                    for region, endpoint in zip(regions, endpoints, strict=True)
                }
                for region, future in futures.items():
                    text, result, error = future.result()
                    output.default.write(text)
                    output.default.flush()
                    if isinstance(error, DrillError):
                        failure = failure or (1, f"[local] {region}: drills could not run: {error}")
                    elif error is not None:
                        failure = failure or (1, f"[local] {region}: failed: {type(error).__name__}: {error}")
                    elif result is not None:
                        results.append(result)
            finally:
                sys.stdout = output.default
    except RuntimeError as exc:  # the emulator did not start
        failure = failure or (2, f"[local] {exc}")
    if failure is not None:
        print(failure[1], file=sys.stderr)
        return failure[0]

    print(f"\n{'region':16} {'deploy':8} {'PASS':>5} {'FAIL':>5} {'PATCHED':>8} {'NOT_EMULATED':>13}  drills")
    failed = False
    for deployment, verified, drills in results:
        counts = verified.counts() if verified else dict.fromkeys((PASS, CHECK_FAIL, PATCHED, NOT_EMULATED), 0)
        drill_results = ", ".join(f"{r.scenario} {r.result}" for r in drills) or "-"
        failed |= not deployment.ok or (verified is not None and verified.result == CHECK_FAIL)
        failed |= any(r.result == FAIL for r in drills)
        print(
            f"{deployment.region:16} {'ok' if deployment.ok else 'FAILED':8} {counts[PASS]:5} {counts[CHECK_FAIL]:5} "
            f"{counts[PATCHED]:8} {counts[NOT_EMULATED]:13}  {drill_results}"
        )
    print(
        f"\nreports in {args.out_dir}/: local-deploy-<region>, local-verify-<region>, drill-<scenario>-<region> (.md|.json)"
    )
    print(
        "PASS = read from the emulator's service API and compliant; FAIL = not compliant or missing; PATCHED = "
        "compliant only through a value our moto patch wrote (proves the patch, not AWS); NOT_EMULATED = moto "
        "cannot create or show it. PARTIAL drill = every emulated step passed."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
