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
Machine = tuple[dict[str, Any], dict[str, str]]  # the definition and the handlers by function ID


def definition(assembly: Assembly) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition with each Lambda task's Resource replaced by its function's logical ID."""
    template = assembly.template(f"trustbase-{REGION}-lifecycle")
    machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(
        p if isinstance(p, str) else f"<{p['Fn::GetAtt'][0]}>" if "Fn::GetAtt" in p else "<token>" for p in parts
    )
    handlers_by_id = {
        lid: r["Properties"]["Handler"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }
    return json.loads(text), handlers_by_id


@dataclass
class Execution:
    status: str = "RUNNING"
    error: str | None = None
    output: Any = None
    path: list[str] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    waits: list[int] = field(default_factory=list)
    children: list[Execution] = field(default_factory=list)  # Distributed Map child executions


class FakeContext:
    def __init__(self, seconds: list[float]) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.seconds.pop(0) if len(self.seconds) > 1 else self.seconds[0]) * 1000)


def _path(data: Any, path: str, item: Any = None) -> Any:
    """A JSONPath of the forms the definition uses: $, $.a.b, $.a[0], $$.Map.Item.Value."""
    if path == "$$.Map.Item.Value":
        return item
    assert path.startswith("$"), path
    value = data
    for part in path[1:].split(".")[1:] if path != "$" else []:
        name, _, index = part.partition("[")
        value = value[name]
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def _present(data: Any, path: str) -> bool:
    try:
        _path(data, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _select(template: Any, data: Any, item: Any) -> Any:
    if isinstance(template, dict):
        return {
            (k.removesuffix(".$")): (_path(data, v, item) if k.endswith(".$") else _select(v, data, item))
            for k, v in template.items()
        }
    return template


def run(
    defn: dict[str, Any], handlers_by_id: dict[str, str], request: Any, *, name: str, context: Any = None
) -> Execution:
    ex = Execution()
    state, data = defn["StartAt"], request
    for _ in range(MAX_TRANSITIONS):
        s = defn["States"][state]
        ex.path.append(state)
        if s["Type"] == "Fail":
            ex.status, ex.error = "FAILED", s["Error"]
            return ex
        if s["Type"] == "Succeed":
            ex.status, ex.output = "SUCCEEDED", _path(data, s.get("OutputPath", "$"))
            return ex
        if s["Type"] == "Choice":
            state = next((c["Next"] for c in s["Choices"] if _matches(c, data)), s["Default"])
            continue
        if s["Type"] == "Wait":
            ex.waits.append(s["Seconds"])  # the interpreter does not sleep
            state = s["Next"]
            continue
        if s["Type"] == "Map":
            # Children run one after the other here; in AWS at most MaxConcurrency at once.
            # "The default percentage value is zero": one failed child fails the map (maprun-fail-threshold).
            assert s["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
            assert s.get("ToleratedFailurePercentage", 0) == 0 and "ToleratedFailureCount" not in s
            results, failed = [], None
            for i, item in enumerate(_path(data, s["ItemsPath"])):
                child = run(
                    s["ItemProcessor"],
                    handlers_by_id,
                    _select(s["ItemSelector"], data, item),
                    name=f"{name}/{s['Label']}:{i}",
                    context=context,
                )
                ex.children.append(child)
                if child.status != "SUCCEEDED":
                    failed = child
                    break
                results.append(child.output)
            if failed is not None:  # one child failed for good: the map fails, its Catch applies
                data = {**data, "error": {"Error": "States.ExceedToleratedFailureThreshold", "Cause": failed.error}}
                state = s["Catch"][0]["Next"]
                continue
            data = {**data, s["ResultPath"].removeprefix("$."): results}
            state = s["Next"]
            continue
        assert s["Type"] == "Task", s
        if "sqs:sendMessage" in s["Resource"]:
            body = {
                k.removesuffix(".$"): (
                    name
                    if v == "$$.Execution.Name"
                    else f"exec:{name}"
                    if v.startswith("$$")
                    else data["error"]["Error"]
                )
                for k, v in s["Parameters"]["MessageBody"].items()
            }
            ex.dead_letters.append(body)
            state = s["Next"]
            continue
        function = s["Resource"].strip("<>")
        assert handlers_by_id[function] == "lifecycle.handlers.erasure_step"
        payload = {k.removesuffix(".$"): (data if v == "$" else v) for k, v in s["Parameters"].items()}
        retry = s["Retry"][0]
        caught = False
        for attempt in range(1, retry["MaxAttempts"] + 2):
            ex.attempts[state] = ex.attempts.get(state, 0) + 1
            try:
                result = handlers.erasure_step(json.loads(json.dumps(payload)), context or FakeContext([900]))
                break
            except Exception as exc:  # Step Functions catches States.ALL
                if attempt > retry["MaxAttempts"]:
                    if "Catch" not in s:  # a map child without a Catch: the child fails
                        ex.status, ex.error = "FAILED", type(exc).__name__
                        return ex
                    data = {
                        **(data if isinstance(data, dict) else {}),
                        "error": {"Error": type(exc).__name__, "Cause": str(exc)},
                    }
                    state, caught = s["Catch"][0]["Next"], True
                    break
        if caught:
            continue
        data = json.loads(json.dumps(result))  # what Step Functions stores is JSON
        if s.get("End"):
            ex.status, ex.output = "SUCCEEDED", data
            return ex
        state = s["Next"]
    raise AssertionError(f"no end after {MAX_TRANSITIONS} transitions: {ex.path[-10:]}")


def _matches(choice: dict[str, Any], data: dict[str, Any]) -> bool:
    if "IsPresent" in choice:
        return _present(data, choice["Variable"]) is choice["IsPresent"]
    value = data.get(choice["Variable"].removeprefix("$."))
    if "StringEquals" in choice:
        return bool(value == choice["StringEquals"])
    return bool(value is choice["BooleanEquals"])


@pytest.fixture
def machine(
    assembly: Assembly, world: World, pg_server: Any, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, str]]:
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("LEDGER_BUCKET", LEDGER_BUCKET)
    monkeypatch.setattr(db, "from_environment", lambda: pg_server.connect(pg_database, user="trustbase_lifecycle"))
    return definition(assembly)


def dsar(world: World, **extra: Any) -> dict[str, Any]:
    ws = world.workspaces[0]
    return {
        "request_id": f"dsar-{uuid.uuid4()}",
        "kind": "user",
        "workspace_id": ws,
        "user_id": world.users[ws][0],
        "requester": "support:u-7",
        "region": REGION,
        **extra,
    }


@pytest.fixture
def people(world: World) -> World:
    for _ in range(2):
        ws = world.add_workspace()
        world.add_user(ws)
        world.add_user(ws)
    return world


def test_a_user_erasure_runs_the_whole_machine(machine: Machine, people: World) -> None:
    request = dsar(people)
    ex = run(*machine, request, name=request["request_id"])
    assert ex.status == "SUCCEEDED", ex
    assert ex.path[:5] == ["Validate", "Outcome", "PlanObjects", "ObjectFanOut?", "EraseObjects"], ex.path
    assert ex.path[-1] == "PublishLedger" and not ex.children  # a small subject: the direct path, no map
    assert ex.output["outcome"] == "completed" and ex.output["counts"]["db_end_users"] == 1
    assert people.count("end_users", "id = %s", (request["user_id"],)) == 0


def test_a_rejected_request_fails_with_the_reason_and_erases_nothing(machine: Machine, people: World) -> None:
    before = people.snapshot()
    ex = run(*machine, dsar(people, region="us-east-1"), name="r1")
    assert ex.status == "FAILED" and ex.error == "ErasureRejected" and ex.path == ["Validate", "Outcome", "Rejected"]
    assert people.snapshot() == before


def test_a_repeated_request_only_makes_sure_the_ledger_is_published(machine: Machine, people: World) -> None:
    request = dsar(people)
    run(*machine, request, name=request["request_id"])
    before = people.snapshot()
    ex = run(*machine, request, name=request["request_id"] + "-again")
    assert ex.status == "SUCCEEDED" and ex.path == ["Validate", "Outcome", "EnsureLedgerPublished"]
    assert people.snapshot() == before


def test_a_workspace_deletion_loops_in_bounded_invocations(machine: Machine, people: World) -> None:
    ws = people.workspaces[1]
    request = {
        "request_id": f"ws-{uuid.uuid4()}",
        "kind": "workspace",
        "workspace_id": ws,
        "requester": "owner",
        "region": REGION,
    }
    # Each invocation sees 61 s left: one bounded batch (60 s reserve), then the machine loops.
    ex = run(*machine, request, name="ws", context=FakeContext([61, 59]))
    assert ex.status == "SUCCEEDED", ex
    assert ex.path.count("EraseRows") > 2 and people.count("workspaces", "id = %s", (ws,)) == 0
    assert people.count("end_users", "workspace_id = %s", (people.workspaces[0],)) == 2


def test_a_persistent_failure_retries_then_dead_letters_and_a_redrive_completes(
    machine: Machine, people: World, monkeypatch: pytest.MonkeyPatch
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
    assert ex.dead_letters == [
        {"execution": f"exec:{request['request_id']}", "request_id": request["request_id"], "error": "ConnectionError"}
    ]
    assert people.count("end_users", "id = %s", (request["user_id"],)) == 1  # nothing half-erased in the DB
    redrive = run(*machine, request, name=request["request_id"] + "-redrive")
    assert redrive.status == "SUCCEEDED" and people.count("end_users", "id = %s", (request["user_id"],)) == 0


def test_the_scheduled_retention_handler_runs_both_jobs(
    machine: Machine, world: World, monkeypatch: pytest.MonkeyPatch
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


# ------------------------------------------------------------------ fan-out (Distributed Map)


@pytest.fixture
def fanned(machine: Machine, world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[Machine, World, str]:
    """Thresholds low enough that a workspace of 12 users fans out: 74 object versions (settings.json
    2, each user 6), 12 users x 2 conversations x 5 messages = 120 messages."""
    for var, value in {
        "FANOUT_OBJECT_MIN_VERSIONS": "50",
        "FANOUT_OBJECT_SHARDS": "8",
        "FANOUT_ROW_MIN_MESSAGES": "100",
        "FANOUT_ROW_SHARDS": "4",
    }.items():
        monkeypatch.setenv(var, value)
    ws = world.add_workspace()
    for _ in range(12):
        world.add_user(ws, conversations=2, messages=5)
    world.add_user(world.add_workspace())  # a bystander
    return machine, world, ws


def test_a_large_workspace_fans_out_over_both_maps_and_is_erased_exactly(fanned: tuple[Machine, World, str]) -> None:
    machine, w, ws = fanned
    request = {
        "request_id": f"ws-{uuid.uuid4()}",
        "kind": "workspace",
        "workspace_id": ws,
        "requester": "owner",
        "region": REGION,
    }
    ex = run(*machine, request, name="big")
    assert ex.status == "SUCCEEDED", ex
    assert "EraseObjectShards" in ex.path and "EraseRowShards" in ex.path and ex.waits == [900]
    object_children = [c for c in ex.children if c.path[0] == "EraseObjectShardsChild"]
    row_children = [c for c in ex.children if c.path[0] == "EraseRowShardsChild"]
    assert 2 <= len(object_children) <= 8 and len(row_children) == 4
    assert sum(c.output for c in row_children) == 120  # every message went through a row shard
    assert ex.output["counts"]["s3_versions"] == 74 and ex.output["counts"]["db_messages"] == 120
    assert w.count("messages", "workspace_id = %s", (ws,)) == 0 and w.count("workspaces", "id = %s", (ws,)) == 0
    assert w.versions(f"workspaces/{ws}/") == 0
    assert w.count("messages", "workspace_id = %s", (w.workspaces[1],)) == 6  # the bystander keeps everything


def test_a_crashed_map_child_is_retried_alone_and_the_erasure_completes(
    fanned: tuple[Machine, World, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifecycle import fanout

    machine, w, ws = fanned
    real, calls = fanout.erase_object_shard, []

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the second child's first attempt dies
            raise TimeoutError("Task timed out after 900.00 seconds")
        return real(*args, **kwargs)

    monkeypatch.setattr(fanout, "erase_object_shard", crash_once)
    request = {
        "request_id": f"ws-{uuid.uuid4()}",
        "kind": "workspace",
        "workspace_id": ws,
        "requester": "owner",
        "region": REGION,
    }
    ex = run(*machine, request, name="crash")
    assert ex.status == "SUCCEEDED", ex
    attempts = [c.attempts["EraseObjectShardsChild"] for c in ex.children if c.path[0] == "EraseObjectShardsChild"]
    assert attempts[1] == 2 and all(a == 1 for i, a in enumerate(attempts) if i != 1)  # only that child retried
    assert ex.output["counts"]["s3_versions"] == 74 and w.versions(f"workspaces/{ws}/") == 0


def test_a_map_child_that_keeps_failing_dead_letters_the_request(
    fanned: tuple[Machine, World, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifecycle import fanout

    machine, w, ws = fanned

    def s3_down(*_: Any, **__: Any) -> Any:
        raise ConnectionError("S3 endpoint unreachable")

    monkeypatch.setattr(fanout, "erase_object_shard", s3_down)
    request = {
        "request_id": f"ws-{uuid.uuid4()}",
        "kind": "workspace",
        "workspace_id": ws,
        "requester": "owner",
        "region": REGION,
    }
    ex = run(*machine, request, name="down")
    assert ex.status == "FAILED" and ex.error == "ErasureFailed"
    assert ex.dead_letters[0]["error"] == "States.ExceedToleratedFailureThreshold"
    assert w.count("workspaces", "id = %s", (ws,)) == 1  # rows untouched until the objects are gone


def test_retention_hands_a_large_inactive_workspace_to_the_machine_and_the_maps_erase_it(
    fanned: tuple[Machine, World, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduled retention run deletes a small inactive workspace itself and starts an erasure
    execution (moto Step Functions: the real API call and its shape) for a large one, named per
    workspace; a second run starts nothing new. The execution's input, run by the interpreter,
    erases the large workspace through both maps."""
    import boto3
    from dateutil.relativedelta import relativedelta

    machine, w, active = fanned
    now = w.sql("SELECT now()")[0][0]
    large = w.add_workspace(last_activity=now - relativedelta(months=14))
    for _ in range(12):
        w.add_user(large, conversations=2, messages=5)
    small = w.add_workspace(last_activity=now - relativedelta(months=14))
    w.add_user(small)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=f"trustbase-{REGION}-erasure",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/machine",
    )["stateMachineArn"]
    monkeypatch.setenv("ERASURE_STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("WORKSPACE_MONTHS", "13")

    report = handlers.retention({"job": "workspaces"}, FakeContext([900]))
    assert report["done"] and report["subjects"] == 1 and report["handed_off"] == 1
    assert w.count("workspaces", "id = %s", (small,)) == 0  # the direct path
    assert w.count("workspaces", "id = %s", (large,)) == 1  # left to the machine
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == [f"retention-workspace-{large}"]
    again = handlers.retention({"job": "workspaces"}, FakeContext([900]))
    assert again["handed_off"] == 1 and len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1

    # closed (here: stopped, as a failed one would be): the same name is refused for 90 days;
    # the run logs it and goes on (the failure is in the erasure DLQ, alarmed, to be redriven)
    sfn.stop_execution(executionArn=executions[0]["executionArn"])
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name=executions[0]["name"], input="{}")
    assert handlers.retention({"job": "workspaces"}, FakeContext([900]))["handed_off"] == 1

    started = json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert started == {
        "request_id": f"retention:workspace:{large}",
        "kind": "workspace",
        "workspace_id": large,
        "requester": "trustbase-retention-policy",
        "region": REGION,
    }
    ex = run(*machine, started, name=executions[0]["name"])
    assert ex.status == "SUCCEEDED", ex
    assert "EraseObjectShards" in ex.path and "EraseRowShards" in ex.path
    assert w.count("workspaces", "id = %s", (large,)) == 0 and w.versions(f"workspaces/{large}/") == 0
    assert w.count("workspaces", "id = %s", (active,)) == 1  # active workspaces are never touched
