"""AWS::KMS::Key: moto passes CloudFormation's Tags [{Key, Value}] to create_key, which expects
[{TagKey, TagValue}] (KeyError 'TagKey'), and stores KeyPolicy as a dict, so every later KMS call
crashes in moto's policy validator (json.loads of a dict). Only the spelling changes: rotation,
spec and policy are moto's own, so their read-backs are PASS, not PATCHED."""

from __future__ import annotations

import json
from typing import Any

from local_aws.patches.base import Patch, Undo, cfn_tags, wrap_create


def _install(undo: Undo) -> None:
    from moto.kms.models import Key

    def before(props: dict[str, Any]) -> dict[str, Any]:
        policy = props.get("KeyPolicy")
        return {
            **props,
            "Tags": [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in cfn_tags(props)],
            "KeyPolicy": json.dumps(policy) if isinstance(policy, dict) else policy,
        }

    wrap_create(undo, Key, before=before)


PATCHES = (Patch("kms.key-tags-and-policy", "KMS keys with tags or a policy document crash", _install),)
