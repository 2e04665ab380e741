from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from config import RegionConfig


class RegionalStack(Stack):
    """A stack of one configured region.

    Its AZs come from config, never from a lookup: CDK reads `Stack.availability_zones`
    (for example to validate a VPC's AZs), which for an env-specific stack would otherwise
    be a context lookup needing AWS credentials at synth time.
    """

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        self.region_config = region_config
        super().__init__(scope, construct_id, **kwargs)

    @property
    def availability_zones(self) -> list[str]:
        return list(self.region_config.availability_zones)
