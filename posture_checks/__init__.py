"""Policy checks over synthesized CloudFormation templates, for what cdk-nag does not check.

Each check takes a template (a dict) and returns a list of violations (empty = compliant),
so the same code gates the real stacks (tests/stacks) and proves, against deliberately
insecure constructs (tests/constructs_lib), that it can fail. The judgement of each value is a
predicate of `posture_checks.predicates`, which `verify` applies to what it reads from a deployed
account: one source of truth for templates, the emulator and live accounts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from config.jurisdictions import AWS_REGIONS, Jurisdiction
from posture_checks import predicates as judge
from posture_checks.predicates import HSTS_ATTRIBUTE, MIN_HSTS_SECONDS, hsts

Template = dict[str, Any]
__all__ = ["HSTS_ATTRIBUTE", "MIN_HSTS_SECONDS", "hsts_violations"]
hsts_violations = hsts

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
    return [
        f"{logical_id}: {p}" for logical_id, stmt in policy_statements(template) for p in judge.wildcard_actions([stmt])
    ]


def boundary_violations(template: Template) -> list[str]:
    """Every IAM role carries a permissions boundary."""
    return [
        f"{lid}: {p}"
        for lid, res in resources(template, "AWS::IAM::Role").items()
        for p in judge.role_boundary(res.get("Properties", {}).get("PermissionsBoundary"))
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
        problems = judge.public_access_block(p.get("PublicAccessBlockConfiguration"))
        problems += judge.object_ownership(p.get("OwnershipControls", {}).get("Rules"))
        problems += judge.versioning(p.get("VersioningConfiguration", {}).get("Status"))
        enc = p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        rules = enc or [{}]
        for rule in rules:
            algorithm = rule.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
            problems += judge.bucket_encryption(algorithm)
            problems += judge.bucket_key(algorithm=algorithm, enabled=rule.get("BucketKeyEnabled"))
        algos = {e.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for e in enc}
        if "aws:kms" in algos and not p.get("LoggingConfiguration", {}).get("DestinationBucketName"):
            problems.append("no server access logs")
        stmts = _bucket_policy_for(template, bid)
        problems += judge.denies_insecure_transport(stmts, "s3") + judge.denies_old_tls(stmts)
        out += [f"{bid}: {x}" for x in problems]
    return out


def listener_violations(template: Template) -> list[str]:
    """HTTPS listeners: forward-secret TLS 1.2+ policy and HSTS >= 1 year with includeSubDomains
    and preload. HTTP listeners: nothing but a permanent redirect to HTTPS."""
    out = []
    for lid, res in resources(template, "AWS::ElasticLoadBalancingV2::Listener").items():
        p = res["Properties"]
        if p.get("Protocol") == "HTTPS":
            attrs = {a["Key"]: a["Value"] for a in p.get("ListenerAttributes", [])}
            out += [f"{lid}: {v}" for v in judge.tls_policy(p.get("SslPolicy")) + judge.hsts(attrs.get(HSTS_ATTRIBUTE))]
        elif p.get("Protocol") == "HTTP":
            out += [f"{lid}: {v}" for v in judge.http_redirect(p.get("DefaultActions"))]
        else:
            out.append(f"{lid}: listener protocol {p.get('Protocol')!r}")
    for lid in resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule"):
        out.append(f"{lid}: listener rules are not expected (HTTP must only redirect)")
    return out


def aurora_violations(template: Template) -> list[str]:
    """Aurora: encrypted with a CMK, TLS forced, IAM auth, deletion protection, PITR >= 7 days,
    log export, RDS-managed secret under a CMK; instances in 3 distinct AZs with encrypted PI."""
    out = []
    groups = resources(template, "AWS::RDS::DBClusterParameterGroup")
    for cid, res in resources(template, "AWS::RDS::DBCluster").items():
        p = res["Properties"]
        problems = judge.aurora_cluster(
            encrypted=p.get("StorageEncrypted"),
            kms_key_id=p.get("KmsKeyId"),
            deletion_protection=p.get("DeletionProtection"),
            iam_auth=p.get("EnableIAMDatabaseAuthentication"),
            backup_days=p.get("BackupRetentionPeriod", 1),
            log_exports=p.get("EnableCloudwatchLogsExports"),
        )
        if not (p.get("ManageMasterUserPassword") is True and p.get("MasterUserSecret", {}).get("KmsKeyId")):
            problems.append("master secret not RDS-managed under a CMK")
        if res.get("DeletionPolicy") not in ("Snapshot", "Retain"):
            problems.append("removal policy is not Snapshot/Retain")
        ref = p.get("DBClusterParameterGroupName", {})
        group = groups.get(ref.get("Ref", "") if isinstance(ref, dict) else "", {})
        params = group.get("Properties", {}).get("Parameters", {})
        problems += [f"{x} in the cluster parameter group" for x in judge.force_ssl(params)]
        out += [f"{cid}: {x}" for x in problems]
        instances = [
            i
            for i in resources(template, "AWS::RDS::DBInstance").values()
            if i["Properties"].get("DBClusterIdentifier") == {"Ref": cid}
        ]
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


IDENTITY_CENTER_REGION_VARIABLE = "IDENTITY_CENTER_REGION"
IDENTITY_CENTER_REGION_SID = "DenyIdentityCenterOutsideItsRegion"


def _without_identity_center_region(template: Template, region: str) -> Template:
    """The template with the two documented references to Identity Center's home region blanked:
    the elevation broker's IDENTITY_CENTER_REGION variable (it calls sso-admin and identitystore
    there, with user, group and permission-set IDs only) and the boundary statement that confines
    those calls to that region. Any other mention of the region still counts."""
    copy = json.loads(json.dumps(template))
    for res in copy.get("Resources", {}).values():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Lambda::Function":
            variables = props.get("Environment", {}).get("Variables", {})
            if variables.get(IDENTITY_CENTER_REGION_VARIABLE) == region:
                variables[IDENTITY_CENTER_REGION_VARIABLE] = "<identity-center-region>"
        if res.get("Type") == "AWS::IAM::ManagedPolicy":
            for st in props.get("PolicyDocument", {}).get("Statement", []):
                condition = st.get("Condition", {}).get("StringNotEquals", {})
                if st.get("Sid") == IDENTITY_CENTER_REGION_SID and condition.get("aws:RequestedRegion") == region:
                    condition["aws:RequestedRegion"] = "<identity-center-region>"
    return dict(copy)


def residency_violations(
    template: Template, jurisdiction: Jurisdiction, *, identity_center_region: str | None = None
) -> list[str]:
    """No string in the template may name a region of another jurisdiction (or one with none),
    and nothing may be imported from another stack's exports. The one exception: Identity
    Center's home region, in exactly the two places `_without_identity_center_region` names."""
    if identity_center_region:
        template = _without_identity_center_region(template, identity_center_region)
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
        problems = judge.object_lock(mode=rule.get("Mode"), days=rule.get("Days"), min_days=min_lock_days)
        problems += judge.denies_to_everyone(
            _bucket_policy_for(template, bid), ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket")
        )
        out += [f"{bid}: {x}" for x in problems]
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
        problems = judge.trail(
            logging=p.get("IsLogging"),
            validation=p.get("EnableLogFileValidation"),
            kms_key=p.get("KMSKeyId"),
            cloudwatch_logs=p.get("CloudWatchLogsLogGroupArn") and p.get("CloudWatchLogsRoleArn"),
            multi_region=p.get("IsMultiRegionTrail"),
            selectors=p.get("EventSelectors"),
        )
        out += [f"{tid}: {x}" for x in problems]
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
    return [
        f"{owner}: {p}"
        for owner, group, rule in _egress_rules(template)
        for p in judge.egress_rule(
            rule, https_to_internet_allowed=bool(internet_allowed_for) and group.startswith(internet_allowed_for)
        )
    ]


# ------------------------------------------------------------------------------ egress firewall
def sni_verdict(rule_group: dict[str, Any], policy: dict[str, Any], server_name: str) -> str:
    """What the egress firewall does with an HTTPS connection to `server_name` (its TLS SNI):
    "pass" or "drop". The subset of Network Firewall the egress construct uses, read from the
    template: a stateful domain list (RulesSourceList; "abc.example.com matches only that domain",
    ".example.com matches example.com and all its subdomains") under strict order, then the
    policy's stateful default actions. Anything else in the template makes this raise."""
    rules = rule_group.get("RuleGroup", {})
    source = rules.get("RulesSource", {}).get("RulesSourceList")
    if rule_group.get("Type") != "STATEFUL" or source is None or "TLS_SNI" not in source.get("TargetTypes", []):
        raise ValueError("not a stateful TLS SNI domain list")
    name = server_name.lower().rstrip(".")
    matched = any(name == t.lstrip(".") or (t.startswith(".") and name.endswith(t)) for t in source.get("Targets", []))
    kind = source.get("GeneratedRulesType")
    if matched:
        return "pass" if kind == "ALLOWLIST" else "drop"
    if kind == "DENYLIST":
        return "pass"
    defaults = policy.get("FirewallPolicy", {}).get("StatefulDefaultActions", [])
    return "drop" if {"aws:drop_established", "aws:drop_strict"} & set(defaults) else "pass"


def _route_table_of(template: Template, subnet_lid: str) -> str | None:
    for assoc in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values():
        if assoc["Properties"].get("SubnetId") == {"Ref": subnet_lid}:
            return str(assoc["Properties"]["RouteTableId"]["Ref"])
    return None


def _default_route(template: Template, table: str | None) -> dict[str, Any]:
    for route in resources(template, "AWS::EC2::Route").values():
        p = route["Properties"]
        if p.get("RouteTableId") == {"Ref": table} and p.get("DestinationCidrBlock") == "0.0.0.0/0":
            return dict(p)
    return {}


def _endpoint_firewall(expr: Any) -> str | None:
    """The firewall whose (single) endpoint an Fn::Select/Fn::Split expression names."""
    text = json.dumps(expr)
    m = re.search(r'"Fn::GetAtt": \["([A-Za-z0-9]+)", "EndpointIds"\]', text)
    return m.group(1) if m and '"Fn::Select": [0' in text else None


def egress_firewall_violations(template: Template, domains: tuple[str, ...]) -> list[str]:
    """The network template of a region with subprocessor_domains: every app subnet leaves through a
    NAT gateway whose subnet routes to its own AZ's firewall endpoint, the firewall subnet to the
    internet gateway, and the gateway's edge table returns through the same endpoint; the
    firewall passes exactly the configured domains and drops (and logs) the rest."""
    out: list[str] = []
    groups = resources(template, "AWS::NetworkFirewall::RuleGroup")
    policies = resources(template, "AWS::NetworkFirewall::FirewallPolicy")
    firewalls = resources(template, "AWS::NetworkFirewall::Firewall")
    if len(groups) != 1 or len(policies) != 1 or len(firewalls) != 3:
        return [
            f"expected 1 rule group, 1 policy and 3 firewalls, found {len(groups)}, {len(policies)}, {len(firewalls)}"
        ]
    group, policy = next(iter(groups.values()))["Properties"], next(iter(policies.values()))["Properties"]
    try:
        for domain in domains:
            for name in (domain.lstrip("."), *([f"api{domain}"] if domain.startswith(".") else [])):
                if sni_verdict(group, policy, name) != "pass":
                    out.append(f"the firewall drops the configured subprocessor {name}")
        for name in ("off-list.example.invalid", f"evil{domains[0].lstrip('.')}", ""):
            if sni_verdict(group, policy, name) != "drop":
                out.append(f"the firewall lets {name or '(no SNI)'} through")
    except ValueError as exc:
        out.append(f"the firewall rules are not the domain allow-list: {exc}")
    defaults = policy.get("FirewallPolicy", {})
    if defaults.get("StatelessDefaultActions") != ["aws:forward_to_sfe"] or defaults.get(
        "StatelessFragmentDefaultActions"
    ) != ["aws:forward_to_sfe"]:
        out.append("stateless traffic is not all forwarded to the stateful engine")
    if "aws:alert_established" not in defaults.get("StatefulDefaultActions", []):
        out.append("dropped connections are not logged (aws:alert_established)")
    logged = {
        (json.dumps(c["Properties"]["FirewallArn"]), d["LogType"])
        for c in resources(template, "AWS::NetworkFirewall::LoggingConfiguration").values()
        for d in c["Properties"]["LoggingConfiguration"]["LogDestinationConfigs"]
    }
    for fid in firewalls:
        for log_type in ("ALERT", "FLOW"):
            if (json.dumps({"Fn::GetAtt": [fid, "FirewallArn"]}), log_type) not in logged:
                out.append(f"{fid}: no {log_type} log")
    subnets = resources(template, "AWS::EC2::Subnet")
    az_of = {lid: json.dumps(s["Properties"].get("AvailabilityZone")) for lid, s in subnets.items()}
    firewall_az = {
        fid: az_of.get(f["Properties"]["SubnetMappings"][0]["SubnetId"]["Ref"]) for fid, f in firewalls.items()
    }
    nats = resources(template, "AWS::EC2::NatGateway")
    edge_routes = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::Route").values()
        if r["Properties"].get("DestinationCidrBlock") != "0.0.0.0/0"
    ]
    for lid in subnets:
        if not lid.startswith("NetworkVpcapp"):
            continue
        route = _default_route(template, _route_table_of(template, lid))
        nat = route.get("NatGatewayId", {}).get("Ref")
        if nat not in nats:
            out.append(f"{lid}: the default route does not go to a NAT gateway")
            continue
        nat_subnet = nats[nat]["Properties"]["SubnetId"]["Ref"]
        hop = _default_route(template, _route_table_of(template, nat_subnet))
        fw = _endpoint_firewall(hop.get("VpcEndpointId"))
        if fw not in firewalls or "GatewayId" in hop:
            out.append(f"{nat_subnet}: the NAT subnet's default route does not go to a firewall endpoint")
            continue
        if firewall_az[fw] != az_of[nat_subnet] or az_of[nat_subnet] != az_of[lid]:
            out.append(f"{lid}: leaves through a firewall in another AZ")
        fw_subnet = firewalls[fw]["Properties"]["SubnetMappings"][0]["SubnetId"]["Ref"]
        if "GatewayId" not in _default_route(template, _route_table_of(template, fw_subnet)):
            out.append(f"{fw_subnet}: the firewall subnet has no route to the internet gateway")
        cidr = subnets[nat_subnet]["Properties"].get("CidrBlock")
        if not any(
            r.get("DestinationCidrBlock") == cidr and _endpoint_firewall(r.get("VpcEndpointId")) == fw
            for r in edge_routes
        ):
            out.append(f"{nat_subnet}: return traffic does not come back through {fw}")
    if len(resources(template, "AWS::EC2::GatewayRouteTableAssociation")) != 1:
        out.append("the internet gateway has no edge route table")
    return out
