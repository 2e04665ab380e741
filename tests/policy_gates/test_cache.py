"""The gate cache re-checks only templates whose content changed, and is never stale: a changed
template, tool argument or tool pin is a miss. And `make synth` reuses a current assembly only
while nothing it was built from changed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from policy_gates import cache, run_cfn_lint, run_checkov, stamp
from policy_gates.cache import CacheStats, Tool, run_cached

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(directory))
    return directory


@pytest.fixture
def tool(tmp_path: Path) -> Tool:
    pins = tmp_path / "requirements.txt"
    pins.write_text("some-tool==1.0\n")
    return Tool("some-tool", ("--strict",), pins, tmp_path / "site-packages", (".some-toolrc",))


def templates(tmp_path: Path, **bodies: str) -> list[Path]:
    out = []
    for name, body in bodies.items():
        path = tmp_path / f"{name}.template.json"
        path.write_text(body)
        out.append(path)
    return out


class Recorder:
    """A fake tool run that records which templates it was asked to judge."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, paths: list[Path]) -> dict[str, list[Any]]:
        self.calls.append([p.name for p in paths])
        return {p.name: [f"{p.name}: finding in {p.read_text()}"] for p in paths}


def test_only_templates_with_new_content_are_judged_again(tmp_path: Path, cache_dir: Path, tool: Tool) -> None:
    a, b = templates(tmp_path, a='{"v": 1}', b='{"v": 2}')
    run = Recorder()
    first = run_cached(tool, [a, b], run)
    stats = CacheStats()
    again = run_cached(tool, [a, b], run, stats)
    assert run.calls == [["a.template.json", "b.template.json"]]
    assert again == first and (stats.hits, stats.misses) == (2, 0)

    b.write_text('{"v": 3}')  # one stack changed
    changed = run_cached(tool, [a, b], run)
    assert run.calls[-1] == ["b.template.json"]
    assert changed["b.template.json"] == ['b.template.json: finding in {"v": 3}']
    assert changed["a.template.json"] == first["a.template.json"]


def test_a_new_tool_pin_or_argument_is_never_served_an_old_result(tmp_path: Path, cache_dir: Path, tool: Tool) -> None:
    (a,) = templates(tmp_path, a='{"v": 1}')
    run = Recorder()
    run_cached(tool, [a], run)
    tool.pins.write_text("some-tool==1.1\n")  # the tool (or one of its dependencies) was upgraded
    run_cached(tool, [a], run)
    run_cached(Tool(tool.name, ("--lenient",), tool.pins, tool.site_packages), [a], run)  # other arguments
    (tool.site_packages / "some_tool-1.1.dist-info").mkdir(parents=True)  # installed before setup re-ran
    run_cached(tool, [a], run)
    assert len(run.calls) == 4


def test_a_local_tool_configuration_is_part_of_the_key(
    tmp_path: Path, cache_dir: Path, tool: Tool, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a,) = templates(tmp_path, a='{"v": 1}')
    run = Recorder()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    run_cached(tool, [a], run)
    (work / ".some-toolrc").write_text("ignore_checks: [E3002]\n")  # a rule configuration the tool would read
    run_cached(tool, [a], run)
    assert len(run.calls) == 2


def test_an_unreadable_entry_is_judged_again(tmp_path: Path, cache_dir: Path, tool: Tool) -> None:
    (a,) = templates(tmp_path, a='{"v": 1}')
    run = Recorder()
    run_cached(tool, [a], run)
    for entry in cache_dir.rglob("*.json"):
        entry.write_text('["half a resu')  # a crash while writing
    assert run_cached(tool, [a], run) == {"a.template.json": ['a.template.json: finding in {"v": 1}']}
    assert len(run.calls) == 2


def test_the_same_content_under_another_name_is_judged_on_its_own(tmp_path: Path, cache_dir: Path, tool: Tool) -> None:
    a, b = templates(tmp_path, a='{"v": 1}', b='{"v": 1}')
    run = Recorder()
    found = run_cached(tool, [a, b], run)
    assert found["b.template.json"] == ['b.template.json: finding in {"v": 1}']


def test_a_run_that_skips_a_template_is_not_cached(tmp_path: Path, cache_dir: Path, tool: Tool) -> None:
    a, b = templates(tmp_path, a="{}", b="{}")
    with pytest.raises(RuntimeError, match=r"no result for \['b.template.json'\]"):
        run_cached(tool, [a, b], lambda paths: {"a.template.json": []})
    assert not list(cache_dir.rglob("*.json"))


def test_a_template_checkov_cannot_parse_fails_and_is_not_cached(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "broken.template.json").write_text('{"Resources": {"B": ')
    with pytest.raises(RuntimeError, match="checkov could not parse"):
        run_checkov([tmp_path / "broken.template.json"])
    assert not list(cache_dir.rglob("*.json"))


def test_off_runs_the_tool_every_time(tmp_path: Path, tool: Tool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV, "off")
    (a,) = templates(tmp_path, a="{}")
    run = Recorder()
    run_cached(tool, [a], run)
    run_cached(tool, [a], run)
    assert len(run.calls) == 2 and not (ROOT / "off").exists()


def test_cfn_lint_findings_come_back_from_the_cache_unchanged(tmp_path: Path, cache_dir: Path) -> None:
    broken = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}}}}
    (tmp_path / "broken.template.json").write_text(json.dumps(broken))
    path = tmp_path / "broken.template.json"
    cold, warm = CacheStats(), CacheStats()
    first = run_cfn_lint([path], cold)
    second = run_cfn_lint([path], warm)
    assert any("E3002" in f for f in first), first
    assert second == first and (cold.misses, warm.hits) == (1, 1)


# ------------------------------------------------------------------ make synth reuses a current synth


def dry_run(*args: str) -> str:
    """What `make` would run (-n), with the setup stamps taken as current."""
    proc = subprocess.run(
        ["make", "-n", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return proc.stdout


@pytest.fixture
def gated_out(tmp_path: Path) -> Path:
    """An assembly directory whose stamp is newer than every input, for the default settings."""
    out = tmp_path / "cdk.out"
    out.mkdir()
    dry_run("synth", f"CDK_OUT={out}")  # reading the Makefile records the default settings in .synth-env
    (out / "x.template.json").write_text("{}")
    stamp.write(out)  # now: newer than every input, and older than a rewritten settings file
    older = (out / ".gated").stat().st_mtime - 60
    os.utime(out / ".synth-env", (older, older))
    return out


SETUP_STAMPS = (
    ".venv/.installed",
    "node_modules/.installed",
    ".venv-checkov/.installed",
    "build/lifecycle-vendor/.requirements-sha256",
)


def setup_current() -> bool:
    """`make -q` on the setup stamps: true when setup would install nothing (as after `make test`'s
    own setup step). Otherwise every synth would be planned because of the setup, not of the stamp."""
    return subprocess.run(["make", "-q", *SETUP_STAMPS], cwd=ROOT, capture_output=True).returncode == 0


setup_is_current = pytest.mark.skipif(
    not setup_current(), reason="setup is not current (a requirements or lock file changed): run `make setup`"
)


@setup_is_current
def test_a_current_synth_is_reused_by_make_local(gated_out: Path) -> None:
    planned = dry_run("local", f"CDK_OUT={gated_out}")
    assert "cdk synth" not in planned and "-m policy_gates" not in planned
    assert "stamp.py check" in planned and "-m local_aws" in planned


@setup_is_current
def test_a_changed_input_synthesizes_and_gates_again(gated_out: Path) -> None:
    os.utime(gated_out / ".gated", (0, 0))  # older than every source file
    planned = dry_run("synth", f"CDK_OUT={gated_out}")
    assert "cdk synth" in planned and "-m policy_gates" in planned


@setup_is_current
def test_an_assembly_changed_after_the_gates_is_synthesized_and_gated_again(gated_out: Path) -> None:
    (gated_out / "x.template.json").write_text('{"Resources": {}}')  # a `cdk synth` by hand, say
    planned = dry_run("local", f"CDK_OUT={gated_out}")
    assert "cdk synth" in planned and "-m policy_gates" in planned
    assert not (gated_out / ".gated").exists()


def test_the_mark_matches_only_the_assembly_it_was_written_for(tmp_path: Path) -> None:
    (tmp_path / "a.template.json").write_text("{}")
    assert not stamp.current(tmp_path)
    stamp.write(tmp_path)
    assert stamp.current(tmp_path) and stamp.main(["check", str(tmp_path)]) == 0
    (tmp_path / "asset.1").mkdir()
    (tmp_path / "asset.1" / "index.py").write_text("print('changed code')\n")
    assert not stamp.current(tmp_path) and stamp.main(["check", str(tmp_path)]) == 1


@setup_is_current
def test_another_config_synthesizes_and_gates_again(gated_out: Path, tmp_path: Path) -> None:
    config = tmp_path / "regions.toml"
    config.write_text((ROOT / "config" / "regions.toml").read_text())
    os.utime(config, (0, 0))  # not newer than the stamp: the recorded settings decide
    planned = dry_run("synth", f"CDK_OUT={gated_out}", f"CONFIG={config}")
    assert f"-c config={config}" in planned and f"--config {config}" in planned


def test_a_tool_started_before_the_synth_finds_what_a_fresh_one_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """policy_gates/warm.py: only the import happens earlier; the findings are the tool's own."""
    from policy_gates import CFN_LINT, CHECKOV, warm
    from tests.policy_gates.test_gates import BAD_TEMPLATE

    monkeypatch.setenv(cache.ENV, "off")
    bad = tmp_path / "bad.template.json"
    bad.write_text(json.dumps(BAD_TEMPLATE))
    fresh = (run_cfn_lint([bad]), run_checkov([bad]))
    warm.start({"cfn-lint": CFN_LINT, "checkov": CHECKOV})

    def no_fresh_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a fresh process was started instead of the waiting one: {args[0][:1]}")

    try:
        monkeypatch.setattr(subprocess, "run", no_fresh_run)
        started_early = (run_cfn_lint([bad]), run_checkov([bad]))
        assert warm._waiting == {}  # both waiting processes were used
    finally:
        monkeypatch.undo()
        warm.stop()
    assert started_early == fresh
    assert any("E3002" in f for f in fresh[0]) and any(f.check_id == "CKV_AWS_53" for f in fresh[1])
