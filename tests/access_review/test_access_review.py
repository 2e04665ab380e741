"""The access review against moto, with seeded principals: one clean, one stale, one
over-privileged (and an over-privileged user)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from access_review import review, wildcard_actions
from access_review.__main__ import main

ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
SCOPED = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/workspaces/*"}],
    }
)
GREEDY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # AdministratorAccess etc.


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("iam", region_name="eu-west-1")


def backend() -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT]["aws"]


def seed_last_used(role_name: str, when: datetime) -> None:
    """moto has no API to record role use; set it on the emulated role (test seeding only)."""
    next(r for r in backend().roles.values() if r.name == role_name).last_used = when


def seed(iam: Any, *, clean: bool = True, stale: bool = True, greedy: bool = True) -> None:
    now = datetime.now(UTC)
    if clean:
        iam.create_role(RoleName="trustbase-app-eu-west-1", AssumeRolePolicyDocument=TRUST)
        iam.put_role_policy(RoleName="trustbase-app-eu-west-1", PolicyName="scoped", PolicyDocument=SCOPED)
        seed_last_used("trustbase-app-eu-west-1", now - timedelta(days=3))
    if stale:
        iam.create_role(RoleName="old-batch-job", AssumeRolePolicyDocument=TRUST)
        seed_last_used("old-batch-job", now - timedelta(days=200))
    if greedy:
        iam.create_role(RoleName="ops-admin", AssumeRolePolicyDocument=TRUST)
        iam.attach_role_policy(RoleName="ops-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        seed_last_used("ops-admin", now - timedelta(days=1))
        iam.create_user(UserName="contractor")
        iam.put_user_policy(UserName="contractor", PolicyName="everything-s3", PolicyDocument=GREEDY)


def by_name(result: Any) -> dict[str, Any]:
    return {p.name: p for p in result.principals}


def test_clean_role_has_no_violation(iam: Any) -> None:
    seed(iam, stale=False, greedy=False)
    result = review(iam, region="eu-west-1")
    assert by_name(result)["trustbase-app-eu-west-1"].violations == []
    assert result.violations == []


def test_stale_role_is_flagged(iam: Any) -> None:
    seed(iam)
    stale = by_name(review(iam, region="eu-west-1"))["old-batch-job"]
    assert stale.violations == ["unused for 200 days"]


def test_stale_threshold_is_configurable(iam: Any) -> None:
    seed(iam, greedy=False)
    assert by_name(review(iam, region="eu-west-1", stale_days=365))["old-batch-job"].violations == []


def test_never_used_principal_is_stale_after_the_threshold(iam: Any) -> None:
    seed(iam, clean=False, stale=False, greedy=False)
    iam.create_role(RoleName="unused", AssumeRolePolicyDocument=TRUST)
    later = datetime.now(UTC) + timedelta(days=91)
    assert by_name(review(iam, region="eu-west-1", now=later))["unused"].violations == [
        "never used, created 91 days ago"
    ]


def test_over_privileged_role_and_user_are_flagged(iam: Any) -> None:
    seed(iam)
    principals = by_name(review(iam, region="eu-west-1"))
    admin = principals["ops-admin"]
    assert "admin policy attached: AdministratorAccess" in admin.violations
    assert "wildcard grant '*' in AdministratorAccess" in admin.violations
    assert principals["contractor"].violations[0] == "wildcard grant 's3:*' in inline everything-s3"


def test_cli_writes_reports_and_fails_on_violations(
    iam: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(iam)
    assert main(["--region", "eu-west-1", "--out-dir", str(tmp_path)]) == 1
    report = json.loads((tmp_path / "access-review-eu-west-1.json").read_text())
    assert report["violation_count"] == 4
    assert {p["name"] for p in report["principals"]} == {
        "trustbase-app-eu-west-1",
        "old-batch-job",
        "ops-admin",
        "contractor",
    }
    markdown = (tmp_path / "access-review-eu-west-1.md").read_text()
    assert "| role | old-batch-job |" in markdown and "unused for 200 days" in markdown
    assert "VIOLATION arn:aws:iam::123456789012:role/ops-admin" in capsys.readouterr().out


def test_cli_passes_when_everything_is_clean(iam: Any, tmp_path: Path) -> None:
    seed(iam, stale=False, greedy=False)
    assert main(["--region", "eu-west-1", "--out-dir", str(tmp_path)]) == 0


def test_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--region", "eu-wset-1", "--out-dir", str(tmp_path)])
    assert exc.value.code == 2 and "--region 'eu-wset-1' is not a known AWS region" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--region", "eu-west-1", "--stale-days", "0"])


def test_wildcard_detection() -> None:
    assert wildcard_actions({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}) == []
    assert wildcard_actions({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}) == ["*"]
    assert wildcard_actions({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}) == [
        "NotAction"
    ]
    assert wildcard_actions({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}) == []
