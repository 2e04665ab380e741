from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from config import AccessConfig, RegionConfig


class RegionalStack(Stack):
    """A stack of one configured region.

    Its AZs come from config, never from a lookup: CDK reads `Stack.availability_zones`
    (for example to validate a VPC's AZs), which for an env-specific stack would otherwise
    be a context lookup needing AWS credentials at synth time.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region_config: RegionConfig,
        access: AccessConfig | None = None,
        organization_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.region_config = region_config
        self._access = access
        # Read by constructs_lib.perimeter: the resource and endpoint perimeters' "inside".
        self.organization_id = organization_id
        super().__init__(scope, construct_id, **kwargs)

    @property
    def access(self) -> AccessConfig:
        """The account's [access] config (how people sign in and elevate)."""
        if self._access is None:
            raise ValueError(f"{self.node.id} was built without the [access] config")
        return self._access

    @property
    def availability_zones(self) -> list[str]:
        return list(self.region_config.availability_zones)
