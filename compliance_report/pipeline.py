"""Change-management evidence read from the pipeline's own definition (the GitHub Actions workflows
in the repository) together with the region's synthesized pipeline roles: what SOC 2 CC8.1 and
ISO 27001 A.8.32 ask, who may deploy, that every change is reviewed and approved before it runs,
and that drift of what runs is detected.

Each check returns its problems (empty: the evidence holds). They judge the definitions, not a run:
a run's history is in GitHub (the plan, the approval, the verify and drift reports it keeps).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from contract import deploy_environment, deployer_role_name, reader_role_name
from posture_checks import predicates

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def _workflow(workflows: Path, name: str) -> dict[Any, Any] | None:
    """The workflow, its `on:` under the key "on" (YAML 1.1 reads the bare word `on` as true)."""
    path = workflows / name
    if not path.is_file():
        return None
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in loaded:
        loaded["on"] = loaded.pop(True)
    return loaded


def _runs(job: Mapping[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job.get("steps", []))


def _trust_problems(roles: Mapping[str, Any], role_name: str, subject: str) -> list[str]:
    role = next((r for r in roles.values() if r.get("Properties", {}).get("RoleName") == role_name), None)
    if role is None:
        return [f"no role {role_name}"]
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    problems = predicates.only_github_oidc(statements)
    subjects = [
        s
        for st in statements
        for s in predicates.as_list(
            ((st.get("Condition") or {}).get("StringEquals") or {}).get("token.actions.githubusercontent.com:sub")
        )
    ]
    if subject not in subjects:
        problems.append(f"{role_name} does not trust {subject}")
    return problems


def deploy_pipeline(roles: Mapping[str, Any], region: str, workflows: Path | None = None) -> list[str]:
    """Only the region's approved environment deploys, region by region, exactly the reviewed plan,
    then verifies; the deployer trusts nothing but that environment's jobs."""
    workflows = workflows or WORKFLOWS
    workflow = _workflow(workflows, "deploy.yml")
    if workflow is None:
        return ["no deploy workflow (.github/workflows/deploy.yml)"]
    jobs = workflow.get("jobs", {})
    deploy, plan = jobs.get("deploy", {}), jobs.get("plan", {})
    problems = []
    environment = deploy.get("environment")
    if isinstance(environment, Mapping):
        environment = environment.get("name")
    if environment != "trustbase-${{ matrix.region }}":
        problems.append("the deploy job does not name the region's environment (its approval)")
    strategy = deploy.get("strategy", {})
    if strategy.get("max-parallel") != 1 or strategy.get("fail-fast") is not True:
        problems.append("regions are not deployed one by one, stopping at the first failure")
    if "-m change_review --deployed" not in _runs(plan) or "plan" not in predicates.as_list(deploy.get("needs")):
        problems.append("no plan against the deployed stacks before the approval")
    if "--expect-digest" not in _runs(deploy):
        problems.append("the deploy does not check that the changes are the approved plan")
    if "-m verify" not in _runs(deploy):
        problems.append("no verify after the deploy")
    text = "\n".join(p.read_text() for p in sorted(workflows.glob("*.yml")))
    if "aws-access-key-id" in text or "aws-secret-access-key" in text:
        problems.append("a workflow uses AWS access keys")
    deployer = deployer_role_name(region)
    subject = f"repo:{_repository(roles, deployer)}:environment:{deploy_environment(region)}"
    return problems + _trust_problems(roles, deployer, subject)


def _repository(roles: Mapping[str, Any], role_name: str) -> str:
    """owner/name from the role's first subject (the repository of [delivery])."""
    for r in roles.values():
        if r.get("Properties", {}).get("RoleName") == role_name:
            for st in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                equals = (st.get("Condition") or {}).get("StringEquals") or {}
                for subject in predicates.as_list(equals.get("token.actions.githubusercontent.com:sub")):
                    return str(subject).split(":")[1]
    return "?"


def change_review(workflows: Path | None = None) -> list[str]:
    """Every pull request is judged with its diff by the target branch's code, without
    credentials for the pull request's own code, and fails on an unapproved stateful change."""
    workflows = workflows or WORKFLOWS
    untrusted = _workflow(workflows, "change-review.yml")
    verdict = _workflow(workflows, "change-review-verdict.yml")
    if untrusted is None or verdict is None:
        return ["no change-review workflows (.github/workflows/change-review.yml and change-review-verdict.yml)"]
    problems = []
    if "pull_request" not in (untrusted.get("on") or {}):
        problems.append("the change is not synthesized on pull requests")
    if untrusted.get("permissions") != {"contents": "read"}:
        problems.append("the pull request's code runs with more than a read-only token")
    if "workflow_run" not in (verdict.get("on") or {}):
        problems.append("the verdict does not run apart from the pull request's code")
    job = verdict.get("jobs", {}).get("verdict", {})
    checkout: dict[str, Any] = next(
        (s for s in job.get("steps", []) if "actions/checkout" in str(s.get("uses", ""))), {}
    )
    if (checkout.get("with") or {}).get("ref") != "${{ steps.pr.outputs.base }}":
        problems.append("the verdict does not run the target branch's code")
    runs = _runs(job)
    if "-m change_review --base" not in runs:
        problems.append("the verdict does not diff the change against the target branch")
    if 'context="trustbase change review"' not in runs:
        problems.append("the verdict sets no commit status for branch protection")
    return problems


def drift_detection(roles: Mapping[str, Any], region: str, workflows: Path | None = None) -> list[str]:
    """A schedule runs drift detection and verify for every region, as the region's reader."""
    workflow = _workflow(workflows or WORKFLOWS, "drift.yml")
    if workflow is None:
        return ["no drift workflow (.github/workflows/drift.yml)"]
    problems = []
    if not (workflow.get("on") or {}).get("schedule"):
        problems.append("drift detection is not scheduled")
    if "-m drift --region" not in "\n".join(_runs(job) for job in workflow.get("jobs", {}).values()):
        problems.append("the scheduled job does not run python -m drift")
    reader = reader_role_name(region)
    if not any(r.get("Properties", {}).get("RoleName") == reader for r in roles.values()):
        problems.append(f"no role {reader} for the drift job")
    return problems
