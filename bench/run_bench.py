"""Benchmark: the everyday loop as multiples of the trivial-app floor, measured in the same run.

Prints every figure and target (met or missed) and writes reports/bench.json. Each figure is the
median, min and max of whole-process runs, with the peak RSS of the largest single process of the
run (as the kernel reports it for each finished child). Absolute seconds differ between machines
of one kind, so every target is a ratio to the floor.

    .venv/bin/python bench/run_bench.py [--runs 3] [--slow-runs 1]

Figures (the fast ones `--runs` times after one warm-up; make_test and make_local, the slow ones,
`--slow-runs` times):
- floor: `cdk synth` of one stack with one bucket, same toolchain (bench/floor_app.py);
- full: `cdk synth` of trustbase (3 regions, every stack, 4 nag packs, CDK's template validation);
- scale 3 and 12: the same with 3 and 12 regions (synthetic config entries in a temporary
  regions.toml; the real config is never touched);
- make_synth: `make synth` end to end, cold: a new assembly directory and an empty gate cache
  (synth, cfn-lint, checkov, our checks, access paths);
- make_synth_one_stack: `make synth` after a change to one stack (eu-west-1's Object Lock days, a
  new value every run, so exactly one template is new to the gate cache; the script checks that);
- make_test: `make test` after setup (ruff, ruff format, mypy, pytest);
- make_local: `make local` with a current synth (3 regions deployed to the emulator, verify, drills).

Nothing here writes to cdk.out/, reports/ (other than bench.json) or build/gate-cache/: every run
uses its own temporary assembly directory, gate cache and report directory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import DEFAULT_CONFIG_FILE  # noqa: E402
from config.jurisdictions import AWS_REGIONS, S3_GATEWAY_PREFIX_LISTS  # noqa: E402
from policy_gates.cache import ENV as CACHE_ENV  # noqa: E402

BIN = ROOT / ".venv" / "bin"
CDK = ROOT / "node_modules" / ".bin" / "cdk"
ENV = {
    **os.environ,
    "PATH": f"{BIN}:{ROOT / 'node_modules' / '.bin'}:{os.environ.get('PATH', '')}",
    "JSII_NODE": str(BIN / "node"),
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}
# The targets of issue 14, as multiples of the floor (seconds for the benchmark itself).
TARGETS = {
    "full_vs_floor": 2.2,
    "12_vs_3_regions": 1.8,
    "make_synth_vs_floor": 6.0,
    "make_synth_one_stack_vs_floor": 4.0,
    "make_test_vs_floor": 25.0,
    "make_local_vs_floor": 8.0,
    "peak_mib": 1024.0,
    "bench_s": 600.0,
}


def measure(
    cmd: list[str] | Callable[[int], list[str]],
    runs: int,
    *,
    warmup: bool = True,
    env: dict[str, str] | None = None,
    before: Callable[[int], None] | None = None,
    check: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Median, min and max wall seconds and max-of-runs peak RSS (MiB) of `cmd` (or of `cmd(i)` for
    run i), via GNU time's maxrss (the largest process of the run). `before(i)` prepares run i,
    untimed; `check(stdout)` rejects a run that did not do what the figure claims."""
    walls, peaks = [], []
    first = 0 if warmup else 1
    for i in range(first, runs + 1):
        if before is not None:
            before(i)
        argv = cmd(i) if callable(cmd) else cmd
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            start = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", tf.name, *argv],
                cwd=ROOT,
                env=env or ENV,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(
                    f"benchmark command failed ({proc.returncode}): {' '.join(argv)}\n"
                    f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
                )
            if check is not None:
                check(proc.stdout)
            peak_kib = int(tf.read().strip().splitlines()[-1])
        if i > 0:  # first run is the warm-up
            walls.append(wall)
            peaks.append(peak_kib / 1024)
    return {
        "median_s": round(statistics.median(walls), 2),
        "min_s": round(min(walls), 2),
        "max_s": round(max(walls), 2),
        "peak_mib": round(max(peaks), 1),
        "runs": runs,
    }


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


def one_stack_config(i: int, path: Path) -> Path:
    """The shipped config with eu-west-1's audit Object Lock at 400 + i days: only the
    trustbase-eu-west-1-audit template changes, and it is new to the gate cache on every run."""
    shipped = DEFAULT_CONFIG_FILE.read_text()
    region = shipped.index('name = "eu-west-1"')
    line = shipped.index("audit_lock_days = ", region)
    end = shipped.index("\n", line)
    path.write_text(shipped[:line] + f"audit_lock_days = {400 + i}" + shipped[end:])
    return path


JUDGED_ANEW = re.compile(r"templates judged anew \(cached results reused\): cfn-lint (\d+) \((\d+)\), checkov (\d+)")


def judged_anew(expected: int | None) -> Callable[[str], None]:
    """A check on `make synth`'s output: the gate judged `expected` templates anew (None: all)."""

    def check(stdout: str) -> None:
        m = JUDGED_ANEW.search(stdout)
        if m is None:
            raise SystemExit(f"make synth printed no gate-cache line:\n{stdout[-2000:]}")
        anew, reused, checkov_anew = int(m[1]), int(m[2]), int(m[3])
        if (expected is None and reused) or (expected is not None and anew != expected) or checkov_anew != anew:
            raise SystemExit(f"the gate judged {anew} template(s) anew and reused {reused}; expected {expected}")

    return check


def reused_synth(stdout: str) -> None:
    """A check on `make local`'s output: it deployed the current assembly without synthesizing again."""
    if "cdk synth --quiet" in stdout:
        raise SystemExit("make local synthesized again: its figure would not be 'with a current synth'")


def make(*args: str) -> list[str]:
    return ["make", "--no-print-directory", *args]


def ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
    return round(float(a["median_s"]) / float(b["median_s"]), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each fast figure (after one warm-up)")
    parser.add_argument("--slow-runs", type=int, default=1, help="runs of make test and make local")
    args = parser.parse_args()
    started = time.perf_counter()
    uname = os.uname()
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpus": os.cpu_count(),
            "arch": uname.machine,
            "kernel": uname.release,
            "cpu": cpu_model(),
            "mem_gib": mem_gib(),
        },
        "runs": args.runs,
        "slow_runs": args.slow_runs,
    }
    runs, slow = args.runs, args.slow_runs

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        floor_app = f"{BIN / 'python'} {ROOT / 'bench' / 'floor_app.py'}"
        results["floor"] = measure(synth_cmd(t / "floor", app=floor_app), runs)
        results["full"] = measure(synth_cmd(t / "full"), runs)
        results["full_stacks"] = len(list((t / "full").glob("*.template.json")))
        results["scale"] = {}
        for n in (3, 12):
            cfg = synthetic_config(n, t / f"regions-{n}.toml")
            results["scale"][str(n)] = measure(synth_cmd(t / f"scale-{n}", config=cfg), runs)

        # make synth, cold: a new assembly directory and an empty gate cache every run.
        def cold(i: int) -> list[str]:
            return make("synth", f"CDK_OUT={t / f'cold-{i}'}")

        cold_env = dict(ENV)
        results["make_synth"] = measure(
            cold,
            runs,
            env=cold_env,
            before=lambda i: cold_env.update({CACHE_ENV: str(t / f"cache-cold-{i}")}),
            check=judged_anew(None),
        )

        # make synth after a change to one stack: the assembly and cache of a finished make synth.
        current = t / "current"
        warm_env = {**ENV, CACHE_ENV: str(t / "cache-warm")}
        subprocess.run(make("synth", f"CDK_OUT={current}"), cwd=ROOT, env=warm_env, check=True, capture_output=True)
        results["make_synth_one_stack"] = measure(
            lambda i: make("synth", f"CDK_OUT={current}", f"CONFIG={one_stack_config(i, t / f'one-{i}.toml')}"),
            runs,
            env=warm_env,
            check=judged_anew(1),
        )

        # make local with a current synth (the stamp of the shipped config's make synth).
        subprocess.run(make("synth", f"CDK_OUT={current}"), cwd=ROOT, env=warm_env, check=True, capture_output=True)
        results["make_local"] = measure(
            make("local", f"CDK_OUT={current}", f"REPORTS={t / 'reports'}"),
            slow,
            warmup=False,
            env=warm_env,
            check=reused_synth,
        )

        # make test after setup; the same run counts the App.synth() calls of one pytest session.
        count = t / "synths.count"
        results["make_test"] = measure(
            make("test"), slow, warmup=False, env={**ENV, "TRUSTBASE_COUNT_SYNTHS": str(count)}
        )
        per_process = list(t.glob("synths.count.*"))  # one file per test process (pytest-xdist workers)
        results["test_suite_synths"] = sum(int(f.read_text().strip() or 0) for f in per_process) or None

    floor = results["floor"]
    results["full_vs_floor"] = ratio(results["full"], floor)
    results["12_vs_3_regions"] = ratio(results["scale"]["12"], results["scale"]["3"])
    for name in ("make_synth", "make_synth_one_stack", "make_test", "make_local"):
        results[f"{name}_vs_floor"] = ratio(results[name], floor)
    peak = max(results[k]["peak_mib"] for k in ("floor", "full", "make_synth", "make_synth_one_stack", "make_local"))
    results["peak_mib"] = max(peak, *(v["peak_mib"] for v in results["scale"].values()))
    results["bench_s"] = round(time.perf_counter() - started, 1)
    results["targets"] = {
        f"full synth <= {TARGETS['full_vs_floor']}x floor": results["full_vs_floor"] <= TARGETS["full_vs_floor"],
        f"12 regions <= {TARGETS['12_vs_3_regions']}x 3 regions": results["12_vs_3_regions"]
        <= TARGETS["12_vs_3_regions"],
        f"make synth, cold <= {TARGETS['make_synth_vs_floor']}x floor": results["make_synth_vs_floor"]
        <= TARGETS["make_synth_vs_floor"],
        f"make synth, one stack changed <= {TARGETS['make_synth_one_stack_vs_floor']}x floor": results[
            "make_synth_one_stack_vs_floor"
        ]
        <= TARGETS["make_synth_one_stack_vs_floor"],
        f"make test <= {TARGETS['make_test_vs_floor']}x floor": results["make_test_vs_floor"]
        <= TARGETS["make_test_vs_floor"],
        f"make local, current synth <= {TARGETS['make_local_vs_floor']}x floor": results["make_local_vs_floor"]
        <= TARGETS["make_local_vs_floor"],
        "peak memory of the largest process < 1 GiB": results["peak_mib"] < TARGETS["peak_mib"],
        f"make bench <= {TARGETS['bench_s']:.0f} s": results["bench_s"] <= TARGETS["bench_s"],
    }

    rows = [
        ("floor: cdk synth, 1 stack, 1 bucket", floor),
        (f"full: cdk synth, 3 regions, {results['full_stacks']} stacks", results["full"]),
        ("cdk synth, 3 synthetic regions", results["scale"]["3"]),
        ("cdk synth, 12 synthetic regions", results["scale"]["12"]),
        ("make synth, cold (synth + every gate)", results["make_synth"]),
        ("make synth, one stack changed", results["make_synth_one_stack"]),
        ("make local, current synth (3 regions)", results["make_local"]),
        ("make test, after setup", results["make_test"]),
    ]
    print(f"{'what':<42}{'median s':>10}{'min s':>8}{'max s':>8}{'x floor':>9}{'peak MiB':>10}{'runs':>6}")
    for name, r in rows:
        x = round(r["median_s"] / floor["median_s"], 2)
        print(f"{name:<42}{r['median_s']:>10}{r['min_s']:>8}{r['max_s']:>8}{x:>9}{r['peak_mib']:>10}{r['runs']:>6}")
    print(
        f"12 / 3 regions = {results['12_vs_3_regions']}x; synths per test session = {results['test_suite_synths']}; "
        f"the benchmark took {results['bench_s']} s"
    )
    for target, ok in results["targets"].items():
        print(f"  {'MET   ' if ok else 'MISSED'} {target}")
    out = ROOT / "reports" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out.relative_to(ROOT)}")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def mem_gib() -> float | None:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(kib / 1024 / 1024, 1)


if __name__ == "__main__":
    main()
