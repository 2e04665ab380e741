"""AWS::StepFunctions::StateMachine: logging, tracing and CMK encryption were dropped by moto's
model; this patch sets them from the template, so their read-backs are PATCHED."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create


def cfn_to_api(value: Any) -> Any:
    """CloudFormation's PascalCase keys -> the Step Functions API's camelCase keys."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: cfn_to_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cfn_to_api(v) for v in value]
    return value


def _install(undo: Undo) -> None:
    from moto.stepfunctions.models import StateMachine

    def after(machine: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        if props.get("LoggingConfiguration"):
            machine.loggingConfiguration = cfn_to_api(props["LoggingConfiguration"])
        if props.get("TracingConfiguration"):
            machine.tracingConfiguration = cfn_to_api(props["TracingConfiguration"])
        if props.get("EncryptionConfiguration"):
            machine.encryptionConfiguration = cfn_to_api(props["EncryptionConfiguration"])

    wrap_create(undo, StateMachine, after=after)


PATCHES = (
    Patch(
        "stepfunctions.state-machine-settings",
        "state machine logging, tracing and encryption are dropped",
        _install,
        frozenset({"sfn.cmk", "sfn.logging", "sfn.tracing"}),
    ),
)
