"""Stateless: the deploy pipeline's roles in one region (`trustbase-<region>-cicd`), for the
[delivery] repository, under their own permissions boundary (constructs_lib/delivery.py). The
account's GitHub OIDC provider is in `trustbase-identity`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from constructs import Construct

from config import Delivery, RegionConfig
from constructs_lib.delivery import PipelineRoles
from stacks.base import RegionalStack
from stacks.links import Link, read


class CicdStack(RegionalStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region_config: RegionConfig,
        delivery: Delivery,
        resource_types: Iterable[str],
        identity_stack: bool = False,
        **kwargs: Any,
    ) -> None:
        """`resource_types`: the CloudFormation types of the stacks the region's job deploys, whose
        drift the reader must be able to detect. `identity_stack`: the job also deploys
        trustbase-identity (Identity Center's home region)."""
        super().__init__(scope, construct_id, region_config=region_config, **kwargs)
        dr = region_config.backup.dr_copy_region
        self.roles = PipelineRoles(
            self,
            "Pipeline",
            repository=delivery.github_repository,
            branch=delivery.deploy_branch,
            qualifier=delivery.bootstrap_qualifier,
            resource_types=resource_types,
            alerts_topic_arn=read(self, Link.ALERTS_TOPIC_ARN),
            alerts_key_arn=read(self, Link.AUDIT_KEY_ARN),
            configuration_key_arn=read(self, Link.LIFECYCLE_KEY_ARN),
            deploy_regions=(dr,) if dr else (),
            identity_stack=identity_stack,
        )
