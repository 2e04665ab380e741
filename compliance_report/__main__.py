from __future__ import annotations

import sys
from pathlib import Path

from compliance_report import FAIL, build, write


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0] if args else "cdk.out")
    if not (outdir / "manifest.json").exists():
        print(f"{outdir} holds no cloud assembly: run `make synth` first", file=sys.stderr)
        return 2
    report = build(outdir)
    md, js = write(report, Path(args[1] if len(args) > 1 else "reports"))
    for c in report.controls:
        print(f"{c.status:8} {c.id}")
    print(f"written: {md} and {js}")
    return 1 if any(c.status == FAIL for c in report.controls) else 0


if __name__ == "__main__":
    sys.exit(main())
