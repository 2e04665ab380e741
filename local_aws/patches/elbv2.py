"""Application Load Balancer pieces in moto 5.2.5:

- AWS::ElasticLoadBalancingV2::Listener: ListenerAttributes (where HSTS is set) were dropped; the
  HSTS read-back is therefore PATCHED. The TLS policy and actions are moto's own (PASS).
- AWS::ElasticLoadBalancingV2::LoadBalancer: LoadBalancerAttributes (access logs, invalid-header
  dropping, deletion protection) were dropped; their read-back is PATCHED.
- AWS::ElasticLoadBalancingV2::TargetGroup: no GetAtt at all (AttributeError), so an alarm on the
  target group's TargetGroupFullName could not deploy.
"""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, get_att_error, wrap_create


def _install_listener(undo: Undo) -> None:
    from moto.elbv2.models import FakeListener

    def after(listener: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        for attr in props.get("ListenerAttributes", []):
            listener.attributes[attr["Key"]] = str(attr["Value"])

    wrap_create(undo, FakeListener, after=after)


def _install_load_balancer(undo: Undo) -> None:
    from moto.elbv2.models import FakeLoadBalancer

    def after(balancer: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        for attr in props.get("LoadBalancerAttributes", []):
            balancer.attrs[attr["Key"]] = str(attr["Value"]).lower()

    wrap_create(undo, FakeLoadBalancer, after=after)


def _install_target_group(undo: Undo) -> None:
    from moto.elbv2.models import FakeTargetGroup

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        attrs = {
            "TargetGroupArn": self.arn,
            "TargetGroupName": self.name,
            "TargetGroupFullName": self.arn.split(":", 5)[-1],  # targetgroup/<name>/<id>
            "LoadBalancerArns": list(getattr(self, "load_balancer_arns", [])),
        }
        if attribute_name not in attrs:
            raise get_att_error()
        return attrs[attribute_name]

    undo.set(FakeTargetGroup, "get_cfn_attribute", get_cfn_attribute)


PATCHES = (
    Patch(
        "elbv2.listener-attributes",
        "listener attributes (HSTS) are dropped",
        _install_listener,
        frozenset({"elbv2.hsts"}),
    ),
    Patch(
        "elbv2.load-balancer-attributes",
        "load balancer attributes (access logs, header dropping) are dropped",
        _install_load_balancer,
        frozenset({"elbv2.load_balancer.attributes"}),
    ),
    Patch(
        "elbv2.target-group-attributes",
        "target groups have no GetAtt",
        _install_target_group,
        types=frozenset({"AWS::ElasticLoadBalancingV2::TargetGroup"}),
    ),
)
