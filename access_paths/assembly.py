"""A synthesized cloud assembly (cdk.out) with every intrinsic resolved to a concrete value.

CloudFormation assigns physical names at deploy time; here each resource gets a deterministic
stand-in of the right shape (a bucket name, a key ID, an ARN built the way the service builds
it), so that policies written with Ref/GetAtt/Join and SSM links become plain strings that the
evaluator can match. SSM-typed template parameters under /trustbase/ resolve to the value the
producing stack of the same environment publishes, exactly as CloudFormation would at deploy.
Anything that cannot be resolved raises `ResolveError`: a policy that cannot be read is never
silently treated as empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from contract import PARAMETER_ROOT


class ResolveError(ValueError):
    pass


def _digest(*parts: str, n: int = 12) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:n]


@dataclass
class StackTemplate:
    name: str
    account: str
    region: str
    template: dict[str, Any]
    dependencies: tuple[str, ...]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources

    def path_of(self, logical_id: str) -> str:
        """The construct path without the stack and without a trailing '/Resource'."""
        path = str(self.resources[logical_id].get("Metadata", {}).get("aws:cdk:path", logical_id))
        path = path.split("/", 1)[1] if "/" in path else path
        return path.removesuffix("/Resource")


@dataclass
class Assembly:
    """Every stack template of a cloud assembly, with a resolver per stack."""

    outdir: Path
    stacks: dict[str, StackTemplate] = field(default_factory=dict)

    @staticmethod
    def load(outdir: Path) -> Assembly:
        manifest = json.loads((outdir / "manifest.json").read_text())
        assembly = Assembly(outdir=outdir)
        for name, artifact in manifest["artifacts"].items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            env = artifact["environment"].removeprefix("aws://")
            account, region = env.split("/", 1)
            template = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
            deps = tuple(d for d in artifact.get("dependencies", ()) if not d.endswith(".assets"))
            assembly.stacks[name] = StackTemplate(name, account, region, template, deps)
        return assembly

    @staticmethod
    def from_templates(
        templates: dict[str, dict[str, Any]],
        *,
        account: str,
        regions: dict[str, str],
        dependencies: dict[str, tuple[str, ...]] | None = None,
    ) -> Assembly:
        """For tests: stack name -> template, stack name -> region."""
        assembly = Assembly(outdir=Path("."))
        for name, template in templates.items():
            deps = (dependencies or {}).get(name, ())
            assembly.stacks[name] = StackTemplate(name, account, regions[name], template, deps)
        return assembly

    def regions(self) -> list[str]:
        return sorted({s.region for s in self.stacks.values()})

    def in_region(self, region: str) -> list[StackTemplate]:
        return [s for s in self.stacks.values() if s.region == region]

    @cached_property
    def _published(self) -> dict[tuple[str, str, str], tuple[StackTemplate, Any]]:
        """(account, region, SSM parameter name) -> (producing stack, Value expression)."""
        out: dict[tuple[str, str, str], tuple[StackTemplate, Any]] = {}
        for stack in self.stacks.values():
            for res in stack.resources.values():
                if res.get("Type") == "AWS::SSM::Parameter":
                    name = res["Properties"].get("Name")
                    if isinstance(name, str):
                        out[(stack.account, stack.region, name)] = (stack, res["Properties"]["Value"])
        return out

    def producer_of(self, stack: StackTemplate, parameter: str) -> StackTemplate | None:
        found = self._published.get((stack.account, stack.region, parameter))
        return found[0] if found else None

    def resolver(self, stack: str | StackTemplate) -> Resolver:
        st = self.stacks[stack] if isinstance(stack, str) else stack
        return Resolver(self, st)

    def resources(self, rtype: str | None = None) -> Iterator[tuple[StackTemplate, str, dict[str, Any]]]:
        for stack in self.stacks.values():
            for lid, res in stack.resources.items():
                if rtype is None or res.get("Type") == rtype:
                    yield stack, lid, res


@dataclass
class Resolver:
    assembly: Assembly
    stack: StackTemplate
    _seen: tuple[str, ...] = ()

    @property
    def partition(self) -> str:
        return "aws"

    def pseudo(self, name: str) -> str:
        s = self.stack
        values = {
            "AWS::AccountId": s.account,
            "AWS::Region": s.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": s.name,
            "AWS::StackId": f"arn:aws:cloudformation:{s.region}:{s.account}:stack/{s.name}/{_digest(s.name, n=8)}",
            "AWS::NoValue": "",
        }
        if name not in values:
            raise ResolveError(f"{s.name}: unknown pseudo parameter {name}")
        return values[name]

    # ------------------------------------------------------------------ intrinsics

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                lid, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(lid, attr)
            if key == "Fn::Join":
                sep, parts = arg
                resolved = self.resolve(parts)
                return str(sep).join(str(p) for p in (resolved if isinstance(resolved, list) else [resolved]))
            if key == "Fn::Select":
                index, items = arg
                resolved_items = self.resolve(items)
                return resolved_items[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, source = arg
                return str(self.resolve(source)).split(sep)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::ImportValue":
                raise ResolveError(f"{self.stack.name}: Fn::ImportValue is not used by trustbase (SSM links instead)")
            if key.startswith("Fn::"):
                raise ResolveError(f"{self.stack.name}: intrinsic {key} is not supported by the resolver")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        import re

        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                lid, attr = name.split(".", 1)
                return str(self.get_att(lid, attr))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        params = self.stack.template.get("Parameters", {})
        if name in params:
            return self.parameter(name, params[name])
        if name not in self.stack.resources:
            raise ResolveError(f"{self.stack.name}: Ref to unknown {name}")
        return physical(self, name, "Ref")

    def get_att(self, lid: str, attr: str) -> Any:
        if lid not in self.stack.resources:
            raise ResolveError(f"{self.stack.name}: GetAtt of unknown {lid}")
        return physical(self, lid, attr)

    def parameter(self, name: str, spec: dict[str, Any]) -> Any:
        ptype, default = spec.get("Type", ""), spec.get("Default")
        if ptype.startswith("AWS::SSM::Parameter::Value") and isinstance(default, str):
            if not default.startswith(f"{PARAMETER_ROOT}/"):
                return f"<ssm:{default}>"  # e.g. a public AMI parameter: not an ARN any policy names
            found = self.assembly._published.get((self.stack.account, self.stack.region, default))
            if found is None:
                raise ResolveError(
                    f"{self.stack.name}: SSM link {default} is published by no stack of this environment"
                )
            producer, expr = found
            key = f"{producer.name}:{default}"
            if key in self._seen:
                raise ResolveError(f"{self.stack.name}: SSM link cycle through {default}")
            value = Resolver(self.assembly, producer, (*self._seen, key)).resolve(expr)
            return value.split(",") if ptype.endswith("<List<String>>") else value
        if default is not None:
            return default
        raise ResolveError(f"{self.stack.name}: parameter {name} has no value")


# ---------------------------------------------------------------------------- physical names


def _explicit(props: dict[str, Any], key: str, r: Resolver) -> str | None:
    if key in props:
        value = r.resolve(props[key])
        if isinstance(value, str) and value:
            return value
    return None


def generated_name(stack: StackTemplate, lid: str, *, lower: bool = False, limit: int = 64) -> str:
    """CloudFormation's pattern: <stack>-<logical id>-<random>, truncated."""
    base = f"{stack.name[:40]}-{lid[:20]}-{_digest(stack.name, lid, n=12).upper()}"
    base = base[:limit]
    return base.lower() if lower else base


def physical(r: Resolver, lid: str, attr: str) -> Any:
    """What Ref (attr='Ref') or GetAtt returns for a resource, built the way the service builds it."""
    stack = r.stack
    res = stack.resources[lid]
    rtype, props = res["Type"], res.get("Properties", {})
    account, region = stack.account, stack.region
    h = _digest(stack.name, lid)
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"

    def name(key: str, *, lower: bool = False, limit: int = 64) -> str:
        return _explicit(props, key, r) or generated_name(stack, lid, lower=lower, limit=limit)

    if rtype == "AWS::IAM::Role":
        n = name("RoleName")
        path = props.get("Path", "/")
        return {"Ref": n, "Arn": f"arn:aws:iam::{account}:role{path}{n}", "RoleId": f"AROA{h.upper()}"}[attr]
    if rtype == "AWS::IAM::ManagedPolicy":
        n = name("ManagedPolicyName")
        path = props.get("Path", "/")
        full = f"arn:aws:iam::{account}:policy{path}{n}"
        return {"Ref": full, "PolicyArn": full}[attr]
    if rtype == "AWS::IAM::Policy":
        return name("PolicyName")
    if rtype == "AWS::S3::Bucket":
        n = name("BucketName", lower=True, limit=63)
        return {
            "Ref": n,
            "Arn": f"arn:aws:s3:::{n}",
            "DomainName": f"{n}.s3.amazonaws.com",
            "RegionalDomainName": f"{n}.s3.{region}.amazonaws.com",
        }[attr]
    if rtype == "AWS::KMS::Key":
        key_id = f"{h[:8]}-{h[8:12]}-4{_digest(h, n=3)}-8{_digest(h, h, n=3)}-{_digest(lid, h)}"
        return {"Ref": key_id, "KeyId": key_id, "Arn": arn.format("kms", f"key/{key_id}")}[attr]
    if rtype == "AWS::KMS::Alias":
        return name("AliasName")
    if rtype == "AWS::SNS::Topic":
        n = name("TopicName", limit=256)
        a = arn.format("sns", n)
        return {"Ref": a, "TopicArn": a, "TopicName": n}[attr]
    if rtype == "AWS::SQS::Queue":
        n = name("QueueName", limit=80)
        return {
            "Ref": f"https://sqs.{region}.amazonaws.com/{account}/{n}",
            "Arn": arn.format("sqs", n),
            "QueueName": n,
            "QueueUrl": f"https://sqs.{region}.amazonaws.com/{account}/{n}",
        }[attr]
    if rtype == "AWS::Lambda::Function":
        n = name("FunctionName")
        return {"Ref": n, "Arn": arn.format("lambda", f"function:{n}")}[attr]
    if rtype == "AWS::StepFunctions::StateMachine":
        n = name("StateMachineName", limit=80)
        a = arn.format("states", f"stateMachine:{n}")
        return {"Ref": a, "Arn": a, "Name": n}[attr]
    if rtype == "AWS::Logs::LogGroup":
        n = name("LogGroupName", limit=512)
        return {"Ref": n, "Arn": arn.format("logs", f"log-group:{n}:*")}[attr]
    if rtype == "AWS::RDS::DBCluster":
        n = name("DBClusterIdentifier", lower=True, limit=63)
        return {
            "Ref": n,
            "DBClusterArn": arn.format("rds", f"cluster:{n}"),
            "DBClusterResourceId": f"cluster-{h.upper()}",
            "Endpoint.Address": f"{n}.cluster-{_digest(account, region, n=12)}.{region}.rds.amazonaws.com",
            "ReadEndpoint.Address": f"{n}.cluster-ro-{_digest(account, region, n=12)}.{region}.rds.amazonaws.com",
            "Endpoint.Port": str(props.get("Port", 5432)),
            "MasterUserSecret.SecretArn": arn.format("secretsmanager", f"secret:rds!cluster-{h}-AbCdEf"),
        }[attr]
    if rtype == "AWS::CloudWatch::Alarm":
        n = name("AlarmName", limit=255)
        return {"Ref": n, "Arn": arn.format("cloudwatch", f"alarm:{n}")}[attr]
    if rtype == "AWS::CloudTrail::Trail":
        n = name("TrailName", limit=128)
        return {"Ref": n, "Arn": arn.format("cloudtrail", f"trail/{n}")}[attr]
    if rtype == "AWS::Backup::BackupVault":
        n = name("BackupVaultName", limit=50)
        return {"Ref": n, "BackupVaultName": n, "BackupVaultArn": arn.format("backup", f"backup-vault:{n}")}[attr]
    if rtype == "AWS::Backup::BackupPlan":
        return {"Ref": h, "BackupPlanId": h, "BackupPlanArn": arn.format("backup", f"backup-plan:{h}")}[attr]
    if rtype == "AWS::GuardDuty::Detector":
        return {"Ref": h + h, "Id": h + h}[attr]
    if rtype == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        n = f"trustb-{h[:20]}"
        a = arn.format("elasticloadbalancing", f"loadbalancer/app/{n}/{h[:16]}")
        return {
            "Ref": a,
            "LoadBalancerArn": a,
            "LoadBalancerFullName": f"app/{n}/{h[:16]}",
            "DNSName": f"{n}-{h[:10]}.{region}.elb.amazonaws.com",
            "LoadBalancerName": n,
        }[attr]
    if rtype == "AWS::ElasticLoadBalancingV2::TargetGroup":
        n = f"trustb-{h[:20]}"
        a = arn.format("elasticloadbalancing", f"targetgroup/{n}/{h[:16]}")
        return {
            "Ref": a,
            "TargetGroupArn": a,
            "TargetGroupFullName": f"targetgroup/{n}/{h[:16]}",
            "TargetGroupName": n,
            "LoadBalancerArns": [],
        }[attr]
    if rtype == "AWS::WAFv2::WebACL":
        return {"Arn": arn.format("wafv2", f"regional/webacl/{lid}/{h}"), "Id": h}[attr]
    if rtype == "AWS::SSM::Parameter":
        return {"Ref": _explicit(props, "Name", r) or lid}[attr]
    if rtype == "AWS::SecretsManager::Secret":
        a = arn.format("secretsmanager", f"secret:{lid}-{h[:6]}")
        return {"Ref": a, "Id": a}[attr]
    ec2_ids = {
        "AWS::EC2::VPC": "vpc",
        "AWS::EC2::Subnet": "subnet",
        "AWS::EC2::SecurityGroup": "sg",
        "AWS::EC2::VPCEndpoint": "vpce",
        "AWS::EC2::RouteTable": "rtb",
        "AWS::EC2::InternetGateway": "igw",
        "AWS::EC2::NatGateway": "nat",
        "AWS::EC2::Instance": "i",
        "AWS::EC2::EIP": "eipalloc",
        "AWS::EC2::NetworkAcl": "acl",
        "AWS::EC2::LaunchTemplate": "lt",
    }
    if rtype in ec2_ids:
        ident = f"{ec2_ids[rtype]}-{h[:17]}"
        if attr in ("Ref", "GroupId", "VpcId", "SubnetId", "Id", "AllocationId", "InstanceId", "LaunchTemplateId"):
            return ident
        if attr == "CidrBlock":
            return str(props.get("CidrBlock", "10.0.0.0/16"))
        if attr == "DefaultSecurityGroup":
            return f"sg-{_digest(h, 'default', n=17)}"
        if attr == "LatestVersionNumber":
            return "1"
        return f"{ident}.{attr}"
    if rtype == "AWS::RDS::DBSubnetGroup" or rtype == "AWS::RDS::DBClusterParameterGroup":
        return name("DBSubnetGroupName" if "SubnetGroup" in rtype else "DBClusterParameterGroupName", lower=True)
    if rtype == "AWS::RDS::DBInstance":
        return {"Ref": name("DBInstanceIdentifier", lower=True), "Endpoint.Address": f"{lid.lower()}.{region}.rds"}[
            attr
        ]
    if rtype == "AWS::IAM::InstanceProfile":
        n = name("InstanceProfileName")
        return {"Ref": n, "Arn": f"arn:aws:iam::{account}:instance-profile/{n}"}[attr]
    if rtype == "AWS::Scheduler::Schedule":
        n = name("Name")
        return {"Ref": n, "Arn": arn.format("scheduler", f"schedule/default/{n}")}[attr]
    if rtype == "AWS::FIS::ExperimentTemplate":
        return {"Ref": f"EXT{h.upper()}", "Id": f"EXT{h.upper()}"}[attr]
    if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
        return f"<{stack.name}/{lid}.{attr}>"
    # Anything else: an opaque but stable token (never an ARN a policy could match by accident).
    return f"<{stack.name}/{lid}.{attr}>"
