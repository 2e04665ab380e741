"""Supply-chain hygiene of the CI definitions: every GitHub Action pinned by a full commit SHA (a
tag can be moved to other code), and the online vulnerability audits kept out of `.ci/run`, which
must pass on a machine without them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _uses() -> list[str]:
    found = []
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            found += [step["uses"] for step in job.get("steps", []) if "uses" in step]
    return found


def test_every_action_is_pinned_by_commit_sha() -> None:
    uses = _uses()
    assert len(uses) >= 3
    unpinned = [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u)]
    assert unpinned == []


def test_the_audits_run_in_github_actions_and_not_in_the_offline_ci() -> None:
    workflow = "\n".join(p.read_text() for p in WORKFLOWS)
    audited = set(re.findall(r"pip-audit --requirement (\S+)", workflow))
    assert audited == {"requirements.lock", "requirements-checkov.lock", "lifecycle/requirements.txt"}, audited
    assert "npm audit" in workflow
    offline = (ROOT / ".ci" / "run").read_text() + (ROOT / "Makefile").read_text()
    assert "pip-audit" not in offline and "npm audit" not in offline


def test_pre_commit_runs_the_projects_own_linters() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert [h["entry"].split()[0] for h in hooks] == [".venv/bin/ruff", ".venv/bin/ruff", ".venv/bin/mypy"]
