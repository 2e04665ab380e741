"""Deploy a synthesized cloud assembly to the local AWS through the CloudFormation API, then
verify it: every logical resource must exist, and key properties must read back from the
service APIs (not from CloudFormation's own bookkeeping, which moto fills in even for types it
ignores). Anything the emulator cannot do is listed as NOT_EMULATED with the reason; anything
else that is missing or wrong is a FAIL.
"""

from __future__ import annotations

import copy
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

from local_aws.tls import self_signed

PASS, FAIL, NOT_EMULATED = "PASS", "FAIL", "NOT_EMULATED"
ACCOUNT = "123456789012"  # the placeholder account the app synthesizes for; also moto's default
BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"

# Resource types moto 5.2.5 accepts in a template but does not create (the stack still reports
# CREATE_COMPLETE). Each is listed, never counted as created. A missing resource of any OTHER
# type fails the verification: a new silent gap must be noticed, not absorbed.
NOT_EMULATED_TYPES: dict[str, str] = {
    "AWS::CDK::Metadata": "CDK's analytics marker, not a resource",
    "AWS::AccessAnalyzer::Analyzer": "moto has no CloudFormation model for IAM Access Analyzer",
    "AWS::Backup::BackupSelection": "moto's AWS Backup has no backup selections",
    "AWS::Backup::RestoreTestingPlan": "moto has no AWS Backup restore testing",
    "AWS::Backup::RestoreTestingSelection": "moto has no AWS Backup restore testing",
    "AWS::CloudTrail::Trail": "moto has no CloudFormation model for CloudTrail trails",
    "AWS::Config::ConfigRule": "moto has no CloudFormation model for AWS Config rules",
    "AWS::Config::ConfigurationRecorder": "moto has no CloudFormation model for the Config recorder",
    "AWS::Config::DeliveryChannel": "moto has no CloudFormation model for the Config delivery channel",
    "AWS::EC2::SecurityGroupEgress": "moto has no CloudFormation model for standalone egress rules",
    "AWS::FIS::ExperimentTemplate": "moto has no CloudFormation model for FIS templates",
    "AWS::GuardDuty::Detector": "moto has no CloudFormation model for GuardDuty",
    "AWS::GuardDuty::PublishingDestination": "moto has no CloudFormation model for GuardDuty",
    "AWS::Lambda::Version": "moto publishes no version for AWS::Lambda::Version (only the migration trigger, which is dropped, invokes it)",
    "AWS::Logs::MetricFilter": "moto has no CloudFormation model for metric filters",
    "AWS::Macie::Session": "moto has no CloudFormation model for Macie",
    "AWS::RDS::DBClusterParameterGroup": "moto has no CloudFormation model for cluster parameter groups",
    "AWS::Scheduler::Schedule": "moto has no CloudFormation model for EventBridge Scheduler",
    "AWS::SecurityHub::Hub": "moto has no CloudFormation model for Security Hub",
    "AWS::SecurityHub::Standard": "moto has no CloudFormation model for Security Hub standards",
    "AWS::SNS::TopicPolicy": "moto has no CloudFormation model for SNS topic policies",
    "AWS::WAFv2::LoggingConfiguration": "moto has no CloudFormation model for WAF logging",
    "AWS::WAFv2::WebACL": "moto has no CloudFormation model for WAFv2",
    "AWS::WAFv2::WebACLAssociation": "moto has no CloudFormation model for WAFv2",
}
DROPPED_REASON = "Lambda-backed custom resource: moto runs Lambda only in Docker, which this machine lacks"


@dataclass
class Check:
    stack: str
    subject: str  # logical ID (or the stack itself)
    what: str
    status: str
    detail: str = ""


@dataclass
class RegionDeployment:
    region: str
    stacks: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def result(self) -> str:
        return FAIL if any(c.status == FAIL for c in self.checks) else PASS

    def add(self, stack: str, subject: str, what: str, status: str, detail: str = "") -> None:
        self.checks.append(Check(stack, subject, what, status, detail))
        if status != PASS:
            print(f"  [{status}] {stack} {subject}: {what}{f' ({detail})' if detail else ''}", flush=True)

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "result": self.result}, indent=2) + "\n"

    def to_markdown(self) -> str:
        lines = [
            f"# Local deploy of {self.region}: **{self.result}**",
            "",
            f"{len(self.stacks)} stacks in {self.seconds:.1f} s: {self.count(PASS)} checks passed, "
            f"{self.count(FAIL)} failed, {self.count(NOT_EMULATED)} not emulated.",
            "",
            "| stack | resource | check | status | detail |",
            "|---|---|---|---|---|",
        ]
        order = {FAIL: 0, NOT_EMULATED: 1, PASS: 2}
        for c in sorted(self.checks, key=lambda c: (order[c.status], c.stack, c.subject)):
            lines.append(f"| {c.stack} | {c.subject} | {c.what} | {c.status} | {c.detail} |")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        md, js = out_dir / f"local-deploy-{self.region}.md", out_dir / f"local-deploy-{self.region}.json"
        md.write_text(self.to_markdown())
        js.write_text(self.to_json())
        return md, js


@dataclass(frozen=True)
class StackArtifact:
    name: str
    region: str
    template_file: Path
    assets_file: Path | None
    dependencies: tuple[str, ...]


def stacks_in_order(cdk_out: Path, regions: list[str] | None = None) -> list[StackArtifact]:
    """The assembly's stacks (optionally of some regions), dependencies first."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    stacks: dict[str, StackArtifact] = {}
    for name, art in artifacts.items():
        if art["type"] != "aws:cloudformation:stack":
            continue
        region = art["environment"].rsplit("/", 1)[-1]
        if regions and region not in regions:
            continue
        deps = tuple(d for d in art.get("dependencies", []) if artifacts[d]["type"] == "aws:cloudformation:stack")
        assets = next((cdk_out / artifacts[d]["properties"]["file"] for d in art.get("dependencies", [])
                       if artifacts[d]["type"] == "cdk:asset-manifest"), None)  # fmt: skip
        stacks[name] = StackArtifact(name, region, cdk_out / art["properties"]["templateFile"], assets, deps)
    if regions:
        unknown = sorted(set(regions) - {s.region for s in stacks.values()})
        if unknown:
            raise ValueError(f"--regions {', '.join(unknown)}: no stacks for it in {cdk_out}; synthesize it first")
    ordered: list[StackArtifact] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in stacks:
            return
        seen.add(name)
        for dep in stacks[name].dependencies:
            visit(dep)
        ordered.append(stacks[name])

    for name in stacks:
        visit(name)
    return ordered


def localize(
    template: dict[str, Any], certificates: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The template as the emulator can take it, plus {logical ID: reason} for every change.
    Lambda-backed custom resources are dropped (with DependsOn references to them); listener
    certificates are swapped for local stand-ins (`certificates`: configured ARN -> local ARN)."""
    out = copy.deepcopy(template)
    resources = out["Resources"]
    changed: dict[str, str] = {}
    for lid, r in resources.items():
        for cert in r.get("Properties", {}).get("Certificates", []) if r["Type"].endswith("::Listener") else []:
            arn = cert.get("CertificateArn")
            if certificates and arn in certificates:
                cert["CertificateArn"] = certificates[arn]
                changed[lid] = f"certificate {arn} exists only in the real account: a self-signed local stand-in serves"
    dropped = {lid: DROPPED_REASON for lid, r in resources.items()
               if r["Type"].startswith("Custom::") or r["Type"] == "AWS::CloudFormation::CustomResource"}  # fmt: skip
    for lid in dropped:
        del resources[lid]
    for r in resources.values():
        deps = r.get("DependsOn")
        if isinstance(deps, list):
            r["DependsOn"] = [d for d in deps if d not in dropped]
        elif isinstance(deps, str) and deps in dropped:
            del r["DependsOn"]
    referenced = json.dumps(out)
    for lid in dropped:
        if f'"{lid}"' in referenced:
            raise ValueError(f"cannot drop {lid}: other resources reference it")
    return out, {**dropped, **changed}


class LocalAws:
    """boto3 clients of one region against the local endpoint."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._session = boto3.Session(region_name=region, aws_access_key_id="local", aws_secret_access_key="local")

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]


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


def listener_certificates(template: dict[str, Any]) -> set[str]:
    return {
        c["CertificateArn"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
        for c in r.get("Properties", {}).get("Certificates", [])
        if isinstance(c.get("CertificateArn"), str)
    }


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
    reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events
               if e.get("ResourceStatus", "").endswith("FAILED")]  # fmt: skip
    return "; ".join(reasons[:5]) or "no failure event recorded"


def deploy_region(
    endpoint_url: str,
    artifacts: list[StackArtifact],
    region: str,
    *,
    timeout: float = 300,
    sleep: Callable[[float], None] = time.sleep,
) -> RegionDeployment:
    """Deploy one region's stacks in dependency order and verify each. Stops at the first stack
    that fails to deploy (later stacks read its SSM links)."""
    aws = LocalAws(endpoint_url, region)
    cfn = aws.client("cloudformation")
    report = RegionDeployment(region)
    started = time.monotonic()
    bootstrap(aws)
    for art in (a for a in artifacts if a.region == region):
        print(f"[local] deploying {art.name}", flush=True)
        report.stacks.append(art.name)
        if art.assets_file:
            publish_assets(aws, art.assets_file)
        original = json.loads(art.template_file.read_text())
        stand_ins = {arn: import_stand_in_certificate(aws, arn) for arn in listener_certificates(original)}
        template, changed = localize(original, stand_ins)
        for lid, reason in changed.items():
            report.add(art.name, lid, "changed for the emulator", NOT_EMULATED, reason)
        try:
            cfn.create_stack(
                StackName=art.name,
                TemplateBody=json.dumps(template),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            )
        except (ClientError, BotoCoreError, ResponseParserError) as exc:  # a crash in moto is an HTML 500
            report.add(art.name, art.name, "create_stack", FAIL, f"the emulator refused the stack: {str(exc)[:300]}")
            break
        status = _wait(cfn, art.name, timeout, sleep)
        if status != "CREATE_COMPLETE":
            report.add(art.name, art.name, "create_stack", FAIL, f"{status}: {_failure_reasons(cfn, art.name)}")
            break
        report.add(art.name, art.name, "create_stack", PASS, status)
        verify_stack(aws, art.name, template, report)
    report.seconds = round(time.monotonic() - started, 1)
    return report


def verify_stack(aws: LocalAws, stack: str, template: dict[str, Any], report: RegionDeployment) -> None:
    cfn = aws.client("cloudformation")
    listed: dict[str, dict[str, Any]] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            listed[r["LogicalResourceId"]] = r
    for lid, resource in template["Resources"].items():
        rtype = resource["Type"]
        summary = listed.get(lid)
        physical = summary.get("PhysicalResourceId") if summary else None
        if rtype in NOT_EMULATED_TYPES:
            if physical and rtype != "AWS::CDK::Metadata":
                report.add(stack, lid, rtype, FAIL, "the emulator now creates this type: remove it from "
                           "NOT_EMULATED_TYPES and add a readback for it")  # fmt: skip
            else:
                report.add(stack, lid, rtype, NOT_EMULATED, NOT_EMULATED_TYPES[rtype])
            continue
        if not physical or summary is None or summary.get("ResourceStatus") != "CREATE_COMPLETE":
            report.add(stack, lid, f"{rtype} exists", FAIL,
                       "moto skipped it although the stack says CREATE_COMPLETE: patch moto or list the type as not emulated")  # fmt: skip
            continue
        reader = READBACKS.get(rtype)
        if reader is None:
            report.add(stack, lid, f"{rtype} exists", PASS, physical)
            continue
        try:
            for what, ok, detail in reader(aws, physical, resource.get("Properties", {})):
                report.add(stack, lid, what, NOT_EMULATED if ok is None else PASS if ok else FAIL, detail)
        except ClientError as exc:
            report.add(stack, lid, f"{rtype} readback", FAIL, str(exc)[:300])


# ------------------------------------------------------------------------------ readbacks
# Each takes (aws, physical id, template properties) and yields (what, ok, detail). They read
# the real service API, so a resource CloudFormation "created" but the service lacks fails.

# ok None: the emulator cannot show this property (NOT_EMULATED, with the detail saying why).
Readback = Callable[[LocalAws, str, dict[str, Any]], list[tuple[str, bool | None, str]]]


def _kms_key(aws: LocalAws, key_id: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    kms = aws.client("kms")
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    rotation = kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    return [
        ("KMS key enabled, symmetric AES-256", meta["Enabled"] and meta["KeySpec"] == "SYMMETRIC_DEFAULT",
         f"{meta['KeyState']}, {meta['KeySpec']}"),
        ("KMS key rotation", rotation is True and props.get("EnableKeyRotation") is True, f"rotation {rotation}"),
    ]  # fmt: skip


def _tls_only(policy: dict[str, Any]) -> bool:
    return any(st.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(st.get("Condition", {}))
               for st in policy.get("Statement", []))  # fmt: skip


def _s3_bucket(aws: LocalAws, bucket: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    s3 = aws.client("s3")
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    algo = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    want_algo = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
        "SSEAlgorithm"
    ]
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    checks = [
        ("S3 default encryption", algo == want_algo, f"{algo} (template {want_algo})"),
        ("S3 versioning", versioning == "Enabled", str(versioning)),
        ("S3 public access blocked", all(block.values()), json.dumps(block)),
    ]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) if _has_policy(s3, bucket) else {}
    tls = _tls_only(policy)
    checks.append(
        ("S3 refuses non-TLS requests", tls, "Deny on aws:SecureTransport=false" if tls else "no such policy")
    )
    want_rules = {r["Id"] for r in props.get("LifecycleConfiguration", {}).get("Rules", [])}
    if want_rules:
        got = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        got_ids = {r.get("ID") for r in got}
        checks.append(("S3 lifecycle rules", got_ids == want_rules, ", ".join(sorted(str(i) for i in got_ids))))
    if props.get("ObjectLockEnabled"):
        lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        mode = lock.get("Rule", {}).get("DefaultRetention", {}).get("Mode")
        checks.append(("S3 Object Lock", mode == "COMPLIANCE", f"default retention {mode}"))
    return checks


def _has_policy(s3: Any, bucket: str) -> bool:
    try:
        s3.get_bucket_policy(Bucket=bucket)
        return True
    except ClientError:
        return False


def _listener(aws: LocalAws, arn: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    elb = aws.client("elbv2")
    listener = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]
    if listener["Protocol"] != "HTTPS":
        action = listener["DefaultActions"][0]
        redirect = action.get("RedirectConfig", {})
        return [("HTTP listener redirects to HTTPS", action["Type"] == "redirect" and redirect.get("Protocol") == "HTTPS",
                 f"{action['Type']} -> {redirect.get('Protocol')}:{redirect.get('Port')}")]  # fmt: skip
    attrs = {a["Key"]: a["Value"] for a in elb.describe_listener_attributes(ListenerArn=arn)["Attributes"]}
    hsts = attrs.get("routing.http.response.strict_transport_security.header_value", "")
    policy = listener.get("SslPolicy", "")
    return [
        ("ALB TLS policy (TLS 1.2+, forward secrecy)", policy == props.get("SslPolicy") and "-Res-" in policy, policy),
        ("ALB sends HSTS", "max-age=" in hsts, hsts or "no HSTS header configured"),
    ]


def _db_cluster(aws: LocalAws, cluster_id: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    rds = aws.client("rds")
    c = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    azs = {
        rds.describe_db_instances(DBInstanceIdentifier=m["DBInstanceIdentifier"])["DBInstances"][0]["AvailabilityZone"]
        for m in c["DBClusterMembers"]
    }
    return [
        ("Aurora storage encrypted with the CMK", bool(c.get("StorageEncrypted")) and bool(c.get("KmsKeyId")),
         str(c.get("KmsKeyId"))),
        ("Aurora deletion protection", bool(c.get("DeletionProtection")), str(c.get("DeletionProtection"))),
        ("Aurora instances in 3 AZs", len(azs) == 3, ", ".join(sorted(azs))),
    ]  # fmt: skip


def _log_group(aws: LocalAws, name: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    g = next((g for g in groups if g["logGroupName"] == name), None)
    if g is None:
        return [("log group exists", False, name)]
    return [
        (
            "log group retention",
            g.get("retentionInDays") == props.get("RetentionInDays"),
            str(g.get("retentionInDays")),
        ),
        ("log group encrypted with a CMK", bool(g.get("kmsKeyId")), str(g.get("kmsKeyId"))),
    ]


def _sns_topic(aws: LocalAws, arn: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    attrs = aws.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
    return [("SNS topic encrypted with a CMK", bool(attrs.get("KmsMasterKeyId")), str(attrs.get("KmsMasterKeyId")))]


def _ssm_parameter(aws: LocalAws, name: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    value = aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    return [("SSM link published", bool(value), f"{name} = {value[:60]}")]


def _sg_ingress(aws: LocalAws, physical: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    group_id, protocol, from_port, to_port, source = physical.split("/", 4)
    group = aws.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    found = any(
        perm.get("IpProtocol") == protocol
        and str(perm.get("FromPort")) == from_port
        and str(perm.get("ToPort")) == to_port
        and (any(p.get("GroupId") == source for p in perm.get("UserIdGroupPairs", []))
             or any(r.get("CidrIp") == source for r in perm.get("IpRanges", [])))
        for perm in group.get("IpPermissions", [])
    )  # fmt: skip
    return [
        ("security group ingress rule present", found, f"{group_id} {protocol} {from_port}-{to_port} from {source}")
    ]


def _backup_vault(aws: LocalAws, name: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    vault = aws.client("backup").describe_backup_vault(BackupVaultName=name)
    lock = props.get("LockConfiguration", {})
    key = aws.client("kms").describe_key(KeyId=vault["EncryptionKeyArn"])["KeyMetadata"]
    return [
        ("backup vault encrypted with a CMK of this region", key["KeyManager"] == "CUSTOMER" and key["Arn"].split(":")[3] == aws.region,
         str(vault.get("EncryptionKeyArn"))),
        ("backup vault locked", bool(vault.get("Locked")) and vault.get("MinRetentionDays") == lock.get("MinRetentionDays"),
         f"locked {vault.get('Locked')}, min {vault.get('MinRetentionDays')} d, max {vault.get('MaxRetentionDays')} d"),
    ]  # fmt: skip


def _backup_plan(aws: LocalAws, plan_id: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    plan = aws.client("backup").get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
    want = {r["RuleName"]: r for r in props["BackupPlan"]["BackupPlanRule"]}
    got = {r["RuleName"]: r for r in plan["Rules"]}
    same = set(want) == set(got) and all(
        got[n]["ScheduleExpression"] == want[n]["ScheduleExpression"]
        and got[n].get("Lifecycle", {}).get("DeleteAfterDays") == want[n].get("Lifecycle", {}).get("DeleteAfterDays")
        for n in want
    )
    vaults = {r.get("TargetBackupVaultName") for r in plan["Rules"]}
    backup = aws.client("backup")
    targets_exist = all(v and backup.describe_backup_vault(BackupVaultName=v) for v in vaults)
    schedules = "; ".join(f"{n}: {r['ScheduleExpression']}" for n, r in got.items())
    return [
        ("backup plan schedule and retention", same, schedules),
        ("backup plan targets the locked vault", targets_exist, ", ".join(sorted(str(v) for v in vaults))),
    ]


def _flow_log(aws: LocalAws, flow_log_id: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    logs = aws.client("ec2").describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"]
    if not logs:
        return [("VPC flow log exists", False, flow_log_id)]
    fl = logs[0]
    return [("VPC flow log captures ALL traffic", fl.get("TrafficType") == "ALL" and fl.get("ResourceId", "").startswith("vpc-"),
             f"{fl.get('TrafficType')} of {fl.get('ResourceId')} -> {fl.get('LogGroupName') or fl.get('LogDestination')}")]  # fmt: skip


def _sqs_queue(aws: LocalAws, url: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    attrs = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    policy = json.loads(attrs.get("Policy", "{}"))
    tls = _tls_only(policy)
    return [
        ("SQS queue encrypted with a CMK", bool(attrs.get("KmsMasterKeyId")), str(attrs.get("KmsMasterKeyId"))),
        ("SQS queue refuses non-TLS requests", tls, "Deny on aws:SecureTransport=false" if tls else "no such policy"),
    ]


def _lambda_function(aws: LocalAws, name: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """What the template declares must read back (the posture tests decide what it must declare)."""
    cfg = aws.client("lambda").get_function_configuration(FunctionName=name)
    checks: list[tuple[str, bool | None, str]] = [
        ("Lambda runtime", cfg.get("Runtime") == props.get("Runtime"), str(cfg.get("Runtime")))
    ]
    if props.get("VpcConfig"):
        vpc = cfg.get("VpcConfig") or {}
        checks.append(("Lambda in VPC subnets of 3 AZs",
                       len(vpc.get("SubnetIds", [])) == 3 and bool(vpc.get("SecurityGroupIds")),
                       f"{len(vpc.get('SubnetIds', []))} subnets, SGs {vpc.get('SecurityGroupIds')}"))  # fmt: skip
    if props.get("KmsKeyArn"):
        checks.append(
            ("Lambda environment encrypted with a CMK", bool(cfg.get("KMSKeyArn")), str(cfg.get("KMSKeyArn")))
        )
    if props.get("TracingConfig"):
        mode = (cfg.get("TracingConfig") or {}).get("Mode")
        checks.append(("Lambda traced", mode == props["TracingConfig"]["Mode"], str(mode)))
    if props.get("DeadLetterConfig"):
        checks.append(("Lambda dead-letter queue", None, "moto's Lambda has no dead-letter configuration"))
    return checks


def _state_machine(aws: LocalAws, arn: str, props: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    sm = aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    enc = sm.get("encryptionConfiguration") or {}
    logging = sm.get("loggingConfiguration") or {}
    return [
        ("state machine encrypted with a CMK", enc.get("type") == "CUSTOMER_MANAGED_KMS_KEY", str(enc.get("type"))),
        ("state machine logs ALL without execution data",
         logging.get("level") == "ALL" and logging.get("includeExecutionData") is False, str(logging.get("level"))),
        ("state machine traced", (sm.get("tracingConfiguration") or {}).get("enabled") is True, ""),
    ]  # fmt: skip


READBACKS: dict[str, Readback] = {
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::EC2::FlowLog": _flow_log,
    "AWS::Backup::BackupVault": _backup_vault,
    "AWS::Backup::BackupPlan": _backup_plan,
    "AWS::EC2::SecurityGroupIngress": _sg_ingress,
    "AWS::KMS::Key": _kms_key,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::ElasticLoadBalancingV2::Listener": _listener,
    "AWS::RDS::DBCluster": _db_cluster,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SSM::Parameter": _ssm_parameter,
}
