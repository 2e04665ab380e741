"""AWS::Logs::LogGroup: moto reads `kmsKeyId` where CloudFormation says `KmsKeyId`, so the CMK
was silently lost. The group's CMK read-back is therefore PATCHED; its retention is moto's own."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create


def _install(undo: Undo) -> None:
    from moto.logs.models import LogGroup

    def before(props: dict[str, Any]) -> dict[str, Any]:
        return {("kmsKeyId" if k == "KmsKeyId" else k): v for k, v in props.items()}

    wrap_create(undo, LogGroup, before=before)


PATCHES = (Patch("logs.log-group-cmk", "log groups lose their KmsKeyId", _install, frozenset({"logs.cmk"})),)
