"""AWS::Logs::LogGroup in moto 5.2.5:

- moto reads `kmsKeyId` where CloudFormation says `KmsKeyId`, so the CMK was silently lost. The
  group's CMK read-back is therefore PATCHED; its retention is moto's own.
- `Fn::GetAtt <group>.Arn` gave `arn:...:log-group:<name>`; CloudFormation documents it with a
  trailing `:*` (AWS::Logs::LogGroup return values). Policies that grant on a group's ARN then held
  another resource than on AWS. This patch returns the documented form; a value taken from it (an
  IAM policy's Resource) is PATCHED.
"""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create


def _install(undo: Undo) -> None:
    from moto.logs.models import LogGroup

    def before(props: dict[str, Any]) -> dict[str, Any]:
        return {("kmsKeyId" if k == "KmsKeyId" else k): v for k, v in props.items()}

    wrap_create(undo, LogGroup, before=before)


def _install_arn(undo: Undo) -> None:
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" and not str(value).endswith(":*") else value

    undo.set(LogGroup, "get_cfn_attribute", get_cfn_attribute)


PATCHES = (
    Patch("logs.log-group-cmk", "log groups lose their KmsKeyId", _install, frozenset({"logs.cmk"})),
    Patch(
        "logs.log-group-arn",
        "a log group's GetAtt Arn lacks the documented trailing :*",
        _install_arn,
        types=frozenset({"AWS::Logs::LogGroup"}),
    ),
)
