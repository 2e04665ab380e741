"""Backups: encrypted, locked, covering Aurora and the bucket, and never leaving the jurisdiction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import posture_checks as pc
from config import AppConfig, ConfigError, RegionConfig, load_config, load_config_file
from config.jurisdictions import AWS_REGIONS, DR_COPY_REGION
from stacks.region import stack_name
from tests.config.test_validation import base, region
from tests.conftest import Assembly, only

REGIONS = [r.name for r in load_config_file().regions]


@pytest.fixture(params=REGIONS)
def region_cfg(request: pytest.FixtureRequest, app_config: AppConfig) -> RegionConfig:
    return app_config.region(request.param)


def test_vault_is_encrypted_with_the_backup_key_and_locked(assembly: Assembly, region_cfg: RegionConfig) -> None:
    template = assembly.template(stack_name(region_cfg.name, "data"))
    vault = only(pc.resources(template, "AWS::Backup::BackupVault"))
    assert "backupkeyarn" in str(vault["Properties"]["EncryptionKeyArn"]).lower()
    lock = vault["Properties"]["LockConfiguration"]
    assert lock["MinRetentionDays"] == region_cfg.backup.retention_days
    assert lock["ChangeableForDays"] == region_cfg.backup.vault_lock_changeable_days >= 3
    # Kept on deletion and replacement, but removed when the create that made it rolls back: the
    # vault's name is fixed, so a Retain vault would block the retry of a failed first deploy.
    assert vault["DeletionPolicy"] == "RetainExceptOnCreate"
    assert vault["UpdateReplacePolicy"] == "Retain"


def test_plan_covers_aurora_and_the_bucket_at_the_configured_frequency(
    assembly: Assembly, region_cfg: RegionConfig
) -> None:
    template = assembly.template(stack_name(region_cfg.name, "data"))
    rule = only(pc.resources(template, "AWS::Backup::BackupPlan"))["Properties"]["BackupPlan"]["BackupPlanRule"][0]
    assert rule["ScheduleExpression"] == f"cron(0 0/{region_cfg.backup.frequency_hours} * * ? *)"
    assert rule["Lifecycle"]["DeleteAfterDays"] == region_cfg.backup.retention_days
    assert "CopyActions" not in rule  # off by default
    selection = only(pc.resources(template, "AWS::Backup::BackupSelection"))["Properties"]["BackupSelection"]
    refs = str(selection["Resources"]).lower()
    assert "auroracluster" in refs and "customerdatabucket" in refs


def test_restore_testing_plan_tests_aurora_weekly(assembly: Assembly, region_cfg: RegionConfig) -> None:
    template = assembly.template(stack_name(region_cfg.name, "data"))
    plan = only(pc.resources(template, "AWS::Backup::RestoreTestingPlan"))["Properties"]
    assert plan["RecoveryPointSelection"]["Algorithm"] == "LATEST_WITHIN_WINDOW"
    selection = only(pc.resources(template, "AWS::Backup::RestoreTestingSelection"))["Properties"]
    assert selection["ProtectedResourceType"] == "Aurora"


def test_rds_in_backup_plan_is_acknowledged_only_because_the_cluster_is_selected(
    assembly: Assembly, region_cfg: RegionConfig
) -> None:
    # cdk-nag wants instance logical IDs in a selection; AWS Backup selects Aurora clusters.
    template = assembly.template(stack_name(region_cfg.name, "data"))
    cluster_id = next(iter(pc.resources(template, "AWS::RDS::DBCluster")))
    selection = only(pc.resources(template, "AWS::Backup::BackupSelection"))["Properties"]["BackupSelection"]
    assert any(cluster_id in str(r) for r in selection["Resources"])
    reasons = [
        why
        for entries in assembly.metadata(stack_name(region_cfg.name, "data")).values()
        for e in entries
        if e["type"] == "aws:cdk:acknowledged-rules"
        for rule, why in e["data"].items()
        if "RDSInBackupPlan" in rule
    ]
    assert len(reasons) == 6 and all("cluster is in the region's backup plan selection" in r for r in reasons)


# ------------------------------------------------------------ jurisdiction of copies


def test_copy_to_another_jurisdiction_is_refused_by_config() -> None:
    raw = base()
    region(raw, "eu-west-1")["backup"] = {"dr_copy_region": "us-west-2"}
    with pytest.raises(
        ConfigError,
        match=r"region eu-west-1.backup: field 'dr_copy_region': 'us-west-2' is outside eu-west-1's jurisdiction",
    ):
        load_config(raw, account="123456789012")


def test_copy_to_an_unapproved_region_of_the_same_jurisdiction_is_refused() -> None:
    raw = base()
    region(raw, "eu-west-1")["backup"] = {"dr_copy_region": "eu-west-3"}
    with pytest.raises(ConfigError, match='use "eu-central-1"'):
        load_config(raw, account="123456789012")


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"vault_lock_changeable_days": 2}, "vault_lock_changeable_days"),
        ({"vault_lock_mode": "relaxed"}, "vault_lock_mode"),
        ({"frequency_hours": 5}, "frequency_hours"),
        ({"retention_days": 3}, "retention_days"),
        ({"retention_dayz": 30}, "retention_dayz"),
    ],
)
def test_bad_backup_settings_name_the_field(bad: dict[str, Any], field: str) -> None:
    raw = base()
    region(raw, "us-east-1")["backup"] = bad
    with pytest.raises(ConfigError, match=f"region us-east-1.backup: field '{field}'"):
        load_config(raw, account="123456789012")


def test_every_dr_region_is_in_the_same_jurisdiction() -> None:
    for source, dr in DR_COPY_REGION.items():
        assert AWS_REGIONS[source] is AWS_REGIONS[dr] is not None


def test_enabled_copy_targets_the_in_jurisdiction_dr_vault(tmp_path: Path) -> None:
    from app import build_app

    raw = base()
    raw["region"] = [region(raw, "eu-west-1")]
    raw["region"][0]["backup"] = {"dr_copy_region": "eu-central-1"}
    del raw["delivery"]  # the pipeline with a DR region: tests/stacks/test_cicd.py
    cfg = load_config(raw, account="123456789012")
    app, _ = build_app(cfg, outdir=str(tmp_path), context={"aws:cdk:enable-path-metadata": True})
    app.synth()
    import json

    backup_tpl = json.loads((tmp_path / "trustbase-eu-west-1-data.template.json").read_text())
    rule = only(pc.resources(backup_tpl, "AWS::Backup::BackupPlan"))["Properties"]["BackupPlan"]["BackupPlanRule"][0]
    destination = rule["CopyActions"][0]["DestinationBackupVaultArn"]
    assert ":backup:eu-central-1:" in destination and destination.endswith("backup-vault:trustbase-dr-from-eu-west-1")
    dr_tpl = json.loads((tmp_path / "trustbase-eu-west-1-dr-vault.template.json").read_text())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"]["trustbase-eu-west-1-dr-vault"]["environment"].endswith("/eu-central-1")
    dr_vault = only(pc.resources(dr_tpl, "AWS::Backup::BackupVault"))["Properties"]
    assert dr_vault["LockConfiguration"]["MinRetentionDays"] == 35
    from config import Jurisdiction

    for tpl in (backup_tpl, dr_tpl):
        assert pc.residency_violations(tpl, Jurisdiction.EU) == []
    boundary = only(
        pc.resources(
            json.loads((tmp_path / "trustbase-eu-west-1-keys.template.json").read_text()), "AWS::IAM::ManagedPolicy"
        )
    )
    deny = next(s for s in boundary["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "DenyOtherRegions")
    assert deny["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ["eu-west-1", "eu-central-1"]
