from __future__ import annotations

from typing import Any

from constructs import Construct

from config import RegionConfig, offered_elevations
from constructs_lib.iam import PermissionsBoundaryPolicy
from constructs_lib.keys import DataClass, DataKey
from contract import IdentitySource, elevation_role_name
from stacks.base import RegionalStack
from stacks.links import Link, publish

_LINKS = {
    DataClass.DATABASE: Link.DATABASE_KEY_ARN,
    DataClass.OBJECTS: Link.OBJECTS_KEY_ARN,
    DataClass.LOGS: Link.LOGS_KEY_ARN,
    DataClass.AUDIT: Link.AUDIT_KEY_ARN,
    DataClass.BACKUP: Link.BACKUP_KEY_ARN,
    DataClass.LIFECYCLE: Link.LIFECYCLE_KEY_ARN,
}


class KeysStack(RegionalStack):
    """Stateful: the region's CMKs (one per data class) and the IAM permissions boundary."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, termination_protection=True, **kwargs)
        self.keys = {dc: DataKey(self, f"{dc.value.capitalize()}Key", data_class=dc) for dc in DataClass}
        for dc, key in self.keys.items():
            publish(self, _LINKS[dc], key.key.key_arn)
        dr = region_config.backup.dr_copy_region
        access = self.access
        fallback = access.identity_source is IdentitySource.SAML
        self.boundary = PermissionsBoundaryPolicy(
            self,
            "PermissionsBoundary",
            extra_regions=(dr,) if dr else (),
            identity_center_region=access.home_region if not fallback else None,
            # the elevation workflow opens and closes exactly these roles' trust (elevation.trust)
            elevation_roles=tuple(
                f"arn:{self.partition}:iam::{self.account}:role/{elevation_role_name(self.region, e)}"
                for e in offered_elevations(access, region_config)
            ),
        )
