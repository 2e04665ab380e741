"""Judges: turn one resource's observation into findings, with the predicates the template checks
use (`posture_checks.predicates`) plus drift checks against what the deployed template declares.

One function per CloudFormation type: (observation, context) -> findings. Each finding has a
stable check ID (the emulator knows which ones only its patches can satisfy), what is judged,
the problems (empty = compliant) and what was seen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.jurisdictions import AWS_REGIONS
from posture_checks import predicates as p
from verify.declared import Resolver, key_id, same_key


@dataclass(frozen=True)
class Finding:
    check: str
    what: str
    problems: list[str]
    detail: str = ""


@dataclass
class Context:
    lid: str
    type: str
    props: dict[str, Any]
    resolver: Resolver

    @property
    def region(self) -> str:
        return self.resolver.stack.region

    @property
    def account(self) -> str:
        return self.resolver.stack.account

    def declared(self, *path: str) -> Any:
        """The resolved value at `path` in the template properties (None: absent or unresolvable)."""
        value: Any = self.props
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return self.resolver.resolve(value)

    def raw(self, *path: str) -> Any:
        value: Any = self.props
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value


Judge = Callable[[dict[str, Any], Context], list[Finding]]


def _key_drift(what: str, observed: Any, declared: Any) -> list[str]:
    return (
        [f"{what} uses key {key_id(observed)}, declared {key_id(declared)}"]
        if same_key(observed, declared) is False
        else []
    )


def _sids(statements: Any) -> set[str]:
    return {str(s["Sid"]) for s in p.as_list(statements) if isinstance(s, dict) and s.get("Sid")}


def _declared_sids(c: Context, *path: str) -> set[str]:
    doc = c.raw(*path) or {}
    return _sids(doc.get("Statement") if isinstance(doc, dict) else None)


def _missing_sids(observed: Any, declared: set[str]) -> list[str]:
    missing = sorted(declared - _sids(observed))
    return [f"statements {', '.join(missing)} missing from the policy"] if missing else []


def _normalise(value: Any, key: str = "") -> Any:
    """A policy value in one spelling: lists as sorted lists (Action "a" == ["a"]), scalars as
    strings, booleans lower-case, a bare account ID in an AWS principal as the account's root ARN
    (as IAM stores it)."""
    if isinstance(value, dict):
        return {k: _normalise(v, k) for k, v in sorted(value.items())}
    items = value if isinstance(value, list) else [value]
    if key in ("Action", "NotAction", "Resource", "NotResource", "AWS", "Service", "Federated") or isinstance(
        value, list
    ):
        out = []
        for item in items:
            item = _normalise(item)
            if key == "AWS" and isinstance(item, str) and item.isdigit() and len(item) == 12:
                item = f"arn:aws:iam::{item}:root"
            out.append(item)
        return sorted(out, key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if value is not None else None


def _statement_key(stmt: Any) -> str:
    return json.dumps(_normalise(stmt), sort_keys=True)


def policy_drift(observed: Any, declared_doc: Any, c: Context, what: str = "policy") -> list[str]:
    """The deployed document holds exactly the statements the template declares (after resolving
    its references): a statement added, removed or changed (a wider Resource, another Principal,
    a dropped Condition) is drift. When the declared document cannot be resolved, statement IDs
    and the statement count are compared instead."""
    observed = [s for s in p.as_list(observed) if isinstance(s, dict)]
    raw = declared_doc.get("Statement") if isinstance(declared_doc, dict) else None
    if raw is None:
        return []
    declared = c.resolver.resolve(raw)
    if declared is None:
        problems = _missing_sids(observed, _sids(raw))
        if len(observed) != len(p.as_list(raw)):
            problems.append(f"{what} has {len(observed)} statements, declared {len(p.as_list(raw))}")
        return problems
    have = {_statement_key(st) for st in observed}
    want = {_statement_key(st) for st in p.as_list(declared)}
    problems = []
    for label, keys in (("not declared", have - want), ("missing", want - have)):
        if keys:
            shown = "; ".join(sorted(k[:600] for k in keys)[:3])
            problems.append(f"{len(keys)} {what} statement(s) {label}: {shown}")
    return problems


def _equal_if_declared(what: str, observed: Any, declared: Any) -> list[str]:
    return [] if declared is None else p.equal(what, observed, declared)


# ------------------------------------------------------------------------------ keys, storage


def kms_key(o: dict[str, Any], c: Context) -> list[Finding]:
    rotation_declared = c.declared("EnableKeyRotation")
    return [
        Finding(
            "kms.key",
            "KMS key enabled, customer-managed, symmetric AES-256",
            p.kms_key(enabled=o["enabled"], spec=o["spec"], usage=o["usage"], manager=o["manager"]),
            f"{o['state']}, {o['spec']}, {o['manager']}",
        ),
        Finding(
            "kms.rotation",
            "KMS key rotation (at least yearly)",
            p.kms_rotation(enabled=o["rotation"], period_days=o["rotation_days"])
            + _equal_if_declared("rotation", o["rotation"], rotation_declared),
            f"rotation {o['rotation']}, every {o['rotation_days']} days",
        ),
    ]


def kms_alias(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "kms.alias",
            "alias targets the declared key",
            _key_drift("alias", o["target_key"], c.declared("TargetKeyId")),
            str(o["target_key"]),
        )
    ]


def s3_bucket(o: dict[str, Any], c: Context) -> list[Finding]:
    enc = o["encryption"]
    declared_enc = (c.raw("BucketEncryption", "ServerSideEncryptionConfiguration") or [{}])[0]
    want_algo = (declared_enc.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
    want_key = c.resolver.resolve((declared_enc.get("ServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID"))
    findings = [
        Finding(
            "s3.encryption",
            "S3 default encryption (SSE-KMS with the declared key, or SSE-S3 for log buckets)",
            p.bucket_encryption(enc["algorithm"])
            + _equal_if_declared("algorithm", enc["algorithm"], want_algo)
            + _key_drift("encryption", enc["kms_key"], want_key),
            f"{enc['algorithm']} {key_id(enc['kms_key']) or ''}".strip(),
        ),
        Finding(
            "s3.bucket_key",
            "S3 bucket key with SSE-KMS",
            p.bucket_key(algorithm=enc["algorithm"], enabled=enc["bucket_key"]),
            f"bucket key {enc['bucket_key']}",
        ),
        Finding("s3.versioning", "S3 versioning", p.versioning(o["versioning"]), str(o["versioning"])),
        Finding(
            "s3.public_access_block",
            "S3 public access blocked",
            p.public_access_block(o["public_access_block"]),
            str(o["public_access_block"]),
        ),
        Finding(
            "s3.tls_only",
            "S3 refuses non-TLS and TLS < 1.2 requests",
            p.denies_insecure_transport(o["policy"], "s3") + p.denies_old_tls(o["policy"]),
            f"{len(o['policy'])} policy statements",
        ),
    ]
    if c.raw("OwnershipControls"):
        findings.append(
            Finding(
                "s3.ownership", "S3 object ownership enforced", p.object_ownership(o["ownership"]), str(o["ownership"])
            )
        )
    declared_rules = c.raw("LifecycleConfiguration", "Rules") or []
    if declared_rules:
        observed = [p.normalise_lifecycle_rule(r, api=True) for r in o["lifecycle"]]
        declared = [p.normalise_lifecycle_rule(r, api=False) for r in declared_rules]
        findings.append(
            Finding(
                "s3.lifecycle",
                "S3 lifecycle rules in force with the declared days",
                p.lifecycle_rules(observed, declared),
                "; ".join(f"{r['id']}: {r['expiration_days'] or r['noncurrent_days']} d" for r in observed),
            )
        )
    if c.raw("ObjectLockEnabled"):
        days = c.declared("ObjectLockConfiguration", "Rule", "DefaultRetention", "Days") or 1
        lock = o["object_lock"]
        findings.append(
            Finding(
                "s3.object_lock",
                "S3 Object Lock, compliance mode, declared days",
                p.object_lock(mode=lock["mode"], days=lock["days"], min_days=int(days)),
                f"{lock['mode']} {lock['days']} days",
            )
        )
    if c.raw("LoggingConfiguration"):
        target = c.declared("LoggingConfiguration", "DestinationBucketName")
        got = o["access_logs"]["bucket"]
        findings.append(
            Finding(
                "s3.access_logs",
                "S3 server access logs to the declared bucket",
                ([] if got else ["server access logging off"]) + _equal_if_declared("log bucket", got, target),
                str(got),
            )
        )
    return findings


def s3_bucket_policy(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "s3.bucket_policy",
            "bucket policy is exactly the declared statements",
            policy_drift(o["statements"], c.raw("PolicyDocument"), c, "bucket policy"),
            f"{len(o['statements'])} statements",
        )
    ]


def log_group(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "logs.retention",
            "log group retention as declared",
            _equal_if_declared("retention", o["retention_days"], c.declared("RetentionInDays")),
            str(o["retention_days"]),
        ),
        Finding(
            "logs.cmk",
            "log group encrypted with the declared CMK",
            p.has_cmk(o["kms_key"], "log group") + _key_drift("log group", o["kms_key"], c.declared("KmsKeyId")),
            str(o["kms_key"]),
        ),
    ]


def metric_filter(o: dict[str, Any], c: Context) -> list[Finding]:
    declared = [m.get("MetricName") for m in c.raw("MetricTransformations") or []]
    return [
        Finding(
            "logs.metric_filter",
            "metric filter feeds the declared metric",
            p.equal("metrics", o["metrics"], declared),
            ", ".join(map(str, o["metrics"])),
        )
    ]


# ------------------------------------------------------------------------------ identity


def _declared_attachments(c: Context) -> set[str] | None:
    """The managed policies the template attaches to this role: its ManagedPolicyArns, and every
    AWS::IAM::ManagedPolicy of the stack whose Roles name it. None if one cannot be resolved."""
    arns = c.declared("ManagedPolicyArns")
    if c.raw("ManagedPolicyArns") is not None and arns is None:
        return None
    out = set(arns or [])
    for lid, res in c.resolver.stack.template.get("Resources", {}).items():
        if res.get("Type") == "AWS::IAM::ManagedPolicy" and {"Ref": c.lid} in (
            res.get("Properties", {}).get("Roles") or []
        ):
            arn = c.resolver.stack.physical.get(lid)
            if arn is None:
                return None
            out.add(arn)
    return out


def iam_role(o: dict[str, Any], c: Context) -> list[Finding]:
    findings = [
        Finding(
            "iam.boundary",
            "role carries the declared permissions boundary",
            p.role_boundary(o["boundary"])
            + _equal_if_declared("boundary", o["boundary"], c.declared("PermissionsBoundary")),
            str(o["boundary"]),
        ),
        Finding(
            "iam.trust",
            "trust policy is exactly the declared one",
            policy_drift(o["trust"], c.raw("AssumeRolePolicyDocument"), c, "trust policy"),
            f"{len(o['trust'])} statements",
        ),
    ]
    declared = _declared_attachments(c)
    attached = set(o["attached"])
    problems = (
        []
        if declared is None
        else ([f"attached but not declared: {', '.join(sorted(attached - declared))}"] if attached - declared else [])
        + ([f"declared but not attached: {', '.join(sorted(declared - attached))}"] if declared - attached else [])
    )
    inline_declared = {
        pol.get("PolicyName"): pol.get("PolicyDocument") for pol in c.raw("Policies") or [] if isinstance(pol, dict)
    }
    if set(o["inline"]) != set(inline_declared):
        problems.append(f"inline policies {sorted(o['inline'])}, declared {sorted(map(str, inline_declared))}")
    for name, doc in inline_declared.items():
        if name in o["inline"]:
            problems += p.wildcard_actions(o["inline"][name]) + policy_drift(
                o["inline"][name], doc, c, f"inline policy {name}"
            )
    findings.append(
        Finding(
            "iam.attachments",
            "exactly the declared policies (managed and inline), no wildcard actions",
            problems,
            f"{len(attached)} managed, {len(o['inline'])} inline",
        )
    )
    return findings


def iam_managed_policy(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "iam.policy",
            "policy: no wildcard actions, exactly the declared statements",
            p.wildcard_actions(o["statements"]) + policy_drift(o["statements"], c.raw("PolicyDocument"), c),
            f"{len(o['statements'])} statements",
        )
    ]


# ------------------------------------------------------------------------------ edge


def listener(o: dict[str, Any], c: Context) -> list[Finding]:
    protocol = _equal_if_declared("protocol", o["protocol"], c.declared("Protocol"))
    if o["protocol"] == "HTTPS":
        return [
            Finding(
                "elbv2.tls_policy",
                "ALB TLS policy (TLS 1.2+, forward secrecy only)",
                p.tls_policy(o["ssl_policy"]) + protocol,
                str(o["ssl_policy"]),
            ),
            Finding(
                "elbv2.hsts",
                "ALB sends HSTS (1 year+, includeSubDomains, preload)",
                p.hsts(o["attributes"].get(p.HSTS_ATTRIBUTE)),
                str(o["attributes"].get(p.HSTS_ATTRIBUTE)),
            ),
            Finding(
                "elbv2.certificate",
                "ALB certificate of this account and region",
                [
                    x
                    for arn in o["certificates"] or [None]
                    for x in p.certificate_of(arn, account=c.account, region=c.region)
                ],
                ", ".join(map(str, o["certificates"])),
            ),
        ]
    return [
        Finding(
            "elbv2.redirect",
            "HTTP listener only redirects to HTTPS (301)",
            p.http_redirect(o["actions"]) + protocol,
            str([a.get("Type") for a in o["actions"]]),
        )
    ]


def load_balancer(o: dict[str, Any], c: Context) -> list[Finding]:
    declared = {a["Key"]: str(c.resolver.resolve(a["Value"])).lower() for a in c.raw("LoadBalancerAttributes") or []}
    drift = [
        f"{k} is {o['attributes'].get(k)!r}, declared {v!r}" for k, v in declared.items() if o["attributes"].get(k) != v
    ]
    return [
        Finding(
            "elbv2.load_balancer.azs",
            "load balancer in 3 AZs",
            p.three_azs(o["azs"], "load balancer"),
            ", ".join(o["azs"]),
        ),
        Finding(
            "elbv2.load_balancer.attributes",
            "load balancer attributes as declared (access logs, invalid headers)",
            drift,
            f"{len(declared)} declared",
        ),
    ]


def target_group(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "elbv2.target_group",
            "target group protocol as declared",
            _equal_if_declared("protocol", o["protocol"], c.declared("Protocol")),
            str(o["protocol"]),
        )
    ]


# ------------------------------------------------------------------------------ database


def db_cluster(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "rds.cluster.encryption",
            "Aurora storage encrypted with the declared CMK",
            p.storage_encrypted(encrypted=o["encrypted"], kms_key_id=o["kms_key"])
            + _key_drift("cluster", o["kms_key"], c.declared("KmsKeyId")),
            f"StorageEncrypted {o['encrypted']}, key {key_id(o['kms_key'])}",
        ),
        Finding(
            "rds.cluster.protection",
            "Aurora deletion protection and IAM database authentication",
            p.aurora_protection(deletion_protection=o["deletion_protection"], iam_auth=o["iam_auth"]),
            f"deletion protection {o['deletion_protection']}, IAM auth {o['iam_auth']}",
        ),
        Finding(
            "rds.cluster.backup",
            "Aurora PITR and log export as declared",
            p.point_in_time_recovery(o["backup_days"])
            + p.database_log_export(o["log_exports"])
            + _equal_if_declared("PITR days", o["backup_days"], c.declared("BackupRetentionPeriod")),
            f"{o['backup_days']} days, exports {o['log_exports']}",
        ),
        Finding(
            "rds.cluster.azs",
            "Aurora instances in 3 AZs",
            p.three_azs(o["member_azs"], "instances"),
            ", ".join(map(str, o["member_azs"])),
        ),
    ]


def db_instance(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "rds.instance",
            "Aurora instance private, encrypted, in its declared AZ",
            p.public_instance(o["public"])
            + p.storage_encrypted(encrypted=o["encrypted"], kms_key_id="cluster")
            + _equal_if_declared("AZ", o["az"], c.declared("AvailabilityZone")),
            f"{o['az']}, public {o['public']}",
        ),
        Finding(
            "rds.instance.performance_insights",
            "Performance Insights encrypted with a CMK",
            ([] if o["performance_insights"] is True else ["Performance Insights off"])
            + p.has_cmk(o["pi_kms_key"], "Performance Insights"),
            str(o["pi_kms_key"]),
        ),
    ]


def db_subnet_group(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "rds.subnet_group",
            "DB subnets in 3 AZs",
            p.three_azs(o["azs"], "subnet group"),
            ", ".join(map(str, o["azs"])),
        )
    ]


def db_cluster_parameter_group(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "rds.force_ssl",
            "the database requires TLS (rds.force_ssl = 1)",
            p.force_ssl(o["parameters"]),
            str(o["parameters"].get("rds.force_ssl")),
        ),
        Finding(
            "rds.tls_minimum",
            "the database accepts TLS 1.2+ only",
            p.database_tls_minimum(o["parameters"]),
            str(o["parameters"].get("ssl_min_protocol_version")),
        ),
    ]


# ------------------------------------------------------------------------------ messaging, compute


def sns_topic(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "sns.cmk",
            "topic encrypted with the declared CMK",
            p.has_cmk(o["kms_key"], "topic") + _key_drift("topic", o["kms_key"], c.declared("KmsMasterKeyId")),
            str(o["kms_key"]),
        )
    ]


def sns_topic_policy(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "sns.topic_policy",
            "topic policy is exactly the declared statements (CloudWatch may publish)",
            policy_drift(o["statements"], c.raw("PolicyDocument"), c, "topic policy"),
            f"{len(o['statements'])} statements",
        )
    ]


def sqs_queue(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "sqs.cmk",
            "queue encrypted with the declared CMK",
            p.has_cmk(o["kms_key"], "queue") + _key_drift("queue", o["kms_key"], c.declared("KmsMasterKeyId")),
            str(o["kms_key"]),
        ),
        Finding(
            "sqs.tls_only",
            "queue refuses non-TLS requests",
            p.denies_insecure_transport(o["policy"], "sqs"),
            f"{len(o['policy'])} policy statements",
        ),
    ]


def sqs_queue_policy(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "sqs.queue_policy",
            "queue policy is exactly the declared statements",
            policy_drift(o["statements"], c.raw("PolicyDocument"), c, "queue policy"),
            f"{len(o['statements'])} statements",
        )
    ]


def ssm_parameter(o: dict[str, Any], c: Context) -> list[Finding]:
    declared = c.declared("Value")
    problems = ([] if o["value"] else ["empty value"]) + _equal_if_declared("value", o["value"], declared)
    return [
        Finding(
            "ssm.parameter", "link published with the declared value", problems, f"{o['name']} = {str(o['value'])[:60]}"
        )
    ]


def lambda_function(o: dict[str, Any], c: Context) -> list[Finding]:
    findings = [
        Finding(
            "lambda.runtime",
            "runtime as declared",
            _equal_if_declared("runtime", o["runtime"], c.declared("Runtime")),
            str(o["runtime"]),
        )
    ]
    if c.raw("VpcConfig"):
        findings.append(
            Finding(
                "lambda.vpc",
                "function in the declared subnets (3 AZs) and security group",
                p.equal("subnet count", len(o["subnets"]), 3) + ([] if o["security_groups"] else ["no security group"]),
                f"{len(o['subnets'])} subnets, {o['security_groups']}",
            )
        )
    if c.raw("KmsKeyArn"):
        findings.append(
            Finding(
                "lambda.cmk",
                "environment encrypted with the declared CMK",
                p.has_cmk(o["kms_key"], "environment")
                + _key_drift("environment", o["kms_key"], c.declared("KmsKeyArn")),
                str(o["kms_key"]),
            )
        )
    if c.raw("TracingConfig"):
        findings.append(
            Finding(
                "lambda.tracing", "X-Ray tracing active", p.equal("tracing", o["tracing"], "Active"), str(o["tracing"])
            )
        )
    if c.raw("DeadLetterConfig"):
        findings.append(
            Finding(
                "lambda.dlq",
                "dead-letter queue as declared",
                ([] if o["dead_letter"] else ["no dead-letter queue"])
                + _equal_if_declared(
                    "dead-letter target", o["dead_letter"], c.declared("DeadLetterConfig", "TargetArn")
                ),
                str(o["dead_letter"]),
            )
        )
    return findings


def lambda_version(o: dict[str, Any], c: Context) -> list[Finding]:
    return [Finding("lambda.version", "published version exists", [], str(o["version"]))]


def function_url(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "lambda.url_auth",
            "function URL admits only SigV4-signed callers (AWS_IAM)",
            p.equal("auth type", o["auth"], "AWS_IAM"),
            str(o["auth"]),
        )
    ]


def state_machine(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "sfn.cmk",
            "state machine encrypted with a CMK",
            p.equal("encryption", o["encryption"], "CUSTOMER_MANAGED_KMS_KEY"),
            str(o["encryption"]),
        ),
        Finding(
            "sfn.logging",
            "state machine logs ALL without execution data",
            p.equal("level", o["log_level"], "ALL") + p.equal("execution data", o["log_execution_data"], False),
            str(o["log_level"]),
        ),
        Finding("sfn.tracing", "state machine traced", p.equal("tracing", o["tracing"], True), str(o["tracing"])),
    ]


def schedule(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "scheduler.schedule",
            "schedule enabled with retries and a dead-letter queue",
            p.equal("state", o["state"], "ENABLED")
            + ([] if o["dead_letter"] else ["no dead-letter queue"])
            + _equal_if_declared("expression", o["expression"], c.declared("ScheduleExpression")),
            f"{o['expression']}, DLQ {o['dead_letter']}",
        )
    ]


def event_rule(o: dict[str, Any], c: Context) -> list[Finding]:
    targets = c.declared("Targets")
    declared_targets = sorted(str(t.get("Arn")) for t in targets) if isinstance(targets, list) else None
    return [
        Finding(
            "events.rule",
            "rule enabled, with its declared pattern and targets",
            p.equal("state", o["state"], "ENABLED")
            + _equal_if_declared("event pattern", o["pattern"], c.declared("EventPattern"))
            + _equal_if_declared("targets", o["targets"], declared_targets),
            f"{o['state']}, targets {o['targets']}",
        )
    ]


# ------------------------------------------------------------------------------ network


def vpc(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "ec2.vpc",
            "VPC CIDR as declared",
            _equal_if_declared("CIDR", o["cidr"], c.declared("CidrBlock")),
            str(o["cidr"]),
        )
    ]


def subnet(o: dict[str, Any], c: Context) -> list[Finding]:
    public = bool(c.declared("MapPublicIpOnLaunch"))
    return [
        Finding(
            "ec2.subnet",
            "subnet in its declared AZ and CIDR",
            _equal_if_declared("AZ", o["az"], c.declared("AvailabilityZone"))
            + _equal_if_declared("CIDR", o["cidr"], c.declared("CidrBlock"))
            + p.equal("public IP on launch", bool(o["public_ip_on_launch"]), public),
            f"{o['az']} {o['cidr']}",
        )
    ]


def _exists(check: str, what: str) -> Judge:
    def judge(o: dict[str, Any], c: Context) -> list[Finding]:
        return [Finding(check, what, [], ", ".join(f"{k} {v}" for k, v in o.items() if k != "exists" and v)[:200])]

    return judge


def route(o: dict[str, Any], c: Context) -> list[Finding]:
    target_keys = ("NatGatewayId", "GatewayId", "VpcEndpointId", "TransitGatewayId")
    declared = {k: c.declared(k) for k in target_keys if c.raw(k) is not None}
    got = o["route"] or {}
    problems = [x for k, v in declared.items() for x in _equal_if_declared(k, got.get(k), v)]
    return [Finding("ec2.route", "route to the declared target", problems, str(got))]


def gateway_association(o: dict[str, Any], c: Context) -> list[Finding]:
    return [Finding("ec2.gateway_edge", "the internet gateway's edge route table is associated", [], str(o["table"]))]


def network_firewall(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "nfw.firewall",
            "firewall ready, with its policy",
            p.equal("status", o["status"], "READY")
            + _equal_if_declared("policy", o["policy"], c.declared("FirewallPolicyArn")),
            f"{o['status']}, subnets {o['subnets']}",
        )
    ]


def firewall_policy(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "nfw.policy",
            "strict order, drop and alert what no rule passes",
            p.equal("rule order", o["order"], "STRICT_ORDER")
            + p.equal("default actions", o["stateful_defaults"], ["aws:alert_established", "aws:drop_established"]),
            str(o["stateful_defaults"]),
        )
    ]


def firewall_rule_group(o: dict[str, Any], c: Context) -> list[Finding]:
    source = ((c.declared("RuleGroup") or {}).get("RulesSource") or {}).get("RulesSourceList") or {}
    declared = sorted(source.get("Targets", [])) if isinstance(source, dict) else None
    return [
        Finding(
            "nfw.allow_list",
            "the subprocessor allow-list as declared",
            p.equal("kind", o["kind"], "ALLOWLIST") + _equal_if_declared("domains", o["targets"], declared),
            str(o["targets"]),
        )
    ]


def firewall_logging(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "nfw.logging",
            "alert and flow logs",
            p.equal("log types", o["log_types"], ["ALERT", "FLOW"]),
            str(o["log_types"]),
        )
    ]


def subnet_association(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "ec2.route_association",
            "subnet uses the declared route table",
            _equal_if_declared("subnet", o["subnet"], c.declared("SubnetId"))
            + _equal_if_declared("route table", o["table"], c.declared("RouteTableId")),
            f"{o['subnet']} -> {o['table']}",
        )
    ]


def nat_gateway(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "ec2.nat_gateway",
            "NAT gateway available in its declared subnet",
            p.equal("state", o["state"], "available")
            + _equal_if_declared("subnet", o["subnet"], c.declared("SubnetId")),
            f"{o['state']} in {o['subnet']}",
        )
    ]


def _internet_https_declared(c: Context) -> bool:
    """Does the deployed template itself declare HTTPS egress to the internet for this group (the
    config choice app_internet_egress, judged at synth)?"""
    rules = list(c.raw("SecurityGroupEgress") or [])
    for res in c.resolver.stack.template.get("Resources", {}).values():
        if res.get("Type") == "AWS::EC2::SecurityGroupEgress":
            group = (res.get("Properties", {}).get("GroupId") or {}).get("Fn::GetAtt", [None])[0]
            if group == c.lid:
                rules.append(res["Properties"])
    return any(
        (r.get("CidrIp") or r.get("CidrIpv6")) in p.INTERNET and p.egress_rule(r, https_to_internet_allowed=True) == []
        for r in rules
    )


def _peer(rule: dict[str, Any]) -> Any:
    return rule.get("CidrIp") or rule.get("CidrIpv6")


def security_group(o: dict[str, Any], c: Context) -> list[Finding]:
    allowed = _internet_https_declared(c)
    problems = [x for r in o["egress"] for x in p.egress_rule(r, https_to_internet_allowed=allowed)]
    declared_open = {(_peer(r), r.get("FromPort")) for r in c.raw("SecurityGroupIngress") or []}
    problems += [
        f"ingress from {_peer(r)} on port {r.get('FromPort')} is not declared"
        for r in o["ingress"]
        if _peer(r) in p.INTERNET and (_peer(r), r.get("FromPort")) not in declared_open
    ]
    return [
        Finding(
            "ec2.security_group",
            "no egress to the internet, no undeclared ingress from it",
            problems,
            f"{len(o['ingress'])} ingress, {len(o['egress'])} egress rules",
        )
    ]


def _rule_present(check: str) -> Judge:
    def judge(o: dict[str, Any], c: Context) -> list[Finding]:
        return [Finding(check, "rule present on its group", [], f"{o['group']} {o.get('rule', '')}")]

    return judge


def vpc_endpoint(o: dict[str, Any], c: Context) -> list[Finding]:
    problems = _equal_if_declared("type", o["type"], c.declared("VpcEndpointType") or "Gateway")
    if c.raw("PrivateDnsEnabled") is not None:
        problems += p.equal("private DNS", o["private_dns"], c.declared("PrivateDnsEnabled"))
    problems += policy_drift(o["policy"], c.raw("PolicyDocument"), c, "endpoint policy")
    return [
        Finding(
            "ec2.vpc_endpoint",
            "endpoint type, private DNS and policy as declared",
            problems,
            f"{o['service']} {o['type']}",
        )
    ]


def flow_log(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "ec2.flow_log",
            "VPC flow log captures ALL traffic",
            p.flow_log(traffic_type=o["traffic_type"], resource_id=o["resource"]),
            f"{o['traffic_type']} of {o['resource']} -> {o['destination']}",
        )
    ]


# ------------------------------------------------------------------------------ backup, alarms


def backup_vault(o: dict[str, Any], c: Context) -> list[Finding]:
    key_region = str(o["kms_key"] or "").split(":")[3] if str(o["kms_key"] or "").startswith("arn:") else c.region
    return [
        Finding(
            "backup.vault.cmk",
            "vault encrypted with a customer-managed key of this region",
            p.equal("key manager", o["key_manager"], "CUSTOMER")
            + p.equal("key region", key_region, c.region)
            + _key_drift("vault", o["kms_key"], c.declared("EncryptionKeyArn")),
            str(o["kms_key"]),
        ),
        Finding(
            "backup.vault.lock",
            "vault locked with the declared minimum retention",
            p.equal("locked", o["locked"], True)
            + _equal_if_declared(
                "minimum retention", o["min_days"], c.declared("LockConfiguration", "MinRetentionDays")
            ),
            f"locked {o['locked']}, min {o['min_days']} d, max {o['max_days']} d",
        ),
    ]


def backup_plan(o: dict[str, Any], c: Context) -> list[Finding]:
    by_name = {r["name"]: r for r in o["rules"]}
    problems = []
    for rule in c.raw("BackupPlan", "BackupPlanRule") or []:
        got = by_name.get(rule.get("RuleName"))
        if got is None:
            problems.append(f"rule {rule.get('RuleName')!r} missing")
            continue
        problems += p.equal(f"{rule['RuleName']} schedule", got["schedule"], rule.get("ScheduleExpression"))
        problems += p.equal(
            f"{rule['RuleName']} retention",
            got["delete_after_days"],
            (rule.get("Lifecycle") or {}).get("DeleteAfterDays"),
        )
    home = AWS_REGIONS.get(c.region)
    for r in o["rules"]:
        for dest in r["copies"]:
            region = str(dest).split(":")[3] if str(dest).startswith("arn:") else None
            if region is None or AWS_REGIONS.get(region) is not home:
                problems.append(f"{r['name']} copies to {dest}, outside {home.value if home else c.region}")
    return [
        Finding(
            "backup.plan",
            "backup rules as declared, copies stay in the jurisdiction",
            problems,
            "; ".join(f"{r['name']}: {r['schedule']} keep {r['delete_after_days']} d" for r in o["rules"]),
        )
    ]


def alarm(o: dict[str, Any], c: Context) -> list[Finding]:
    declared_actions = c.raw("AlarmActions") or []
    problems = ([] if o["actions"] else ["no alarm action"]) + p.equal(
        "action count", len(o["actions"]), len(declared_actions)
    )
    problems += _equal_if_declared("threshold", float(o["threshold"] or 0), float(c.declared("Threshold") or 0))
    return [
        Finding(
            "cloudwatch.alarm",
            "alarm notifies the declared actions at the declared threshold",
            problems,
            f"threshold {o['threshold']}, {len(o['actions'])} action(s)",
        )
    ]


# ------------------------------------------------------------------------------ audit, detection


def trail(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "cloudtrail.trail",
            "trail logging, validated, KMS, CloudWatch copy, single region, data events",
            p.trail(
                logging=o["logging"],
                validation=o["validation"],
                kms_key=o["kms_key"],
                cloudwatch_logs=o["cloudwatch_logs"],
                multi_region=o["multi_region"],
                selectors=o["selectors"],
            ),
            f"logging {o['logging']} -> {o['bucket']}",
        )
    ]


def config_rule(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "config.rule",
            "Config rule with the declared managed rule",
            _equal_if_declared("source", o["source"], c.declared("Source", "SourceIdentifier"))
            + ([] if o["state"] in ("ACTIVE", "EVALUATING") else [f"state {o['state']!r}"]),
            str(o["source"]),
        )
    ]


def config_recorder(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "config.recorder",
            "Config recorder recording",
            p.equal("recording", o["recording"], True),
            str(o["recording"]),
        )
    ]


def delivery_channel(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "config.delivery",
            "Config delivers to the declared bucket",
            _equal_if_declared("bucket", o["bucket"], c.declared("S3BucketName")),
            str(o["bucket"]),
        )
    ]


def _status(check: str, what: str, key: str, expected: Any) -> Judge:
    def judge(o: dict[str, Any], c: Context) -> list[Finding]:
        return [Finding(check, what, p.equal(key, o.get(key), expected), str(o.get(key)))]

    return judge


def web_acl(o: dict[str, Any], c: Context) -> list[Finding]:
    declared = {
        (r.get("Statement") or {}).get("ManagedRuleGroupStatement", {}).get("Name") for r in c.raw("Rules") or []
    } - {None}
    missing = sorted(declared - set(o["managed_groups"]))
    return [
        Finding(
            "waf.web_acl",
            "web ACL runs the declared managed rule groups",
            [f"rule groups {', '.join(missing)} missing"] if missing else [],
            ", ".join(o["managed_groups"]),
        )
    ]


def web_acl_association(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "waf.association",
            "the ALB is protected by the declared web ACL",
            _equal_if_declared("web ACL", o["acl"], c.declared("WebACLArn")),
            str(o["acl"]),
        )
    ]


def waf_logging(o: dict[str, Any], c: Context) -> list[Finding]:
    return [
        Finding(
            "waf.logging", "web ACL logs", [] if o["destinations"] else ["no log destination"], str(o["destinations"])
        )
    ]


def fis_template(o: dict[str, Any], c: Context) -> list[Finding]:
    real = [c for c in o["stop_conditions"] if c and c != "none"]  # source "none": the experiment never stops itself
    return [
        Finding(
            "fis.template",
            "fault-injection template with stop conditions",
            [] if real else ["no stop condition"],
            str(o["stop_conditions"]),
        )
    ]


def default_security_group_closed(o: dict[str, Any], c: Context) -> list[Finding]:
    rules = len(o["ingress"]) + len(o["egress"])
    return [
        Finding(
            "ec2.default_security_group",
            "the VPC's default security group has no rules",
            [f"{rules} rule(s) on the default group"] if rules else [],
            str(o.get("group")),
        )
    ]


def one_shot_trigger(o: dict[str, Any], c: Context) -> list[Finding]:
    status = o["cloudformation_status"]
    return [
        Finding(
            "cloudformation.trigger",
            "one-shot trigger completed (no lasting state to read: CloudFormation's record)",
            [] if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE") else [f"status {status}"],
            status,
        )
    ]


JUDGES: dict[str, Judge] = {
    "AWS::KMS::Key": kms_key,
    "AWS::KMS::Alias": kms_alias,
    "AWS::S3::Bucket": s3_bucket,
    "AWS::S3::BucketPolicy": s3_bucket_policy,
    "AWS::Logs::LogGroup": log_group,
    "AWS::Logs::MetricFilter": metric_filter,
    "AWS::IAM::Role": iam_role,
    "AWS::IAM::ManagedPolicy": iam_managed_policy,
    "AWS::ElasticLoadBalancingV2::Listener": listener,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": target_group,
    "AWS::RDS::DBCluster": db_cluster,
    "AWS::RDS::DBInstance": db_instance,
    "AWS::RDS::DBSubnetGroup": db_subnet_group,
    "AWS::RDS::DBClusterParameterGroup": db_cluster_parameter_group,
    "AWS::SNS::Topic": sns_topic,
    "AWS::SNS::TopicPolicy": sns_topic_policy,
    "AWS::SQS::Queue": sqs_queue,
    "AWS::SQS::QueuePolicy": sqs_queue_policy,
    "AWS::SSM::Parameter": ssm_parameter,
    "AWS::Lambda::Function": lambda_function,
    "AWS::Lambda::Version": lambda_version,
    "AWS::Lambda::Url": function_url,
    "AWS::EC2::GatewayRouteTableAssociation": gateway_association,
    "AWS::NetworkFirewall::Firewall": network_firewall,
    "AWS::NetworkFirewall::FirewallPolicy": firewall_policy,
    "AWS::NetworkFirewall::RuleGroup": firewall_rule_group,
    "AWS::NetworkFirewall::LoggingConfiguration": firewall_logging,
    "AWS::StepFunctions::StateMachine": state_machine,
    "AWS::Scheduler::Schedule": schedule,
    "AWS::Events::Rule": event_rule,
    "AWS::EC2::VPC": vpc,
    "AWS::EC2::Subnet": subnet,
    "AWS::EC2::RouteTable": _exists("ec2.route_table", "route table exists"),
    "AWS::EC2::Route": route,
    "AWS::EC2::SubnetRouteTableAssociation": subnet_association,
    "AWS::EC2::InternetGateway": _exists("ec2.internet_gateway", "internet gateway exists"),
    "AWS::EC2::VPCGatewayAttachment": _exists("ec2.gateway_attachment", "internet gateway attached to the VPC"),
    "AWS::EC2::NatGateway": nat_gateway,
    "AWS::EC2::EIP": _exists("ec2.eip", "Elastic IP allocated"),
    "AWS::EC2::SecurityGroup": security_group,
    "AWS::EC2::SecurityGroupIngress": _rule_present("ec2.ingress_rule"),
    "AWS::EC2::SecurityGroupEgress": _rule_present("ec2.egress_rule"),
    "AWS::EC2::VPCEndpoint": vpc_endpoint,
    "AWS::EC2::FlowLog": flow_log,
    "AWS::Backup::BackupVault": backup_vault,
    "AWS::Backup::BackupPlan": backup_plan,
    "AWS::Backup::BackupSelection": _exists("backup.selection", "backup selection exists"),
    "AWS::Backup::RestoreTestingPlan": _exists("backup.restore_testing", "restore testing plan exists"),
    "AWS::Backup::RestoreTestingSelection": _exists(
        "backup.restore_testing_selection", "restore testing selection exists"
    ),
    "AWS::CloudWatch::Alarm": alarm,
    "AWS::CloudTrail::Trail": trail,
    "AWS::Config::ConfigRule": config_rule,
    "AWS::Config::ConfigurationRecorder": config_recorder,
    "AWS::Config::DeliveryChannel": delivery_channel,
    "AWS::GuardDuty::Detector": _status("guardduty.detector", "GuardDuty enabled", "status", "ENABLED"),
    "AWS::GuardDuty::PublishingDestination": _status(
        "guardduty.export", "GuardDuty exports findings", "status", "PUBLISHING"
    ),
    "AWS::SecurityHub::Hub": _exists("securityhub.hub", "Security Hub enabled"),
    "AWS::SecurityHub::Standard": _status("securityhub.standard", "standard enabled", "status", "READY"),
    "AWS::Macie::Session": _status("macie.session", "Macie enabled", "status", "ENABLED"),
    "AWS::AccessAnalyzer::Analyzer": _status("accessanalyzer.analyzer", "Access Analyzer active", "status", "ACTIVE"),
    "AWS::WAFv2::WebACL": web_acl,
    "AWS::WAFv2::WebACLAssociation": web_acl_association,
    "AWS::WAFv2::LoggingConfiguration": waf_logging,
    "AWS::FIS::ExperimentTemplate": fis_template,
    "Custom::VpcRestrictDefaultSG": default_security_group_closed,
    "Custom::Trigger": one_shot_trigger,
}
