"""python -m policy_gates [CDK_OUT] [--config regions.toml] [--stamp] [--after SYNTH COMMAND...]:
every gate over a synthesized assembly (with --after: run that synth first, the gate tools starting
meanwhile)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from config import DEFAULT_CONFIG_FILE, ConfigError, load_config_file
from policy_gates import CFN_LINT, CHECKOV, evaluate, stamp, warm
from policy_gates.cache import CacheStats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy_gates", description=__doc__)
    parser.add_argument("cdk_out", nargs="?", type=Path, default=Path("cdk.out"))
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_FILE,
        help="the regions.toml the assembly was synthesized from (-c config=... for cdk)",
    )
    parser.add_argument(
        "--untrusted-config",
        action="store_true",
        help="the config comes from a pull request: files it names must lie in its folder",
    )
    parser.add_argument(
        "--stamp",
        action="store_true",
        help="on PASS, mark the assembly as gated (policy_gates/stamp.py): make local deploys only that",
    )
    parser.add_argument(
        "--after",
        nargs=argparse.REMAINDER,
        default=[],
        help="the synth command: it runs first while cfn-lint and checkov start (policy_gates/warm.py)",
    )
    args = parser.parse_args(argv)
    if args.after:
        warm.start({"cfn-lint": CFN_LINT, "checkov": CHECKOV})
        try:
            synth = subprocess.run(args.after)
        except OSError as exc:
            synth = subprocess.CompletedProcess(args.after, 127)
            print(f"{args.after[0]}: {exc}", file=sys.stderr)
        if synth.returncode != 0:
            warm.stop()
            return synth.returncode
    try:
        app_config = load_config_file(args.config, confined=args.untrusted_config)
    except ConfigError as exc:
        warm.stop()
        print(exc, file=sys.stderr)
        return 2
    stats: dict[str, CacheStats] = {}
    try:
        result = evaluate(args.cdk_out, app_config=app_config, stats=stats)
    finally:
        warm.stop()
    print(result.report())
    print(
        "templates judged anew (cached results reused): "
        + ", ".join(f"{tool} {s.misses} ({s.hits})" for tool, s in stats.items())
    )
    print("policy gates:", "PASS" if result.ok else "FAIL")
    if result.ok and args.stamp:
        stamp.write(args.cdk_out)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
