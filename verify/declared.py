"""What the deployed template declares, resolved against the deployment.

Judges compare what they observe with what the template says (drift) as well as with the
promise (posture). Template values hold intrinsics; this resolves the ones a deployment can
answer: Ref to a resource (its physical ID), to a pseudo parameter, or to an SSM-typed template
parameter (the cross-stack links: read with ssm:GetParameter); GetAtt of the attributes whose
value follows from the physical ID; Join, Sub, Select and Split. Anything else resolves to None
and the judge skips that comparison (the posture predicate still applies).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()


@dataclass
class Stack:
    """One deployed stack: its template (as CloudFormation holds it) and its resources."""

    name: str
    region: str
    account: str
    template: dict[str, Any]
    physical: dict[str, str]  # logical ID -> physical ID
    status: dict[str, str] = field(default_factory=dict)  # logical ID -> CloudFormation resource status
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter -> value the stack was deployed with

    def type_of(self, lid: str) -> str:
        return str(self.template.get("Resources", {}).get(lid, {}).get("Type", ""))


class Resolver:
    def __init__(self, stack: Stack, ssm_value: Callable[[str], str | None]) -> None:
        self.stack = stack
        self._ssm_value = ssm_value

    # ------------------------------------------------------------------ arn helpers
    def arn_of(self, lid: str) -> str | None:
        """The ARN of a resource of this stack, from its type and physical ID."""
        s, physical = self.stack, self.stack.physical.get(lid)
        if not physical:
            return None
        rtype = s.type_of(lid)
        region, account = s.region, s.account
        if physical.startswith("arn:"):
            return physical
        if rtype == "AWS::WAFv2::WebACL":  # physical ID: name|id|scope
            name, acl_id, scope = [*physical.split("|"), "", "", ""][:3]
            return f"arn:aws:wafv2:{region}:{account}:{'global' if scope == 'CLOUDFRONT' else 'regional'}/webacl/{name}/{acl_id}"
        return {
            "AWS::S3::Bucket": f"arn:aws:s3:::{physical}",
            "AWS::KMS::Key": f"arn:aws:kms:{region}:{account}:key/{physical}",
            "AWS::IAM::Role": f"arn:aws:iam::{account}:role/{physical}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{account}:{physical.rstrip('/').rsplit('/', 1)[-1]}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{physical}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{account}:log-group:{physical}:*",
            "AWS::Backup::BackupVault": f"arn:aws:backup:{region}:{account}:backup-vault:{physical}",
        }.get(rtype)

    def _get_att(self, lid: str, attr: str) -> Any:
        physical = self.stack.physical.get(lid)
        if physical is None:
            return None
        if attr == "Arn":
            return self.arn_of(lid)
        simple = {
            ("AWS::KMS::Key", "KeyId"): physical,
            ("AWS::EC2::SecurityGroup", "GroupId"): physical,
            ("AWS::EC2::VPC", "VpcId"): physical,
            ("AWS::SQS::Queue", "QueueUrl"): physical,
            ("AWS::SQS::Queue", "QueueName"): physical.rstrip("/").rsplit("/", 1)[-1],
            ("AWS::Backup::BackupVault", "BackupVaultName"): physical,
            ("AWS::S3::Bucket", "DomainName"): f"{physical}.s3.amazonaws.com",
            ("AWS::SNS::Topic", "TopicArn"): physical,
            ("AWS::SNS::Topic", "TopicName"): physical.rsplit(":", 1)[-1],
            ("AWS::IAM::Role", "RoleId"): None,
        }
        return simple.get((self.stack.type_of(lid), attr))

    # ------------------------------------------------------------------ resolve
    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic resolved, or None if one cannot be."""
        try:
            out = self._resolve(value)
        except _Unresolvable:
            return None
        return None if out is NO_VALUE else out

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self._resolve(x) for x in value) if v is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) != 1:
            return {k: v for k, v in ((k, self._resolve(v)) for k, v in value.items()) if v is not NO_VALUE}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self._ref(str(arg))
        if key == "Fn::GetAtt":
            lid, attr = (arg if isinstance(arg, list) else str(arg).split(".", 1))[:2]
            got = self._get_att(str(lid), str(attr))
            if got is None:
                raise _Unresolvable
            return got
        if key == "Fn::Join":
            sep, parts = arg
            resolved = [self._resolve(p) for p in parts]
            return str(sep).join(
                self._str(p) for p in (x for r in resolved for x in (r if isinstance(r, list) else [r]))
            )
        if key == "Fn::Select":
            index, items = arg
            items = self._resolve(items)
            return items[int(self._resolve(index))]
        if key == "Fn::Split":
            sep, text = arg
            return self._str(self._resolve(text)).split(str(sep))
        if key == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            names = {k: self._str(self._resolve(v)) for k, v in variables.items()}

            def sub(m: re.Match[str]) -> str:
                name = m.group(1)
                if name in names:
                    return names[name]
                if "." in name:
                    return self._str(self._get_att(*name.split(".", 1)))
                return self._str(self._ref(name))

            return re.sub(r"\$\{([^}!]+)\}", sub, template)
        if key.startswith("Fn::") or key == "Condition":
            raise _Unresolvable
        return {key: self._resolve(arg)}

    def _str(self, value: Any) -> str:
        if value is None or value is NO_VALUE or isinstance(value, Mapping | list):
            raise _Unresolvable
        return str(value)

    def _ref(self, name: str) -> Any:
        s = self.stack
        pseudo = {
            "AWS::Region": s.region,
            "AWS::AccountId": s.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": s.name,
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in s.physical:
            return s.physical[name]
        param = s.template.get("Parameters", {}).get(name)
        if param is not None:
            default = param.get("Default")
            if str(param.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and isinstance(default, str):
                # The value the stack was deployed with (DescribeStacks ResolvedValue); the link's
                # current value only when CloudFormation did not report one.
                found = s.parameters.get(name) or self._ssm_value(default)
                if found is None:
                    raise _Unresolvable
                return found.split(",") if "List<" in str(param["Type"]) else found
            return default
        raise _Unresolvable


class _Unresolvable(Exception):
    pass


def key_id(value: Any) -> str | None:
    """A KMS key's ID from its ID or ARN (aliases stay as they are)."""
    if not isinstance(value, str) or not value:
        return None
    return value.rsplit("key/", 1)[-1] if ":key/" in value else value


def same_key(observed: Any, declared: Any) -> bool | None:
    """Do two KMS references name the same key? None when the declared one is unknown."""
    if declared is None:
        return None
    return key_id(observed) == key_id(declared)
