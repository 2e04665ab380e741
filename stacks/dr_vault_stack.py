from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from config import RegionConfig
from constructs_lib.backup import LockedVault
from constructs_lib.keys import DataClass, DataKey
from contract import dr_vault_name


class DrVaultStack(Stack):
    """Stateful, in the source region's in-jurisdiction DR region (its `env`): the vault that
    receives backup copies, with its own CMK and the same Vault Lock. Only when configured.
    Not a RegionalStack: it lives outside the source region and has no VPC, so no AZs."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, termination_protection=True, **kwargs)
        key = DataKey(self, "BackupKey", data_class=DataClass.BACKUP, dr_copy_of=region_config.name)
        self.vault = LockedVault(
            self, "Vault", name=dr_vault_name(region_config.name), encryption_key=key.key, cfg=region_config.backup
        ).vault
