"""Deploy a synthesized cloud assembly to the local AWS through the CloudFormation API, as
`cdk deploy` would: bootstrap leftovers, file assets, then each stack in dependency order.
What is deployed is then read back and judged by `verify` (see local_aws/__main__.py)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from local_aws.assembly import StackArtifact, listener_certificates, localize
from local_aws.tls import self_signed

ACCOUNT = "123456789012"  # the placeholder account the app synthesizes for; also moto's default
BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"


class LocalAws:
    """boto3 clients of one region against the local endpoint (read-write: this deploys)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.session = boto3.Session(region_name=region, aws_access_key_id="local", aws_secret_access_key="local")
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """One client per service (creating one costs tens of milliseconds; one region, one thread)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]  # a service named at run time: the stubs type only literal names
        return self._clients[service]


@dataclass
class StackDeployment:
    name: str
    status: str  # CREATE_COMPLETE, or what went wrong
    detail: str = ""
    seconds: float = 0.0


@dataclass
class RegionDeployment:
    region: str
    stacks: list[StackDeployment] = field(default_factory=list)
    dropped: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # stack -> {lid: {type, reason}}
    changed: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.stacks) and all(s.status == "CREATE_COMPLETE" for s in self.stacks)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok}, indent=2) + "\n"

    def to_markdown(self) -> str:
        lines = [
            f"# Local deploy of {self.region}: **{'deployed' if self.ok else 'FAILED'}**",
            "",
            f"{len(self.stacks)} stacks in {self.seconds:.1f} s through the emulator's CloudFormation.",
            "",
            "| stack | status | seconds | detail |",
            "|---|---|---|---|",
        ]
        lines += [f"| {s.name} | {s.status} | {s.seconds:.1f} | {s.detail} |" for s in self.stacks]
        lines += ["", "Changed for the emulator (verify lists each as NOT_EMULATED):", ""]
        for stack, dropped in self.dropped.items():
            lines += [f"- {stack} {lid} ({d['type']}, dropped): {d['reason']}" for lid, d in dropped.items()]
        for stack, changed in self.changed.items():
            lines += [f"- {stack} {lid} (changed): {reason}" for lid, reason in changed.items()]
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        md, js = out_dir / f"local-deploy-{self.region}.md", out_dir / f"local-deploy-{self.region}.json"
        md.write_text(self.to_markdown())
        js.write_text(self.to_json())
        return md, js


def bootstrap(aws: LocalAws) -> str:
    """What `cdk bootstrap` leaves behind that a deploy reads: the version parameter and the
    file-assets bucket."""
    ssm = aws.client("ssm")
    ssm.put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
    )
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT}-{aws.region}"
    s3 = aws.client("s3")
    try:
        kw = {} if aws.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": aws.region}}
        s3.create_bucket(Bucket=bucket, **kw)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    return bucket


def import_stand_in_certificate(aws: LocalAws, for_arn: str) -> str:
    """A self-signed certificate in the local ACM, standing in for a real one."""
    cert, key = self_signed(f"local.{aws.region}.trustbase.invalid")
    arn: str = aws.client("acm").import_certificate(
        Certificate=cert, PrivateKey=key, Tags=[{"Key": "trustbase:stands-in-for", "Value": for_arn}]
    )["CertificateArn"]
    return arn


def publish_assets(aws: LocalAws, assets_file: Path) -> int:
    """Upload a stack's file assets as `cdk deploy` does (directories zipped)."""
    manifest = json.loads(assets_file.read_text())
    s3 = aws.client("s3")
    count = 0
    for asset in manifest.get("files", {}).values():
        source = assets_file.parent / asset["source"]["path"]
        if asset["source"].get("packaging") == "zip" and source.is_dir():
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(source.rglob("*")):
                    if f.is_file():
                        zf.write(f, f.relative_to(source).as_posix())
            body = buf.getvalue()
        else:
            body = source.read_bytes()
        for dest in asset["destinations"].values():
            s3.put_object(Bucket=dest["bucketName"], Key=dest["objectKey"], Body=body)
            count += 1
    return count


def _wait(cfn: Any, stack: str, timeout: float, sleep: Callable[[float], None]) -> str:
    start = time.monotonic()
    while True:
        status: str = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            return status
        if time.monotonic() - start > timeout:
            return f"TIMEOUT ({status})"
        sleep(0.5)


def _failure_reasons(cfn: Any, stack: str) -> str:
    events = cfn.describe_stack_events(StackName=stack).get("StackEvents", [])
    reasons = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED")
    ]
    return "; ".join(reasons[:5]) or "no failure event recorded"


def deploy_region(
    endpoint_url: str,
    artifacts: list[StackArtifact],
    region: str,
    *,
    timeout: float = 300,
    sleep: Callable[[float], None] = time.sleep,
) -> RegionDeployment:
    """Deploy one region's stacks in dependency order. Stops at the first stack that fails to
    deploy (later stacks read its SSM links)."""
    aws = LocalAws(endpoint_url, region)
    cfn = aws.client("cloudformation")
    result = RegionDeployment(region)
    started = time.monotonic()
    bootstrap(aws)
    for art in (a for a in artifacts if a.region == region):
        print(f"[local] deploying {art.name}", flush=True)
        t0 = time.monotonic()
        if art.assets_file:
            publish_assets(aws, art.assets_file)
        original = json.loads(art.template_file.read_text())
        stand_ins = {arn: import_stand_in_certificate(aws, arn) for arn in listener_certificates(original)}
        local = localize(original, stand_ins)
        result.dropped[art.name], result.changed[art.name] = local.dropped, local.changed
        try:
            cfn.create_stack(
                StackName=art.name,
                TemplateBody=json.dumps(local.template),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            )
        except (ClientError, BotoCoreError, ResponseParserError) as exc:  # a crash in moto is an HTML 500
            result.stacks.append(
                StackDeployment(art.name, "REFUSED", f"the emulator refused the stack: {str(exc)[:300]}")
            )
            break
        status = _wait(cfn, art.name, timeout, sleep)
        detail = "" if status == "CREATE_COMPLETE" else _failure_reasons(cfn, art.name)
        result.stacks.append(StackDeployment(art.name, status, detail, round(time.monotonic() - t0, 1)))
        if status != "CREATE_COMPLETE":
            break
    result.seconds = round(time.monotonic() - started, 1)
    return result
