"""A small offline evaluator of AWS IAM policies, after AWS's documented evaluation logic.

It knows nothing about trustbase: it takes a request (principal, action, resource, request
context) and the policies that apply to it, and returns ALLOW or DENY with the statements that
decided. The rules it implements (IAM User Guide, "Policy evaluation logic", "Permissions
boundaries for IAM entities", "IAM JSON policy elements: Condition operators"; AWS KMS Developer
Guide, "Key policies"):

- an explicit Deny in any applicable policy wins;
- within one account, an Allow in the identity policies or in the resource policy suffices,
  except that a permissions boundary must also allow identity grants, and resource grants that
  name the IAM role (not the role session) are limited by the boundary too;
- a resource policy that names the account (`arn:aws:iam::111122223333:root`) delegates to IAM:
  the identity policies must then allow;
- a KMS key policy and a role trust policy must allow, directly or by delegating to the account;
- across accounts, both the caller's identity policies and the resource policy must allow;
- service principals have no identity policy: only the resource policy can grant them;
- every condition operator: String*, Arn*, Bool, Null, Numeric*, Date*, IpAddress, Binary,
  with `...IfExists` and `ForAnyValue:`/`ForAllValues:`.

Policy values arrive as plain JSON (intrinsics already resolved to strings).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any


class PolicyError(ValueError):
    """A policy the evaluator cannot interpret (unknown operator, malformed element)."""


class PolicyKind(StrEnum):
    IDENTITY = "identity"
    BOUNDARY = "boundary"
    RESOURCE = "resource"  # bucket, topic, queue, function policies
    KEY = "key"  # KMS key policy: must allow (directly or via the account)
    TRUST = "trust"  # role trust policy: must allow (directly or via the account)


@dataclass(frozen=True)
class StatementRef:
    """Where a statement comes from, for messages: 'stack/LogicalId (key policy) #2 Sid'."""

    where: str
    kind: PolicyKind
    index: int
    sid: str = ""

    def __str__(self) -> str:
        sid = f" {self.sid}" if self.sid else ""
        return f"{self.where} ({self.kind.value} policy) statement #{self.index}{sid}"


@dataclass(frozen=True)
class Statement:
    effect: str
    ref: StatementRef
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: Mapping[str, tuple[str, ...]] | None = None  # {"AWS": (...), "Service": (...)}; "*" -> {"*": ("*",)}
    not_principals: Mapping[str, tuple[str, ...]] | None = None
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    kind: PolicyKind
    where: str
    statements: tuple[Statement, ...]


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int | float | str):
            out.append(str(item))
        else:
            raise PolicyError(f"{what}: expected strings, got {item!r}")
    return tuple(out)


def _principal_block(value: Any, what: str) -> Mapping[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict):
        raise PolicyError(f"{what}: Principal must be '*' or a mapping, got {value!r}")
    return {k: _strings(v, f"{what}.{k}") for k, v in value.items()}


def parse_policy(document: Mapping[str, Any], *, kind: PolicyKind, where: str) -> Policy:
    """A policy document (JSON, intrinsics resolved) as typed statements."""
    raw = document.get("Statement", [])
    raw_list = raw if isinstance(raw, list) else [raw]
    statements = []
    for i, s in enumerate(raw_list):
        if not isinstance(s, dict):
            raise PolicyError(f"{where}: statement #{i} is not an object")
        ref = StatementRef(where=where, kind=kind, index=i, sid=str(s.get("Sid", "")))
        effect = s.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"{ref}: Effect must be Allow or Deny, got {effect!r}")
        if ("Action" in s) == ("NotAction" in s):
            raise PolicyError(f"{ref}: exactly one of Action and NotAction")
        conditions: dict[str, dict[str, tuple[str, ...]]] = {}
        for op, block in (s.get("Condition") or {}).items():
            if not isinstance(block, dict):
                raise PolicyError(f"{ref}: condition {op} must map keys to values")
            conditions[op] = {k: _strings(v, f"{ref} {op}.{k}") for k, v in block.items()}
            _operator(op)  # fail early on an operator we do not know
        statements.append(
            Statement(
                effect=effect,
                ref=ref,
                actions=_strings(s["Action"], f"{ref} Action") if "Action" in s else None,
                not_actions=_strings(s["NotAction"], f"{ref} NotAction") if "NotAction" in s else None,
                resources=_strings(s["Resource"], f"{ref} Resource") if "Resource" in s else None,
                not_resources=_strings(s["NotResource"], f"{ref} NotResource") if "NotResource" in s else None,
                principals=_principal_block(s["Principal"], f"{ref} Principal") if "Principal" in s else None,
                not_principals=_principal_block(s["NotPrincipal"], f"{ref} NotPrincipal")
                if "NotPrincipal" in s
                else None,
                conditions=conditions,
            )
        )
    return Policy(kind=kind, where=where, statements=tuple(statements))


# ----------------------------------------------------------------------------- matching


@lru_cache(maxsize=4096)
def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters (including ':' and '/'), `?` one character."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case=ignore_case).match(value) is not None


def action_matches(patterns: Iterable[str], action: str) -> bool:
    """Action names are case-insensitive."""
    return any(wildcard_match(p, action, ignore_case=True) for p in patterns)


def _substitute(pattern: str, context: Mapping[str, tuple[str, ...]]) -> str | None:
    """Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`); None if a variable
    has no single value in the request (the statement then does not match)."""
    if "${" not in pattern:
        return pattern
    out, pos = [], 0
    for m in re.finditer(r"\$\{([^}]*)\}", pattern):
        out.append(pattern[pos : m.start()])
        key, _, default = m.group(1).partition(", ")
        if key in ("*", "?", "$"):
            raise PolicyError(f"{pattern!r}: the ${{{key}}} escape is not supported by this evaluator")
        values = _context_values(context, key)
        if values and len(values) == 1:
            out.append(values[0])
        elif default.startswith("'") and default.endswith("'"):
            out.append(default[1:-1])
        else:
            return None
        pos = m.end()
    out.append(pattern[pos:])
    return "".join(out)


def resource_matches(patterns: Iterable[str], resource: str, context: Mapping[str, tuple[str, ...]]) -> bool:
    """Resource ARNs are case-sensitive; policy variables are substituted first."""
    for p in patterns:
        sub = _substitute(p, context)
        if sub is not None and wildcard_match(sub, resource):
            return True
    return False


# ----------------------------------------------------------------------------- principals


class PrincipalKind(StrEnum):
    ROLE_SESSION = "role-session"  # an assumed IAM role (its identity policies + boundary apply)
    SERVICE = "service"  # an AWS service principal (no identity policies)
    USER = "user"


@dataclass(frozen=True)
class Principal:
    """Who makes the request. For a role session, `arn` is the role's ARN
    (arn:aws:iam::111122223333:role/name) and `session_arn` the assumed-role ARN."""

    kind: PrincipalKind
    account: str
    arn: str = ""
    session_name: str = "session"
    service: str = ""

    @property
    def session_arn(self) -> str:
        if self.kind is not PrincipalKind.ROLE_SESSION:
            return self.arn
        partition = self.arn.split(":")[1]
        name = self.arn.rsplit("/", 1)[-1]
        return f"arn:{partition}:sts::{self.account}:assumed-role/{name}/{self.session_name}"

    def __str__(self) -> str:
        return self.service if self.kind is PrincipalKind.SERVICE else self.arn

    @staticmethod
    def role(arn: str, session_name: str = "session") -> Principal:
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            raise PolicyError(f"not a role ARN: {arn!r}")
        return Principal(PrincipalKind.ROLE_SESSION, account=parts[4], arn=arn, session_name=session_name)

    @staticmethod
    def of_service(service: str, account: str = "") -> Principal:
        return Principal(PrincipalKind.SERVICE, account=account, service=service)


class Match(StrEnum):
    """How a resource policy's Principal element matched the caller."""

    NONE = "none"
    ANYONE = "anyone"  # "*"
    ACCOUNT = "account"  # the caller's account: delegation to IAM
    ROLE = "role"  # the IAM role's ARN: limited by the role's permissions boundary
    SESSION = "session"  # the role session's ARN: not limited by the boundary
    SERVICE = "service"


def _account_of(value: str) -> str | None:
    if re.fullmatch(r"\d{12}", value):
        return value
    m = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root", value)
    return m.group(1) if m else None


def principal_match(block: Mapping[str, tuple[str, ...]] | None, who: Principal) -> Match:
    if block is None:
        return Match.NONE
    if "*" in block:
        return Match.ANYONE
    best = Match.NONE
    for value in block.get("AWS", ()):
        if value == "*":
            return Match.ANYONE
        account = _account_of(value)
        if account is not None:
            if account == who.account and who.kind is not PrincipalKind.SERVICE:
                best = Match.ACCOUNT if best is Match.NONE else best
            continue
        if who.kind is PrincipalKind.SERVICE:
            continue
        if value == who.arn:
            best = Match.ROLE if who.kind is PrincipalKind.ROLE_SESSION else Match.SESSION
        elif value == who.session_arn:
            return Match.SESSION
    if who.kind is PrincipalKind.SERVICE and who.service in block.get("Service", ()):
        return Match.SERVICE
    return best


# ----------------------------------------------------------------------------- conditions

_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "ArnNotEquals",
    "ArnNotLike",
    "NotIpAddress",
}
_BASE_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
}


@dataclass(frozen=True)
class Operator:
    base: str
    qualifier: str  # "", "ForAnyValue", "ForAllValues"
    if_exists: bool

    @property
    def negated(self) -> bool:
        return self.base in _NEGATED


@lru_cache(maxsize=256)
def _operator(name: str) -> Operator:
    qualifier, _, rest = name.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyError(f"unknown condition set operator {qualifier!r} in {name!r}")
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base not in _BASE_OPERATORS:
        raise PolicyError(f"unknown condition operator {name!r}")
    if base == "Null" and (if_exists or qualifier):
        raise PolicyError(f"{name!r}: Null takes no IfExists and no set qualifier")
    return Operator(base=base, qualifier=qualifier, if_exists=if_exists)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _date(value: str) -> datetime | None:
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts matched on its own, with wildcards."""
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(wildcard_match(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _positive(base: str, policy_value: str, context_value: str) -> bool:
    """The non-negated form of `base` for one policy value and one request value."""
    if base.startswith("String"):
        if "IgnoreCase" in base:
            return policy_value.lower() == context_value.lower()
        if "Like" in base:
            return wildcard_match(policy_value, context_value)
        return policy_value == context_value
    if base.startswith("Numeric"):
        p, c = _number(policy_value), _number(context_value)
        if p is None:
            raise PolicyError(f"{base}: {policy_value!r} is not a number")
        if c is None:
            return False
        return _compare(base.removeprefix("Numeric"), c, p)
    if base.startswith("Date"):
        pd, cd = _date(policy_value), _date(context_value)
        if pd is None:
            raise PolicyError(f"{base}: {policy_value!r} is not a date")
        if cd is None:
            return False
        return _compare(base.removeprefix("Date"), cd, pd)
    if base == "Bool":
        return policy_value.lower() == context_value.lower()
    if base == "BinaryEquals":
        try:
            return base64.b64decode(policy_value) == base64.b64decode(context_value)
        except ValueError:
            return False
    if base in ("IpAddress", "NotIpAddress"):
        try:
            return ipaddress.ip_address(context_value) in ipaddress.ip_network(policy_value, strict=False)
        except ValueError:
            return False
    if base.startswith("Arn"):
        return _arn_like(policy_value, context_value)
    raise PolicyError(f"unknown operator {base}")  # pragma: no cover - _operator() guards


def _compare(how: str, a: Any, b: Any) -> bool:
    how = how.replace("Not", "")
    results = {
        "Equals": a == b,
        "LessThan": a < b,
        "LessThanEquals": a <= b,
        "GreaterThan": a > b,
        "GreaterThanEquals": a >= b,
    }
    return bool(results[how])


def _positive_base(base: str) -> str:
    return {
        "StringNotEquals": "StringEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "NumericNotEquals": "NumericEquals",
        "DateNotEquals": "DateEquals",
        "ArnNotEquals": "ArnEquals",
        "ArnNotLike": "ArnLike",
        "NotIpAddress": "IpAddress",
    }.get(base, base)


def _context_values(context: Mapping[str, tuple[str, ...]], key: str) -> tuple[str, ...] | None:
    """Condition keys are case-insensitive; an absent key is None (not an empty tuple)."""
    if key in context:
        return context[key]
    lowered = key.lower()
    for k, v in context.items():
        if k.lower() == lowered:
            return v
    return None


def condition_holds(
    operator_name: str, key: str, policy_values: Sequence[str], context: Mapping[str, tuple[str, ...]]
) -> bool:
    """One key of one condition operator block. Several values for one key are ORed."""
    op = _operator(operator_name)
    values = _context_values(context, key)
    resolved = [v for v in (_substitute(p, context) for p in policy_values) if v is not None]
    if op.base == "Null":
        wants_absent = [p.lower() == "true" for p in policy_values]
        absent = values is None or len(values) == 0
        return any(w == absent for w in wants_absent)
    if values is None or (op.qualifier and not values):
        # Absent key: IfExists and ForAllValues hold vacuously; negated operators hold
        # ("the key is not present, so it does not equal"); everything else fails.
        if op.if_exists or op.qualifier == "ForAllValues":
            return True
        if op.qualifier == "ForAnyValue":
            return False
        return op.negated
    base = _positive_base(op.base)

    def matches(c: str) -> bool:  # this request value matches some policy value (positive form)
        return any(_positive(base, p, c) for p in resolved)

    if op.qualifier == "ForAllValues":
        return all((not matches(c)) if op.negated else matches(c) for c in values)
    if op.qualifier == "ForAnyValue":
        return any((not matches(c)) if op.negated else matches(c) for c in values)
    if len(values) != 1:
        # AWS compares a multivalued key only through ForAnyValue/ForAllValues; a plain operator
        # on several values is a policy bug we refuse to guess about.
        raise PolicyError(f"{operator_name} on {key!r}: the request has {len(values)} values; use a set operator")
    hit = matches(values[0])
    return not hit if op.negated else hit


def conditions_hold(
    conditions: Mapping[str, Mapping[str, Sequence[str]]], context: Mapping[str, tuple[str, ...]]
) -> bool:
    """Every operator block and every key within it must hold (AND)."""
    return all(
        condition_holds(op, key, values, context) for op, block in conditions.items() for key, values in block.items()
    )


# ----------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    resource: str
    resource_account: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _applies(stmt: Statement, request: Request, *, check_principal: bool) -> Match:
    """Match.NONE if the statement does not apply; otherwise how its principal matched
    (Match.ANYONE for identity policies, which have no Principal element)."""
    if stmt.actions is not None and not action_matches(stmt.actions, request.action):
        return Match.NONE
    if stmt.not_actions is not None and action_matches(stmt.not_actions, request.action):
        return Match.NONE
    if stmt.resources is not None and not resource_matches(stmt.resources, request.resource, request.context):
        return Match.NONE
    if stmt.not_resources is not None and resource_matches(stmt.not_resources, request.resource, request.context):
        return Match.NONE
    how = Match.ANYONE
    if check_principal:
        if stmt.principals is not None:
            how = principal_match(stmt.principals, request.principal)
            if how is Match.NONE:
                return Match.NONE
        elif stmt.not_principals is not None:
            if principal_match(stmt.not_principals, request.principal) is not Match.NONE:
                return Match.NONE
        else:
            raise PolicyError(f"{stmt.ref}: a resource policy statement needs Principal or NotPrincipal")
    if not conditions_hold(stmt.conditions, request.context):
        return Match.NONE
    return how


class Effect(StrEnum):
    ALLOW = "ALLOW"
    EXPLICIT_DENY = "EXPLICIT_DENY"
    IMPLICIT_DENY = "IMPLICIT_DENY"


@dataclass(frozen=True)
class Decision:
    effect: Effect
    reason: str
    allowed_by: tuple[StatementRef, ...] = ()
    denied_by: tuple[StatementRef, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW


@dataclass(frozen=True)
class Policies:
    """The policies that apply to one request. `resource` is the resource's own policy (bucket,
    topic, queue, key or trust policy); `resource_required` is True for KMS key and role trust
    policies, which must allow even within the account."""

    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    resource: Policy | None = None
    resource_required: bool = False
    endpoint: Policy | None = None  # a VPC endpoint's policy when the request goes through one


def evaluate(request: Request, policies: Policies) -> Decision:
    identity_allow: list[StatementRef] = []
    boundary_allow: list[StatementRef] = []
    resource_allow: dict[Match, list[StatementRef]] = {}
    denies: list[StatementRef] = []
    is_service = request.principal.kind is PrincipalKind.SERVICE
    if not is_service:
        for policy in policies.identity:
            for s in policy.statements:
                if _applies(s, request, check_principal=False) is not Match.NONE:
                    (denies if s.effect == "Deny" else identity_allow).append(s.ref)
        if policies.boundary is not None:
            for s in policies.boundary.statements:
                if _applies(s, request, check_principal=False) is not Match.NONE:
                    (denies if s.effect == "Deny" else boundary_allow).append(s.ref)
    if policies.resource is not None:
        for s in policies.resource.statements:
            how = _applies(s, request, check_principal=True)
            if how is Match.NONE:
                continue
            if s.effect == "Deny":
                denies.append(s.ref)
            else:
                resource_allow.setdefault(how, []).append(s.ref)
    endpoint_allow: list[StatementRef] = []
    if policies.endpoint is not None:
        for s in policies.endpoint.statements:
            if _applies(s, request, check_principal=True) is not Match.NONE:
                (denies if s.effect == "Deny" else endpoint_allow).append(s.ref)
    if denies:
        return Decision(Effect.EXPLICIT_DENY, "an explicit Deny applies", denied_by=tuple(denies))
    if policies.endpoint is not None and not endpoint_allow:
        # A VPC endpoint policy is a ceiling on what passes through the endpoint (it grants nothing).
        return Decision(Effect.IMPLICIT_DENY, f"the VPC endpoint policy {policies.endpoint.where} does not allow it")

    boundary_ok = policies.boundary is None or bool(boundary_allow)
    identity_ok = bool(identity_allow) and boundary_ok and not is_service
    identity_refs = tuple(identity_allow + boundary_allow)
    direct = [*resource_allow.get(Match.SESSION, []), *resource_allow.get(Match.SERVICE, [])]
    # A grant to the role's ARN or to "*" is limited by the role's boundary (IAM User Guide,
    # "Permissions boundaries": an implicit deny in the boundary limits a resource-based grant
    # unless it names the role session).
    via_role = [*resource_allow.get(Match.ROLE, []), *resource_allow.get(Match.ANYONE, [])]
    delegated = resource_allow.get(Match.ACCOUNT, [])
    same_account = request.principal.account == request.resource_account

    if not same_account and not is_service:
        resource_ok = bool(direct or via_role or delegated)
        if identity_ok and resource_ok:
            refs = identity_refs + tuple(direct + via_role + delegated)
            return Decision(Effect.ALLOW, "cross-account: identity and resource policy both allow", refs)
        missing = (
            "the identity policies (or boundary)" if not identity_ok else f"the resource policy ({_where(policies)})"
        )
        return Decision(Effect.IMPLICIT_DENY, f"cross-account request not allowed by {missing}")

    if direct:
        return Decision(Effect.ALLOW, "the resource policy allows this principal", tuple(direct))
    if via_role and boundary_ok:
        return Decision(Effect.ALLOW, "the resource policy allows this role", tuple(via_role) + tuple(boundary_allow))
    if policies.resource_required:
        if delegated and identity_ok:
            return Decision(
                Effect.ALLOW, "the policy delegates to the account and IAM allows", identity_refs + tuple(delegated)
            )
        if not delegated:
            return Decision(
                Effect.IMPLICIT_DENY, f"the {_kind(policies)} policy {_where(policies)} does not allow this principal"
            )
        return Decision(Effect.IMPLICIT_DENY, _identity_gap(identity_allow, boundary_ok, is_service, policies))
    if identity_ok:
        return Decision(Effect.ALLOW, "the identity policies allow (within the boundary)", identity_refs)
    if via_role and not boundary_ok:
        return Decision(
            Effect.IMPLICIT_DENY,
            f"the resource policy names the role, but its boundary {_boundary(policies)} does not allow",
        )
    return Decision(Effect.IMPLICIT_DENY, _identity_gap(identity_allow, boundary_ok, is_service, policies))


def _kind(policies: Policies) -> str:
    return policies.resource.kind.value if policies.resource else "resource"


def _where(policies: Policies) -> str:
    return f"[{policies.resource.where}]" if policies.resource else "[none]"


def _boundary(policies: Policies) -> str:
    return f"[{policies.boundary.where}]" if policies.boundary else "[none]"


def _identity_gap(identity_allow: list[StatementRef], boundary_ok: bool, is_service: bool, policies: Policies) -> str:
    """Why nothing allowed it, naming the policies that were looked at."""
    if is_service:
        return f"no resource policy allows this service principal (resource policy {_where(policies)})"
    if not identity_allow:
        looked = "; ".join(p.where for p in policies.identity) or "none"
        return f"no identity policy allows it (identity policies [{looked}]; resource policy {_where(policies)})"
    return f"the permissions boundary {_boundary(policies)} does not allow it"
