"""The elevation broker on moto: Identity Center (sso-admin, identity store), IAM, S3, SNS, Step
Functions, with the clock travelled. Expiry must really remove access:
- Identity Center: the account assignment is gone (sso-admin ListAccountAssignments);
- fallback: the role's trust policy, read back from IAM, is evaluated with aws:CurrentTime by the
  offline evaluator (moto does not enforce trust policies): allowed before expiry, denied after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import unquote

import boto3
import pytest
from moto import mock_aws

from access_paths.evaluator import Policies, PolicyKind, Principal, Request, evaluate, parse_policy
from contract import Elevation, IdentitySource
from elevation import handler
from elevation.__main__ import main as cli
from elevation.broker import BadRequest, Broker, Caller, Clients, Refused, Settings
from elevation.trust import SESSION_REVOCATION_POLICY, closed_trust

ACCOUNT = "123456789012"  # moto's default account
REGION: Final = "eu-west-1"  # a literal type, as the S3 stubs want for LocationConstraint
BUCKET = "audit-records"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WORKSPACE = "0a1b2c3d-0000-4000-8000-000000000001"
SCOPE = f"workspace:{WORKSPACE}"  # a customer-data read names one workspace


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t


# The roles Identity Center provisions (path /aws-reserved/sso.amazonaws.com/<region>/) and
# trustbase's SAML roles, with the role IDs their sessions carry in aws:userid.
ROLE_IDS = {
    "AWSReservedSSO_tb-euw1-requester_0a1b2c3d4e5f6789": "AROAIDCREQUESTER0001",
    "AWSReservedSSO_tb-euw1-approver_0a1b2c3d4e5f6789": "AROAIDCAPPROVER00001",
    "AWSReservedSSO_tb-euw1-auditor_0a1b2c3d4e5f6789": "AROAIDCAUDITOR000001",
    "AWSReservedSSO_tb-euw1-customer-data-read_0a1b2c3d4e5f6789": "AROAIDCREADER0000001",
    "trustbase-eu-west-1-requester": "AROAREQUESTER",
    "trustbase-eu-west-1-approver": "AROAAPPROVER",
}


def idc_caller(permission_set: str, user: str) -> Caller:
    role = f"AWSReservedSSO_{permission_set}_0a1b2c3d4e5f6789"
    return Caller(arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{user}", user_id=f"{ROLE_IDS[role]}:{user}")


ALICE = idc_caller("tb-euw1-requester", "alice@example.com")
BOB = idc_caller("tb-euw1-approver", "bob@example.com")
ALICE_APPROVER = idc_caller("tb-euw1-approver", "alice@example.com")  # alice also holds the approver access
MALLORY = idc_caller("tb-euw1-approver", "mallory@example.com")  # approver access, not in the approver group
AUDITOR = idc_caller("tb-euw1-auditor", "carol@example.com")


@pytest.fixture
def world() -> Iterator[dict[str, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="alerts-copy")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        iam = boto3.client("iam")
        machine = sfn.create_state_machine(
            name="trustbase-eu-west-1-elevation",
            definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
        sso = boto3.client("sso-admin", region_name="us-east-1")
        ids = boto3.client("identitystore", region_name="us-east-1")
        instance = "arn:aws:sso:::instance/ssoins-1111111111111111"
        store = "d-1111111111"
        permission_set = sso.create_permission_set(Name="tb-euw1-customer-data-read", InstanceArn=instance)
        users = {}
        for name in ("alice@example.com", "bob@example.com", "mallory@example.com"):
            users[name] = ids.create_user(
                IdentityStoreId=store, UserName=name, DisplayName=name, Name={"GivenName": name, "FamilyName": "x"}
            )["UserId"]
        groups = {
            g: ids.create_group(IdentityStoreId=store, DisplayName=g)["GroupId"]
            for g in ("trustbase-operators", "trustbase-approvers")
        }
        for user, group in (
            ("alice@example.com", "trustbase-operators"),
            ("alice@example.com", "trustbase-approvers"),
            ("bob@example.com", "trustbase-approvers"),
        ):
            ids.create_group_membership(IdentityStoreId=store, GroupId=groups[group], MemberId={"UserId": users[user]})
        from moto.iam.models import iam_backends

        for name, role_id in ROLE_IDS.items():
            path = "/aws-reserved/sso.amazonaws.com/eu-west-1/" if name.startswith("AWSReservedSSO_") else "/"
            iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument="{}")
            iam_backends[ACCOUNT]["global"].get_role(name).id = role_id  # the ID its sessions carry
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(closed_trust(ACCOUNT, IDC_READER)))
        clock = Clock()
        common: dict[str, Any] = dict(
            region=REGION,
            account=ACCOUNT,
            max_hours=4,
            elevations=(Elevation.CUSTOMER_DATA_READ,),
            audit_bucket=BUCKET,
            alerts_topic_arn=topic,
            state_machine_arn=machine,
        )
        idc = Settings(
            source=IdentitySource.IDENTITY_CENTER,
            home_region="us-east-1",
            instance_arn=instance,
            identity_store_id=store,
            requester_group="trustbase-operators",
            approver_group="trustbase-approvers",
            **common,
        )
        clients = Clients(s3=s3, sns=sns, sfn=sfn, iam=iam, sso_admin=sso, identity_store=ids)
        yield {
            "clock": clock,
            "s3": s3,
            "sqs": sqs,
            "queue": queue,
            "sfn": sfn,
            "iam": iam,
            "sso": sso,
            "instance": instance,
            "permission_set": permission_set["PermissionSet"]["PermissionSetArn"],
            "alice_id": users["alice@example.com"],
            "idc": Broker(idc, clients, now=clock),
            "saml": Broker(Settings(source=IdentitySource.SAML, **common), clients, now=clock),
        }


def assignments(world: dict[str, Any]) -> list[str]:
    listed = world["sso"].list_account_assignments(
        InstanceArn=world["instance"], AccountId=ACCOUNT, PermissionSetArn=world["permission_set"]
    )["AccountAssignments"]
    return [a["PrincipalId"] for a in listed]


def notifications(world: dict[str, Any]) -> list[str]:
    out: list[str] = []
    while True:
        got = world["sqs"].receive_message(QueueUrl=world["queue"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        out += [json.loads(m["Body"])["Subject"] for m in got]
        for m in got:
            world["sqs"].delete_message(QueueUrl=world["queue"], ReceiptHandle=m["ReceiptHandle"])


def ask(b: Broker, hours: int = 2) -> str:
    return str(
        b.request(
            ALICE, elevation="customer-data-read", reason="INC-4711: attachments missing", hours=hours, scope=SCOPE
        )["request_id"]
    )


def test_identity_center_grant_lasts_until_expiry_and_the_workflow_removes_it(world: dict[str, Any]) -> None:
    b, clock = world["idc"], world["clock"]
    request_id = ask(b)
    assert assignments(world) == []  # asking grants nothing
    b.approve(BOB, request_id)
    assert assignments(world) == []  # the workflow grants, not the approval
    assert b.grant(request_id)["granted"] is True
    assert assignments(world) == [world["alice_id"]]
    clock.t = T0 + timedelta(hours=1, minutes=59)
    assert b.list_requests(BOB)[0]["status"] == "granted"
    clock.t = T0 + timedelta(hours=2)  # nobody does anything: the workflow's Wait ends
    assert b.expire(request_id)["expired"] is True
    assert assignments(world) == []
    summary = b.list_requests(ALICE)[0]
    assert (summary["status"], summary["approver"], summary["expires_at"]) == (
        "expired",
        "bob@example.com",
        "2026-11-02T11:00:00Z",
    )
    assert notifications(world) == [
        f"trustbase elevation {s}: customer-data-read (eu-west-1)"
        for s in ("requested", "approved", "granted", "expired")
    ]
    records = world["s3"].list_objects_v2(Bucket=BUCKET, Prefix=f"elevations/eu-west-1/{request_id}/")["Contents"]
    assert [r["Key"].rsplit("/", 1)[1] for r in records] == [
        "00-requested.json",
        "01-approved.json",
        "02-granted.json",
        "03-expired.json",
    ]


def test_self_approval_is_refused_and_the_request_stays_pending(world: dict[str, Any]) -> None:
    b = world["idc"]
    request_id = ask(b)
    with pytest.raises(Refused, match="someone else must approve"):
        b.approve(ALICE_APPROVER, request_id)
    assert b.list_requests(BOB)[0]["status"] == "pending"
    b.approve(BOB, request_id)
    assert b.list_requests(BOB)[0]["status"] == "approved"


def test_only_the_approver_group_and_access_may_approve(world: dict[str, Any]) -> None:
    b = world["idc"]
    request_id = ask(b)
    with pytest.raises(Refused, match="not a member of the identity-store group 'trustbase-approvers'"):
        b.approve(MALLORY, request_id)
    with pytest.raises(Refused, match="approver access"):
        b.approve(AUDITOR, request_id)
    with pytest.raises(Refused, match="approver access"):
        b.approve(ALICE, request_id)  # the requester access cannot approve at all
    other_account = Caller(arn=BOB.arn.replace(ACCOUNT, "999999999999"), user_id=BOB.user_id)
    with pytest.raises(Refused):
        b.approve(other_account, request_id)


def test_early_revoke_removes_the_grant_and_stops_the_workflow(world: dict[str, Any]) -> None:
    b, clock = world["idc"], world["clock"]
    request_id = ask(b, hours=4)
    b.approve(BOB, request_id)
    b.grant(request_id)
    clock.t = T0 + timedelta(minutes=30)
    b.revoke(ALICE, request_id, "done early")
    assert assignments(world) == []
    execution = world["sfn"].describe_execution(
        executionArn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:trustbase-eu-west-1-elevation:{request_id}"
    )
    assert execution["status"] == "ABORTED"
    assert b.expire(request_id)["expired"] is False  # the later expiry step finds nothing to do
    assert b.list_requests(BOB)[0]["ended_by"] == "alice@example.com"


def test_a_grant_after_expiry_or_after_revoke_does_nothing(world: dict[str, Any]) -> None:
    b, clock = world["idc"], world["clock"]
    request_id = ask(b, hours=1)
    b.approve(BOB, request_id)
    clock.t = T0 + timedelta(hours=1)
    assert b.grant(request_id)["granted"] is False
    assert assignments(world) == []
    clock.t = T0
    revoked = ask(b, hours=1)
    b.approve(BOB, revoked)
    b.revoke(BOB, revoked, "not needed after all")
    assert b.grant(revoked)["granted"] is False
    assert assignments(world) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"elevation": "root-access"}, "not offered in eu-west-1"),
        ({"hours": 5}, "outside 1..4"),
        ({"hours": 0}, "outside 1..4"),
        ({"reason": "because"}, "reason: say why"),
        ({"scope": "w" * 201}, "scope: at most 200"),
        ({"scope": "workspace/w-1"}, "give scope = workspace:<workspace UUID>"),
        ({"scope": ""}, "customer-data-read reads one workspace"),
    ],
)
def test_malformed_requests_name_the_field(world: dict[str, Any], fields: dict[str, Any], message: str) -> None:
    request = {"elevation": "customer-data-read", "reason": "INC-4711: attachments missing", "hours": 2, **fields}
    with pytest.raises(BadRequest, match=message):
        world["idc"].request(ALICE, **request)
    assert world["s3"].list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # nothing recorded


def test_a_stale_request_cannot_be_approved(world: dict[str, Any]) -> None:
    b, clock = world["idc"], world["clock"]
    request_id = ask(b)
    clock.t = T0 + timedelta(hours=25)
    with pytest.raises(Refused, match="ask again"):
        b.approve(BOB, request_id)
    assert b.list_requests(BOB)[0]["status"] == "refused"


# --------------------------------------------------------------------------- the elevation role's trust
SAML_ALICE = Caller(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/trustbase-eu-west-1-requester/alice@example.com",
    user_id="AROAREQUESTER:alice@example.com",
)
SAML_BOB = Caller(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/trustbase-eu-west-1-approver/bob@example.com",
    user_id="AROAAPPROVER:bob@example.com",
)
ROLE = "trustbase-eu-west-1-elevation-customer-data-read"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
IDC_READER = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_tb-euw1-customer-data-read_*"
READER_SESSION = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_tb-euw1-customer-data-read_0a1b2c3d4e5f6789"
SAML_REQUESTER = f"arn:aws:iam::{ACCOUNT}:role/trustbase-eu-west-1-requester"


def may_assume(
    world: dict[str, Any], at: datetime, *, principal: str, user_id: str, workspace: str | None = WORKSPACE
) -> bool:
    """The offline evaluator on the trust policy moto holds (moto enforces no trust policy):
    AssumeRole with the workspace session tag (sts:TagSession too). The caller's own allow is
    assumed here: the access paths evaluate the real policies on the templates."""
    trust = world["iam"].get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
    who = Principal.role(principal)
    context = {
        "aws:CurrentTime": (at.strftime("%Y-%m-%dT%H:%M:%SZ"),),
        "aws:userid": (user_id,),
        "aws:PrincipalArn": (who.arn,),
        "aws:PrincipalAccount": (ACCOUNT,),
    }
    if workspace:
        context |= {"aws:RequestTag/trustbase:workspace": (workspace,), "aws:TagKeys": ("trustbase:workspace",)}
    identity = parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": ROLE_ARN}]},
        kind=PolicyKind.IDENTITY,
        where="the caller's own allow",
    )
    policies = Policies(
        identity=(identity,), resource=parse_policy(trust, kind=PolicyKind.TRUST, where=ROLE), resource_required=True
    )
    actions = ["sts:AssumeRole", *(["sts:TagSession"] if workspace else [])]
    return all(evaluate(Request(who, a, ROLE_ARN, ACCOUNT, context), policies).allowed for a in actions)


def alice_reads(
    world: dict[str, Any], at: datetime, user: str = "alice@example.com", workspace: str | None = WORKSPACE
) -> bool:
    return may_assume(world, at, principal=READER_SESSION, user_id=f"AROAIDCREADER0000001:{user}", workspace=workspace)


def test_identity_center_trust_opens_for_the_holder_in_the_window_only(world: dict[str, Any]) -> None:
    b, clock = world["idc"], world["clock"]
    request_id = ask(b)
    assert not alice_reads(world, T0 + timedelta(minutes=5))  # deployed closed: no approved elevation
    b.approve(BOB, request_id)
    b.grant(request_id)
    assert alice_reads(world, T0 + timedelta(minutes=5))
    assert not alice_reads(world, T0 + timedelta(minutes=5), user="bob@example.com")  # same permission set, not hers
    assert not alice_reads(world, T0 + timedelta(minutes=5), workspace="0a1b2c3d-0000-4000-8000-000000000002")
    assert not alice_reads(world, T0 + timedelta(minutes=5), workspace=None)  # the workspace tag is required
    assert not alice_reads(world, T0 + timedelta(hours=2, seconds=1))  # past expiry, before the workflow acts
    clock.t = T0 + timedelta(hours=2)
    b.expire(request_id)
    assert not alice_reads(world, T0 + timedelta(minutes=5))  # closed again, at any time
    trust = world["iam"].get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
    assert trust == closed_trust(ACCOUNT, IDC_READER)  # exactly the deployed document: no drift
    revocation = world["iam"].get_role_policy(RoleName=ROLE, PolicyName=SESSION_REVOCATION_POLICY)["PolicyDocument"]
    assert revocation["Statement"][0]["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": "2026-11-02T11:00:00Z"}}


def test_fallback_trust_admits_the_requester_until_expiry_then_is_restored(world: dict[str, Any]) -> None:
    b, clock = world["saml"], world["clock"]
    request_id = str(
        b.request(
            SAML_ALICE, elevation="customer-data-read", reason="INC-4711: attachments missing", hours=2, scope=SCOPE
        )["request_id"]
    )

    def alice(at: datetime, user_id: str = SAML_ALICE.user_id) -> bool:
        return may_assume(world, at, principal=SAML_REQUESTER, user_id=user_id)

    assert not alice(T0 + timedelta(minutes=5))  # no approved elevation: denied
    with pytest.raises(Refused, match="someone else must approve"):
        b.approve(
            Caller(arn=SAML_BOB.arn.replace("bob", "alice"), user_id="AROAAPPROVER:alice@example.com"), request_id
        )
    b.approve(SAML_BOB, request_id)
    b.grant(request_id)
    assert alice(T0 + timedelta(minutes=5))
    assert alice(T0 + timedelta(hours=1, minutes=59))
    assert not alice(T0 + timedelta(hours=2, seconds=1))  # past expiry, even before the workflow runs
    assert not alice(T0 + timedelta(minutes=5), user_id="AROAREQUESTER:eve@example.com")  # only alice's session
    clock.t = T0 + timedelta(hours=2)
    b.expire(request_id)
    assert not alice(T0 + timedelta(minutes=5))  # restored: closed at any time


def test_a_revoke_while_the_grant_is_on_its_way_leaves_nothing_open(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's race: the grant step reads "approved", a revoke lands, then the grant acts."""
    b = world["idc"]
    request_id = ask(b)
    b.approve(BOB, request_id)
    original = world["sso"].create_account_assignment

    def revoke_first(**kw: Any) -> Any:
        if b.list_requests(BOB)[0]["status"] != "revoked":
            b.revoke(ALICE, request_id, "changed my mind")  # lands between the read and the write
        return original(**kw)

    monkeypatch.setattr(world["sso"], "create_account_assignment", revoke_first)
    result = b.grant(request_id)
    assert (result["granted"], result["status"]) == (False, "revoked")
    assert assignments(world) == []
    assert not alice_reads(world, T0 + timedelta(minutes=5))


def test_overlapping_grants_end_one_at_a_time(world: dict[str, Any]) -> None:
    b, clock = world["idc"], world["clock"]
    short, long = ask(b, hours=1), ask(b, hours=3)
    for request_id in (short, long):
        b.approve(BOB, request_id)
        b.grant(request_id)
    clock.t = T0 + timedelta(hours=1)
    b.expire(short)
    assert assignments(world) == [world["alice_id"]]  # the longer grant still holds
    assert alice_reads(world, T0 + timedelta(hours=2))
    clock.t = T0 + timedelta(hours=3)
    b.expire(long)
    assert assignments(world) == []


def test_a_namesake_role_is_not_the_identity_center_role(world: dict[str, Any]) -> None:
    """An assumed-role ARN names the role, not its path: a role created with the permission-set
    role's name outside /aws-reserved/sso.amazonaws.com/ must not pass as an approver."""
    from moto.iam.models import iam_backends

    name = "AWSReservedSSO_tb-euw1-approver_ffffffffffffffff"
    world["iam"].create_role(RoleName=name, Path="/", AssumeRolePolicyDocument="{}")
    iam_backends[ACCOUNT]["global"].get_role(name).id = "AROAFORGED0000000001"
    forged = Caller(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/bob@example.com",
        user_id="AROAFORGED0000000001:bob@example.com",
    )
    request_id = ask(world["idc"])
    with pytest.raises(Refused, match="is not the identity-center role it is named after"):
        world["idc"].approve(forged, request_id)
    stale = Caller(arn=BOB.arn, user_id="AROAOLDROLE000000001:bob@example.com")  # a deleted and re-created role
    with pytest.raises(Refused, match="is not the identity-center role"):
        world["idc"].approve(stale, request_id)


def test_a_requester_lists_only_their_own_requests(world: dict[str, Any]) -> None:
    b = world["idc"]
    mine = ask(b)
    assert [r["request_id"] for r in b.list_requests(ALICE)] == [mine]
    assert [r["request_id"] for r in b.list_requests(BOB)] == [mine]


# --------------------------------------------------------------------------- function URL + CLI
def url_transport(b: Broker, caller: Caller) -> Any:
    def send(body: dict[str, Any]) -> tuple[int, Any]:
        event = {
            "requestContext": {
                "http": {"method": "POST"},
                "authorizer": {"iam": {"userArn": caller.arn, "userId": caller.user_id}},
            },
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
        response = handler.serve(b, event)
        return response["statusCode"], json.loads(response["body"])

    return send


def test_cli_request_approve_list_revoke_through_the_function_url(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    b = world["idc"]
    base = ["--region", REGION]
    assert (
        cli(
            [
                *base,
                "request",
                "customer-data-read",
                "--hours",
                "2",
                "--reason",
                "INC-4711: attachments missing",
                "--scope",
                SCOPE,
            ],
            url_transport(b, ALICE),
        )
        == 0
    )
    request_id = json.loads(capsys.readouterr().out)["request_id"]
    assert cli([*base, "approve", request_id], url_transport(b, ALICE_APPROVER)) == 1
    assert "someone else must approve" in capsys.readouterr().err
    assert cli([*base, "approve", request_id], url_transport(b, BOB)) == 0
    capsys.readouterr()
    assert cli([*base, "list", "--status", "approved"], url_transport(b, BOB)) == 0
    listed = capsys.readouterr().out
    assert request_id in listed and "approver=bob@example.com" in listed and "1 elevation(s)" in listed
    assert cli([*base, "revoke", request_id], url_transport(b, BOB)) == 0


def test_an_unsigned_or_malformed_call_is_refused(world: dict[str, Any]) -> None:
    b = world["idc"]
    assert handler.serve(b, {"requestContext": {}, "body": "{}"})["statusCode"] == 403
    status, body = url_transport(b, ALICE)({"action": "delete-everything"})
    assert status == 400 and "use request, approve, revoke or list" in body["error"]
    status, body = url_transport(b, ALICE)({"action": "approve", "request_id": "../../etc"})
    assert status == 403  # the requester access may not approve at all
    status, body = url_transport(b, BOB)({"action": "approve", "request_id": "../../etc"})
    assert status == 400 and "is not a request ID" in body["error"]


def test_cli_refuses_bad_arguments_before_calling(capsys: pytest.CaptureFixture[str]) -> None:
    def never(body: dict[str, Any]) -> tuple[int, Any]:
        raise AssertionError("called")

    with pytest.raises(SystemExit):
        cli(["--region", "mars-1", "list"], never)
    assert "not a known AWS region" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["--region", REGION, "request", "customer-data-read", "--hours", "1", "--reason", "x"], never)
    assert "--reason" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["--region", REGION, "--url", "http://insecure", "list"])
    assert "https://" in capsys.readouterr().err
