"""One posture assertion per promise, for every region, over the session's single synth.

These cover what cdk-nag does not: TLS policy, HSTS, the HTTP redirect, three distinct AZs,
residency, no wildcard IAM action, boundaries on every role.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import posture_checks as pc
from config import Jurisdiction, RegionConfig
from config.model import months_to_days
from contract import boundary_policy_name
from stacks.region import STACK_PARTS, STATEFUL_PARTS, stack_name
from tests.conftest import Assembly, only

PARTS = STACK_PARTS


def tpl(assembly: Assembly, region: RegionConfig, part: str) -> dict[str, Any]:
    return assembly.template(stack_name(region.name, part))


# ---------------------------------------------------------------- regional hosting & residency


def test_every_stack_is_pinned_to_its_region_and_account(assembly: Assembly, region: RegionConfig) -> None:
    for part in PARTS:
        artifact = assembly.manifest["artifacts"][stack_name(region.name, part)]
        assert artifact["environment"] == f"aws://{assembly.config.account}/{region.name}"


IDENTITY_CENTER_REGION = "us-east-1"  # the shipped config's [access] home_region


def test_no_reference_crosses_the_jurisdiction(assembly: Assembly, region: RegionConfig) -> None:
    for part in PARTS:
        found = pc.residency_violations(
            tpl(assembly, region, part), region.jurisdiction, identity_center_region=IDENTITY_CENTER_REGION
        )
        assert found == [], part


def test_the_identity_center_exception_is_exactly_two_places() -> None:
    """The EU broker names Identity Center's region in one variable, its boundary in one statement;
    without the exception both count, and the same region anywhere else still counts."""
    detection: dict[str, Any] = {
        "Resources": {
            "Broker": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Environment": {
                        "Variables": {"IDENTITY_CENTER_REGION": "us-east-1", "TRUSTBASE_REGION": "eu-west-1"}
                    }
                },
            }
        }
    }
    boundary: dict[str, Any] = {
        "Resources": {
            "Boundary": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Sid": "DenyIdentityCenterOutsideItsRegion",
                                "Effect": "Deny",
                                "Action": ["sso:*"],
                                "Resource": "*",
                                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
                            }
                        ]
                    }
                },
            }
        }
    }
    for template in (detection, boundary):
        assert pc.residency_violations(template, Jurisdiction.EU, identity_center_region="us-east-1") == []
        assert pc.residency_violations(template, Jurisdiction.EU) == ["reference to us-east-1 (outside EU)"]
    detection["Resources"]["Broker"]["Properties"]["Environment"]["Variables"]["BACKUP_REGION"] = "us-east-1"
    assert pc.residency_violations(detection, Jurisdiction.EU, identity_center_region="us-east-1") == [
        "reference to us-east-1 (outside EU)"
    ]
    boundary["Resources"]["Boundary"]["Properties"]["PolicyDocument"]["Statement"][0]["Sid"] = "Other"
    assert pc.residency_violations(boundary, Jurisdiction.EU, identity_center_region="us-east-1") != []


def test_boundary_denies_calls_to_other_regions(assembly: Assembly, region: RegionConfig) -> None:
    policy = only(pc.resources(tpl(assembly, region, "keys"), "AWS::IAM::ManagedPolicy"))["Properties"]
    assert policy["ManagedPolicyName"] == boundary_policy_name(region.name)
    deny = next(s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "DenyOtherRegions")
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": region.name}}


# ---------------------------------------------------------------- surviving an AZ loss


def test_vpc_spans_three_distinct_azs_with_three_tiers(assembly: Assembly, region: RegionConfig) -> None:
    subnets = pc.resources(tpl(assembly, region, "network"), "AWS::EC2::Subnet").values()
    by_tier: dict[str, set[str]] = {}
    for s in subnets:
        tier = next(t["Value"] for t in s["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name")
        by_tier.setdefault(tier, set()).add(s["Properties"]["AvailabilityZone"])
    assert by_tier == {tier: set(region.availability_zones) for tier in ("public", "app", "data")}


def test_one_nat_gateway_per_az(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "network")
    nats = pc.resources(template, "AWS::EC2::NatGateway").values()
    subnets = pc.resources(template, "AWS::EC2::Subnet")
    nat_azs = {subnets[n["Properties"]["SubnetId"]["Ref"]]["Properties"]["AvailabilityZone"] for n in nats}
    assert len(nat_azs) == region.nat_gateways == 3
    # each private (app) subnet routes egress through the NAT of its own AZ: follow subnet -> route
    # table -> default route -> NAT gateway -> the NAT's subnet, and compare the two AZs
    tables = {
        a["Properties"]["RouteTableId"]["Ref"]: a["Properties"]["SubnetId"]["Ref"]
        for a in pc.resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    nat_subnet = {
        lid: n["Properties"]["SubnetId"]["Ref"] for lid, n in pc.resources(template, "AWS::EC2::NatGateway").items()
    }
    routes = [
        r["Properties"] for r in pc.resources(template, "AWS::EC2::Route").values() if "NatGatewayId" in r["Properties"]
    ]
    assert len(routes) == 3
    pairs = set()
    for route in routes:
        assert route["DestinationCidrBlock"] == "0.0.0.0/0"
        private = subnets[tables[route["RouteTableId"]["Ref"]]]["Properties"]
        nat_at = subnets[nat_subnet[route["NatGatewayId"]["Ref"]]]["Properties"]
        pairs.add((private["AvailabilityZone"], nat_at["AvailabilityZone"]))
    assert pairs == {(az, az) for az in region.availability_zones}


def test_aurora_has_an_instance_in_each_az(assembly: Assembly, region: RegionConfig) -> None:
    instances = pc.resources(tpl(assembly, region, "data"), "AWS::RDS::DBInstance").values()
    assert sorted(i["Properties"]["AvailabilityZone"] for i in instances) == sorted(region.availability_zones)
    tiers = sorted(i["Properties"]["PromotionTier"] for i in instances)
    assert tiers == [0, 1, 1]  # one writer, two promotable readers


def test_alb_spans_the_three_public_subnets(assembly: Assembly, region: RegionConfig) -> None:
    lb = only(pc.resources(tpl(assembly, region, "edge"), "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert lb["Scheme"] == "internet-facing"
    assert len(lb["Subnets"]) == 3
    assert all("Fn::Select" in s and "publicsubnetids" in str(s).lower() for s in lb["Subnets"])


# ---------------------------------------------------------------- encryption at rest


def test_keys_are_symmetric_rotating_retained_and_one_per_data_class(assembly: Assembly, region: RegionConfig) -> None:
    keys = pc.resources(tpl(assembly, region, "keys"), "AWS::KMS::Key")
    assert len(keys) == 6
    for key in keys.values():
        p = key["Properties"]
        assert p["KeySpec"] == "SYMMETRIC_DEFAULT" and p["KeyUsage"] == "ENCRYPT_DECRYPT"
        assert p["EnableKeyRotation"] is True
        # kept on stack deletion and replacement; only a failed first create removes it
        assert key["DeletionPolicy"] == "RetainExceptOnCreate" and key["UpdateReplacePolicy"] == "Retain"
    aliases = {
        a["Properties"]["AliasName"] for a in pc.resources(tpl(assembly, region, "keys"), "AWS::KMS::Alias").values()
    }
    assert aliases == {f"alias/trustbase/{c}" for c in ("database", "objects", "logs", "audit", "backup", "lifecycle")}


def test_key_policies_use_service_conditions(assembly: Assembly, region: RegionConfig) -> None:
    keys = pc.resources(tpl(assembly, region, "keys"), "AWS::KMS::Key")
    unconditioned = []
    for lid, key in keys.items():
        stmts = key["Properties"]["KeyPolicy"]["Statement"]
        usage = [s for s in stmts if "kms:Decrypt" in s["Action"]]
        assert usage, "every key must be usable by something"
        for s in usage:
            conditions = {k: v for block in s.get("Condition", {}).values() for k, v in block.items()}
            # every use is pinned: through a service, from this account, for one source, one role,
            # or one encryption context (the resource the data belongs to)
            scoped = {"kms:ViaService", "aws:SourceAccount", "aws:SourceArn", "aws:PrincipalArn"} & set(conditions)
            scoped |= {k for k in conditions if k.startswith("kms:EncryptionContext:")}
            if not scoped:
                unconditioned.append((lid, {"Principal": s["Principal"], "Action": s["Action"]}))
                continue
            if conditions.get("aws:SourceAccount"):
                assert conditions["aws:SourceAccount"] == assembly.config.account
            if s.get("Principal") == {"AWS": "*"}:
                assert (
                    conditions.get("aws:PrincipalArn")
                    and conditions.get("kms:CallerAccount") == assembly.config.account
                ), s
            vias = conditions.get("kms:ViaService", [])
            for via in vias if isinstance(vias, list) else [vias]:
                assert via.endswith(f".{region.name}.amazonaws.com"), via
        grants = next(s for s in stmts if s.get("Sid") == "GrantsForAwsResourcesOnly")
        assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert unconditioned == []


def test_buckets_are_private_versioned_encrypted_and_tls_only(assembly: Assembly, region: RegionConfig) -> None:
    assert pc.bucket_violations(tpl(assembly, region, "data")) == []


def test_customer_bucket_uses_the_objects_key(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "data")
    kms_buckets = [
        b
        for b in pc.resources(template, "AWS::S3::Bucket").values()
        if b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "aws:kms"
    ]
    assert len(kms_buckets) == 1
    sse = kms_buckets[0]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert "objectskeyarn" in str(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).lower()


def test_only_the_access_log_bucket_uses_sse_s3(assembly: Assembly, region: RegionConfig) -> None:
    buckets = pc.resources(tpl(assembly, region, "data"), "AWS::S3::Bucket")
    sse_s3 = [
        lid
        for lid, b in buckets.items()
        if b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "AES256"
    ]
    assert len(sse_s3) == 1 and sse_s3[0].startswith("AccessLogs")


def test_aurora_posture(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "data")
    assert pc.aurora_violations(template) == []
    cluster = only(pc.resources(template, "AWS::RDS::DBCluster"))["Properties"]
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["BackupRetentionPeriod"] == region.retention.backup_retention_days
    assert "databasekeyarn" in str(cluster["KmsKeyId"]).lower()
    group = only(pc.resources(template, "AWS::RDS::DBClusterParameterGroup"))["Properties"]
    assert group["Parameters"]["ssl_min_protocol_version"] == "TLSv1.2"


def test_log_groups_are_encrypted_with_retention(assembly: Assembly, region: RegionConfig) -> None:
    expected = {
        "network": region.retention.flow_log_days,
        "data": region.retention.database_log_days,
        "edge": region.retention.waf_log_days,
    }
    first = {"network": "NetworkFlowLogs", "data": "AuroraPostgresqlLogs", "edge": "WafLogs"}
    for part, days in expected.items():
        groups = pc.resources(tpl(assembly, region, part), "AWS::Logs::LogGroup")
        group = only({k: v for k, v in groups.items() if k.startswith(first[part])})
        assert group["Properties"]["RetentionInDays"] == days
        assert "logskeyarn" in str(group["Properties"]["KmsKeyId"]).lower()
        assert group["DeletionPolicy"] == "RetainExceptOnCreate" and group["UpdateReplacePolicy"] == "Retain"


# ---------------------------------------------------------------- encryption in transit


def test_listeners_tls_policy_hsts_and_redirect(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "edge")
    assert pc.listener_violations(template) == []
    listeners = pc.resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    https = next(x["Properties"] for x in listeners if x["Properties"]["Protocol"] == "HTTPS")
    assert https["SslPolicy"] == region.tls_policy
    assert https["Certificates"] == [{"CertificateArn": region.certificate_arn}]
    assert {
        "Key": pc.HSTS_ATTRIBUTE,
        "Value": f"max-age={region.hsts_max_age_seconds}; includeSubDomains; preload",
    } in https["ListenerAttributes"]
    http = next(x["Properties"] for x in listeners if x["Properties"]["Protocol"] == "HTTP")
    assert http["Port"] == 80
    assert http["DefaultActions"][0]["RedirectConfig"]["Port"] == "443"


def test_alb_hardening_attributes(assembly: Assembly, region: RegionConfig) -> None:
    lb = only(pc.resources(tpl(assembly, region, "edge"), "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    attrs = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attrs["deletion_protection.enabled"] == "true"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["routing.http.desync_mitigation_mode"] == "strictest"
    assert attrs["access_logs.s3.enabled"] == "true"
    assert "accesslogbucketname" in str(attrs["access_logs.s3.bucket"]).lower()


def test_waf_with_managed_rule_groups_and_retained_logs(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "edge")
    acl = only(pc.resources(template, "AWS::WAFv2::WebACL"))["Properties"]
    groups = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"]}
    assert groups == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    assert acl["Scope"] == "REGIONAL"
    assoc = only(pc.resources(template, "AWS::WAFv2::WebACLAssociation"))["Properties"]
    lb_id = next(iter(pc.resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")))
    assert assoc["ResourceArn"] == {"Ref": lb_id}
    logging = only(pc.resources(template, "AWS::WAFv2::LoggingConfiguration"))["Properties"]
    log_group_id = next(iter(pc.resources(template, "AWS::Logs::LogGroup")))
    assert logging["LogDestinationConfigs"] == [{"Fn::GetAtt": [log_group_id, "Arn"]}]


def _group(groups: dict[str, Any], prefix: str) -> str:
    return str(only({k: k for k in groups if k.startswith(prefix) and not k.startswith(f"{prefix}Admin")}))


def _rules(template: dict[str, Any], group_id: str, kind: str) -> list[dict[str, Any]]:
    """Every ingress or egress rule of one security group, inline or standalone."""
    groups = pc.resources(template, "AWS::EC2::SecurityGroup")
    inline = groups[group_id]["Properties"].get(f"SecurityGroup{kind}", [])
    standalone = [
        r["Properties"]
        for r in pc.resources(template, f"AWS::EC2::SecurityGroup{kind}").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    return [r for r in inline + standalone if r.get("CidrIp") != "255.255.255.255/32"]  # CDK's "no egress" marker


def _targets(rules: list[dict[str, Any]], key: str) -> set[tuple[str, int]]:
    out = set()
    for r in rules:
        peer = r.get(key) or r.get("DestinationPrefixListId") or r.get("CidrIp")
        out.add((peer["Fn::GetAtt"][0] if isinstance(peer, dict) else str(peer), r["FromPort"]))
    return out


def test_database_admits_only_the_tiers_that_use_it(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "network")
    groups = pc.resources(template, "AWS::EC2::SecurityGroup")
    db = _group(groups, "TiersDatabase")
    app, fns, admin = _group(groups, "TiersApp"), _group(groups, "TiersLifecycle"), _group(groups, "TiersDatabaseAdmin")
    assert _targets(_rules(template, db, "Ingress"), "SourceSecurityGroupId") == {
        (app, 5532),
        (fns, 5532),
        (admin, 5532),
    }


def test_no_tier_reaches_the_internet(assembly: Assembly, region: RegionConfig) -> None:
    """The app tier reaches Aurora, the interface endpoints and S3 (its gateway endpoint's prefix
    list) over HTTPS; the lifecycle functions the same; migrations Aurora and the endpoints."""
    template = tpl(assembly, region, "network")
    assert pc.egress_violations(template) == []
    groups = pc.resources(template, "AWS::EC2::SecurityGroup")
    db, endpoints = _group(groups, "TiersDatabase"), _group(groups, "NetworkEndpointSecurityGroup")
    egress = {
        name: _targets(_rules(template, _group(groups, name), "Egress"), "DestinationSecurityGroupId")
        for name in ("TiersApp", "TiersLifecycle", "TiersDatabaseAdmin")
    }
    s3 = region.s3_prefix_list_id
    assert egress["TiersApp"] == {(db, 5532), (endpoints, 443), (s3, 443)}
    assert egress["TiersLifecycle"] == {(db, 5532), (endpoints, 443), (s3, 443)}
    assert egress["TiersDatabaseAdmin"] == {(db, 5532), (endpoints, 443)}
    # the interface endpoints admit exactly the tiers that call AWS APIs, not the whole VPC
    callers = _targets(_rules(template, endpoints, "Ingress"), "SourceSecurityGroupId")
    assert callers == {
        (_group(groups, "TiersApp"), 443),
        (_group(groups, "TiersLifecycle"), 443),
        (_group(groups, "TiersDatabaseAdmin"), 443),
    }


def test_interface_endpoints_admit_only_this_account(assembly: Assembly, region: RegionConfig) -> None:
    """AWS's data-perimeter endpoint policy, with account conditions: this account's principals on this
    account's resources; the registry endpoints only this account's principals (GetAuthorizationToken
    names no resource). No wildcard action anywhere."""
    template = tpl(assembly, region, "network")
    interface = {
        str(e["Properties"]["ServiceName"]).split(f".{region.name}.")[-1]: e["Properties"]
        for e in pc.resources(template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    }
    both = {"StringEquals": {"aws:PrincipalAccount": "123456789012", "aws:ResourceAccount": "123456789012"}}
    principal_only = {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}
    expected = {
        "kms": both,
        "secretsmanager": both,
        "logs": both,
        "sts": both,
        "states": both,
        "ecr.api": principal_only,
        "ecr.dkr": principal_only,
    }
    assert set(interface) == set(expected)
    for service, endpoint in interface.items():
        (statement,) = endpoint["PolicyDocument"]["Statement"]
        assert statement["Condition"] == expected[service], service
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in a for a in actions), service


def test_network_has_flow_logs_endpoints_and_restricted_default_sg(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "network")
    flow = only(pc.resources(template, "AWS::EC2::FlowLog"))["Properties"]
    assert flow["TrafficType"] == "ALL" and flow["LogDestinationType"] == "cloud-watch-logs"
    endpoints = pc.resources(template, "AWS::EC2::VPCEndpoint").values()
    names = {str(e["Properties"]["ServiceName"]) for e in endpoints}
    for svc in ("kms", "secretsmanager", "s3"):
        assert any(f".{svc}" in n or f"{svc}." in n for n in names), (svc, names)
    assert len(pc.resources(template, "Custom::VpcRestrictDefaultSG")) == 1


# ---------------------------------------------------------------- least privilege


@pytest.mark.parametrize("part", PARTS)
def test_no_wildcard_actions_anywhere(assembly: Assembly, region: RegionConfig, part: str) -> None:
    assert pc.wildcard_action_violations(tpl(assembly, region, part)) == []


@pytest.mark.parametrize("part", PARTS)
def test_every_role_carries_the_boundary(assembly: Assembly, region: RegionConfig, part: str) -> None:
    template = tpl(assembly, region, part)
    assert pc.boundary_violations(template) == []
    for role in pc.resources(template, "AWS::IAM::Role").values():
        assert boundary_policy_name(region.name) in str(role["Properties"]["PermissionsBoundary"])


def test_app_role_is_scoped_to_its_prefixes_key_and_db_user(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "edge")
    app_policies = {
        k: v for k, v in pc.resources(template, "AWS::IAM::ManagedPolicy").items() if k.startswith("AppTier")
    }
    policy = only(app_policies)["Properties"]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {
        "ObjectsUnderCustomerPrefixes",
        "ListCustomerPrefixes",
        "ObjectKeyThroughS3",
        "SubmitErasureRequests",
        "ConnectAsAppUser",
    }
    assert by_sid["SubmitErasureRequests"]["Action"] == "sts:AssumeRole"
    assert (
        by_sid["SubmitErasureRequests"]["Resource"]
        == f"arn:aws:iam::123456789012:role/trustbase-{region.name}-dsar-submitter"
    )
    objects = [str(r) for r in by_sid["ObjectsUnderCustomerPrefixes"]["Resource"]]
    assert len(objects) == 2 and all("/workspaces/*" in r or "/visitors/*" in r for r in objects)
    assert sorted(by_sid["ObjectKeyThroughS3"]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert by_sid["ObjectKeyThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{region.name}.amazonaws.com"}
    }
    assert by_sid["ConnectAsAppUser"]["Action"] == "rds-db:connect"
    assert "dbuser:" in str(by_sid["ConnectAsAppUser"]["Resource"]) and "/trustbase_app" in str(
        by_sid["ConnectAsAppUser"]["Resource"]
    )
    role = only({k: v for k, v in pc.resources(template, "AWS::IAM::Role").items() if k.startswith("AppTier")})[
        "Properties"
    ]
    assert role["MaxSessionDuration"] == 3600


# ---------------------------------------------------------------- data lifecycle


def test_visitor_data_expires_after_nine_months(assembly: Assembly, region: RegionConfig) -> None:
    template = tpl(assembly, region, "data")
    rules = [
        r
        for b in pc.resources(template, "AWS::S3::Bucket").values()
        for r in b["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    ]
    visitor = next(r for r in rules if r["Id"] == "expire-visitor-data")
    assert visitor["Prefix"] == "visitors/" and visitor["Status"] == "Enabled"
    assert visitor["ExpirationInDays"] == months_to_days(region.retention.visitor_data_months)
    noncurrent = next(r for r in rules if r["Id"] == "expire-noncurrent-versions")
    assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == region.retention.noncurrent_version_days


# ---------------------------------------------------------------- stateful stacks


def test_stateful_stacks_are_termination_protected(assembly: Assembly, region: RegionConfig) -> None:
    assert set(STATEFUL_PARTS) == {"keys", "data", "audit"}
    for part in PARTS:
        props = assembly.manifest["artifacts"][stack_name(region.name, part)]["properties"]
        assert props.get("terminationProtection", False) is (part in STATEFUL_PARTS), part


STATEFUL_TYPES = ("AWS::KMS::Key", "AWS::S3::Bucket", "AWS::RDS::DBCluster", "AWS::Logs::LogGroup")


def test_stateful_resources_survive_stack_deletion(assembly: Assembly, region: RegionConfig) -> None:
    for part in PARTS:
        for rtype in STATEFUL_TYPES:
            for lid, res in pc.resources(tpl(assembly, region, part), rtype).items():
                assert res.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot"), (part, lid)
                assert res.get("UpdateReplacePolicy") in ("Retain", "Snapshot"), (part, lid)


# Pinned logical IDs: a refactor that changes one of these would REPLACE the resource
# (a new, empty database or bucket, or a new key). Change them only with a migration plan.
PINNED_LOGICAL_IDS = {
    "keys": {
        "AWS::KMS::Key": {
            "DatabaseKey7998E78F",
            "ObjectsKey6E61CBF0",
            "LogsKeyFE4C4A83",
            "AuditKey55555D67",
            "BackupKey1226E6A1",
            "LifecycleKey57EF5EAA",
        },
        "AWS::IAM::ManagedPolicy": {"PermissionsBoundaryPolicy2F8055A4"},
    },
    "data": {
        "AWS::RDS::DBCluster": {"AuroraClusterD4EFE71C"},
        "AWS::S3::Bucket": {"CustomerDataBucketD1735C32", "AccessLogsBucketCD784A59"},
        "AWS::Logs::LogGroup": {"AuroraPostgresqlLogs56104C52"},
        "AWS::Backup::BackupVault": {"BackupVault6F5D1E07"},
    },
}


@pytest.mark.parametrize("part", sorted(PINNED_LOGICAL_IDS))
def test_stateful_logical_ids_are_pinned(assembly: Assembly, region: RegionConfig, part: str) -> None:
    template = tpl(assembly, region, part)
    for rtype, expected in PINNED_LOGICAL_IDS[part].items():
        assert set(pc.resources(template, rtype)) == expected, rtype


@pytest.mark.parametrize("part", PARTS)
def test_every_granted_action_fits_under_the_boundary(assembly: Assembly, region: RegionConfig, part: str) -> None:
    """A role's effective permissions are its policies AND the boundary: an action the boundary
    does not list would be silently denied on AWS. So every Allow must be inside the ceiling."""
    from constructs_lib.iam import BOUNDARY_ALLOWED_ACTIONS

    template = tpl(assembly, region, part)
    outside: set[str] = set()
    documents = [p["Properties"]["PolicyDocument"] for p in pc.resources(template, "AWS::IAM::ManagedPolicy").values()]
    documents += [
        p["PolicyDocument"]
        for r in pc.resources(template, "AWS::IAM::Role").values()
        for p in r["Properties"].get("Policies", [])
    ]
    for document in documents:
        if "Ceiling" in {s.get("Sid") for s in document["Statement"]}:
            continue  # the boundary itself
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                acts = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                outside |= set(acts) - set(BOUNDARY_ALLOWED_ACTIONS)
    assert outside == set(), f"add to BOUNDARY_ALLOWED_ACTIONS (or drop from the role): {sorted(outside)}"


# ---------------------------------------------------------------- data perimeter (resource policies)

PERIMETER_CONDITION = {
    "StringNotEqualsIfExists": {"aws:PrincipalAccount": "123456789012"},
    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
}


def _perimeter(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [st for st in document["Statement"] if st.get("Sid") == "DenyOutsideThisAccount"]


def test_every_data_bucket_key_and_queue_denies_principals_outside_the_account(
    assembly: Assembly, region: RegionConfig
) -> None:
    """AWS's data-perimeter resource policies: Deny everyone outside this account, except AWS
    services calling as themselves; on the customer-data and audit buckets, every key and every
    queue. The access-log bucket is the documented exception: in regions older than August 2022 ELB
    delivers its logs as an ELB-owned account."""
    checked: dict[str, int] = {"AWS::S3::BucketPolicy": 0, "AWS::KMS::Key": 0, "AWS::SQS::QueuePolicy": 0}
    for part in STACK_PARTS:
        template = tpl(assembly, region, part)
        for lid, res in template["Resources"].items():
            kind = res["Type"]
            if kind not in checked:
                continue
            document = res["Properties"]["KeyPolicy" if kind == "AWS::KMS::Key" else "PolicyDocument"]
            found = _perimeter(document)
            if lid.startswith("AccessLogsBucketPolicy"):
                assert found == [], lid
                continue
            service = {"AWS::S3::BucketPolicy": "s3", "AWS::KMS::Key": "kms", "AWS::SQS::QueuePolicy": "sqs"}[kind]
            assert len(found) == 1, f"{part}/{lid} has no perimeter statement"
            st = found[0]
            assert st["Effect"] == "Deny" and st["Principal"] == {"AWS": "*"} and st["Action"] == f"{service}:*"
            assert st["Condition"] == PERIMETER_CONDITION, f"{part}/{lid}"
            checked[kind] += 1
    # customer data + audit records + Config records; the 6 keys; the 5 dead-letter queues
    assert checked == {"AWS::S3::BucketPolicy": 3, "AWS::KMS::Key": 6, "AWS::SQS::QueuePolicy": 5}


def test_customer_objects_only_through_the_vpc_endpoint(assembly: Assembly, region: RegionConfig) -> None:
    """The network perimeter (constructs_lib.perimeter.outside_vpc_deny): object reads and writes
    outside this VPC's S3 gateway endpoint are denied, except the named roles; the drill's
    synthetic prefix is left out."""
    data = tpl(assembly, region, "data")
    policy = only(
        {k: v for k, v in pc.resources(data, "AWS::S3::BucketPolicy").items() if k.startswith("CustomerData")}
    )
    (statement,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "DenyDataPlaneOutsideTheVpc"
    ]
    assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
    assert sorted(statement["Action"]) == [
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
    ]
    condition = statement["Condition"]
    endpoint = condition["StringNotEqualsIfExists"]["aws:SourceVpce"]["Ref"]  # the network stack's SSM link
    assert data["Parameters"][endpoint]["Default"] == "/trustbase/network/s3-gateway-endpoint-id"
    assert condition["BoolIfExists"] == {"aws:PrincipalIsAWSService": "false"}
    named = json.dumps(condition["ArnNotLike"]["aws:PrincipalArn"])
    for role in (
        f"role/trustbase-break-glass-{region.name}",
        f"role/trustbase-{region.name}-elevation-customer-data-read",
        "role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie",
        "BackupServiceRole",
    ):
        assert role in named, role
    assert len(condition["ArnNotLike"]["aws:PrincipalArn"]) == 4
    assert "workspaces/_dr-drill/*" in json.dumps(statement["NotResource"])
