"""The changes a security reviewer reads first, and whether they widen access.

Categories (a change can be in several):
- iam: IAM resources, Identity Center permission sets, and any policy document or trust, managed
  policy list or permissions boundary on a resource;
- key-policy, bucket-policy, resource-policy: who may use a key, a bucket, a topic, a queue, a
  vault, a secret, a log group or a function from outside its own account's roles;
- network: security groups and their rules, network ACLs, the network firewall;
- listener: load-balancer listeners, their rules, certificates and TLS policy;
- encryption: a key, encryption setting or TLS requirement of a resource;
- removal-policy: DeletionPolicy or UpdateReplacePolicy;
- stateful: a data-holding resource (contract.STATEFUL_TYPES) that would be replaced or deleted.

"Broadening" (`broadening()`) is what widens access: what `cdk deploy --require-approval broadening`
asks about (new IAM statements, managed policies, security-group rules) and also removed denials,
removed or changed permissions boundaries and Lambda permissions. A person approves it before deploy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from change_review.diff import ABSENT, POLICY_ATTRIBUTES, Action, PropertyChange, ResourceChange

IAM = "iam"
KEY_POLICY = "key-policy"
BUCKET_POLICY = "bucket-policy"
RESOURCE_POLICY = "resource-policy"
NETWORK = "network"
LISTENER = "listener"
ENCRYPTION = "encryption"
REMOVAL_POLICY = "removal-policy"
STATEFUL = "stateful"
CATEGORIES = (STATEFUL, IAM, KEY_POLICY, BUCKET_POLICY, RESOURCE_POLICY, NETWORK, LISTENER, ENCRYPTION, REMOVAL_POLICY)

_TYPE_CATEGORY = {
    "AWS::IAM::": IAM,
    "AWS::SSO::": IAM,
    "AWS::Organizations::Policy": IAM,
    "AWS::S3::BucketPolicy": BUCKET_POLICY,
    "AWS::SNS::TopicPolicy": RESOURCE_POLICY,
    "AWS::SQS::QueuePolicy": RESOURCE_POLICY,
    "AWS::Logs::ResourcePolicy": RESOURCE_POLICY,
    "AWS::Lambda::Permission": RESOURCE_POLICY,
    "AWS::Lambda::Url": RESOURCE_POLICY,
    "AWS::SecretsManager::ResourcePolicy": RESOURCE_POLICY,
    "AWS::EC2::SecurityGroup": NETWORK,
    "AWS::EC2::NetworkAcl": NETWORK,
    "AWS::NetworkFirewall::": NETWORK,
    "AWS::ElasticLoadBalancingV2::Listener": LISTENER,
}
# Property names that carry permissions, on any resource type.
_POLICY_PROPERTIES = {
    "PolicyDocument",
    "Policies",
    "AssumeRolePolicyDocument",
    "ManagedPolicyArns",
    "PermissionsBoundary",
    "InlinePolicy",
    "CustomerManagedPolicyReferences",
}
_RESOURCE_POLICY_PROPERTIES = {"AccessPolicy", "ResourcePolicy", "BackupVaultAccessPolicy"}
_PUBLIC_ACCESS = "PublicAccessBlockConfiguration"
_ENCRYPTION_WORDS = ("Encrypt", "KmsKey", "KMSKey", "SSE", "Tls", "TLS", "SslPolicy", "Certificate")


def categories(change: ResourceChange) -> tuple[str, ...]:
    found: list[str] = []
    if change.stateful and (change.destroys or weakens_removal_policy(change)):
        found.append(STATEFUL)
    for prefix, category in _TYPE_CATEGORY.items():
        if change.type.startswith(prefix):
            found.append(category)
    paths = [c.path for c in change.changes] if change.action in (Action.MODIFY, Action.RENAME) else []
    bodies = [b for b in (change.before, change.after) if b]
    props: set[str] = set()
    for path in paths:
        props |= set(path)
    if change.action in (Action.ADD, Action.REMOVE):
        for body in bodies:
            props |= _all_keys(body.get("Properties", {}))
    if change.type == "AWS::KMS::Key" and "KeyPolicy" in props:
        found.append(KEY_POLICY)
    if _PUBLIC_ACCESS in props:
        found.append(BUCKET_POLICY)
    if props & _POLICY_PROPERTIES:
        found.append(IAM)
    if props & _RESOURCE_POLICY_PROPERTIES:
        found.append(RESOURCE_POLICY)
    if change.type.startswith("AWS::EC2::SecurityGroup") or change.type.startswith("AWS::EC2::NetworkAclEntry"):
        found.append(NETWORK)
    if change.type.startswith("AWS::ElasticLoadBalancingV2::Listener"):
        found.append(LISTENER)
    if change.action in (Action.MODIFY, Action.RENAME) and any(
        any(word in segment for word in _ENCRYPTION_WORDS) for path in paths for segment in path
    ):
        found.append(ENCRYPTION)
    if any(path[0] in POLICY_ATTRIBUTES for path in paths) or (change.action is Action.REMOVE and change.stateful):
        found.append(REMOVAL_POLICY)
    return tuple(c for c in CATEGORIES if c in found)


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        keys = set(value)
        for v in value.values():
            keys |= _all_keys(v)
        return keys
    if isinstance(value, list):
        keys = set()
        for v in value:
            keys |= _all_keys(v)
        return keys
    return set()


def weakens_removal_policy(change: ResourceChange) -> bool:
    """DeletionPolicy or UpdateReplacePolicy moved from Retain/Snapshot to Delete."""
    if change.action is not Action.MODIFY:
        return False
    return any(
        change.policy(attribute, "before") != "Delete" and change.policy(attribute, "after") == "Delete"
        for attribute in POLICY_ATTRIBUTES
    )


def _statements(value: Any) -> list[Any]:
    """Every IAM statement inside a JSON value (policy documents, inline policy lists, key policies,
    and documents written as JSON strings, as AWS::Logs::ResourcePolicy takes them)."""
    out: list[Any] = []
    if isinstance(value, str) and value.lstrip().startswith("{") and '"Statement"' in value:
        try:
            return _statements(json.loads(value))
        except ValueError:
            return []
    if isinstance(value, dict):
        statement = value.get("Statement")
        if isinstance(statement, list):
            out += statement
        elif isinstance(statement, dict):
            out.append(statement)
        for key, v in value.items():
            if key != "Statement":
                out += _statements(v)
    elif isinstance(value, list):
        for v in value:
            out += _statements(v)
    return out


def _policy_statements(body: Any, effect: str) -> list[Any]:
    """The statements of one effect in a resource's policies."""
    props = body.get("Properties", {}) if isinstance(body, dict) else {}
    return [s for s in _statements(props) if isinstance(s, dict) and s.get("Effect") == effect]


def _rules(body: Any) -> list[Any]:
    props = body.get("Properties", {}) if isinstance(body, dict) else {}
    rules = list(props.get("SecurityGroupIngress", [])) + list(props.get("SecurityGroupEgress", []))
    if str(body.get("Type", "")).startswith(("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")):
        rules.append(props)
    return rules


def _canonical(items: Iterable[Any]) -> set[str]:
    return {json.dumps(i, sort_keys=True) for i in items}


def _policy_arns(body: Any) -> set[str]:
    props = body.get("Properties", {}) if isinstance(body, dict) else {}
    return {json.dumps(a, sort_keys=True) for a in props.get("ManagedPolicyArns", []) or []}


def _boundary(body: Any) -> str:
    props = body.get("Properties", {}) if isinstance(body, dict) else {}
    return json.dumps(props.get("PermissionsBoundary"), sort_keys=True)


def _attachments(body: Any) -> set[str]:
    """What a policy or permission set is attached to, and which managed policies it names."""
    props = body.get("Properties", {}) if isinstance(body, dict) else {}
    out = {f"{k} {json.dumps(v, sort_keys=True)}" for k in ("Roles", "Users", "Groups") for v in props.get(k, []) or []}
    out |= {f"managed policy {json.dumps(v, sort_keys=True)}" for v in props.get("ManagedPolicies", []) or []}
    return out


def _public_access_opened(before: Any, after: Any) -> list[str]:
    """A bucket's public access block weakened: removed, or a setting no longer true."""
    old = (before.get("Properties", {}) if isinstance(before, dict) else {}).get(_PUBLIC_ACCESS)
    new = (after.get("Properties", {}) if isinstance(after, dict) else {}).get(_PUBLIC_ACCESS)
    if not old:
        return []
    if not new:
        return ["public access block removed"]
    return [
        f"public access block {k} no longer true"
        for k, v in sorted(old.items())
        if v is True and new.get(k) is not True
    ]


def broadening(change: ResourceChange) -> tuple[str, ...]:
    """What the change adds to who may do what, or what may reach what (empty when nothing):
    - an Allow statement (identity, trust, key, bucket or other resource policy) not there before;
    - a Deny statement that is gone, also with its whole policy (a TLS-only or perimeter denial);
    - a managed policy attached (to a role, or by a policy's Roles/Users/Groups, or in a permission
      set), or a permissions boundary removed or changed;
    - a Lambda permission added or changed, a function URL without IAM authentication;
    - a bucket's public access block weakened;
    - a security-group rule not there before.
    `cdk deploy --require-approval broadening` asks about IAM statement, managed-policy and
    security-group additions; the rest are on this list because they widen access just as much."""
    before = change.before if change.action is not Action.ADD else None
    after = change.after if change.action is not Action.REMOVE else None
    old, new = before or {}, after or {}
    found = [
        f"denial removed {s}"
        for s in sorted(_canonical(_policy_statements(old, "Deny")) - _canonical(_policy_statements(new, "Deny")))
    ]
    if after is None:
        return tuple(found)
    found += [
        f"statement {s}"
        for s in sorted(_canonical(_policy_statements(new, "Allow")) - _canonical(_policy_statements(old, "Allow")))
    ]
    found += [f"managed policy {a}" for a in sorted(_policy_arns(new) - _policy_arns(old))]
    found += [f"attached: {a}" for a in sorted(_attachments(new) - _attachments(old))]
    if before is not None and _boundary(before) != "null" and _boundary(after) != _boundary(before):
        found.append(f"permissions boundary {_boundary(before)} -> {_boundary(after)}")
    if change.type == "AWS::Lambda::Permission":
        found.append(f"lambda permission {json.dumps(new.get('Properties', {}), sort_keys=True)}")
    if change.type == "AWS::Lambda::Url" and new.get("Properties", {}).get("AuthType") != "AWS_IAM":
        found.append(f"function URL with AuthType {new.get('Properties', {}).get('AuthType')}")
    found += _public_access_opened(old, new)
    found += [f"rule {r}" for r in sorted(_canonical(_rules(new)) - _canonical(_rules(old)))]
    if change.type == "AWS::EC2::SecurityGroup" and before is not None:
        had = (old.get("Properties") or {}).get("SecurityGroupEgress")
        if had and not (new.get("Properties") or {}).get("SecurityGroupEgress"):
            # Without an egress rule CloudFormation leaves the default: all traffic out.
            found.append("egress rules removed: the group allows all outbound traffic")
    if change.type == "AWS::EC2::NetworkAclEntry" and (new.get("Properties") or {}).get("RuleAction") == "allow":
        found.append(f"network ACL entry allows {json.dumps(new.get('Properties', {}), sort_keys=True)}")
    return tuple(found)


def security_changes(changes: Iterable[ResourceChange]) -> list[tuple[ResourceChange, tuple[str, ...]]]:
    return [(c, cats) for c in changes if (cats := categories(c))]


def changed_value(change: PropertyChange) -> str:
    def show(v: Any) -> str:
        return v if v == ABSENT else json.dumps(v, sort_keys=True)

    return f"{show(change.before)} -> {show(change.after)}"
