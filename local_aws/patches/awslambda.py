"""AWS::Lambda::Function: moto's model dropped the environment's CMK (KmsKeyArn) and the tracing
mode; this patch sets them from the template, so those read-backs are PATCHED. Runtime and VPC
placement are moto's own (PASS).

AWS::Lambda::Url: moto has the function-URL API (CreateFunctionUrlConfig) but no CloudFormation
model, and a stack that reads the URL (GetAtt FunctionUrl) crashes moto's parser. The model below
calls moto's own API with the template's AuthType, so `lambda.url_auth` reads back PATCHED."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create


def _install(undo: Undo) -> None:
    from moto.awslambda.models import LambdaFunction

    def after(fn: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        fn.kms_key_arn = props.get("KmsKeyArn")
        fn.tracing_config = props.get("TracingConfig") or {"Mode": "PassThrough"}

    wrap_create(undo, LambdaFunction, after=after)


def _install_url(undo: Undo) -> None:
    from moto.awslambda.models import FunctionUrlConfig, lambda_backends
    from moto.core.common_models import CloudFormationModel

    class CfnFunctionUrl(CloudFormationModel):
        """Creates moto's own FunctionUrlConfig (returned to the stack, so no instance of this
        class outlives the patch) with what CloudFormation asks of a resource."""

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Lambda::Url"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("FunctionUrl", "FunctionArn")

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> FunctionUrlConfig:
            p = cloudformation_json["Properties"]
            function = lambda_backends[account_id][region_name].get_function(str(p["TargetFunctionArn"]))
            url = function.create_url_config(
                {"AuthType": p["AuthType"], "Cors": p.get("Cors"), "InvokeMode": p.get("InvokeMode")}
            )
            arn = function.function_arn
            url.is_created = lambda: True  # type: ignore[attr-defined]
            url.physical_resource_id = arn  # type: ignore[attr-defined]
            url.get_cfn_attribute = lambda attr: url.url if attr == "FunctionUrl" else arn  # type: ignore[attr-defined]
            return url

    undo.model(CfnFunctionUrl)


PATCHES = (
    Patch(
        "lambda.cmk-and-tracing",
        "function environment CMK and tracing mode are dropped",
        _install,
        frozenset({"lambda.cmk", "lambda.tracing"}),
    ),
    Patch(
        "lambda.function-url",
        "no CloudFormation model for AWS::Lambda::Url (GetAtt FunctionUrl crashes the stack)",
        _install_url,
        frozenset({"lambda.url_auth"}),
        frozenset({"AWS::Lambda::Url"}),
    ),
)
