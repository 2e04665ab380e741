"""EC2 networking in moto 5.2.5:

- AWS::EC2::SecurityGroupIngress: the rule is created but has no physical ID, so it cannot be told
  apart from a skipped resource. It gets one (group/protocol/from/to/source); the rule itself is
  moto's, read back from describe_security_groups (PASS).
- AWS::EC2::SecurityGroup: SecurityGroupEgress is ignored, the default allow-all egress rule stays,
  and AWS::EC2::SecurityGroupEgress has no model at all. AWS adds the allow-all rules only "if you do
  not add egress rules" (AWS::EC2::SecurityGroup reference), and CloudFormation strips the default
  outbound rule when a standalone egress rule is added to the group (aws-cdk PR #998, which is why
  CDK tracks allowAllOutbound). So every group CDK closed showed "egress to 0.0.0.0/0" in moto. This
  patch does what CloudFormation does: declared rules replace the default ones. The groups' egress
  and the standalone egress rules' read-backs are therefore PATCHED.
- AWS::EC2::SubnetRouteTableAssociation: moto records the association where describe_route_tables
  never shows it, with the route table's ID as physical ID. This patch associates through moto's
  route-table API (an rtbassoc- ID, as on AWS); the association read-back is PATCHED.
- AWS::EC2::VPCEndpoint: the policy document is stored as a Python dict's repr, which no JSON
  reader can parse; this patch stores it as JSON (the policy read-back is PATCHED).
"""

from __future__ import annotations

import json
from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create


def _install_ingress_id(undo: Undo) -> None:
    from moto.ec2.models.security_groups import SecurityGroupIngress

    def physical_resource_id(self: Any) -> str:
        p = self.properties
        source = p.get("SourceSecurityGroupId") or p.get("CidrIp") or p.get("CidrIpv6") or ""
        return "/".join(
            str(x) for x in (self.security_group.id, p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"), source)
        )

    undo.set(SecurityGroupIngress, "physical_resource_id", property(physical_resource_id))


def _strip_default_egress(group: Any) -> None:
    """Remove the allow-all rules moto added when it created the group (CloudFormation does not
    keep them once the template declares any egress rule for the group)."""
    defaults: set[str] = getattr(group, "trustbase_default_egress", set())
    group.egress_rules = [r for r in group.egress_rules if r.id not in defaults]
    group.trustbase_default_egress = set()


def _authorize_egress(backend: Any, group_id: str, rule: dict[str, Any], vpc_id: Any) -> None:
    peer = rule.get("DestinationSecurityGroupId")
    prefix_list = rule.get("DestinationPrefixListId")
    backend.authorize_security_group_egress(
        group_name_or_id=group_id,
        ip_protocol=str(rule["IpProtocol"]),
        from_port=rule.get("FromPort"),
        to_port=rule.get("ToPort"),
        ip_ranges=[{"CidrIp": rule["CidrIp"]}] if rule.get("CidrIp") else [],
        source_groups=[{"GroupId": peer}] if peer else [],
        prefix_list_ids=[{"PrefixListId": prefix_list}] if prefix_list else [],
        vpc_id=vpc_id,
    )


def _install_group_egress(undo: Undo) -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.security_groups import SecurityGroup

    def after(group: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        group.trustbase_default_egress = {r.id for r in group.egress_rules}
        if "SecurityGroupEgress" not in props:
            return
        _strip_default_egress(group)
        backend = ec2_backends[account_id][region_name]
        for rule in props["SecurityGroupEgress"]:
            _authorize_egress(backend, group.id, rule, props.get("VpcId"))

    wrap_create(undo, SecurityGroup, after=after)

    class EgressRule:
        def __init__(self, physical: str) -> None:
            self.physical_resource_id = physical

        def is_created(self) -> bool:
            return True

    class CfnSecurityGroupEgress(CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::EC2::SecurityGroupEgress"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> EgressRule:
            p = cloudformation_json["Properties"]
            backend = ec2_backends[account_id][region_name]
            group = backend.get_security_group_by_name_or_id(p["GroupId"], None)
            if group is None:
                raise ValueError(f"AWS::EC2::SecurityGroupEgress: no security group {p['GroupId']}")
            _strip_default_egress(group)
            _authorize_egress(backend, group.id, p, group.vpc_id)
            peer = (
                p.get("CidrIp")
                or p.get("CidrIpv6")
                or p.get("DestinationSecurityGroupId")
                or p.get("DestinationPrefixListId")
            )
            return EgressRule(
                "/".join(str(x) for x in (group.id, p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"), peer))
            )

    undo.model(CfnSecurityGroupEgress)


def _install_route_association(undo: Undo) -> None:
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.subnets import SubnetRouteTableAssociation

    def create(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        association = SubnetRouteTableAssociation(p["RouteTableId"], p["SubnetId"])  # type: ignore[abstract]
        association.association_id = backend.associate_route_table(p["RouteTableId"], subnet_id=p["SubnetId"])  # type: ignore[attr-defined]
        return association

    undo.set(SubnetRouteTableAssociation, "create_from_cloudformation_json", classmethod(create))
    undo.set(
        SubnetRouteTableAssociation,
        "physical_resource_id",
        property(lambda self: getattr(self, "association_id", self.route_table_id)),
    )


def _install_endpoint_policy(undo: Undo) -> None:
    from moto.ec2.models.vpcs import VPCEndPoint

    def before(props: dict[str, Any]) -> dict[str, Any]:
        policy = props.get("PolicyDocument")
        return {**props, "PolicyDocument": json.dumps(policy) if isinstance(policy, dict) else policy}

    wrap_create(undo, VPCEndPoint, before=before)


PATCHES = (
    Patch("ec2.ingress-physical-id", "security group ingress rules have no physical ID", _install_ingress_id),
    Patch(
        "ec2.security-group-egress",
        "declared egress rules are ignored and the default allow-all rule stays",
        _install_group_egress,
        frozenset({"ec2.security_group", "ec2.egress_rule"}),
        frozenset({"AWS::EC2::SecurityGroupEgress"}),
    ),
    Patch(
        "ec2.route-table-association",
        "subnet route table associations are invisible to describe_route_tables",
        _install_route_association,
        frozenset({"ec2.route_association"}),
        frozenset({"AWS::EC2::SubnetRouteTableAssociation"}),
    ),
    Patch(
        "ec2.vpc-endpoint-policy",
        "VPC endpoint policies are stored as a Python repr, not JSON",
        _install_endpoint_policy,
        frozenset({"ec2.vpc_endpoint"}),
    ),
)
