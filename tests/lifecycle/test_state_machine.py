"""The synthesized erasure state machine, interpreted over the real Lambda handlers.

moto cannot run Step Functions tasks without Docker, so a small interpreter walks the real
definition from the template (Task with Retry/Catch, Choice, Fail, the SQS dead-letter task) and
calls `lifecycle.handlers.erasure_step` exactly as the Lambda integration would, against the
test PostgreSQL and S3 (moto). This proves the wiring: payload shapes, the outcome choice, the
bounded loops, retries, and the dead-letter path."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from lifecycle import db, handlers
from tests.conftest import Assembly
from tests.lifecycle.conftest import BUCKET, LEDGER_BUCKET, REGION, World

MAX_TRANSITIONS = 500


def definition(assembly: Assembly) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition with each Lambda task's Resource replaced by its function's logical ID."""
    template = assembly.template(f"trustbase-{REGION}-lifecycle")
    machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(
        p if isinstance(p, str) else f"<{p['Fn::GetAtt'][0]}>" if "Fn::GetAtt" in p else "<token>" for p in parts
    )
    handlers_by_id = {lid: r["Properties"]["Handler"] for lid, r in template["Resources"].items()
                      if r["Type"] == "AWS::Lambda::Function"}  # fmt: skip
    return json.loads(text), handlers_by_id


@dataclass
class Execution:
    status: str = "RUNNING"
    error: str | None = None
    output: Any = None
    path: list[str] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)


class FakeContext:
    def __init__(self, seconds: list[float]) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.seconds.pop(0) if len(self.seconds) > 1 else self.seconds[0]) * 1000)


def run(defn: dict[str, Any], handlers_by_id: dict[str, str], request: Any, *, name: str,
        context: Any = None) -> Execution:  # fmt: skip
    ex = Execution()
    state, data = defn["StartAt"], request
    for _ in range(MAX_TRANSITIONS):
        s = defn["States"][state]
        ex.path.append(state)
        if s["Type"] == "Fail":
            ex.status, ex.error = "FAILED", s["Error"]
            return ex
        if s["Type"] == "Choice":
            state = next((c["Next"] for c in s["Choices"] if _matches(c, data)), s["Default"])
            continue
        assert s["Type"] == "Task", s
        if "sqs:sendMessage" in s["Resource"]:
            body = {k.removesuffix(".$"): (name if v == "$$.Execution.Name" else f"exec:{name}" if v.startswith("$$")
                    else data["error"]["Error"]) for k, v in s["Parameters"]["MessageBody"].items()}  # fmt: skip
            ex.dead_letters.append(body)
            state = s["Next"]
            continue
        function = s["Resource"].strip("<>")
        assert handlers_by_id[function] == "lifecycle.handlers.erasure_step"
        payload = {k.removesuffix(".$"): (data if v == "$" else v) for k, v in s["Parameters"].items()}
        retry = s["Retry"][0]
        for attempt in range(1, retry["MaxAttempts"] + 2):
            ex.attempts[state] = ex.attempts.get(state, 0) + 1
            try:
                result = handlers.erasure_step(json.loads(json.dumps(payload)), context or FakeContext([900]))
                break
            except Exception as exc:  # Step Functions catches States.ALL
                if attempt > retry["MaxAttempts"]:
                    data = {
                        **(data if isinstance(data, dict) else {}),
                        "error": {"Error": type(exc).__name__, "Cause": str(exc)},
                    }
                    state = s["Catch"][0]["Next"]
                    break
        else:  # pragma: no cover
            raise AssertionError("unreachable")
        if state == s["Catch"][0]["Next"] and "error" in (data if isinstance(data, dict) else {}):
            continue
        data = result
        if s.get("End"):
            ex.status, ex.output = "SUCCEEDED", data
            return ex
        state = s["Next"]
    raise AssertionError(f"no end after {MAX_TRANSITIONS} transitions: {ex.path[-10:]}")


def _matches(choice: dict[str, Any], data: dict[str, Any]) -> bool:
    value = data.get(choice["Variable"].removeprefix("$."))
    if "StringEquals" in choice:
        return bool(value == choice["StringEquals"])
    return bool(value is choice["BooleanEquals"])


@pytest.fixture
def machine(assembly: Assembly, world: World, pg_server: Any, pg_database: str,
            monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, str]]:  # fmt: skip
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("LEDGER_BUCKET", LEDGER_BUCKET)
    monkeypatch.setattr(db, "from_environment", lambda: pg_server.connect(pg_database, user="trustbase_lifecycle"))
    return definition(assembly)


def dsar(world: World, **extra: Any) -> dict[str, Any]:
    ws = world.workspaces[0]
    return {"request_id": f"dsar-{uuid.uuid4()}", "kind": "user", "workspace_id": ws, "user_id": world.users[ws][0],
            "requester": "support:u-7", "region": REGION, **extra}  # fmt: skip


@pytest.fixture
def people(world: World) -> World:
    for _ in range(2):
        ws = world.add_workspace()
        world.add_user(ws)
        world.add_user(ws)
    return world


def test_a_user_erasure_runs_the_whole_machine(machine: Any, people: World) -> None:
    request = dsar(people)
    ex = run(*machine, request, name=request["request_id"])
    assert ex.status == "SUCCEEDED", ex
    assert ex.path[:3] == ["Validate", "Outcome", "EraseObjects"] and ex.path[-1] == "PublishLedger"
    assert ex.output["outcome"] == "completed" and ex.output["counts"]["db_end_users"] == 1
    assert people.count("end_users", "id = %s", (request["user_id"],)) == 0


def test_a_rejected_request_fails_with_the_reason_and_erases_nothing(machine: Any, people: World) -> None:
    before = people.snapshot()
    ex = run(*machine, dsar(people, region="us-east-1"), name="r1")
    assert ex.status == "FAILED" and ex.error == "ErasureRejected" and ex.path == ["Validate", "Outcome", "Rejected"]
    assert people.snapshot() == before


def test_a_repeated_request_only_makes_sure_the_ledger_is_published(machine: Any, people: World) -> None:
    request = dsar(people)
    run(*machine, request, name=request["request_id"])
    before = people.snapshot()
    ex = run(*machine, request, name=request["request_id"] + "-again")
    assert ex.status == "SUCCEEDED" and ex.path == ["Validate", "Outcome", "EnsureLedgerPublished"]
    assert people.snapshot() == before


def test_a_workspace_deletion_loops_in_bounded_invocations(machine: Any, people: World) -> None:
    ws = people.workspaces[1]
    request = {"request_id": f"ws-{uuid.uuid4()}", "kind": "workspace", "workspace_id": ws, "requester": "owner",
               "region": REGION}  # fmt: skip
    # Each invocation sees 61 s left: one bounded batch (60 s reserve), then the machine loops.
    ex = run(*machine, request, name="ws", context=FakeContext([61, 59]))
    assert ex.status == "SUCCEEDED", ex
    assert ex.path.count("EraseRows") > 2 and people.count("workspaces", "id = %s", (ws,)) == 0
    assert people.count("end_users", "workspace_id = %s", (people.workspaces[0],)) == 2


def test_a_persistent_failure_retries_then_dead_letters_and_a_redrive_completes(
    machine: Any, people: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifecycle import erasure

    request = dsar(people)

    def s3_down(*_: Any, **__: Any) -> Any:
        raise ConnectionError("S3 endpoint unreachable")

    with monkeypatch.context() as outage:
        outage.setattr(erasure, "erase_prefixes", s3_down)
        ex = run(*machine, request, name=request["request_id"])
    assert ex.status == "FAILED" and ex.error == "ErasureFailed"
    assert ex.attempts["EraseObjects"] == 7  # the first try and six retries with backoff
    assert ex.dead_letters == [{"execution": f"exec:{request['request_id']}", "request_id": request["request_id"],
                                "error": "ConnectionError"}]  # fmt: skip
    assert people.count("end_users", "id = %s", (request["user_id"],)) == 1  # nothing half-erased in the DB
    redrive = run(*machine, request, name=request["request_id"] + "-redrive")
    assert redrive.status == "SUCCEEDED" and people.count("end_users", "id = %s", (request["user_id"],)) == 0


def test_the_scheduled_retention_handler_runs_both_jobs(
    machine: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dateutil.relativedelta import relativedelta

    monkeypatch.setenv("VISITOR_MONTHS", "9")
    monkeypatch.setenv("WORKSPACE_MONTHS", "13")
    now = world.sql("SELECT now()")[0][0]
    stale = world.add_workspace(last_activity=now - relativedelta(months=14))
    live = world.add_workspace()
    world.add_visitor(live, now - relativedelta(months=10))
    world.add_visitor(live, now - relativedelta(months=1))
    visitors = handlers.retention({"job": "visitors"}, FakeContext([900]))
    workspaces = handlers.retention({"job": "workspaces"}, FakeContext([900]))
    assert visitors["done"] and visitors["subjects"] == 1 and world.count("visitors") == 1
    assert workspaces["done"] and workspaces["subjects"] == 1
    assert world.count("workspaces", "id = %s", (stale,)) == 0 and world.count("workspaces", "id = %s", (live,)) == 1
    with pytest.raises(ValueError, match="'job' must be 'visitors' or 'workspaces'"):
        handlers.retention({"job": "everything"}, FakeContext([900]))
