"""Observers: read a deployed resource's properties from its service API into plain data.

One function per CloudFormation type: (session, physical ID, template properties, resolver) ->
a dict of what the service says. They judge nothing (see judges.py), never read customer data,
and only call what `readonly.READ_OPERATIONS` allows. A resource the service does not know reads
as {"exists": False}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from verify.declared import Resolver
from verify.readonly import ReadOnlySession

Observer = Callable[[ReadOnlySession, str, dict[str, Any], Resolver], dict[str, Any]]
MISSING = {"exists": False}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _optional(call: Callable[[], Any], *absent: str) -> Any:
    """The call's result, or None when the service says the thing is not configured."""
    try:
        return call()
    except ClientError as exc:
        if _code(exc) in absent:
            return None
        raise


def _statements(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, str):
        doc = json.loads(doc) if doc else {}
    st = (doc or {}).get("Statement", [])
    return st if isinstance(st, list) else [st]


# ------------------------------------------------------------------------------ keys, storage


def kms_key(s: ReadOnlySession, key: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    kms = s.client("kms")
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    rotation = kms.get_key_rotation_status(KeyId=key)
    return {
        "exists": True,
        "arn": meta.get("Arn"),
        "enabled": meta.get("Enabled"),
        "state": meta.get("KeyState"),
        "spec": meta.get("KeySpec"),
        "usage": meta.get("KeyUsage"),
        "manager": meta.get("KeyManager"),
        "rotation": rotation.get("KeyRotationEnabled"),
        "rotation_days": rotation.get("RotationPeriodInDays"),
    }


def kms_alias(s: ReadOnlySession, alias: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    for page in s.client("kms").get_paginator("list_aliases").paginate():
        for a in page["Aliases"]:
            if a["AliasName"] == alias:
                return {"exists": True, "target_key": a.get("TargetKeyId")}
    return MISSING


def s3_bucket(s: ReadOnlySession, bucket: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    s3 = s.client("s3")
    enc = _optional(lambda: s3.get_bucket_encryption(Bucket=bucket), "ServerSideEncryptionConfigurationNotFoundError")
    rules = (enc or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    pab = _optional(lambda: s3.get_public_access_block(Bucket=bucket), "NoSuchPublicAccessBlockConfiguration")
    ownership = _optional(lambda: s3.get_bucket_ownership_controls(Bucket=bucket), "OwnershipControlsNotFoundError")
    policy = _optional(lambda: s3.get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy")
    lifecycle = _optional(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket), "NoSuchLifecycleConfiguration")
    lock = _optional(lambda: s3.get_object_lock_configuration(Bucket=bucket), "ObjectLockConfigurationNotFoundError")
    retention = ((lock or {}).get("ObjectLockConfiguration", {}).get("Rule") or {}).get("DefaultRetention", {})
    logging = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled") or {}
    return {
        "exists": True,
        "encryption": {
            "algorithm": default.get("SSEAlgorithm"),
            "kms_key": default.get("KMSMasterKeyID"),
            "bucket_key": rules[0].get("BucketKeyEnabled") if rules else None,
        },
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "public_access_block": (pab or {}).get("PublicAccessBlockConfiguration"),
        "ownership": (ownership or {}).get("OwnershipControls", {}).get("Rules", []),
        "policy": _statements((policy or {}).get("Policy")),
        "lifecycle": (lifecycle or {}).get("Rules", []),
        "object_lock": {
            "enabled": (lock or {}).get("ObjectLockConfiguration", {}).get("ObjectLockEnabled"),
            "mode": retention.get("Mode"),
            "days": retention.get("Days"),
        },
        "access_logs": {"bucket": logging.get("TargetBucket"), "prefix": logging.get("TargetPrefix")},
    }


def s3_bucket_policy(s: ReadOnlySession, bucket: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    policy = _optional(lambda: s.client("s3").get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy")
    return {"exists": policy is not None, "statements": _statements((policy or {}).get("Policy"))}


def log_group(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    for page in s.client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for g in page["logGroups"]:
            if g["logGroupName"] == name:
                return {"exists": True, "retention_days": g.get("retentionInDays"), "kms_key": g.get("kmsKeyId")}
    return MISSING


def metric_filter(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    group = r.resolve(props.get("LogGroupName"))
    kw = {"logGroupName": group} if isinstance(group, str) else {}
    found = s.client("logs").describe_metric_filters(filterNamePrefix=name, **kw).get("metricFilters", [])
    f = next((f for f in found if f.get("filterName") == name), None)
    if f is None:
        return MISSING
    return {
        "exists": True,
        "pattern": f.get("filterPattern"),
        "metrics": [m.get("metricName") for m in f.get("metricTransformations", [])],
    }


# ------------------------------------------------------------------------------ identity


def _document(doc: Any) -> Any:
    """IAM returns policy documents URL-encoded (the API) or already parsed (boto3 decodes some)."""
    if isinstance(doc, str):
        from urllib.parse import unquote

        return json.loads(unquote(doc))
    return doc


def iam_role(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    iam = s.client("iam")
    role = iam.get_role(RoleName=name)["Role"]
    attached = [
        p["PolicyArn"]
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        for p in page["AttachedPolicies"]
    ]
    inline = {}
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy in page["PolicyNames"]:
            inline[policy] = _statements(
                _document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
            )
    return {
        "exists": True,
        "arn": role.get("Arn"),
        "boundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "trust": _statements(_document(role.get("AssumeRolePolicyDocument"))),
        "max_session_seconds": role.get("MaxSessionDuration"),
        "attached": sorted(attached),
        "inline": inline,
    }


def iam_managed_policy(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    iam = s.client("iam")
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    doc = _document(
        iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    )
    return {
        "exists": True,
        "name": policy.get("PolicyName"),
        "statements": _statements(doc),
        "attachments": policy.get("AttachmentCount"),
    }


# ------------------------------------------------------------------------------ edge


def listener(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    elb = s.client("elbv2")
    found = elb.describe_listeners(ListenerArns=[arn])["Listeners"]
    if not found:
        return MISSING
    lst = found[0]
    attrs = {a["Key"]: a["Value"] for a in elb.describe_listener_attributes(ListenerArn=arn).get("Attributes", [])}
    return {
        "exists": True,
        "protocol": lst.get("Protocol"),
        "port": lst.get("Port"),
        "ssl_policy": lst.get("SslPolicy"),
        "certificates": [c.get("CertificateArn") for c in lst.get("Certificates", [])],
        "actions": lst.get("DefaultActions", []),
        "attributes": attrs,
    }


def load_balancer(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    elb = s.client("elbv2")
    found = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    if not found:
        return MISSING
    lb = found[0]
    attrs = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    return {
        "exists": True,
        "scheme": lb.get("Scheme"),
        "azs": [z.get("ZoneName") for z in lb.get("AvailabilityZones", [])],
        "attributes": attrs,
    }


def target_group(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    found = s.client("elbv2").describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    if not found:
        return MISSING
    return {"exists": True, "protocol": found[0].get("Protocol"), "port": found[0].get("Port")}


# ------------------------------------------------------------------------------ database


def db_cluster(s: ReadOnlySession, cluster_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    rds = s.client("rds")
    c = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    azs = [
        rds.describe_db_instances(DBInstanceIdentifier=m["DBInstanceIdentifier"])["DBInstances"][0].get(
            "AvailabilityZone"
        )
        for m in c.get("DBClusterMembers", [])
    ]
    return {
        "exists": True,
        # .get() without a default: a missing StorageEncrypted is None, never "encrypted".
        "encrypted": c.get("StorageEncrypted"),
        "kms_key": c.get("KmsKeyId"),
        "deletion_protection": c.get("DeletionProtection"),
        "iam_auth": c.get("IAMDatabaseAuthenticationEnabled"),
        "backup_days": c.get("BackupRetentionPeriod"),
        "log_exports": c.get("EnabledCloudwatchLogsExports", []),
        "member_azs": azs,
        "parameter_group": c.get("DBClusterParameterGroup"),
    }


def db_instance(s: ReadOnlySession, instance_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    i = s.client("rds").describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    return {
        "exists": True,
        "az": i.get("AvailabilityZone"),
        "public": i.get("PubliclyAccessible"),
        "encrypted": i.get("StorageEncrypted"),
        "cluster": i.get("DBClusterIdentifier"),
        "performance_insights": i.get("PerformanceInsightsEnabled"),
        "pi_kms_key": i.get("PerformanceInsightsKMSKeyId"),
    }


def db_subnet_group(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    g = s.client("rds").describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
    return {"exists": True, "azs": [x.get("SubnetAvailabilityZone", {}).get("Name") for x in g.get("Subnets", [])]}


def db_cluster_parameter_group(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for page in (
        s.client("rds").get_paginator("describe_db_cluster_parameters").paginate(DBClusterParameterGroupName=name)
    ):
        for p in page["Parameters"]:
            if "ParameterValue" in p:
                params[p["ParameterName"]] = p["ParameterValue"]
    return {"exists": True, "parameters": params}


# ------------------------------------------------------------------------------ messaging, compute


def sns_topic(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    attrs = s.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
    return {"exists": True, "kms_key": attrs.get("KmsMasterKeyId"), "policy": _statements(attrs.get("Policy"))}


def sns_topic_policy(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    topics = r.resolve(props.get("Topics")) or []
    out = []
    for arn in topics:
        attrs = s.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
        out += _statements(attrs.get("Policy"))
    return {"exists": bool(topics), "statements": out}


def sqs_queue(s: ReadOnlySession, url: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    attrs = s.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {
        "exists": True,
        "kms_key": attrs.get("KmsMasterKeyId"),
        "policy": _statements(attrs.get("Policy")),
        "retention_seconds": attrs.get("MessageRetentionPeriod"),
    }


def sqs_queue_policy(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    queues = r.resolve(props.get("Queues")) or []
    out = []
    for url in queues:
        attrs = s.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        out += _statements(attrs.get("Policy"))
    return {"exists": bool(queues), "statements": out}


def ssm_parameter(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    p = s.client("ssm").get_parameter(Name=name)["Parameter"]
    return {"exists": True, "name": p.get("Name"), "value": p.get("Value"), "type": p.get("Type")}


def lambda_function(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    cfg = s.client("lambda").get_function_configuration(FunctionName=name)
    vpc = cfg.get("VpcConfig") or {}
    return {
        "exists": True,
        "runtime": cfg.get("Runtime"),
        "subnets": vpc.get("SubnetIds", []),
        "security_groups": vpc.get("SecurityGroupIds", []),
        "kms_key": cfg.get("KMSKeyArn"),
        "tracing": (cfg.get("TracingConfig") or {}).get("Mode"),
        "dead_letter": (cfg.get("DeadLetterConfig") or {}).get("TargetArn"),
    }


def lambda_version(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    cfg = s.client("lambda").get_function_configuration(FunctionName=arn)
    return {"exists": True, "version": cfg.get("Version")}


def function_url(s: ReadOnlySession, function_arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    """AWS::Lambda::Url (its physical ID is the function's ARN)."""
    cfg = s.client("lambda").get_function_url_config(FunctionName=function_arn)
    return {"exists": True, "auth": cfg.get("AuthType"), "url": cfg.get("FunctionUrl")}


def state_machine(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    sm = s.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    enc, logging = sm.get("encryptionConfiguration") or {}, sm.get("loggingConfiguration") or {}
    return {
        "exists": True,
        "encryption": enc.get("type"),
        "kms_key": enc.get("kmsKeyId"),
        "log_level": logging.get("level"),
        "log_execution_data": logging.get("includeExecutionData"),
        "tracing": (sm.get("tracingConfiguration") or {}).get("enabled"),
    }


def schedule(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    group = props.get("GroupName")
    kw = {"GroupName": group} if isinstance(group, str) else {}
    sc = s.client("scheduler").get_schedule(Name=name, **kw)
    target = sc.get("Target") or {}
    return {
        "exists": True,
        "state": sc.get("State"),
        "expression": sc.get("ScheduleExpression"),
        "dead_letter": (target.get("DeadLetterConfig") or {}).get("Arn"),
        "retries": (target.get("RetryPolicy") or {}).get("MaximumRetryAttempts"),
    }


def event_rule(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    events = s.client("events")
    rule = events.describe_rule(Name=name)
    targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    pattern = rule.get("EventPattern")
    return {
        "exists": True,
        "state": rule.get("State"),
        "pattern": json.loads(pattern) if pattern else None,
        "targets": sorted(t["Arn"] for t in targets),
    }


# ------------------------------------------------------------------------------ network


def _one(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    return items[0] if items else None


def vpc(s: ReadOnlySession, vpc_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    v = _one(s.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"])
    return MISSING if v is None else {"exists": True, "cidr": v.get("CidrBlock")}


def subnet(s: ReadOnlySession, subnet_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    x = _one(s.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"])
    if x is None:
        return MISSING
    return {
        "exists": True,
        "az": x.get("AvailabilityZone"),
        "cidr": x.get("CidrBlock"),
        "vpc": x.get("VpcId"),
        "public_ip_on_launch": x.get("MapPublicIpOnLaunch"),
    }


def _route_tables(s: ReadOnlySession, **filters: Any) -> list[dict[str, Any]]:
    return list(s.client("ec2").describe_route_tables(**filters)["RouteTables"])


def route_table(s: ReadOnlySession, table_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    t = _one(_route_tables(s, RouteTableIds=[table_id]))
    if t is None:
        return MISSING
    return {
        "exists": True,
        "vpc": t.get("VpcId"),
        "routes": [{k: v for k, v in rt.items() if k.endswith(("Id", "CidrBlock"))} for rt in t.get("Routes", [])],
        "subnets": [a.get("SubnetId") for a in t.get("Associations", []) if a.get("SubnetId")],
    }


def route(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    table_id = r.resolve(props.get("RouteTableId"))
    if not isinstance(table_id, str):
        return MISSING
    observed = route_table(s, table_id, props, r)
    dest = props.get("DestinationCidrBlock")
    match = [rt for rt in observed.get("routes", []) if rt.get("DestinationCidrBlock") == dest]
    return {"exists": bool(match), "route": match[0] if match else None}


def gateway_association(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    """AWS::EC2::GatewayRouteTableAssociation (the egress firewall's edge table on the gateway)."""
    tables = _route_tables(
        s, Filters=[{"Name": "association.gateway-id", "Values": [str(r.resolve(props.get("GatewayId")))]}]
    )
    table = _one(tables)
    return MISSING if table is None else {"exists": True, "table": table["RouteTableId"]}


def network_firewall(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    fw = s.client("network-firewall").describe_firewall(FirewallArn=arn)
    status = fw.get("FirewallStatus") or {}
    return {
        "exists": True,
        "policy": fw["Firewall"].get("FirewallPolicyArn"),
        "status": status.get("Status"),
        "subnets": sorted(m["SubnetId"] for m in fw["Firewall"].get("SubnetMappings", [])),
    }


def firewall_policy(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    policy = s.client("network-firewall").describe_firewall_policy(FirewallPolicyArn=arn)["FirewallPolicy"]
    return {
        "exists": True,
        "stateful_defaults": sorted(policy.get("StatefulDefaultActions", [])),
        "order": (policy.get("StatefulEngineOptions") or {}).get("RuleOrder"),
    }


def firewall_rule_group(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    group = s.client("network-firewall").describe_rule_group(RuleGroupArn=arn)["RuleGroup"]
    source = (group.get("RulesSource") or {}).get("RulesSourceList") or {}
    return {"exists": True, "kind": source.get("GeneratedRulesType"), "targets": sorted(source.get("Targets", []))}


def firewall_logging(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    arn = r.resolve(props.get("FirewallArn"))
    config = s.client("network-firewall").describe_logging_configuration(FirewallArn=str(arn))
    destinations = (config.get("LoggingConfiguration") or {}).get("LogDestinationConfigs", [])
    return {"exists": True, "log_types": sorted(d["LogType"] for d in destinations)}


def subnet_association(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    tables = _route_tables(s, Filters=[{"Name": "association.route-table-association-id", "Values": [physical]}])
    if not tables:
        return MISSING
    assoc = next(a for a in tables[0]["Associations"] if a.get("RouteTableAssociationId") == physical)
    return {"exists": True, "table": tables[0]["RouteTableId"], "subnet": assoc.get("SubnetId")}


def internet_gateway(s: ReadOnlySession, igw_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    g = _one(s.client("ec2").describe_internet_gateways(InternetGatewayIds=[igw_id])["InternetGateways"])
    return MISSING if g is None else {"exists": True, "attached_to": [a.get("VpcId") for a in g.get("Attachments", [])]}


def gateway_attachment(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    igw, vpc_id = r.resolve(props.get("InternetGatewayId")), r.resolve(props.get("VpcId"))
    if not isinstance(igw, str):
        return MISSING
    observed = internet_gateway(s, igw, props, r)
    return {"exists": vpc_id in observed.get("attached_to", []), "vpc": vpc_id}


def nat_gateway(s: ReadOnlySession, nat_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    n = _one(s.client("ec2").describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"])
    return MISSING if n is None else {"exists": True, "state": n.get("State"), "subnet": n.get("SubnetId")}


def elastic_ip(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    ec2 = s.client("ec2")
    key = {"AllocationIds": [physical]} if physical.startswith("eipalloc-") else {"PublicIps": [physical]}
    a = _one(ec2.describe_addresses(**key)["Addresses"])
    return MISSING if a is None else {"exists": True, "domain": a.get("Domain")}


def security_group(s: ReadOnlySession, group_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    g = _one(s.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"])
    if g is None:
        return MISSING

    def flat(perms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for p in perms:
            base = {"IpProtocol": p.get("IpProtocol"), "FromPort": p.get("FromPort"), "ToPort": p.get("ToPort")}
            out += [{**base, "CidrIp": x.get("CidrIp")} for x in p.get("IpRanges", [])]
            out += [{**base, "CidrIpv6": x.get("CidrIpv6")} for x in p.get("Ipv6Ranges", [])]
            out += [{**base, "SourceSecurityGroupId": x.get("GroupId")} for x in p.get("UserIdGroupPairs", [])]
            out += [{**base, "PrefixListId": x.get("PrefixListId")} for x in p.get("PrefixListIds", [])]
        return out

    return {
        "exists": True,
        "vpc": g.get("VpcId"),
        "name": g.get("GroupName"),
        "ingress": flat(g.get("IpPermissions", [])),
        "egress": flat(g.get("IpPermissionsEgress", [])),
    }


def _rule_in(rules: list[dict[str, Any]], props: dict[str, Any], r: Resolver, peers: tuple[str, ...]) -> bool:
    """Is the template's rule among the group's observed rules (protocol, ports and peer)?"""
    peer_key = next((k for k in peers if k in props), None)
    want_peer = r.resolve(props[peer_key]) if peer_key else None
    for rule in rules:
        if str(rule.get("IpProtocol")) != str(props.get("IpProtocol")):
            continue
        if props.get("FromPort") is not None and rule.get("FromPort") != props.get("FromPort"):
            continue
        if props.get("ToPort") is not None and rule.get("ToPort") != props.get("ToPort"):
            continue
        peer = (
            rule.get("CidrIp") or rule.get("CidrIpv6") or rule.get("SourceSecurityGroupId") or rule.get("PrefixListId")
        )
        if want_peer is None or peer == want_peer:
            return True
    return False


def _rule_observation(s: ReadOnlySession, props: dict[str, Any], r: Resolver, direction: str) -> dict[str, Any]:
    group = r.resolve(props.get("GroupId"))
    if not isinstance(group, str):
        return MISSING
    g = security_group(s, group, props, r)
    peers = (
        ("SourceSecurityGroupId", "CidrIp", "CidrIpv6", "SourcePrefixListId")
        if direction == "ingress"
        else ("DestinationSecurityGroupId", "CidrIp", "CidrIpv6", "DestinationPrefixListId")
    )
    rule = {k: props.get(k) for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6")}
    return {
        "exists": bool(g.get("exists")) and _rule_in(g.get(direction, []), props, r, peers),
        "group": group,
        "rule": rule,
    }


def security_group_ingress(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    return _rule_observation(s, props, r, "ingress")


def security_group_egress(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    return _rule_observation(s, props, r, "egress")


def vpc_endpoint(s: ReadOnlySession, endpoint_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    e = _one(s.client("ec2").describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"])
    if e is None:
        return MISSING
    return {
        "exists": True,
        "service": e.get("ServiceName"),
        "type": e.get("VpcEndpointType"),
        "private_dns": e.get("PrivateDnsEnabled"),
        "policy": _statements(e.get("PolicyDocument")),
        "subnets": e.get("SubnetIds", []),
    }


def flow_log(s: ReadOnlySession, flow_log_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    f = _one(s.client("ec2").describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"])
    if f is None:
        return MISSING
    return {
        "exists": True,
        "traffic_type": f.get("TrafficType"),
        "resource": f.get("ResourceId"),
        "destination": f.get("LogGroupName") or f.get("LogDestination"),
    }


# ------------------------------------------------------------------------------ backup, alarms


def backup_vault(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    v = s.client("backup").describe_backup_vault(BackupVaultName=name)
    key = s.client("kms").describe_key(KeyId=v["EncryptionKeyArn"])["KeyMetadata"] if v.get("EncryptionKeyArn") else {}
    return {
        "exists": True,
        "kms_key": v.get("EncryptionKeyArn"),
        "key_manager": key.get("KeyManager"),
        "locked": v.get("Locked"),
        "min_days": v.get("MinRetentionDays"),
        "max_days": v.get("MaxRetentionDays"),
    }


def backup_plan(s: ReadOnlySession, plan_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    plan = s.client("backup").get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
    return {
        "exists": True,
        "rules": [
            {
                "name": x.get("RuleName"),
                "schedule": x.get("ScheduleExpression"),
                "vault": x.get("TargetBackupVaultName"),
                "delete_after_days": (x.get("Lifecycle") or {}).get("DeleteAfterDays"),
                "copies": [c.get("DestinationBackupVaultArn") for c in x.get("CopyActions", [])],
            }
            for x in plan.get("Rules", [])
        ],
    }


def backup_selection(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    plan_id, _, selection_id = physical.partition("_")
    sel = s.client("backup").get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)["BackupSelection"]
    return {"exists": True, "resources": sel.get("Resources", [])}


def restore_testing_plan(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    plan = s.client("backup").get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"]
    return {"exists": True, "schedule": plan.get("ScheduleExpression")}


def restore_testing_selection(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    plan = r.resolve(props.get("RestoreTestingPlanName"))
    name = props.get("RestoreTestingSelectionName")
    sel = s.client("backup").get_restore_testing_selection(
        RestoreTestingPlanName=plan, RestoreTestingSelectionName=name
    )
    return {"exists": True, "resource_type": sel["RestoreTestingSelection"].get("ProtectedResourceType")}


def alarm(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    found = s.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if not found:
        return MISSING
    a = found[0]
    return {
        "exists": True,
        "actions": a.get("AlarmActions", []),
        "threshold": a.get("Threshold"),
        "enabled": a.get("ActionsEnabled"),
    }


# ------------------------------------------------------------------------------ audit and detection


def trail(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    ct = s.client("cloudtrail")
    t = ct.get_trail(Name=name)["Trail"]
    status = ct.get_trail_status(Name=name)
    selectors = ct.get_event_selectors(TrailName=name)
    return {
        "exists": True,
        "logging": status.get("IsLogging"),
        "validation": t.get("LogFileValidationEnabled"),
        "kms_key": t.get("KmsKeyId"),
        "cloudwatch_logs": t.get("CloudWatchLogsLogGroupArn"),
        "multi_region": t.get("IsMultiRegionTrail"),
        "bucket": t.get("S3BucketName"),
        "selectors": selectors.get("EventSelectors", []),
    }


def config_rule(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    rules = s.client("config").describe_config_rules(ConfigRuleNames=[name])["ConfigRules"]
    if not rules:
        return MISSING
    return {
        "exists": True,
        "source": rules[0].get("Source", {}).get("SourceIdentifier"),
        "state": rules[0].get("ConfigRuleState"),
    }


def config_recorder(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    cfg = s.client("config")
    rec = cfg.describe_configuration_recorders(ConfigurationRecorderNames=[name])["ConfigurationRecorders"]
    status = cfg.describe_configuration_recorder_status(ConfigurationRecorderNames=[name])[
        "ConfigurationRecordersStatus"
    ]
    if not rec:
        return MISSING
    return {
        "exists": True,
        "recording": bool(status and status[0].get("recording")),
        "all_supported": rec[0].get("recordingGroup", {}).get("allSupported"),
    }


def delivery_channel(s: ReadOnlySession, name: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    found = s.client("config").describe_delivery_channels(DeliveryChannelNames=[name])["DeliveryChannels"]
    return MISSING if not found else {"exists": True, "bucket": found[0].get("s3BucketName")}


def guardduty_detector(s: ReadOnlySession, detector_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    d = s.client("guardduty").get_detector(DetectorId=detector_id)
    return {"exists": True, "status": d.get("Status")}


def guardduty_destination(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    detector = r.resolve(props.get("DetectorId"))
    d = s.client("guardduty").describe_publishing_destination(DetectorId=detector, DestinationId=physical)
    return {
        "exists": True,
        "status": d.get("Status"),
        "destination": (d.get("DestinationProperties") or {}).get("DestinationArn"),
    }


def security_hub(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    hub = s.client("securityhub").describe_hub(HubArn=arn)
    return {"exists": True, "auto_enable_controls": hub.get("AutoEnableControls")}


def security_hub_standard(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    found = s.client("securityhub").get_enabled_standards(StandardsSubscriptionArns=[arn])["StandardsSubscriptions"]
    return MISSING if not found else {"exists": True, "status": found[0].get("StandardsStatus")}


def macie_session(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    session = s.client("macie2").get_macie_session()
    return {"exists": True, "status": session.get("status")}


def access_analyzer(s: ReadOnlySession, arn: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[-1]
    a = s.client("accessanalyzer").get_analyzer(analyzerName=name)["analyzer"]
    return {"exists": True, "status": a.get("status"), "type": a.get("type")}


def _web_acl_ref(physical: str) -> tuple[str, str, str]:
    name, acl_id, scope = [*physical.split("|"), "", "", ""][:3]
    return name, acl_id, scope


def web_acl(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    name, acl_id, scope = _web_acl_ref(physical)
    acl = s.client("wafv2").get_web_acl(Name=name, Id=acl_id, Scope=scope)["WebACL"]
    groups = [(x.get("Statement") or {}).get("ManagedRuleGroupStatement", {}).get("Name") for x in acl.get("Rules", [])]
    return {
        "exists": True,
        "arn": acl.get("ARN"),
        "managed_groups": [g for g in groups if g],
        "default": list((acl.get("DefaultAction") or {}).keys()),
    }


def web_acl_association(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    resource = r.resolve(props.get("ResourceArn"))
    acl = s.client("wafv2").get_web_acl_for_resource(ResourceArn=resource).get("WebACL")
    return {"exists": acl is not None, "acl": (acl or {}).get("ARN")}


def waf_logging(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    # The logging configuration's physical ID is the web ACL's ARN (CloudFormation Ref).
    acl = physical if physical.startswith("arn:") else r.resolve(props.get("ResourceArn"))
    cfg = s.client("wafv2").get_logging_configuration(ResourceArn=acl)["LoggingConfiguration"]
    return {"exists": True, "destinations": cfg.get("LogDestinationConfigs", [])}


def fis_template(s: ReadOnlySession, template_id: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    t = s.client("fis").get_experiment_template(id=template_id)["experimentTemplate"]
    return {"exists": True, "stop_conditions": [c.get("source") for c in t.get("stopConditions", [])]}


def default_security_group_closed(
    s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver
) -> dict[str, Any]:
    """Custom::VpcRestrictDefaultSG: the VPC's default security group has no rules."""
    ref = props.get("DefaultSecurityGroupId")
    vpc_lid = ref.get("Fn::GetAtt", [None])[0] if isinstance(ref, dict) else None
    vpc_id = r.stack.physical.get(str(vpc_lid)) if vpc_lid else None
    if not vpc_id:
        return MISSING
    found = s.client("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    if not found:
        return MISSING
    g = security_group(s, found[0]["GroupId"], props, r)
    return {
        "exists": True,
        "group": found[0]["GroupId"],
        "ingress": g.get("ingress", []),
        "egress": g.get("egress", []),
    }


def one_shot_trigger(s: ReadOnlySession, physical: str, props: dict[str, Any], r: Resolver) -> dict[str, Any]:
    """Custom::Trigger (the deploy-time migration): a one-shot run that leaves no resource to read.
    Its only record is the resource's CloudFormation status."""
    return {"exists": True, "cloudformation_status": r.stack.status.get(_lid_of(r, physical) or "", "")}


def _lid_of(r: Resolver, physical: str) -> str | None:
    return next((lid for lid, p in r.stack.physical.items() if p == physical), None)


OBSERVERS: dict[str, Observer] = {
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
    "AWS::StepFunctions::StateMachine": state_machine,
    "AWS::Scheduler::Schedule": schedule,
    "AWS::Events::Rule": event_rule,
    "AWS::EC2::VPC": vpc,
    "AWS::EC2::Subnet": subnet,
    "AWS::EC2::RouteTable": route_table,
    "AWS::EC2::Route": route,
    "AWS::EC2::SubnetRouteTableAssociation": subnet_association,
    "AWS::EC2::InternetGateway": internet_gateway,
    "AWS::EC2::VPCGatewayAttachment": gateway_attachment,
    "AWS::EC2::NatGateway": nat_gateway,
    "AWS::EC2::EIP": elastic_ip,
    "AWS::EC2::SecurityGroup": security_group,
    "AWS::EC2::SecurityGroupIngress": security_group_ingress,
    "AWS::EC2::SecurityGroupEgress": security_group_egress,
    "AWS::EC2::VPCEndpoint": vpc_endpoint,
    "AWS::EC2::FlowLog": flow_log,
    "AWS::EC2::GatewayRouteTableAssociation": gateway_association,
    "AWS::NetworkFirewall::Firewall": network_firewall,
    "AWS::NetworkFirewall::FirewallPolicy": firewall_policy,
    "AWS::NetworkFirewall::RuleGroup": firewall_rule_group,
    "AWS::NetworkFirewall::LoggingConfiguration": firewall_logging,
    "AWS::Backup::BackupVault": backup_vault,
    "AWS::Backup::BackupPlan": backup_plan,
    "AWS::Backup::BackupSelection": backup_selection,
    "AWS::Backup::RestoreTestingPlan": restore_testing_plan,
    "AWS::Backup::RestoreTestingSelection": restore_testing_selection,
    "AWS::CloudWatch::Alarm": alarm,
    "AWS::CloudTrail::Trail": trail,
    "AWS::Config::ConfigRule": config_rule,
    "AWS::Config::ConfigurationRecorder": config_recorder,
    "AWS::Config::DeliveryChannel": delivery_channel,
    "AWS::GuardDuty::Detector": guardduty_detector,
    "AWS::GuardDuty::PublishingDestination": guardduty_destination,
    "AWS::SecurityHub::Hub": security_hub,
    "AWS::SecurityHub::Standard": security_hub_standard,
    "AWS::Macie::Session": macie_session,
    "AWS::AccessAnalyzer::Analyzer": access_analyzer,
    "AWS::WAFv2::WebACL": web_acl,
    "AWS::WAFv2::WebACLAssociation": web_acl_association,
    "AWS::WAFv2::LoggingConfiguration": waf_logging,
    "AWS::FIS::ExperimentTemplate": fis_template,
    "Custom::VpcRestrictDefaultSG": default_security_group_closed,
    "Custom::Trigger": one_shot_trigger,
}
