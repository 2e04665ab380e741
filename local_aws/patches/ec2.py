"""AWS::EC2::SecurityGroupIngress: moto creates the rule but gives it no physical ID, so it cannot
be told apart from a skipped resource. It gets one (group/protocol/from/to/source) to verify by;
the rule itself is moto's, read back from describe_security_groups (PASS)."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo


def _install(undo: Undo) -> None:
    from moto.ec2.models.security_groups import SecurityGroupIngress

    def physical_resource_id(self: Any) -> str:
        p = self.properties
        source = p.get("SourceSecurityGroupId") or p.get("CidrIp") or p.get("CidrIpv6") or ""
        return "/".join(
            str(x) for x in (self.security_group.id, p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"), source)
        )

    undo.set(SecurityGroupIngress, "physical_resource_id", property(physical_resource_id))


PATCHES = (Patch("ec2.ingress-physical-id", "security group ingress rules have no physical ID", _install),)
