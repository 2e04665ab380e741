"""Evaluate every access path of the table over every region of a cloud assembly.

A finding names the region, the path, the principal, the action, the resource and the policy
statements that deny an intended path (or wrongly allow a forbidden one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from access_paths import integration
from access_paths.assembly import Assembly, ResolveError
from access_paths.evaluator import (
    Decision,
    Policies,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Request,
    evaluate,
    parse_policy,
)
from access_paths.model import RegionModel
from access_paths.table import (
    ACCOUNT_ADMIN,
    DEPLOY,
    DEPLOY_ROLE,
    EXTERNAL,
    EXTERNAL_ACCOUNT,
    IAM_USER,
    IDC,
    MACIE,
    MACIE_ROLE,
    ROOT,
    AccessPath,
    Expect,
    forbidden,
    intended,
)
from contract import permission_set_name, stack_name
from elevation.trust import Grant, trust_for

PERSON = "person"
# {part:Construct/Path.Attr}: the path may contain dots (CDK's provider singletons do); the attribute
# is the last name, or one of the two-part attributes CloudFormation has.
_TEMPLATE = re.compile(
    r"\{([a-z0-9_-]+)(?::([^}]+?)\.((?:MasterUserSecret|Endpoint|ReadEndpoint)\.[A-Za-z]+|[A-Za-z]+))?\}"
)


class TemplateError(ResolveError):
    pass


def _everything(where: str) -> Policy:
    return parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, kind=PolicyKind.IDENTITY, where=where
    )


def _other_region(region: str) -> str:
    return "us-west-2" if region != "us-west-2" else "us-east-1"


@dataclass(frozen=True)
class Outcome:
    region: str
    path: AccessPath
    principal: str
    resource: str
    decision: Decision

    @property
    def ok(self) -> bool:
        return self.decision.allowed is (self.path.expect is Expect.ALLOW)

    def message(self) -> str:
        p, d = self.path, self.decision
        if p.expect is Expect.ALLOW:
            why = f"DENIED ({d.reason})" + (f" by {', '.join(map(str, d.denied_by))}" if d.denied_by else "")
        else:
            why = f"ALLOWED ({d.reason}) by {', '.join(map(str, d.allowed_by))}"
        return f"[{self.region}] {p.family}: {p.name}: {self.principal} {p.action} on {self.resource}: {why}"


class Instantiator:
    """Fills a row's templates with the region's concrete values."""

    def __init__(self, model: RegionModel) -> None:
        self.model = model

    def fill(self, text: str) -> str:
        def one(m: re.Match[str]) -> str:
            name, path, attr = m.group(1), m.group(2), m.group(3)
            if path is None:
                values = {
                    "account": self.model.account,
                    "region": self.model.region,
                    "other_region": _other_region(self.model.region),
                }
                if name not in values:
                    raise TemplateError(f"unknown template variable {{{name}}}")
                return values[name]
            return self.model.attr(name, path, attr)

        return _TEMPLATE.sub(one, text)

    def principal(self, who: str) -> Principal:
        account = self.model.account
        if who == ACCOUNT_ADMIN:
            return Principal.role(f"arn:aws:iam::{account}:role/hypothetical-account-admin")
        if who == PERSON:
            return Principal.role(f"arn:aws:iam::{account}:role/hypothetical-person")
        if who == DEPLOY:
            return Principal.role(self.fill(DEPLOY_ROLE))
        if who == MACIE:
            return Principal.role(self.fill(MACIE_ROLE))
        if who == EXTERNAL:
            return Principal.role(f"arn:aws:iam::{EXTERNAL_ACCOUNT}:role/hypothetical-attacker")
        if who.startswith(IDC):  # the role Identity Center provisions for the region's permission set
            name = permission_set_name(self.model.region, who.removeprefix(IDC))
            return Principal.role(
                f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                f"AWSReservedSSO_{name}_0a1b2c3d4e5f6789",
                session_name="person@example.com",
            )
        if who == IAM_USER:
            return Principal(PrincipalKind.USER, account=account, arn=f"arn:aws:iam::{account}:user/hypothetical-admin")
        if who == ROOT:
            return Principal(PrincipalKind.USER, account=account, arn=f"arn:aws:iam::{account}:root")
        if who.startswith("service:"):
            return Principal.of_service(who.removeprefix("service:"))
        if who.startswith("role:"):
            return Principal.role(self.fill(who.removeprefix("role:")))
        raise TemplateError(f"unknown principal {who!r}")


def _resource_account(resource: str, default: str) -> str:
    parts = resource.split(":")
    if len(parts) >= 5 and parts[0] == "arn" and re.fullmatch(r"\d{12}", parts[4]):
        return parts[4]
    return default  # S3 ARNs carry no account: the bucket belongs to the stack's account


def request_context(
    model: RegionModel,
    principal: Principal,
    action: str,
    resource: str,
    extra: Mapping[str, str | tuple[str, ...]],
    through: str | None,
) -> dict[str, tuple[str, ...]]:
    """What AWS puts into every request of this kind, then the row's own keys."""
    ctx: dict[str, tuple[str, ...]] = {
        "aws:SecureTransport": ("true",),
        "aws:RequestedRegion": (model.region,),
        "aws:CurrentTime": (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),),
    }
    if principal.service:
        ctx["aws:PrincipalIsAWSService"] = ("true",)
        ctx["aws:PrincipalServiceName"] = (principal.service,)
    else:
        ctx["aws:PrincipalIsAWSService"] = ("false",)
        ctx["aws:PrincipalArn"] = (principal.arn,)
        ctx["aws:PrincipalAccount"] = (principal.account,)
        if principal.kind is PrincipalKind.ROLE_SESSION:
            ctx["aws:userid"] = (f"{SESSION_ROLE_ID}:{principal.session_name}",)
        organization = model.organization_id
        if organization and principal.account == model.account:  # the other account is outside it
            ctx["aws:PrincipalOrgID"] = (organization,)
        if action.lower().startswith("kms:"):
            ctx["kms:CallerAccount"] = (principal.account,)
    if action.lower().startswith("s3:"):
        ctx["s3:TlsVersion"] = ("1.3",)
    ctx["aws:ResourceAccount"] = (_resource_account(resource, model.account),)
    if model.organization_id and _resource_account(resource, model.account) == model.account:
        ctx["aws:ResourceOrgID"] = (model.organization_id,)
    if through:
        vpce, _ = model.endpoint(through)
        ctx["aws:SourceVpce"] = (vpce,)
    for key, value in extra.items():
        ctx[key] = tuple(value) if isinstance(value, tuple) else (value,)
    return ctx


def _hypothetical_identities(account: str, region: str) -> dict[str, tuple[Policy, ...]]:
    identities = {
        f"arn:aws:iam::{account}:role/hypothetical-account-admin": (_everything("hypothetical account admin"),),
        f"arn:aws:iam::{EXTERNAL_ACCOUNT}:role/hypothetical-attacker": (_everything("hypothetical attacker"),),
        # Macie's service-linked role: its AWS-managed permissions are not in the assembly, so only
        # grants made to it by resource policies (the objects key) can show as allowed.
        f"arn:aws:iam::{account}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie": (),
        # The CDK bootstrap's execution role has AdministratorAccess by default.
        f"arn:aws:iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-{region}": (
            _everything("CDK deploy role"),
        ),
        f"arn:aws:iam::{account}:role/hypothetical-person": (
            parse_policy(
                {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]},
                kind=PolicyKind.IDENTITY,
                where="a person's identity-provider role",
            ),
        ),
    }
    return identities


SESSION_ROLE_ID = "AROA0123456789EXAMPLE"  # the role-ID part of a session's aws:userid


def _opened_trust(
    model: RegionModel, policies: Policies, principal: Principal, window: str, tags: tuple[tuple[str, str], ...] = ()
) -> Policy:
    """The elevation role's trust as the workflow writes it (elevation.trust.trust_for) for one
    grant: the principal the deployed, closed trust names; this person ("during", "after") or
    another ("another"); a window around now, or one that ended a minute ago ("after")."""
    deployed = policies.resource
    if deployed is None or not deployed.statements:
        raise TemplateError("an elevation window needs the role's deployed trust")
    names = [
        v
        for op in ("ArnLike", "ArnEquals")
        for v in deployed.statements[0].conditions.get(op, {}).get("aws:PrincipalArn", ())
    ]
    if len(names) != 1:
        raise TemplateError(f"{deployed.where}: the closed trust names no single principal ({names})")
    now = datetime.now(UTC)
    person = principal.session_name if window != "another" else "someone-else@example.com"
    user_id = f"*:{person}" if "*" in names[0] else f"{SESSION_ROLE_ID}:{person}"
    start, end = (
        (now - timedelta(hours=3), now - timedelta(minutes=1))
        if window == "after"
        else (now - timedelta(minutes=5), now + timedelta(hours=1))
    )
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    document = trust_for(model.account, names[0], [Grant(user_id, start.strftime(fmt), end.strftime(fmt), tags)])
    return parse_policy(document, kind=PolicyKind.TRUST, where=f"{deployed.where} (opened by the workflow: {window})")


def prepare(model: RegionModel, path: AccessPath) -> tuple[Request, Policies]:
    """The concrete request a row describes, and the policies that apply to it."""
    fill = Instantiator(model)
    principal = fill.principal(path.who)
    resource = fill.fill(path.resource)
    context = {
        k: (tuple(fill.fill(x) for x in v) if isinstance(v, tuple) else fill.fill(v)) for k, v in path.context.items()
    }
    identities = _hypothetical_identities(model.account, model.region)
    if "AWSReservedSSO_" in principal.arn or principal.kind is PrincipalKind.USER:
        # A permission set's role may assume roles (its inline policy names one); the IAM user and
        # the root user may do anything: only the trust policies can stop them.
        identities[principal.arn] = (_everything(f"hypothetical {path.who}"),)
    policies = model.policies_for(
        principal, path.action, resource, extra_identity=identities, through_endpoint=path.through
    )
    ctx = request_context(model, principal, path.action, resource, context, path.through)
    if path.elevation_window:
        policies = replace(
            policies, resource=_opened_trust(model, policies, principal, path.elevation_window, path.elevation_tags)
        )
    return Request(principal, path.action, resource, _resource_account(resource, model.account), ctx), policies


def evaluate_path(model: RegionModel, path: AccessPath) -> Outcome:
    request, policies = prepare(model, path)
    return Outcome(model.region, path, str(request.principal), request.resource, evaluate(request, policies))


def evaluate_region(model: RegionModel, paths: Iterable[AccessPath] | None = None) -> list[Outcome]:
    rows = list(paths) if paths is not None else [*intended(model), *forbidden(model)]
    return [evaluate_path(model, p) for p in rows]


def check(assembly: Assembly) -> list[str]:
    """Every finding over every region: an intended path denied, a forbidden one allowed, or an
    integration fact violated (empty = all hold)."""
    findings: list[str] = []
    for region in assembly.regions():
        if not any(s.name.startswith(stack_name(region, "")) for s in assembly.in_region(region)):
            continue  # e.g. only a DR vault stack lives in this region
        try:
            model = RegionModel.build(assembly, region)
            rows = [*intended(model), *forbidden(model)]
        except ResolveError as exc:
            findings.append(f"[{region}] access paths could not be evaluated: {exc}")
            continue
        findings += integration.check(model)
        for row in rows:
            try:
                outcome = evaluate_path(model, row)
            except ResolveError as exc:  # the resource or principal the row names is missing
                findings.append(f"[{region}] {row.family}: {row.name}: cannot be evaluated: {exc}")
                continue
            if not outcome.ok:
                findings.append(outcome.message())
    return findings
