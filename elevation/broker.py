"""The elevation broker: request, approve, revoke, list (people) and grant, expire (the workflow).

Who calls is never taken from the request body: the Lambda function URL (AWS_IAM auth) signs the
caller's identity into the event (`requestContext.authorizer.iam`: userArn, userId), and the
caller's role says what it may do:
- the requester access (permission set `tb-<region>-requester`, or the SAML role
  `trustbase-<region>-requester`) may request, list, and revoke its own elevations;
- the approver access may approve or revoke others' requests, never its own.
Under Identity Center the broker also checks the identity store: the requester is a member of
the configured requester group, the approver of the approver group.

State lives only in the audit bucket (Object Lock, so no record can be changed or deleted): one
object per step under elevations/<region>/<request id>/. A request's state is the fold of its
steps. Each step also goes to the security alerts topic.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contract import (
    WORKSPACE_TAG,
    Elevation,
    HumanAccess,
    IdentitySource,
    elevation_prefix,
    elevation_record_key,
    elevation_role_name,
    human_role_name,
    identity_center_role_pattern,
    permission_set_name,
    workspace_of_scope,
)
from elevation.trust import SESSION_REVOCATION_POLICY, Grant, session_revocation, trust_for

REASON_MIN, REASON_MAX = 10, 1000
SCOPE_MAX = 200
PENDING_HOURS = 24  # a request nobody approved within a day must be asked for again
_STEPS = ("requested", "approval-refused", "approved", "granted", "refused", "revoked", "expired")
_REQUEST_ID = re.compile(r"^el-\d{8}T\d{6}Z-[0-9a-f]{8}$")


class Refused(Exception):
    """The caller may not do this (HTTP 403), with the reason."""


class MissingPermissionSet(RuntimeError):
    """The elevation's permission set is not in the Identity Center instance (identity stack not deployed)."""


class BadRequest(Exception):
    """The request is malformed (HTTP 400), naming the field and the fix."""


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(t: str) -> datetime:
    return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Settings:
    region: str
    account: str
    source: IdentitySource
    max_hours: int
    elevations: tuple[Elevation, ...]
    audit_bucket: str
    alerts_topic_arn: str
    state_machine_arn: str
    home_region: str = ""
    instance_arn: str = ""
    identity_store_id: str = ""
    requester_group: str = ""
    approver_group: str = ""
    partition: str = "aws"

    @staticmethod
    def from_env(env: Mapping[str, str] = os.environ) -> Settings:
        return Settings(
            region=env["TRUSTBASE_REGION"],
            account=env["TRUSTBASE_ACCOUNT"],
            source=IdentitySource(env["IDENTITY_SOURCE"]),
            max_hours=int(env["MAX_ELEVATION_HOURS"]),
            elevations=tuple(Elevation(e) for e in env["ELEVATIONS"].split(",") if e),
            audit_bucket=env["AUDIT_BUCKET"],
            alerts_topic_arn=env["ALERTS_TOPIC_ARN"],
            state_machine_arn=env["STATE_MACHINE_ARN"],
            home_region=env.get("IDENTITY_CENTER_REGION", ""),
            instance_arn=env.get("IDENTITY_CENTER_INSTANCE_ARN", ""),
            identity_store_id=env.get("IDENTITY_STORE_ID", ""),
            requester_group=env.get("REQUESTER_GROUP", ""),
            approver_group=env.get("APPROVER_GROUP", ""),
        )

    def role_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{name}"


@dataclass(frozen=True)
class Caller:
    """The signed identity of a function URL request."""

    arn: str  # arn:aws:sts::<account>:assumed-role/<role name>/<session name>
    user_id: str  # <role id>:<session name>

    @property
    def role_name(self) -> str:
        m = re.fullmatch(r"arn:[^:]+:sts::\d{12}:assumed-role/([^/]+)/(.+)", self.arn)
        return m.group(1) if m else ""

    @property
    def account(self) -> str:
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 4 else ""

    @property
    def user(self) -> str:
        """The person: the session name (Identity Center sets it to the user name; a SAML IdP to
        its RoleSessionName attribute, the user's email or login)."""
        return self.arn.rsplit("/", 1)[-1]


@dataclass
class Clients:
    s3: Any
    sns: Any
    sfn: Any
    iam: Any = None
    sso_admin: Any = None
    identity_store: Any = None


@dataclass
class RequestState:
    request_id: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.steps[0]

    @property
    def status(self) -> str:
        final = [s["step"] for s in self.steps]
        for end in ("refused", "revoked", "expired"):
            if end in final:
                return end
        for step in ("granted", "approved"):
            if step in final:
                return step
        return "pending"

    def step(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.steps if s["step"] == name), None)

    def summary(self) -> dict[str, Any]:
        first, approved = self.first, self.step("approved") or {}
        ended = next((s for s in self.steps if s["step"] in ("refused", "revoked", "expired")), None)
        return {
            "request_id": self.request_id,
            "status": self.status,
            "elevation": first["elevation"],
            "requester": first["requester"],
            "reason": first["reason"],
            "scope": first.get("scope", ""),
            "hours": first["hours"],
            "requested_at": first["at"],
            "approver": approved.get("approver"),
            "approved_at": approved.get("at"),
            "expires_at": approved.get("expires_at"),
            "ended_at": ended["at"] if ended else None,
            "ended_by": ended.get("by") if ended else None,
        }


class Broker:
    def __init__(self, settings: Settings, clients: Clients, now: Callable[[], datetime] | None = None) -> None:
        self.s, self.c = settings, clients
        self.now = now or (lambda: datetime.now(UTC))

    # ----------------------------------------------------------------- who is who
    def _access_of(self, caller: Caller) -> HumanAccess | None:
        if caller.account != self.s.account:
            return None
        for access in (HumanAccess.REQUESTER, HumanAccess.APPROVER):
            if self.s.source is IdentitySource.IDENTITY_CENTER:
                if re.fullmatch(
                    rf"AWSReservedSSO_{re.escape(permission_set_name(self.s.region, access))}_[0-9a-f]+",
                    caller.role_name,
                ):
                    return access
            elif caller.role_name == human_role_name(self.s.region, access):
                return access
        return None

    def _require(self, caller: Caller, *allowed: HumanAccess) -> HumanAccess:
        access = self._access_of(caller)
        if access not in allowed:
            names = " or ".join(a.value for a in allowed)
            raise Refused(f"{caller.arn} is not signed in with the {names} access of {self.s.region}")
        self._verify_role(caller)
        if self.s.source is IdentitySource.IDENTITY_CENTER:
            group = self.s.requester_group if access is HumanAccess.REQUESTER else self.s.approver_group
            if not self._in_group(self._user_id(caller.user), group):
                raise Refused(f"{caller.user} is not a member of the identity-store group {group!r}")
        return access

    def _verify_role(self, caller: Caller) -> None:
        """An assumed-role ARN names the role but not its path: a role someone created with the same
        name elsewhere would pass a name check. The role must be the one Identity Center provisions
        (path /aws-reserved/sso.amazonaws.com/) or, under SAML, trustbase's own (path /), and the
        session's role ID must be that role's (a deleted and re-created role has another ID)."""
        try:
            role = self.c.iam.get_role(RoleName=caller.role_name)["Role"]
        except self.c.iam.exceptions.NoSuchEntityException as exc:
            raise Refused(f"{caller.arn}: no such role") from exc
        path = str(role.get("Path", "/"))
        expected = "/aws-reserved/sso.amazonaws.com/" if self.s.source is IdentitySource.IDENTITY_CENTER else "/"
        if (not path.startswith(expected) if expected != "/" else path != "/") or caller.user_id.split(":", 1)[
            0
        ] != role["RoleId"]:
            raise Refused(f"{caller.arn} is not the {self.s.source.value} role it is named after (path {path})")

    def _user_id(self, user_name: str) -> str:
        try:
            return str(
                self.c.identity_store.get_user_id(
                    IdentityStoreId=self.s.identity_store_id,
                    AlternateIdentifier={"UniqueAttribute": {"AttributePath": "UserName", "AttributeValue": user_name}},
                )["UserId"]
            )
        except self.c.identity_store.exceptions.ResourceNotFoundException as exc:
            raise Refused(f"{user_name} is not a user of identity store {self.s.identity_store_id}") from exc

    def _in_group(self, user_id: str, group: str) -> bool:
        group_id = self.c.identity_store.get_group_id(
            IdentityStoreId=self.s.identity_store_id,
            AlternateIdentifier={"UniqueAttribute": {"AttributePath": "DisplayName", "AttributeValue": group}},
        )["GroupId"]
        result = self.c.identity_store.is_member_in_groups(
            IdentityStoreId=self.s.identity_store_id, MemberId={"UserId": user_id}, GroupIds=[group_id]
        )
        return any(r["GroupId"] == group_id and r["MembershipExists"] for r in result["Results"])

    # ----------------------------------------------------------------- records
    def _state(self, request_id: str) -> RequestState:
        if not _REQUEST_ID.fullmatch(request_id or ""):
            raise BadRequest(f"request_id {request_id!r} is not a request ID (el-<UTC time>-<8 hex>)")
        prefix = f"{elevation_prefix(self.s.region)}{request_id}/"
        keys = sorted(
            o["Key"]
            for page in self.c.s3.get_paginator("list_objects_v2").paginate(Bucket=self.s.audit_bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        )
        if not keys:
            raise BadRequest(f"no elevation request {request_id} in {self.s.region}")
        steps = [json.loads(self.c.s3.get_object(Bucket=self.s.audit_bucket, Key=k)["Body"].read()) for k in keys]
        return RequestState(request_id, steps)

    def _record(self, state: RequestState, step: str, **data: Any) -> dict[str, Any]:
        assert step in _STEPS
        record = {"request_id": state.request_id, "region": self.s.region, "step": step, "at": _iso(self.now()), **data}
        key = elevation_record_key(self.s.region, state.request_id, len(state.steps), step)
        # Never overwrite: a record exists once (If-None-Match), and Object Lock keeps it.
        self.c.s3.put_object(
            Bucket=self.s.audit_bucket,
            Key=key,
            Body=json.dumps(record, sort_keys=True).encode(),
            ContentType="application/json",
            IfNoneMatch="*",
        )
        state.steps.append(record)
        first = state.first
        self.c.sns.publish(
            TopicArn=self.s.alerts_topic_arn,
            Subject=f"trustbase elevation {step}: {first['elevation']} ({self.s.region})"[:100],
            Message=json.dumps({**state.summary(), "step": record}, sort_keys=True, indent=2),
        )
        return record

    # ----------------------------------------------------------------- people
    def request(self, caller: Caller, *, elevation: str, reason: str, hours: Any, scope: str = "") -> dict[str, Any]:
        self._require(caller, HumanAccess.REQUESTER)
        offered = [e.value for e in self.s.elevations]
        if elevation not in offered:
            raise BadRequest(f"elevation {elevation!r} is not offered in {self.s.region}: use one of {offered}")
        if not isinstance(reason, str) or not REASON_MIN <= len(reason.strip()) <= REASON_MAX:
            raise BadRequest(
                f"reason: say why, in {REASON_MIN}..{REASON_MAX} characters (a ticket or incident, the need)"
            )
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= self.s.max_hours:
            raise BadRequest(f"hours: {hours!r} is outside 1..{self.s.max_hours} (the configured maximum)")
        if not isinstance(scope, str) or len(scope) > SCOPE_MAX:
            raise BadRequest(f"scope: at most {SCOPE_MAX} characters (e.g. the workspace the work concerns)")
        if elevation == Elevation.CUSTOMER_DATA_READ and workspace_of_scope(scope) is None:
            raise BadRequest("scope: customer-data-read reads one workspace: give scope = workspace:<workspace UUID>")
        now = self.now()
        state = RequestState(f"el-{now:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}")
        self._record(
            state,
            "requested",
            elevation=elevation,
            reason=reason.strip(),
            hours=hours,
            scope=scope,
            requester=caller.user,
            requester_arn=caller.arn,
            requester_user_id=caller.user_id,
        )
        return state.summary()

    def approve(self, caller: Caller, request_id: str) -> dict[str, Any]:
        self._require(caller, HumanAccess.APPROVER)
        state = self._state(request_id)
        if caller.user.casefold() == state.first["requester"].casefold():
            self._record(state, "approval-refused", by=caller.user, why="self-approval")
            raise Refused(f"{caller.user} asked for {request_id}: someone else must approve it")
        if state.status != "pending":
            raise Refused(f"{request_id} is {state.status}, not pending")
        now = self.now()
        if now - _parse(state.first["at"]) > timedelta(hours=PENDING_HOURS):
            self._record(state, "refused", by=caller.user, why=f"not approved within {PENDING_HOURS} hours")
            raise Refused(f"{request_id} waited more than {PENDING_HOURS} hours: ask again")
        expires = now + timedelta(hours=int(state.first["hours"]))
        self._record(state, "approved", approver=caller.user, approver_arn=caller.arn, expires_at=_iso(expires))
        # The workflow grants now and removes the grant at expires_at (execution name = request ID).
        self.c.sfn.start_execution(
            stateMachineArn=self.s.state_machine_arn,
            name=request_id,
            input=json.dumps({"request_id": request_id, "expires_at": _iso(expires)}),
        )
        return state.summary()

    def revoke(self, caller: Caller, request_id: str, reason: str = "") -> dict[str, Any]:
        access = self._require(caller, HumanAccess.REQUESTER, HumanAccess.APPROVER)
        state = self._state(request_id)
        if access is HumanAccess.REQUESTER and caller.user.casefold() != state.first["requester"].casefold():
            raise Refused(f"{caller.user} may revoke only their own elevations; an approver may revoke any")
        if state.status in ("refused", "revoked", "expired"):
            raise Refused(f"{request_id} is already {state.status}")
        self._record(state, "revoked", by=caller.user, why=reason[:REASON_MAX])
        if state.step("approved"):  # a grant may exist, or be on its way: take it away
            self._reconcile(state.first["elevation"], state.first["requester"], ended=True)
        if state.step("approved"):
            execution = f"{self.s.state_machine_arn.replace(':stateMachine:', ':execution:')}:{request_id}"
            with contextlib.suppress(self.c.sfn.exceptions.ExecutionDoesNotExist):
                self.c.sfn.stop_execution(executionArn=execution, cause=f"revoked by {caller.user}")
        return state.summary()

    def list_requests(self, caller: Caller, *, status: str | None = None) -> list[dict[str, Any]]:
        """Approvers see the region's requests; a requester sees only their own."""
        access = self._require(caller, HumanAccess.REQUESTER, HumanAccess.APPROVER)
        mine = access is HumanAccess.REQUESTER
        return [
            s.summary()
            for s in all_requests(self.c.s3, self.s.audit_bucket, self.s.region)
            if (status is None or s.status == status)
            and (not mine or s.first["requester"].casefold() == caller.user.casefold())
        ]

    # ----------------------------------------------------------------- the workflow's steps
    def grant(self, request_id: str) -> dict[str, Any]:
        state = self._state(request_id)
        if state.status not in ("approved", "granted"):  # "granted": a retry after a partial failure
            return {"request_id": request_id, "granted": False, "status": state.status}
        first, approved = state.first, state.step("approved") or {}
        if self.now() >= _parse(approved["expires_at"]):
            return {"request_id": request_id, "granted": False, "status": "past expiry"}
        if state.status == "approved":
            self._record(
                state,
                "granted",
                role=self.s.role_arn(self._role_name(first["elevation"])),
                trust_until=approved["expires_at"],
            )
        # The desired state follows from every record, read again now: a revoke that landed while
        # this grant was on its way is seen here (or its own reconcile runs after this one).
        self._reconcile(first["elevation"], first["requester"], ended=False)
        status = self._state(request_id).status
        return {"request_id": request_id, "granted": status == "granted", "status": status}

    def expire(self, request_id: str) -> dict[str, Any]:
        state = self._state(request_id)
        done = state.status in ("refused", "revoked", "expired")
        if not done:
            self._record(state, "expired", by="workflow")
        if state.step("approved"):
            self._reconcile(state.first["elevation"], state.first["requester"], ended=True)
        return {"request_id": request_id, "expired": not done, "status": "expired" if not done else state.status}

    # ----------------------------------------------------------------- mechanisms
    def _role_name(self, elevation: str) -> str:
        return elevation_role_name(self.s.region, elevation)

    def _principal(self, elevation: str) -> str:
        """Who may assume the elevation role during a grant: the elevation's permission-set role
        (Identity Center), or the requester role (SAML)."""
        if self.s.source is IdentitySource.IDENTITY_CENTER:
            return identity_center_role_pattern(
                self.s.partition, self.s.account, permission_set_name(self.s.region, elevation)
            )
        return self.s.role_arn(human_role_name(self.s.region, HumanAccess.REQUESTER))

    def _active(self, elevation: str) -> list[RequestState]:
        """The elevation's grants in force now (granted, not ended, before expiry). Only requests
        young enough to be in force are read (the request ID carries its time)."""
        now = self.now()
        horizon = now - timedelta(hours=self.s.max_hours + PENDING_HOURS + 1)
        return [
            r
            for r in all_requests(self.c.s3, self.s.audit_bucket, self.s.region, since=horizon)
            if r.first["elevation"] == elevation
            and r.status == "granted"
            and now < _parse((r.step("approved") or {})["expires_at"])
        ]

    def _reconcile(self, elevation: str, user: str, *, ended: bool) -> None:
        """Make the elevation role's trust (both mechanisms) and the user's account assignment
        (Identity Center) match the active grants; when a grant ended, also end the sessions already
        issued (an inline aws:TokenIssueTime deny). Idempotent, and converging: after applying, the
        records are read again, and applied again if a revoke or grant landed meanwhile."""
        applied: list[str] | None = None
        for _ in range(5):
            active = self._active(elevation)
            ids = [r.request_id for r in active]
            if ids == applied:
                return
            self._apply(elevation, user, active, ended=ended or applied is not None)
            applied = ids
        raise RuntimeError(f"{elevation}: the grants kept changing while being applied; the workflow retries")

    def _apply(self, elevation: str, user: str, active: list[RequestState], *, ended: bool) -> None:
        idc = self.s.source is IdentitySource.IDENTITY_CENTER
        grants = [
            Grant(
                user_id=f"*:{r.first['requester']}" if idc else r.first["requester_user_id"],
                not_before=(r.step("approved") or {})["at"],
                expires_at=(r.step("approved") or {})["expires_at"],
                tags=_scope_tags(r.first),
            )
            for r in active
        ]
        role = self._role_name(elevation)
        self.c.iam.update_assume_role_policy(
            RoleName=role, PolicyDocument=json.dumps(trust_for(self.s.account, self._principal(elevation), grants))
        )
        if ended:
            self.c.iam.put_role_policy(
                RoleName=role,
                PolicyName=SESSION_REVOCATION_POLICY,
                PolicyDocument=json.dumps(session_revocation(_iso(self.now()))),
            )
        if idc:
            wanted = any(r.first["requester"].casefold() == user.casefold() for r in active)
            try:
                assignment = self._assignment(elevation, user)
            except MissingPermissionSet:
                if wanted:
                    raise
                return  # without the permission set there is no assignment to remove
            if wanted and not self._assigned(assignment):
                status = self.c.sso_admin.create_account_assignment(**assignment)["AccountAssignmentCreationStatus"]
                self._wait(
                    status,
                    "describe_account_assignment_creation_status",
                    "AccountAssignmentCreationRequestId",
                    "AccountAssignmentCreationStatus",
                )
            elif not wanted and self._assigned(assignment):
                status = self.c.sso_admin.delete_account_assignment(**assignment)["AccountAssignmentDeletionStatus"]
                self._wait(
                    status,
                    "describe_account_assignment_deletion_status",
                    "AccountAssignmentDeletionRequestId",
                    "AccountAssignmentDeletionStatus",
                )

    def _permission_set_arn(self, elevation: str) -> str:
        name = permission_set_name(self.s.region, elevation)
        for page in self.c.sso_admin.get_paginator("list_permission_sets").paginate(InstanceArn=self.s.instance_arn):
            for arn in page["PermissionSets"]:
                described = self.c.sso_admin.describe_permission_set(
                    InstanceArn=self.s.instance_arn, PermissionSetArn=arn
                )
                if described["PermissionSet"]["Name"] == name:
                    return str(arn)
        raise MissingPermissionSet(
            f"permission set {name} is missing from {self.s.instance_arn}: deploy the identity stack"
        )

    def _assignment(self, elevation: str, user: str) -> dict[str, str]:
        return {
            "InstanceArn": self.s.instance_arn,
            "TargetId": self.s.account,
            "TargetType": "AWS_ACCOUNT",
            "PermissionSetArn": self._permission_set_arn(elevation),
            "PrincipalType": "USER",
            "PrincipalId": self._user_id(user),
        }

    def _assigned(self, assignment: dict[str, str]) -> bool:
        pages = self.c.sso_admin.get_paginator("list_account_assignments").paginate(
            InstanceArn=self.s.instance_arn, AccountId=self.s.account, PermissionSetArn=assignment["PermissionSetArn"]
        )
        return any(
            a["PrincipalId"] == assignment["PrincipalId"] and a["PrincipalType"] == "USER"
            for page in pages
            for a in page["AccountAssignments"]
        )

    def _wait(self, status: dict[str, Any], describe: str, id_key: str, result_key: str) -> None:
        """sso-admin assignment calls are asynchronous: poll until SUCCEEDED, fail on FAILED."""
        for _ in range(30):
            if status.get("Status") == "SUCCEEDED":
                return
            if status.get("Status") == "FAILED":
                raise RuntimeError(f"Identity Center refused: {status.get('FailureReason')}")
            time.sleep(1)
            status = getattr(self.c.sso_admin, describe)(
                InstanceArn=self.s.instance_arn, **{id_key: status["RequestId"]}
            )[result_key]
        raise RuntimeError(f"Identity Center did not finish {status.get('RequestId')} in 30 s")


def _scope_tags(first: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The session tags a grant requires: the approved workspace of a customer-data read."""
    workspace = (
        workspace_of_scope(first.get("scope", "")) if first["elevation"] == Elevation.CUSTOMER_DATA_READ else None
    )
    return ((WORKSPACE_TAG, workspace),) if workspace else ()


def all_requests(s3: Any, bucket: str, region: str, *, since: datetime | None = None) -> list[RequestState]:
    """Every elevation request of the region (requested at or after `since`), oldest first."""
    by_id: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=elevation_prefix(region)):
        for obj in page.get("Contents", []):
            request_id = obj["Key"].removeprefix(elevation_prefix(region)).split("/", 1)[0]
            if since is not None and _requested_at(request_id) < since:
                continue
            by_id.setdefault(request_id, []).append(obj["Key"])
    return [
        RequestState(rid, [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in sorted(keys)])
        for rid, keys in sorted(by_id.items())
    ]


def _requested_at(request_id: str) -> datetime:
    m = re.match(r"el-(\d{8}T\d{6})Z-", request_id)
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC) if m else datetime.min.replace(tzinfo=UTC)
