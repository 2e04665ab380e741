"""Benchmark: synth, gate and test speed against the floor and as regions grow.

Prints a table and writes reports/bench.json. Every figure is the median of N whole-process
runs (after one warm-up), with the peak RSS of the largest single process of the run (the
Python app or the jsii Node process), as reported by the kernel for each finished child.

    .venv/bin/python bench/run_bench.py [--runs 5] [--scale 1,3,6,12]

The extra regions of the scale series are synthetic config entries generated here, in a
temporary regions.toml: the real config is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import DEFAULT_CONFIG_FILE  # noqa: E402
from config.jurisdictions import AWS_REGIONS, S3_GATEWAY_PREFIX_LISTS  # noqa: E402

BIN = ROOT / ".venv" / "bin"
CDK = ROOT / "node_modules" / ".bin" / "cdk"
ENV = {
    **os.environ,
    "PATH": f"{BIN}:{ROOT / 'node_modules' / '.bin'}:{os.environ.get('PATH', '')}",
    "JSII_NODE": str(BIN / "node"),
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}
TARGETS = {"full_vs_floor": 2.5, "12_vs_3_regions": 2.0, "peak_mib": 1024.0, "make_test_s": 120.0}


def measure(cmd: list[str], runs: int, cwd: Path = ROOT, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Median wall seconds and max-of-runs peak RSS (MiB) of `cmd`, via GNU time's per-child maxrss."""
    walls, peaks = [], []
    for i in range(runs + 1):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            start = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd],
                cwd=cwd,
                env=env or ENV,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(
                    f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}"
                )
            peak_kib = int(tf.read().strip().splitlines()[-1])
        if i > 0:  # first run is the warm-up
            walls.append(wall)
            peaks.append(peak_kib / 1024)
    return {"median_s": round(statistics.median(walls), 2), "min_s": round(min(walls), 2),
            "max_s": round(max(walls), 2), "peak_mib": round(max(peaks), 1), "runs": runs}  # fmt: skip


def synth_cmd(outdir: Path, app: str | None = None, config: Path | None = None) -> list[str]:
    cmd = [str(CDK), "synth", "--quiet", "--no-notices", "-o", str(outdir)]
    if app:
        cmd += ["--app", app]
    if config:
        cmd += ["-c", f"config={config}"]
    return cmd


def synthetic_config(n: int, path: Path) -> Path:
    """n regions with a jurisdiction (the real three first), each with its own /16.
    trustbase knows 12 regions with a jurisdiction, so 12 is the largest series."""
    real = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    others = [r for r, j in AWS_REGIONS.items() if j is not None and r not in real]
    names = (real + others)[:n]
    if len(names) < n:
        raise SystemExit(f"only {len(names)} regions have a jurisdiction; cannot synthesize {n}")
    entries = []
    for i, name in enumerate(names):
        jurisdiction = AWS_REGIONS[name]
        assert jurisdiction is not None
        entries.append(
            f'[[region]]\nname = "{name}"\njurisdiction = "{jurisdiction.value}"\n'
            f'availability_zones = ["{name}a", "{name}b", "{name}c"]\nvpc_cidr = "10.{100 + i}.0.0/16"\n'
            f'certificate_arn = "arn:aws:acm:{name}:123456789012:certificate/{i:08d}-0000-4000-8000-000000000000"\n'
            # r7g is not offered everywhere (CDK's template validation rejects it in ap-southeast-4)
            'db_instance_class = "r6g.large"\n'
            # Only synthesized, never deployed: regions trustbase has no S3 prefix list for get a
            # well-formed placeholder (a real deploy looks the ID up, as config validation says).
            + ("" if name in S3_GATEWAY_PREFIX_LISTS else f's3_prefix_list_id = "pl-{0xB00 + i:08x}"\n')
        )
    shipped = DEFAULT_CONFIG_FILE.read_text()
    start = shipped.index("\n[access]")
    access = shipped[start : shipped.index("\n[[region]]", start)]  # the shipped [access] table
    path.write_text(access + "\n" + "\n".join(entries))
    return path


def count_test_synths() -> int:
    """How many App.synth() calls one pytest session makes (counted by tests/conftest.py)."""
    with tempfile.NamedTemporaryFile("r", suffix=".count") as tf:
        env = {**ENV, "TRUSTBASE_COUNT_SYNTHS": tf.name}
        subprocess.run(
            [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, check=True
        )
        return int(tf.read().strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", default="1,3,6,12")
    args = parser.parse_args()
    scale = [int(x) for x in args.scale.split(",")]
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "runs": args.runs}

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        floor_app = f"{BIN / 'python'} {ROOT / 'bench' / 'floor_app.py'}"
        results["floor"] = measure(synth_cmd(t / "floor", app=floor_app), args.runs)
        results["full"] = measure(synth_cmd(t / "full"), args.runs)
        results["full_vs_floor"] = round(results["full"]["median_s"] / results["floor"]["median_s"], 2)
        results["full_stacks"] = len(list((t / "full").glob("*.template.json")))
        results["scale"] = {}
        for n in scale:
            cfg = synthetic_config(n, t / f"regions-{n}.toml")
            results["scale"][str(n)] = measure(synth_cmd(t / f"scale-{n}", config=cfg), args.runs)
        s = results["scale"]
        if "1" in s and str(max(scale)) in s and max(scale) > 1:
            results["per_region_slope_s"] = round(
                (s[str(max(scale))]["median_s"] - s["1"]["median_s"]) / (max(scale) - 1), 2
            )
        if "3" in s and "12" in s:
            results["12_vs_3_regions"] = round(s["12"]["median_s"] / s["3"]["median_s"], 2)
        results["make_test"] = measure(["make", "--no-print-directory", "test"], args.runs)
        results["test_suite_synths"] = count_test_synths()
        # The policy tools of the gate, over the full synth's templates.
        templates = [str(p) for p in sorted((t / "full").glob("*.template.json"))]
        results["cfn_lint"] = measure([str(BIN / "cfn-lint"), *templates], args.runs)
        checkov = [
            str(ROOT / ".venv-checkov" / "bin" / "checkov"),
            "--framework",
            "cloudformation",
            "--quiet",
            "--compact",
        ]
        results["checkov"] = measure([*checkov, "--soft-fail", *[a for p in templates for a in ("-f", p)]], args.runs)

    peak = max(
        [results["floor"]["peak_mib"], results["full"]["peak_mib"], *(v["peak_mib"] for v in results["scale"].values())]
    )
    results["targets"] = {
        "full_vs_floor <= 2.5": results["full_vs_floor"] <= TARGETS["full_vs_floor"],
        "12 regions <= 2x 3 regions": (
            None if "12_vs_3_regions" not in results else results["12_vs_3_regions"] <= TARGETS["12_vs_3_regions"]
        ),
        "peak memory < 1 GiB": peak < TARGETS["peak_mib"],
        "make test < 2 min": results["make_test"]["median_s"] < TARGETS["make_test_s"],
    }

    rows = [
        ("floor synth (1 stack, 1 bucket)", results["floor"]),
        (f"full synth (3 regions, {results['full_stacks']} stacks, 4 packs)", results["full"]),
    ]
    rows += [(f"scale: {n} region(s)", v) for n, v in results["scale"].items()]
    rows += [("cfn-lint over all templates", results["cfn_lint"]), ("checkov over all templates", results["checkov"])]
    rows += [("make test (after setup: lint, mypy, pytest)", results["make_test"])]
    print(f"{'what':<46}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MiB':>10}")
    for name, r in rows:
        print(f"{name:<46}{r['median_s']:>10}{r['min_s']:>8}{r['max_s']:>8}{r['peak_mib']:>10}")
    print(f"full/floor = {results['full_vs_floor']}x; 12/3 regions = {results.get('12_vs_3_regions', 'n/a')}x; "
          f"per-region slope = {results.get('per_region_slope_s')} s; synths per test session = {results['test_suite_synths']}")  # fmt: skip
    for target, ok in results["targets"].items():
        print(f"  {'not measured' if ok is None else 'MET   ' if ok else 'MISSED'} {target}")
    out = ROOT / "reports" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
