"""Policy checks over synthesized CloudFormation templates, for what cdk-nag does not check.

Each check takes a template (a dict) and returns a list of violations (empty = compliant),
so the same code gates the real stacks (tests/stacks) and proves, against deliberately
insecure constructs (tests/constructs_lib), that it can fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from config.jurisdictions import AWS_REGIONS, Jurisdiction
from contract import FORWARD_SECRET_TLS_POLICIES

Template = dict[str, Any]

# Restated here on purpose, not imported from constructs_lib: the check is an independent
# oracle, so a wrong constant in the construct cannot make its own check pass.
HSTS_ATTRIBUTE = "routing.http.response.strict_transport_security.header_value"
MIN_HSTS_SECONDS = 31_536_000

_POLICY_PROPS = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
}


def resources(template: Template, rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == rtype}


def policy_statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every policy document in the template (IAM, key, bucket policies, role inline)."""
    for logical_id, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        docs = [props[p] for p in _POLICY_PROPS.get(res.get("Type", ""), ()) if p in props]
        if res.get("Type") == "AWS::IAM::Role":
            docs += [p["PolicyDocument"] for p in props.get("Policies", []) if isinstance(p, dict)]
        for doc in docs:
            stmts = doc.get("Statement", []) if isinstance(doc, dict) else []
            for stmt in stmts if isinstance(stmts, list) else [stmts]:
                yield logical_id, stmt


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_action_violations(template: Template) -> list[str]:
    """No Allow statement may use `*`, `service:*` or NotAction."""
    out = []
    for logical_id, stmt in policy_statements(template):
        if stmt.get("Effect") != "Allow":
            continue
        if "NotAction" in stmt:
            out.append(f"{logical_id}: Allow with NotAction")
        for action in _as_list(stmt.get("Action", [])):
            if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                out.append(f"{logical_id}: Allow with wildcard action {action!r}")
    return out


def boundary_violations(template: Template) -> list[str]:
    """Every IAM role carries a permissions boundary."""
    return [
        f"{lid}: IAM role without PermissionsBoundary"
        for lid, res in resources(template, "AWS::IAM::Role").items()
        if not res.get("Properties", {}).get("PermissionsBoundary")
    ]


def _bucket_policy_for(template: Template, bucket_id: str) -> list[dict[str, Any]]:
    stmts: list[dict[str, Any]] = []
    for res in resources(template, "AWS::S3::BucketPolicy").values():
        if res["Properties"].get("Bucket") == {"Ref": bucket_id}:
            stmts += _as_list(res["Properties"]["PolicyDocument"].get("Statement", []))
    return stmts


def bucket_violations(template: Template) -> list[str]:
    """Every bucket: private, owner-enforced, versioned, encrypted, TLS-only (and TLS >= 1.2).
    Buckets encrypted with KMS (customer data) must also use a bucket key and server access logs."""
    out = []
    for bid, res in resources(template, "AWS::S3::Bucket").items():
        p = res.get("Properties", {})
        bpa = p.get("PublicAccessBlockConfiguration", {})
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if bpa.get(flag) is not True:
                out.append(f"{bid}: public access block {flag} not set")
        rules = p.get("OwnershipControls", {}).get("Rules", [])
        if not any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in rules):
            out.append(f"{bid}: object ownership not BucketOwnerEnforced")
        if p.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            out.append(f"{bid}: versioning not enabled")
        enc = p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        algos = {e.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for e in enc}
        if not algos & {"aws:kms", "AES256"}:
            out.append(f"{bid}: no default encryption")
        if "aws:kms" in algos:
            if not all(e.get("BucketKeyEnabled") for e in enc):
                out.append(f"{bid}: SSE-KMS without bucket key")
            if not p.get("LoggingConfiguration", {}).get("DestinationBucketName"):
                out.append(f"{bid}: no server access logs")
        stmts = _bucket_policy_for(template, bid)
        denies = [s for s in stmts if s.get("Effect") == "Deny" and s.get("Principal") in ({"AWS": "*"}, "*")]
        if not any(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in denies):
            out.append(f"{bid}: bucket policy does not deny non-TLS requests")
        if not any(_tls_floor(s) == 1.2 for s in denies):
            out.append(f"{bid}: bucket policy does not deny TLS < 1.2")
    return out


def _tls_floor(stmt: dict[str, Any]) -> float | None:
    value = stmt.get("Condition", {}).get("NumericLessThan", {}).get("s3:TlsVersion")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def listener_violations(template: Template) -> list[str]:
    """HTTPS listeners: forward-secret TLS 1.2+ policy and HSTS >= 1 year with includeSubDomains
    and preload. HTTP listeners: nothing but a permanent redirect to HTTPS."""
    out = []
    for lid, res in resources(template, "AWS::ElasticLoadBalancingV2::Listener").items():
        p = res["Properties"]
        if p.get("Protocol") == "HTTPS":
            if p.get("SslPolicy") not in FORWARD_SECRET_TLS_POLICIES:
                out.append(f"{lid}: SslPolicy {p.get('SslPolicy')!r} is not TLS 1.2+ forward-secrecy-only")
            attrs = {a["Key"]: a["Value"] for a in p.get("ListenerAttributes", [])}
            out += [f"{lid}: {v}" for v in hsts_violations(attrs.get(HSTS_ATTRIBUTE))]
        elif p.get("Protocol") == "HTTP":
            actions = p.get("DefaultActions", [])
            ok = (
                len(actions) == 1
                and actions[0].get("Type") == "redirect"
                and actions[0].get("RedirectConfig", {}).get("Protocol") == "HTTPS"
                and actions[0].get("RedirectConfig", {}).get("StatusCode") == "HTTP_301"
            )
            if not ok:
                out.append(f"{lid}: HTTP listener does something other than a 301 redirect to HTTPS")
        else:
            out.append(f"{lid}: listener protocol {p.get('Protocol')!r}")
    for lid in resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule"):
        out.append(f"{lid}: listener rules are not expected (HTTP must only redirect)")
    return out


def hsts_violations(header: str | None) -> list[str]:
    if not header:
        return ["no HSTS header attribute"]
    parts = [x.strip() for x in header.split(";")]
    out = []
    max_age = next((int(x.split("=", 1)[1]) for x in parts if x.startswith("max-age=")), 0)
    if max_age < MIN_HSTS_SECONDS:
        out.append(f"HSTS max-age {max_age} < {MIN_HSTS_SECONDS}")
    for directive in ("includeSubDomains", "preload"):
        if directive not in parts:
            out.append(f"HSTS without {directive}")
    return out


def aurora_violations(template: Template) -> list[str]:
    """Aurora: encrypted with a CMK, TLS forced, IAM auth, deletion protection, PITR >= 7 days,
    log export, RDS-managed secret under a CMK; instances in 3 distinct AZs with encrypted PI."""
    out = []
    groups = resources(template, "AWS::RDS::DBClusterParameterGroup")
    for cid, res in resources(template, "AWS::RDS::DBCluster").items():
        p = res["Properties"]
        checks = {
            "storage not encrypted with a CMK": p.get("StorageEncrypted") is True and bool(p.get("KmsKeyId")),
            "deletion protection off": p.get("DeletionProtection") is True,
            "IAM database authentication off": p.get("EnableIAMDatabaseAuthentication") is True,
            "PITR retention under 7 days": int(p.get("BackupRetentionPeriod", 1)) >= 7,
            "postgresql log export off": "postgresql" in p.get("EnableCloudwatchLogsExports", []),
            "master secret not RDS-managed under a CMK": p.get("ManageMasterUserPassword") is True
            and bool(p.get("MasterUserSecret", {}).get("KmsKeyId")),
            "removal policy is not Snapshot/Retain": res.get("DeletionPolicy") in ("Snapshot", "Retain"),
        }
        out += [f"{cid}: {what}" for what, ok in checks.items() if not ok]
        ref = p.get("DBClusterParameterGroupName", {})
        group = groups.get(ref.get("Ref", "") if isinstance(ref, dict) else "", {})
        params = group.get("Properties", {}).get("Parameters", {})
        if str(params.get("rds.force_ssl")) != "1":
            out.append(f"{cid}: rds.force_ssl is not 1 in the cluster parameter group")
        instances = [
            i for i in resources(template, "AWS::RDS::DBInstance").values()
            if i["Properties"].get("DBClusterIdentifier") == {"Ref": cid}
        ]  # fmt: skip
        azs = {i["Properties"].get("AvailabilityZone") for i in instances}
        if len(instances) < 3 or len(azs) < 3 or None in azs:
            out.append(f"{cid}: instances not pinned to 3 distinct AZs ({sorted(map(str, azs))})")
        for i in instances:
            ip = i["Properties"]
            if not (ip.get("EnablePerformanceInsights") and ip.get("PerformanceInsightsKMSKeyId")):
                out.append(f"{cid}: an instance lacks Performance Insights encrypted with a CMK")
            if ip.get("PubliclyAccessible") is not False:
                out.append(f"{cid}: an instance may be publicly accessible")
    return out


def residency_violations(template: Template, jurisdiction: Jurisdiction) -> list[str]:
    """No string in the template may name a region of another jurisdiction (or one with none),
    and nothing may be imported from another stack's exports."""
    text = json.dumps(template)
    out = []
    foreign = [r for r, j in AWS_REGIONS.items() if j is not jurisdiction]
    for region in foreign:
        # region codes are prefixes of each other (us-east-1 / us-east-10 do not exist, but be exact)
        for quoted in (f'"{region}"', f":{region}:", f".{region}.", f"{region}a", f"{region}b", f"{region}c"):
            if quoted in text:
                out.append(f"reference to {region} (outside {jurisdiction.value})")
                break
    if "Fn::ImportValue" in text:
        out.append("Fn::ImportValue: cross-stack exports are not used (SSM links instead)")
    return out


def audit_bucket_violations(template: Template, *, min_lock_days: int) -> list[str]:
    """Object-Lock buckets: compliance mode with >= `min_lock_days`, versioned, SSE-KMS, and a
    bucket policy denying object and bucket deletion to every principal."""
    out = []
    locked = {
        k: v for k, v in resources(template, "AWS::S3::Bucket").items() if v["Properties"].get("ObjectLockEnabled")
    }
    if not locked:
        return ["no Object Lock bucket"]
    for bid, res in locked.items():
        rule = res["Properties"].get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
        if rule.get("Mode") != "COMPLIANCE":
            out.append(f"{bid}: Object Lock mode {rule.get('Mode')!r}, not COMPLIANCE")
        if int(rule.get("Days", 0)) < min_lock_days:
            out.append(f"{bid}: Object Lock retention {rule.get('Days')} < {min_lock_days} days")
        denies = [
            s
            for s in _bucket_policy_for(template, bid)
            if s.get("Effect") == "Deny" and s.get("Principal") in ({"AWS": "*"}, "*")
        ]
        denied = {a for s in denies for a in _as_list(s.get("Action", []))}
        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"):
            if action not in denied:
                out.append(f"{bid}: {action} not denied to everyone")
    return out


def trail_violations(template: Template) -> list[str]:
    """Trails: logging, log-file validation, KMS, CloudWatch copy, single region, management
    events plus read+write S3 data events."""
    out = []
    trails = resources(template, "AWS::CloudTrail::Trail")
    if not trails:
        return ["no CloudTrail trail"]
    for tid, res in trails.items():
        p = res["Properties"]
        checks = {
            "not logging": p.get("IsLogging") is True,
            "log file validation off": p.get("EnableLogFileValidation") is True,
            "not KMS-encrypted": bool(p.get("KMSKeyId")),
            "no CloudWatch Logs copy": bool(p.get("CloudWatchLogsLogGroupArn"))
            and bool(p.get("CloudWatchLogsRoleArn")),
            "multi-region (would cross jurisdictions)": p.get("IsMultiRegionTrail") is False,
        }
        out += [f"{tid}: {what}" for what, ok in checks.items() if not ok]
        selectors = p.get("EventSelectors", [])
        if not any(
            s.get("IncludeManagementEvents") and s.get("ReadWriteType") == "All"
            and any(d.get("Type") == "AWS::S3::Object" for d in s.get("DataResources", []))
            for s in selectors
        ):  # fmt: skip
            out.append(f"{tid}: no management + read/write S3 data event selector")
    return out


def _egress_rules(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(logical ID of the rule's owner, group logical ID or '', rule properties) for every egress rule,
    inline in a security group or standalone."""
    for gid, res in resources(template, "AWS::EC2::SecurityGroup").items():
        for rule in res.get("Properties", {}).get("SecurityGroupEgress", []):
            yield gid, gid, rule
    for rid, res in resources(template, "AWS::EC2::SecurityGroupEgress").items():
        p = res.get("Properties", {})
        ref = p.get("GroupId", {})
        group = ref.get("Fn::GetAtt", [""])[0] if isinstance(ref, dict) else ""
        yield rid, group, p


def egress_violations(template: Template, *, internet_allowed_for: tuple[str, ...] = ()) -> list[str]:
    """No security group may send traffic to the whole internet (0.0.0.0/0 or ::/0), except HTTPS
    from a group whose logical ID starts with one of `internet_allowed_for` (the config choice
    `app_internet_egress`). CDK's placeholder rule of an egress-free group (255.255.255.255/32,
    protocol icmp 252) is not traffic."""
    out = []
    for owner, group, rule in _egress_rules(template):
        cidr = rule.get("CidrIp") or rule.get("CidrIpv6")
        if cidr not in ("0.0.0.0/0", "::/0"):
            continue
        https_only = str(rule.get("IpProtocol")) == "tcp" and rule.get("FromPort") == 443 and rule.get("ToPort") == 443
        if https_only and group.startswith(internet_allowed_for) and internet_allowed_for:
            continue
        out.append(f"{owner}: egress to {cidr} ({rule.get('IpProtocol')} {rule.get('FromPort')}-{rule.get('ToPort')})")
    return out
