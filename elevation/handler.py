"""The broker's two Lambda entry points (two functions, so the workflow's role, which may invoke
the steps, can never hand the people's function a forged caller):

- `serve_url`, behind the function URL (AWS_IAM auth; "requestContext.authorizer.iam" is the
  signed caller): POST {"action": "request"|"approve"|"revoke"|"list", ...}. 200 with JSON, 400 for
  a malformed request (naming the field), 403 when the caller may not do it. Anything else: 400.
- `run_step`, invoked only by the workflow: {"step": "grant"|"expire", "request_id": ...}.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from elevation.broker import BadRequest, Broker, Caller, Clients, Refused, Settings

_broker: Broker | None = None


def broker() -> Broker:
    global _broker
    if _broker is None:
        import boto3

        settings = Settings.from_env()
        home = settings.home_region or settings.region
        _broker = Broker(
            settings,
            Clients(
                s3=boto3.client("s3", region_name=settings.region),
                sns=boto3.client("sns", region_name=settings.region),
                sfn=boto3.client("stepfunctions", region_name=settings.region),
                iam=boto3.client("iam"),
                sso_admin=boto3.client("sso-admin", region_name=home),
                identity_store=boto3.client("identitystore", region_name=home),
            ),
        )
    return _broker


def _response(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def serve(b: Broker, event: dict[str, Any]) -> dict[str, Any]:
    """One function URL request."""
    iam = event.get("requestContext", {}).get("authorizer", {}).get("iam") or {}
    if not iam.get("userArn") or not iam.get("userId"):
        return _response(403, {"error": "unsigned request: the function URL requires AWS_IAM (SigV4) auth"})
    caller = Caller(arn=iam["userArn"], user_id=iam["userId"])
    try:
        raw = event.get("body") or "{}"
        body = json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        action = body.get("action")
        if action == "request":
            result: Any = b.request(
                caller,
                elevation=str(body.get("elevation", "")),
                reason=body.get("reason", ""),
                hours=body.get("hours"),
                scope=body.get("scope", ""),
            )
        elif action == "approve":
            result = b.approve(caller, str(body.get("request_id", "")))
        elif action == "revoke":
            result = b.revoke(caller, str(body.get("request_id", "")), str(body.get("reason", "")))
        elif action == "list":
            result = b.list_requests(caller, status=body.get("status"))
        else:
            raise BadRequest(f"action {action!r}: use request, approve, revoke or list")
    except (BadRequest, json.JSONDecodeError, ValueError) as exc:
        return _response(400, {"error": str(exc)})
    except Refused as exc:
        return _response(403, {"error": str(exc)})
    return _response(200, result)


def serve_url(event: dict[str, Any], context: Any = None) -> Any:
    if "requestContext" not in event:
        return _response(400, {"error": "this function serves its function URL only"})
    return serve(broker(), event)


def run_step(event: dict[str, Any], context: Any = None) -> Any:
    if "requestContext" in event:
        raise ValueError("this function runs workflow steps only")
    return step(broker(), event)


def step(b: Broker, event: dict[str, Any]) -> Any:
    """One workflow step."""
    name = event.get("step")
    if name == "grant":
        return b.grant(str(event["request_id"]))
    if name == "expire":
        return b.expire(str(event["request_id"]))
    raise ValueError(f"unknown workflow step {name!r}")
