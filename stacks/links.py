"""Values shared between a region's stacks go through SSM parameters, not CloudFormation
exports: a consumer can then stop using a value without the "deadly embrace" that
blocks removing an export. Reading one is a deploy-time SSM parameter, not a synth-time
lookup, so synth stays offline.
"""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from contract import PARAMETER_ROOT, Link

__all__ = ["PARAMETER_ROOT", "Link", "publish", "publish_list", "read", "read_list"]


def publish(scope: Construct, link: Link, value: str) -> ssm.StringParameter:
    return ssm.StringParameter(
        scope,
        f"Link-{link.name}",
        parameter_name=link.parameter_name,
        string_value=value,
        description=f"trustbase cross-stack link {link.value}",
    )


def publish_list(scope: Construct, link: Link, values: list[str]) -> ssm.StringParameter:
    return publish(scope, link, Fn.join(",", values))


def read(scope: Construct, link: Link) -> str:
    return ssm.StringParameter.value_for_string_parameter(scope, link.parameter_name)


def read_list(scope: Construct, link: Link, length: int) -> list[str]:
    return Fn.split(",", read(scope, link), length)
