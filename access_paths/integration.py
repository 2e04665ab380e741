"""Facts about how resources reach each other that AWS documents and no per-resource linter checks.
Each check reads the resolved assembly and cites the documentation it enforces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from access_paths.assembly import Assembly, StackTemplate
from access_paths.model import RegionModel

# Properties that give a resource a fixed physical name, per type.
NAME_PROPERTIES: dict[str, str] = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Backup::BackupVault": "BackupVaultName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Key": "",  # no name, but its alias is: see AWS::KMS::Alias (Delete by default)
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::SSM::Parameter": "Name",
    "AWS::CloudTrail::Trail": "TrailName",
    "AWS::Config::ConfigRule": "ConfigRuleName",
    "AWS::SecretsManager::Secret": "Name",
}


def _depends_on(assembly: Assembly, stack: str, on: str) -> bool:
    seen, todo = set(), [stack]
    while todo:
        current = todo.pop()
        if current == on:
            return True
        if current in seen or current not in assembly.stacks:
            continue
        seen.add(current)
        todo.extend(assembly.stacks[current].dependencies)
    return False


def config_bucket_without_object_lock(model: RegionModel) -> Iterator[str]:
    """AWS::Config::DeliveryChannel: "AWS Config does not support the delivery channel to an Amazon
    S3 bucket where object lock is enabled"."""
    buckets = {}
    for stack in model.assembly.in_region(model.region):
        for lid, res in stack.resources.items():
            if res.get("Type") == "AWS::S3::Bucket":
                buckets[str(model.assembly.resolver(stack).ref(lid))] = (stack, lid, res)
    for stack in model.assembly.in_region(model.region):
        for lid, res in stack.resources.items():
            if res.get("Type") != "AWS::Config::DeliveryChannel":
                continue
            name = str(model.props(stack, lid)["S3BucketName"])
            if name not in buckets:
                yield f"{stack.name}/{lid}: Config delivers to bucket {name}, which no trustbase stack creates"
                continue
            bstack, blid, bres = buckets[name]
            if bres.get("Properties", {}).get("ObjectLockEnabled"):
                yield (
                    f"{stack.name}/{lid}: Config delivers to {bstack.name}/{blid}, which has Object Lock; "
                    "AWS Config does not support delivery to an Object Lock bucket"
                )


def delivery_channel_after_recorder(model: RegionModel) -> Iterator[str]:
    """AWS::Config::DeliveryChannel / PutDeliveryChannel: "Before you can create a delivery channel,
    you must create a configuration recorder"."""
    for stack in model.assembly.in_region(model.region):
        recorders = [lid for lid, r in stack.resources.items() if r.get("Type") == "AWS::Config::ConfigurationRecorder"]
        for lid, res in stack.resources.items():
            if res.get("Type") != "AWS::Config::DeliveryChannel":
                continue
            depends = res.get("DependsOn", [])
            depends = [depends] if isinstance(depends, str) else depends
            if not recorders or not all(r in depends for r in recorders):
                yield (
                    f"{stack.name}/{lid}: the delivery channel does not depend on the configuration recorder "
                    f"({', '.join(recorders) or 'none in this stack'}); Config requires the recorder first"
                )


def trusting_stack_depends_on_trusted(model: RegionModel) -> Iterator[str]:
    """A trust policy that names a role (as principal or in aws:PrincipalArn) of another stack must
    deploy after it: otherwise a concurrent or partial deploy meets a role that does not exist yet
    ("Invalid principal in policy"), or keeps a trust that names a deleted role."""
    owner = {arn: role.stack for arn, role in model.roles.items()}
    for role in model.roles.values():
        named: set[str] = set()
        for stmt in role.trust.statements:
            named.update((stmt.principals or {}).get("AWS", ()))
            for block in stmt.conditions.values():
                for key, values in block.items():
                    if key.lower() == "aws:principalarn":
                        named.update(values)
        for trusted in sorted(named):
            trusted_stack = owner.get(trusted)
            if (
                trusted_stack
                and trusted_stack != role.stack
                and not _depends_on(model.assembly, role.stack, trusted_stack)
            ):
                yield (
                    f"{role.stack}/{role.logical_id}: trusts {trusted} of {trusted_stack}, but {role.stack} does "
                    f"not depend on {trusted_stack}"
                )


def fixed_names_roll_back(model: RegionModel) -> Iterator[str]:
    """CloudFormation DeletionPolicy: a Retain resource survives the rollback of the create that made
    it ("If resources are preserved during rollbacks, they interfere with retries"); with a fixed
    name the retry then fails with "already exists". RetainExceptOnCreate deletes what the failed
    create made and retains it afterwards."""
    for stack in model.assembly.in_region(model.region):
        yield from _fixed_name_retains(stack)


def _fixed_name_retains(stack: StackTemplate) -> Iterator[str]:
    for lid, res in stack.resources.items():
        key = NAME_PROPERTIES.get(res.get("Type", ""))
        if key and key in res.get("Properties", {}) and res.get("DeletionPolicy") == "Retain":
            yield (
                f"{stack.name}/{lid}: {res['Type']} with a fixed {key} is Retain: a failed first deploy "
                "leaves it behind and the retry fails; use RetainExceptOnCreate (RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)"
            )


def deploy_time_actions_apart_from_protected_databases(model: RegionModel) -> Iterator[str]:
    """A custom resource (a deploy-time action, such as the migration trigger) that fails rolls its
    stack back; a deletion-protected database in that stack cannot be deleted (RDS: a cluster with
    deletion protection "can't be deleted"), so a failed first create ends in ROLLBACK_FAILED and the
    fixed-name cluster blocks the retry. Such actions live in a stack of their own."""
    for stack in model.assembly.in_region(model.region):
        protected = [
            lid
            for lid, r in stack.resources.items()
            if r.get("Type") in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance")
            and r.get("Properties", {}).get("DeletionProtection") is True
        ]
        actions = [
            lid
            for lid, r in stack.resources.items()
            if str(r.get("Type", "")).startswith("Custom::") or r.get("Type") == "AWS::CloudFormation::CustomResource"
        ]
        if protected and actions:
            yield (
                f"{stack.name}: deploy-time action(s) {', '.join(actions)} share the stack with deletion-protected "
                f"{', '.join(protected)}: a failed action's rollback cannot delete them"
            )


# IAM and AWS STS quotas (IAM user guide, "IAM and AWS STS quotas"): "Managed policy size: 6,144
# characters" and "Role trust policy length: 2,048 characters" (the default), neither counting white
# space. IAM refuses a larger document when the stack deploys; no per-resource linter counts it.
MANAGED_POLICY_CHARS = 6144
TRUST_POLICY_CHARS = 2048


def _chars(document: object) -> int:
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"))))


def policies_within_iam_quotas(model: RegionModel) -> Iterator[str]:
    """Counted on the template, where an unresolved reference ({"Ref": ...}) is usually longer than
    the ARN it becomes, so the count errs on the safe side."""
    for stack in model.assembly.in_region(model.region):
        for lid, res in stack.resources.items():
            props = res.get("Properties", {})
            if (
                res.get("Type") == "AWS::IAM::ManagedPolicy"
                and _chars(props.get("PolicyDocument")) > MANAGED_POLICY_CHARS
            ):
                yield (
                    f"{stack.name}/{lid}: managed policy of {_chars(props.get('PolicyDocument'))} characters, over "
                    f"IAM's {MANAGED_POLICY_CHARS}: split it or move statements to another policy"
                )
            trust = props.get("AssumeRolePolicyDocument")
            if res.get("Type") == "AWS::IAM::Role" and trust and _chars(trust) > TRUST_POLICY_CHARS:
                yield f"{stack.name}/{lid}: trust policy of {_chars(trust)} characters, over IAM's {TRUST_POLICY_CHARS}"


CHECKS = (
    policies_within_iam_quotas,
    config_bucket_without_object_lock,
    delivery_channel_after_recorder,
    trusting_stack_depends_on_trusted,
    fixed_names_roll_back,
    deploy_time_actions_apart_from_protected_databases,
)


def check(model: RegionModel) -> list[str]:
    return [f"[{model.region}] {finding}" for c in CHECKS for finding in c(model)]
