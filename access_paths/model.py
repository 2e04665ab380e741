"""One region of a resolved assembly as IAM sees it: roles with their identity policies,
boundaries and trust policies, and the resource policies of buckets, keys, topics, queues,
functions and VPC endpoints. `policies_for()` returns what applies to one request."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from access_paths.assembly import Assembly, ResolveError, Resolver, StackTemplate
from access_paths.evaluator import Policies, Policy, PolicyKind, Principal, PrincipalKind, parse_policy
from contract import stack_name

# AWS managed policies a CDK construct may attach (only CDK's own custom-resource providers do).
# Their content from the AWS Managed Policy Reference, action by action.
AWS_MANAGED: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ]
    },
}


@dataclass(frozen=True)
class Role:
    stack: str
    logical_id: str
    path: str
    arn: str
    trust: Policy
    identity: tuple[Policy, ...]
    boundary: Policy | None


# The roles `cdk bootstrap` creates: cdk-<qualifier>-<kind>-role-<account>-<region>.
_BOOTSTRAP_ROLE = re.compile(
    r"cdk-[A-Za-z0-9_-]{1,10}-(deploy|file-publishing|image-publishing|lookup)-role-\d{12}-[a-z0-9-]+"
)


@dataclass
class RegionModel:
    assembly: Assembly
    region: str
    account: str = ""
    roles: dict[str, Role] = field(default_factory=dict)
    _props: dict[tuple[str, str], _Props] = field(default_factory=dict)
    _managed: dict[str, Policy] = field(default_factory=dict)
    _buckets: dict[str, Policy] = field(default_factory=dict)
    _keys: dict[str, Policy] = field(default_factory=dict)
    _topics: dict[str, Policy] = field(default_factory=dict)
    _queues: dict[str, Policy] = field(default_factory=dict)
    _functions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _endpoints: dict[str, tuple[str, Policy | None]] = field(default_factory=dict)

    @staticmethod
    def build(assembly: Assembly, region: str) -> RegionModel:
        model = RegionModel(assembly, region)
        stacks = assembly.in_region(region)
        if not stacks:
            raise ResolveError(f"no stack in {region}")
        model.account = stacks[0].account
        for stack in stacks:
            model._index(stack)
        for stack in stacks:
            model._index_roles(stack)
        return model

    # ------------------------------------------------------------------ lookups

    def stack(self, part: str) -> StackTemplate:
        name = stack_name(self.region, part)
        if name not in self.assembly.stacks:
            raise ResolveError(f"no stack {name}")
        return self.assembly.stacks[name]

    def logical_id(self, part: str, path: str) -> str:
        """The logical ID of the resource at construct path `path` ('AppTier/Task/Role') in a stack."""
        stack = self.stack(part)
        found = [lid for lid in stack.resources if stack.path_of(lid) == path]
        if len(found) != 1:
            raise ResolveError(f"{stack.name}: {len(found)} resources at construct path {path!r}")
        return found[0]

    @cached_property
    def organization_id(self) -> str | None:
        """The organization the region's perimeter admits (constructs_lib.perimeter: the key
        policies' DenyOutsideThisOrganization statement), or None (the account is the perimeter)."""
        for stack in self.assembly.in_region(self.region):
            for res in stack.resources.values():
                if res.get("Type") != "AWS::KMS::Key":
                    continue
                for st in res.get("Properties", {}).get("KeyPolicy", {}).get("Statement", []):
                    if st.get("Sid") == "DenyOutsideThisOrganization":
                        return str(st["Condition"]["StringNotEqualsIfExists"]["aws:PrincipalOrgID"])
        return None

    def has(self, part: str, path: str) -> bool:
        stack = self.assembly.stacks.get(stack_name(self.region, part))
        return stack is not None and any(stack.path_of(lid) == path for lid in stack.resources)

    def attr(self, part: str, path: str, attr: str = "Arn") -> str:
        stack = self.stack(part)
        resolver = self.assembly.resolver(stack)
        value = (
            resolver.ref(self.logical_id(part, path))
            if attr == "Ref"
            else resolver.get_att(self.logical_id(part, path), attr)
        )
        return str(value)

    def props(self, stack: StackTemplate, lid: str) -> _Props:
        """The resource's properties, each resolved on first use (an unrelated property that the
        resolver cannot model never blocks reading a policy)."""
        key = (stack.name, lid)
        if key not in self._props:
            self._props[key] = _Props(self.assembly.resolver(stack), stack.resources[lid].get("Properties", {}))
        return self._props[key]

    def role(self, part: str, path: str) -> Role:
        arn = self.attr(part, path)
        return self.roles[arn]

    # ------------------------------------------------------------------ indexing

    def _where(self, stack: StackTemplate, lid: str, what: str) -> str:
        return f"{stack.name}/{stack.path_of(lid)} [{lid}] {what}".strip()

    def _index(self, stack: StackTemplate) -> None:
        r = self.assembly.resolver(stack)
        for lid, res in stack.resources.items():
            rtype = res.get("Type")
            if rtype == "AWS::IAM::ManagedPolicy":
                self._managed[str(r.ref(lid))] = parse_policy(
                    self.props(stack, lid)["PolicyDocument"],
                    kind=PolicyKind.IDENTITY,
                    where=self._where(stack, lid, ""),
                )
            elif rtype == "AWS::S3::BucketPolicy":
                p = self.props(stack, lid)
                self._buckets[p["Bucket"]] = parse_policy(
                    p["PolicyDocument"], kind=PolicyKind.RESOURCE, where=self._where(stack, lid, "")
                )
            elif rtype == "AWS::KMS::Key":
                self._keys[str(r.get_att(lid, "Arn"))] = parse_policy(
                    self.props(stack, lid)["KeyPolicy"], kind=PolicyKind.KEY, where=self._where(stack, lid, "")
                )
            elif rtype == "AWS::SNS::TopicPolicy":
                p = self.props(stack, lid)
                for topic in p["Topics"]:
                    self._topics[topic] = parse_policy(
                        p["PolicyDocument"], kind=PolicyKind.RESOURCE, where=self._where(stack, lid, "")
                    )
            elif rtype == "AWS::SQS::QueuePolicy":
                p = self.props(stack, lid)
                for url in p["Queues"]:
                    self._queues[_queue_arn(url)] = parse_policy(
                        p["PolicyDocument"], kind=PolicyKind.RESOURCE, where=self._where(stack, lid, "")
                    )
            elif rtype == "AWS::Lambda::Permission":
                p = self.props(stack, lid)
                self._functions.setdefault(_function_arn(p["FunctionName"], stack), []).append(
                    {
                        "FunctionName": p["FunctionName"],
                        "Principal": p["Principal"],
                        "Action": p["Action"],
                        "SourceArn": p.get("SourceArn"),
                        "SourceAccount": p.get("SourceAccount"),
                        "_where": self._where(stack, lid, ""),
                    }
                )
            elif rtype == "AWS::EC2::VPCEndpoint":
                p = self.props(stack, lid)
                service = str(p["ServiceName"]).split(f".{self.region}.", 1)[-1]  # "sts", "ecr.api", ...
                doc = p.get("PolicyDocument")
                policy = (
                    parse_policy(doc, kind=PolicyKind.RESOURCE, where=self._where(stack, lid, "endpoint policy"))
                    if doc
                    else None
                )
                self._endpoints[service] = (str(r.ref(lid)), policy)

    def _index_roles(self, stack: StackTemplate) -> None:
        attached: dict[str, list[Policy]] = {}
        for st in self.assembly.in_region(self.region):
            for lid, res in st.resources.items():
                if res.get("Type") in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                    p = self.props(st, lid)
                    policy = parse_policy(p["PolicyDocument"], kind=PolicyKind.IDENTITY, where=self._where(st, lid, ""))
                    for role_name in p.get("Roles", []):
                        attached.setdefault(str(role_name), []).append(policy)
        r = self.assembly.resolver(stack)
        for lid, res in stack.resources.items():
            if res.get("Type") != "AWS::IAM::Role":
                continue
            p = self.props(stack, lid)
            name, arn = str(r.ref(lid)), str(r.get_att(lid, "Arn"))
            identity: list[Policy] = []
            for managed in p.get("ManagedPolicyArns", []):
                identity.append(self._managed_policy(str(managed), stack, lid))
            for i, inline in enumerate(p.get("Policies", [])):
                identity.append(
                    parse_policy(
                        inline["PolicyDocument"],
                        kind=PolicyKind.IDENTITY,
                        where=self._where(stack, lid, f"inline #{i}"),
                    )
                )
            identity += attached.get(name, [])
            boundary = None
            if p.get("PermissionsBoundary"):
                b = self._managed_policy(str(p["PermissionsBoundary"]), stack, lid)
                boundary = Policy(
                    PolicyKind.BOUNDARY, b.where, tuple(_rekind(s, PolicyKind.BOUNDARY) for s in b.statements)
                )
            trust = parse_policy(
                p["AssumeRolePolicyDocument"], kind=PolicyKind.TRUST, where=self._where(stack, lid, "trust")
            )
            self.roles[arn] = Role(stack.name, lid, stack.path_of(lid), arn, trust, tuple(identity), boundary)

    def _managed_policy(self, arn: str, stack: StackTemplate, lid: str) -> Policy:
        if arn in self._managed:
            return self._managed[arn]
        if arn in AWS_MANAGED:
            return parse_policy(AWS_MANAGED[arn], kind=PolicyKind.IDENTITY, where=arn)
        raise ResolveError(f"{stack.name}/{lid}: managed policy {arn} is not in this region's assembly")

    # ------------------------------------------------------------------ requests

    def endpoint(self, service: str) -> tuple[str, Policy | None]:
        if service not in self._endpoints:
            raise ResolveError(f"{self.region}: no VPC endpoint for {service}")
        return self._endpoints[service]

    def resource_policy(self, action: str, resource: str) -> tuple[Policy | None, bool]:
        """(the resource's own policy, whether it must allow) for `action` on `resource`."""
        service = action.split(":", 1)[0].lower()
        if service == "sts" and ":role/" in resource:
            role = self.roles.get(resource)
            if role is None and _BOOTSTRAP_ROLE.fullmatch(resource.split(":role/", 1)[1]):
                return self._bootstrap_trust(resource), True
            return (role.trust if role else None), True
        if service == "kms":
            return self._keys.get(resource), True
        if resource.startswith("arn:aws:s3:::"):
            return self._buckets.get(resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]), False
        if resource.startswith("arn:aws:sns:"):
            return self._topics.get(resource), False
        if resource.startswith("arn:aws:sqs:"):
            return self._queues.get(resource), False
        if resource.startswith("arn:aws:lambda:"):
            return self._lambda_policy(resource), False
        return None, False

    def _bootstrap_trust(self, role_arn: str) -> Policy:
        """A role `cdk bootstrap` made (not in the assembly): its template's trust admits the whole
        account, `Principal: AWS: !Ref AWS::AccountId`, for sts:AssumeRole and sts:TagSession
        (aws-cdk-cli, bootstrap-template.yaml), so an identity policy of the account decides."""
        account = role_arn.split(":")[4]
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
        return parse_policy({"Statement": [statement]}, kind=PolicyKind.RESOURCE, where=f"cdk bootstrap: {role_arn}")

    def _lambda_policy(self, resource: str) -> Policy | None:
        base = ":".join(resource.split(":")[:7])
        perms = self._functions.get(base)
        if not perms:
            return None
        statements = []
        for p in perms:
            principal = str(p["Principal"])
            stmt: dict[str, Any] = {
                "Effect": "Allow",
                "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
                "Action": p["Action"],
                "Resource": [base, f"{base}:*"],
            }
            cond: dict[str, dict[str, str]] = {}
            if p.get("SourceArn"):
                cond["ArnLike"] = {"aws:SourceArn": str(p["SourceArn"])}
            if p.get("SourceAccount"):
                cond["StringEquals"] = {"aws:SourceAccount": str(p["SourceAccount"])}
            if cond:
                stmt["Condition"] = cond
            statements.append(stmt)
        return parse_policy({"Statement": statements}, kind=PolicyKind.RESOURCE, where=str(perms[0]["_where"]))

    def policies_for(
        self,
        principal: Principal,
        action: str,
        resource: str,
        *,
        extra_identity: Mapping[str, tuple[Policy, ...]] | None = None,
        through_endpoint: str | None = None,
    ) -> Policies:
        identity: tuple[Policy, ...] = ()
        boundary = None
        if principal.kind is PrincipalKind.ROLE_SESSION:
            role = self.roles.get(principal.arn)
            if role is not None:
                identity, boundary = role.identity, role.boundary
            elif extra_identity and principal.arn in extra_identity:
                identity = extra_identity[principal.arn]
            elif principal.account == self.account:
                raise ResolveError(f"{principal.arn} is not a role of {self.region}'s assembly")
        elif principal.kind is PrincipalKind.USER:  # IAM users and the root user: hypothetical only
            if not extra_identity or principal.arn not in extra_identity:
                raise ResolveError(f"{principal.arn}: a user needs a hypothetical identity policy")
            identity = extra_identity[principal.arn]
        resource_policy, required = self.resource_policy(action, resource)
        endpoint = self.endpoint(through_endpoint)[1] if through_endpoint else None
        return Policies(identity, boundary, resource_policy, required, endpoint)


class _Props:
    """A read-only mapping of one resource's properties, resolved lazily per key."""

    def __init__(self, resolver: Resolver, raw: dict[str, Any]) -> None:
        self._resolver, self._raw = resolver, raw
        self._done: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._done:
            self._done[key] = self._resolver.resolve(self._raw[key])
        return self._done[key]

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._raw else default


def _rekind(stmt: Any, kind: PolicyKind) -> Any:
    from dataclasses import replace

    return replace(stmt, ref=replace(stmt.ref, kind=kind))


def _queue_arn(url: str) -> str:
    m = re.fullmatch(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com/(\d{12})/(.+)", url)
    if not m:
        raise ResolveError(f"not a queue URL: {url!r}")
    return f"arn:aws:sqs:{m[1]}:{m[2]}:{m[3]}"


def _function_arn(name: str, stack: StackTemplate) -> str:
    if name.startswith("arn:"):
        return ":".join(name.split(":")[:7])
    return f"arn:aws:lambda:{stack.region}:{stack.account}:function:{name}"


def resolver_for(model: RegionModel, part: str) -> Resolver:
    return model.assembly.resolver(model.stack(part))
