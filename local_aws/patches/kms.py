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


def _install_conditions(undo: Undo) -> None:
    """moto's key-policy check applies a Deny whatever its Condition says (it evaluates no
    condition), so the perimeter's "Deny kms:* unless aws:PrincipalAccount is this account" denies
    this account too, DescribeKey included. The patch skips Deny statements that carry a
    Condition: moto then enforces neither side of them. What such a Deny does is proved offline by
    the access-path evaluator (tests/access_paths, the planted-defect tests), not by the emulator."""
    from moto.kms import policy_validator

    original = policy_validator.check_statement

    def check_statement(statement: dict[str, Any], resource: str, action: str) -> bool:
        if statement.get("Effect", "").lower() == "deny" and statement.get("Condition"):
            return False
        return bool(original(statement, resource, action))

    undo.set(policy_validator, "check_statement", check_statement)


PATCHES = (
    Patch("kms.key-tags-and-policy", "KMS keys with tags or a policy document crash", _install),
    Patch("kms.conditional-deny", "moto applies a key policy's conditional Deny unconditionally", _install_conditions),
)
