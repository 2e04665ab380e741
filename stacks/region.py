"""One region = eight stacks: keys -> network -> data -> (migrations | audit); audit -> (edge |
detection); (edge, migrations) -> lifecycle; plus a DR vault stack in the jurisdiction's DR region
when backup copies are on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypedDict

from aws_cdk import CfnResource, Environment, Stack, Tags
from constructs import Construct

from config import AccessConfig, AppConfig, RegionConfig
from contract import CICD_PART, STACK_PARTS, STATEFUL_PARTS, stack_name
from stacks.audit_stack import AuditStack
from stacks.cicd_stack import CicdStack
from stacks.data_stack import DataStack
from stacks.detection_stack import DetectionStack
from stacks.dr_vault_stack import DrVaultStack
from stacks.edge_stack import EdgeStack
from stacks.identity_stack import identity_resource_types
from stacks.keys_stack import KeysStack
from stacks.lifecycle_stack import LifecycleStack
from stacks.migrations_stack import MigrationsStack
from stacks.network_stack import NetworkStack

__all__ = ["STACK_PARTS", "STATEFUL_PARTS", "RegionStacks", "add_region", "stack_name"]


class StackArgs(TypedDict):
    """The typed keyword arguments every regional stack takes (RegionalStack and aws_cdk.Stack)."""

    env: Environment
    region_config: RegionConfig
    access: AccessConfig
    organization_id: str | None
    description: str
    stack_name: str


@dataclass(frozen=True)
class RegionStacks:
    keys: KeysStack
    network: NetworkStack
    data: DataStack
    migrations: MigrationsStack
    edge: EdgeStack
    audit: AuditStack
    detection: DetectionStack
    lifecycle: LifecycleStack
    dr_vault: DrVaultStack | None
    cicd: CicdStack | None = None

    def all(self) -> tuple[Stack, ...]:
        stacks = (
            self.keys,
            self.network,
            self.data,
            self.migrations,
            self.edge,
            self.audit,
            self.detection,
            self.lifecycle,
        )
        return stacks + tuple(s for s in (self.dr_vault, self.cicd) if s is not None)


def add_region(scope: Construct, app_config: AppConfig, region_config: RegionConfig) -> RegionStacks:
    env = Environment(account=app_config.account, region=region_config.name)  # explicit env: 3 AZs, no lookups

    def kw(part: str, what: str) -> StackArgs:
        return {
            "env": env,
            "region_config": region_config,
            "access": app_config.access,
            "organization_id": app_config.perimeter.organization_id,
            "description": f"trustbase {what} ({region_config.name}, jurisdiction {region_config.jurisdiction.value})",
            "stack_name": stack_name(region_config.name, part),
        }

    keys = KeysStack(scope, stack_name(region_config.name, "keys"), **kw("keys", "KMS keys and IAM boundary"))
    network = NetworkStack(scope, stack_name(region_config.name, "network"), **kw("network", "network"))
    data = DataStack(scope, stack_name(region_config.name, "data"), **kw("data", "stateful data"))
    migrations = MigrationsStack(
        scope,
        stack_name(region_config.name, "migrations"),
        **kw("migrations", "database migrations at deploy time"),
    )
    edge = EdgeStack(scope, stack_name(region_config.name, "edge"), **kw("edge", "public edge"))
    audit = AuditStack(scope, stack_name(region_config.name, "audit"), **kw("audit", "audit trail"))
    detection = DetectionStack(
        scope,
        stack_name(region_config.name, "detection"),
        **kw("detection", "detection and access"),
    )
    lifecycle = LifecycleStack(
        scope,
        stack_name(region_config.name, "lifecycle"),
        **kw("lifecycle", "data lifecycle: retention and GDPR erasure"),
    )
    dr_vault = None
    if region_config.backup.dr_copy_region:
        dr = region_config.backup.dr_copy_region
        dr_vault = DrVaultStack(
            scope,
            stack_name(region_config.name, "dr-vault"),
            region_config=region_config,
            env=Environment(account=app_config.account, region=dr),
            stack_name=stack_name(region_config.name, "dr-vault"),
            description=f"trustbase backup copies of {region_config.name} in {dr} (same jurisdiction)",
        )
        data.add_stack_dependency(dr_vault)
    network.add_stack_dependency(keys)
    data.add_stack_dependency(network)
    edge.add_stack_dependency(audit)  # FIS stop alarms notify the audit stack's alerts topic
    audit.add_stack_dependency(data)
    migrations.add_stack_dependency(data)
    lifecycle.add_stack_dependency(migrations)  # its functions log in as a user the migrations create
    detection.add_stack_dependency(audit)
    lifecycle.add_stack_dependency(audit)  # reads data, network, keys and audit links
    lifecycle.add_stack_dependency(edge)  # the DSAR submitter's trust names the edge stack's app role
    stacks = RegionStacks(
        keys=keys,
        network=network,
        data=data,
        migrations=migrations,
        edge=edge,
        audit=audit,
        detection=detection,
        lifecycle=lifecycle,
        dr_vault=dr_vault,
    )
    if app_config.delivery is not None:
        # The reader must read every resource type of the stacks the region's job deploys for drift
        # detection: the region's (the DR vault's included) and, in the home region, the identity
        # stack's, which app.py builds after the regions (its types follow from [access] and [delivery]).
        types = {c.cfn_resource_type for s in stacks.all() for c in s.node.find_all() if isinstance(c, CfnResource)}
        home = region_config.name == app_config.access.home_region
        if home:
            types |= set(identity_resource_types(app_config))
        cicd = CicdStack(
            scope,
            stack_name(region_config.name, CICD_PART),
            delivery=app_config.delivery,
            resource_types=sorted(types),
            identity_stack=home,
            **kw(CICD_PART, "deploy pipeline roles, GitHub OIDC"),
        )
        cicd.add_stack_dependency(audit)  # the alerts topic and its key, through SSM links
        stacks = dataclasses.replace(stacks, cicd=cicd)
    for stack in stacks.all():
        Tags.of(stack).add("trustbase:jurisdiction", region_config.jurisdiction.value)
        Tags.of(stack).add("trustbase:region", region_config.name)
    for stack in (keys, data, audit):  # STATEFUL_PARTS
        Tags.of(stack).add("trustbase:stateful", "true")
    return stacks
