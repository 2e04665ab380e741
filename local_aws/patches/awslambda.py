"""AWS::Lambda::Function: moto's model dropped the environment's CMK (KmsKeyArn) and the tracing
mode; this patch sets them from the template, so those read-backs are PATCHED. Runtime and VPC
placement are moto's own (PASS)."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create


def _install(undo: Undo) -> None:
    from moto.awslambda.models import LambdaFunction

    def after(fn: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        fn.kms_key_arn = props.get("KmsKeyArn")
        fn.tracing_config = props.get("TracingConfig") or {"Mode": "PassThrough"}

    wrap_create(undo, LambdaFunction, after=after)


PATCHES = (
    Patch("lambda.cmk-and-tracing", "function environment CMK and tracing mode are dropped", _install,
          frozenset({"lambda.cmk", "lambda.tracing"})),
)  # fmt: skip
