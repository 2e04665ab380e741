"""The elevation CLI: talks to the region's broker (its function URL), signed with your session.

    python -m elevation --url <broker URL> --region eu-west-1 request customer-data-read \
        --hours 2 --reason "INC-4711: customer reports missing attachments" --scope workspace/<id>
    python -m elevation --url ... --region eu-west-1 list [--status pending]
    python -m elevation --url ... --region eu-west-1 approve <request id>
    python -m elevation --url ... --region eu-west-1 revoke <request id> [--reason ...]

Sign in first through the identity provider (`aws sso login` with the requester or approver
permission set, or your SAML tool): the broker knows you only from the signature.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from config import AWS_REGIONS

Transport = Callable[[dict[str, Any]], tuple[int, Any]]


def signed_transport(url: str, region: str) -> Transport:
    """POST the body to the function URL, SigV4-signed for the `lambda` service with the caller's
    current credentials (Lambda developer guide, "Control access to Lambda function URLs")."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session(region_name=region).get_credentials()
    if credentials is None:
        raise SystemExit("no AWS credentials: sign in through the identity provider first (aws sso login)")

    def send(body: dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        request = AWSRequest(method="POST", url=url, data=data, headers={"content-type": "application/json"})
        SigV4Auth(credentials.get_frozen_credentials(), "lambda", region).add_auth(request)
        http = urllib.request.Request(url, data=data, headers=dict(request.headers.items()), method="POST")
        try:
            with urllib.request.urlopen(http, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    return send


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m elevation", description="Ask for, approve, revoke and list elevations.")
    p.add_argument(
        "--url",
        default=os.environ.get("TRUSTBASE_ELEVATION_URL"),
        help="the region's broker function URL (stack output ElevationBrokerUrl); or TRUSTBASE_ELEVATION_URL",
    )
    p.add_argument("--region", required=True, help="the region whose data the elevation is for, e.g. eu-west-1")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("request", help="ask for an elevation")
    r.add_argument("elevation", help="e.g. customer-data-read or database-operator")
    r.add_argument("--hours", type=int, required=True, help="how long, at most the configured maximum")
    r.add_argument("--reason", required=True, help="why: the ticket or incident and the need")
    r.add_argument("--scope", default="", help="what the work concerns, e.g. workspace/<id>")
    a = sub.add_parser("approve", help="approve someone else's request")
    a.add_argument("request_id")
    v = sub.add_parser("revoke", help="end an elevation now")
    v.add_argument("request_id")
    v.add_argument("--reason", default="")
    ls = sub.add_parser("list", help="list the region's elevations")
    ls.add_argument("--status", choices=["pending", "approved", "granted", "refused", "revoked", "expired"])
    return p


def body_of(args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "request":
        return {
            "action": "request",
            "elevation": args.elevation,
            "hours": args.hours,
            "reason": args.reason,
            "scope": args.scope,
        }
    if args.command in ("approve", "revoke"):
        body = {"action": args.command, "request_id": args.request_id}
        if args.command == "revoke":
            body["reason"] = args.reason
        return body
    return {"action": "list", **({"status": args.status} if args.status else {})}


def main(argv: list[str] | None = None, transport: Transport | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.region not in AWS_REGIONS:
        p.error(f"--region {args.region!r} is not a known AWS region (e.g. us-east-1, eu-west-1, ap-southeast-2)")
    if args.command == "request" and len(args.reason.strip()) < 10:
        p.error("--reason: say why in at least 10 characters (the ticket or incident, and the need)")
    if transport is None:
        if not args.url or not args.url.startswith("https://"):
            p.error(
                "--url: give the broker's https:// function URL (stack output ElevationBrokerUrl) "
                "or set TRUSTBASE_ELEVATION_URL"
            )
        transport = signed_transport(args.url, args.region)
    status, result = transport(body_of(args))
    if status != 200:
        print(f"refused ({status}): {result.get('error') if isinstance(result, dict) else result}", file=sys.stderr)
        return 1
    if args.command == "list":
        for item in result:
            print(
                f"{item['request_id']}  {item['status']:<8}  {item['elevation']:<20}  {item['requester']}  "
                f"approver={item['approver'] or '-'}  expires={item['expires_at'] or '-'}  {item['reason']}"
            )
        print(f"{len(result)} elevation(s)")
    else:
        print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
