"""AWS::SSM::Parameter with Tags: CloudFormation gives a map, moto's put_parameter expects a list
(crash). The value is moto's own: SSM read-backs are PASS."""

from __future__ import annotations

from local_aws.patches.base import Patch, Undo, cfn_tags, wrap_create


def _install(undo: Undo) -> None:
    from moto.ssm.models import Parameter

    wrap_create(undo, Parameter, before=lambda props: {**props, "Tags": cfn_tags(props) or None})


PATCHES = (Patch("ssm.parameter-tags", "SSM parameters with a tag map crash", _install),)
