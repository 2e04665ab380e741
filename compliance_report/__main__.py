"""python -m compliance_report [cdk.out] [reports] [--verify reports/verify-<region>.json ...]

The compliance evidence: proved on the templates of the cloud assembly and, for each verify
report given, observed in that account at that time. Writes reports/compliance.md and .json.
Exit codes: 0 no control FAILS; 1 a control FAILS; 2 no cloud assembly or an unreadable report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compliance_report import FAIL, build, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance_report", description=__doc__.split("\n\n")[1])
    parser.add_argument("outdir", nargs="?", type=Path, default=Path("cdk.out"))
    parser.add_argument("reports", nargs="?", type=Path, default=Path("reports"))
    parser.add_argument(
        "--verify", nargs="+", action="extend", type=Path, default=[], help="verify reports (JSON) to include"
    )
    args = parser.parse_args(argv)
    if not (args.outdir / "manifest.json").exists():
        print(f"{args.outdir} holds no cloud assembly: run `make synth` first", file=sys.stderr)
        return 2
    try:
        report = build(args.outdir, verify_reports=args.verify)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot read a verify report: {exc}", file=sys.stderr)
        return 2
    md, js = write(report, args.reports)
    for c in report.controls:
        print(f"{c.status:8} {c.id}")
    for note in report.observations:
        print(f"verify: {note}")
    print(f"written: {md} and {js}")
    return 1 if any(c.status == FAIL for c in report.controls) else 0


if __name__ == "__main__":
    sys.exit(main())
