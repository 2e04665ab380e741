"""AWS::Backup::BackupVault and AWS::Backup::BackupPlan: moto has the AWS Backup API but no
CloudFormation models, so a template that references the vault could not deploy at all. These
models create them through moto's Backup API from the template: the vault's key and lock and the
plan's rules read back as this patch wrote them (PATCHED)."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, get_att_error


def _tag_map(tags: Any) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else dict(tags or {})


def _install(undo: Undo) -> None:
    from moto.backup.models import Plan, Vault, backup_backends
    from moto.core.common_models import CloudFormationModel

    class CfnBackupVault(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return "BackupVaultName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Backup::BackupVault"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("BackupVaultName", "BackupVaultArn")

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Vault:
            p = cloudformation_json["Properties"]
            backend = backup_backends[account_id][region_name]
            name = p.get("BackupVaultName") or resource_name
            vault = backend.create_backup_vault(name, _tag_map(p.get("BackupVaultTags")), p.get("EncryptionKeyArn"), "")
            lock = p.get("LockConfiguration")
            if lock:
                backend.put_backup_vault_lock_configuration(
                    name, lock.get("MinRetentionDays"), lock.get("MaxRetentionDays"), lock.get("ChangeableForDays")
                )
            return vault

    class CfnBackupPlan(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Backup::BackupPlan"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("BackupPlanId", "BackupPlanArn", "VersionId")

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Plan:
            p = cloudformation_json["Properties"]
            doc = dict(p["BackupPlan"])
            # CloudFormation says TargetBackupVault where the API says TargetBackupVaultName.
            doc["Rules"] = [
                {("TargetBackupVaultName" if k == "TargetBackupVault" else k): v for k, v in rule.items()}
                for rule in doc.pop("BackupPlanRule")
            ]
            return backup_backends[account_id][region_name].create_backup_plan(
                doc, _tag_map(p.get("BackupPlanTags")), ""
            )

    def vault_attr(self: Any, name: str) -> Any:
        attrs = {"BackupVaultName": self.backup_vault_name, "BackupVaultArn": self.backup_vault_arn}
        if name not in attrs:
            raise get_att_error()
        return attrs[name]

    def plan_attr(self: Any, name: str) -> Any:
        attrs = {
            "BackupPlanId": self.backup_plan_id,
            "BackupPlanArn": self.backup_plan_arn,
            "VersionId": self.version_id,
        }
        if name not in attrs:
            raise get_att_error()
        return attrs[name]

    undo.set(Vault, "physical_resource_id", property(lambda self: self.backup_vault_name))
    undo.set(Vault, "get_cfn_attribute", vault_attr)
    undo.set(Vault, "is_created", lambda self: True)
    undo.set(Plan, "physical_resource_id", property(lambda self: self.backup_plan_id))
    undo.set(Plan, "get_cfn_attribute", plan_attr)
    undo.set(Plan, "is_created", lambda self: True)
    undo.model(CfnBackupVault)
    undo.model(CfnBackupPlan)


PATCHES = (
    Patch(
        "backup.vault-and-plan-models",
        "moto has no CloudFormation models for backup vaults and plans",
        _install,
        frozenset({"backup.vault.cmk", "backup.vault.lock", "backup.plan"}),
        frozenset({"AWS::Backup::BackupVault", "AWS::Backup::BackupPlan"}),
    ),
)
