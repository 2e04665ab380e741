"""The synthesized elevation workflow, interpreted over the real broker on moto.

moto cannot run Step Functions tasks without Docker, so a small interpreter walks the definition
from the detection template (Task with Retry and Catch, a Wait on $.expires_at, Fail) and calls
`elevation.handler.dispatch` exactly as the Lambda integration would. The Wait travels the clock to
the expiry: the grant is there while the workflow waits, and gone after it, with nobody acting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest

from elevation.handler import step
from elevation.trust import closed_trust
from tests.conftest import Assembly, only
from tests.elevation.test_broker import ACCOUNT, BOB, IDC_READER, REGION, ROLE, alice_reads, ask, assignments


def definition(assembly: Assembly) -> dict[str, Any]:
    template = assembly.template(f"trustbase-{REGION}-detection")
    machine = only({k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::StepFunctions::StateMachine"})
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    broker = only(
        {
            k: v
            for k, v in template["Resources"].items()
            if v["Type"] == "AWS::Lambda::Function" and v["Properties"]["Handler"] == "elevation.handler.run_step"
        }
    )
    assert broker  # every task calls the steps function (never the people's function)
    text = "".join(p if isinstance(p, str) else "<broker>" for p in parts)
    return dict(json.loads(text))


def run(
    defn: dict[str, Any], data: dict[str, Any], world: dict[str, Any], on_wait: Any = None
) -> tuple[list[str], str]:
    b, clock = world["idc"], world["clock"]
    state, path = defn["StartAt"], []
    for _ in range(50):
        s = defn["States"][state]
        path.append(state)
        if s["Type"] == "Fail":
            return path, "FAILED"
        if s["Type"] == "Wait":
            if on_wait:
                on_wait()
            until = datetime.strptime(data[s["TimestampPath"].removeprefix("$.")], "%Y-%m-%dT%H:%M:%SZ")
            clock.t = max(clock.t, until.replace(tzinfo=UTC))  # the interpreter travels instead of sleeping
            state = s["Next"]
            continue
        assert s["Type"] == "Task" and s["Resource"] == "<broker>", s
        payload = {
            k.removesuffix(".$"): (data[v.removeprefix("$.")] if k.endswith(".$") else v)
            for k, v in s["Parameters"].items()
        }
        retry = s["Retry"][0]
        for attempt in range(retry["MaxAttempts"] + 1):
            try:
                result = step(b, json.loads(json.dumps(payload)))
                break
            except Exception as exc:  # States.ALL
                if attempt == retry["MaxAttempts"]:
                    catch = s["Catch"][0]
                    data[catch["ResultPath"].removeprefix("$.")] = {"Error": type(exc).__name__, "Cause": str(exc)}
                    state = catch["Next"]
                    result = None
        if result is None:
            continue
        data[s["ResultPath"].removeprefix("$.")] = result
        if s.get("End"):
            return path, "SUCCEEDED"
        state = s["Next"]
    raise AssertionError(path)


def started_input(world: dict[str, Any], request_id: str) -> dict[str, Any]:
    """What the approval started the workflow with (moto keeps the execution's input)."""
    arn = f"arn:aws:states:{REGION}:123456789012:execution:trustbase-{REGION}-elevation:{request_id}"
    return dict(json.loads(world["sfn"].describe_execution(executionArn=arn)["input"]))


def test_the_workflow_grants_waits_until_expiry_and_removes_the_grant(
    assembly: Assembly,
    world: dict[str, Any],
) -> None:
    request_id = ask(world["idc"], hours=3)
    world["idc"].approve(BOB, request_id)
    data = started_input(world, request_id)
    assert data == {"request_id": request_id, "expires_at": "2026-11-02T12:00:00Z"}
    during: list[list[str]] = []
    path, status = run(definition(assembly), data, world, on_wait=lambda: during.append(assignments(world)))
    assert (path, status) == (["Grant", "UntilExpiry", "Expire"], "SUCCEEDED")
    assert during == [[world["alice_id"]]]  # granted while the workflow waits
    assert assignments(world) == []  # and removed at expiry, nobody acting
    assert world["clock"].t == datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert world["idc"].list_requests(BOB)[0]["status"] == "expired"


def test_a_grant_that_fails_once_is_retried_and_converges(
    assembly: Assembly, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identity Center creates the assignment, but the status call times out: the retry finds the
    assignment in place and goes on; expiry still removes it."""
    request_id = ask(world["idc"])
    world["idc"].approve(BOB, request_id)
    failures: list[list[str]] = []
    original = world["idc"]._wait

    def creation_times_out(status: dict[str, Any], describe: str, *args: Any) -> None:
        if "creation" in describe and not failures:
            failures.append(assignments(world))
            raise RuntimeError("Identity Center did not finish in 30 s")
        original(status, describe, *args)

    monkeypatch.setattr(world["idc"], "_wait", creation_times_out)
    during: list[list[str]] = []
    path, status = run(
        definition(assembly), started_input(world, request_id), world, on_wait=lambda: during.append(assignments(world))
    )
    assert (path, status) == (["Grant", "UntilExpiry", "Expire"], "SUCCEEDED")
    assert failures == [[world["alice_id"]]] and during == [[world["alice_id"]]]
    assert assignments(world) == []


def test_a_grant_that_keeps_failing_is_cleaned_up_and_fails_the_workflow(
    assembly: Assembly, world: dict[str, Any]
) -> None:
    """The permission set is missing (identity stack not deployed): every grant attempt fails after
    opening the trust; the Catch runs expire, which must close it again."""
    world["sso"].delete_permission_set(InstanceArn=world["instance"], PermissionSetArn=world["permission_set"])
    request_id = ask(world["idc"])
    world["idc"].approve(BOB, request_id)
    path, status = run(definition(assembly), started_input(world, request_id), world)
    assert (path, status) == (["Grant", "ExpireAfterFailedGrant", "GrantFailed"], "FAILED")
    assert world["idc"].list_requests(BOB)[0]["status"] == "expired"
    trust = world["iam"].get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
    assert trust == closed_trust(ACCOUNT, IDC_READER)
    assert not alice_reads(world, datetime(2026, 11, 2, 9, 5, tzinfo=UTC))
