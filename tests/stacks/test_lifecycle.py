"""Posture of the lifecycle stack (retention jobs, erasure state machine), every region."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import posture_checks as pc
from config import AppConfig, RegionConfig
from constructs_lib.functions import RUNTIME
from constructs_lib.lifecycle_asset import lifecycle_asset
from stacks.region import stack_name
from tests.conftest import Assembly, only


def lifecycle(assembly: Assembly, region: RegionConfig) -> dict[str, Any]:
    return assembly.template(stack_name(region.name, "lifecycle"))


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return pc.resources(template, "AWS::Lambda::Function")


def policy_of(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role_id = functions(template)[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]
    policy_ids = [ref["Ref"] for ref in role["Properties"]["ManagedPolicyArns"]]
    return [st for pid in policy_ids for st in template["Resources"][pid]["Properties"]["PolicyDocument"]["Statement"]]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for st in statements for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}


def fn_id(template: dict[str, Any], name: str) -> str:
    return next(k for k, v in functions(template).items() if v["Properties"]["FunctionName"].endswith(f"-{name}"))


def test_queues_are_encrypted_with_the_lifecycle_key_and_tls_only(assembly: Assembly, region: RegionConfig) -> None:
    template = lifecycle(assembly, region)
    queues = pc.resources(template, "AWS::SQS::Queue")
    assert len(queues) == 3
    for queue in queues.values():
        assert "lifecyclekeyarn" in json.dumps(queue["Properties"]["KmsMasterKeyId"]).lower()
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for policy in pc.resources(template, "AWS::SQS::QueuePolicy").values():
        deny = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in deny)


def test_functions_run_in_the_vpc_with_encrypted_env_dlq_tracing_and_concurrency(
    assembly: Assembly, region: RegionConfig
) -> None:
    template = lifecycle(assembly, region)
    fns = functions(template)
    assert len(fns) == 5
    for fid, fn in fns.items():
        p = fn["Properties"]
        assert p["Runtime"] == RUNTIME.name, fid
        assert len(p["VpcConfig"]["SubnetIds"]) == 3 and "appsubnetids" in json.dumps(p["VpcConfig"]).lower()
        # their own security group (Aurora and S3 only), not the app tier's
        assert "lifecyclesecuritygroupid" in json.dumps(p["VpcConfig"]["SecurityGroupIds"]).lower()
        assert "lifecyclekeyarn" in json.dumps(p["KmsKeyArn"]).lower()
        assert p["TracingConfig"] == {"Mode": "Active"}
        assert "DeadLetterConfig" in p
        # No reservation by default: Lambda keeps 100 unreserved and new accounts have low quotas.
        assert "ReservedConcurrentExecutions" not in p
        assert p["Timeout"] <= 900


def test_reserved_concurrency_is_an_explicit_config_choice(app_config: AppConfig, tmp_path: Any) -> None:
    """With reserve_lambda_concurrency = true the functions reserve 2 (retention), 5 (publish), 1
    (replay), and for the two erasure functions their map's concurrency + 3 (objects 5 + 3, database
    2 + 3 with the default [region.erasure]): 21 per region."""
    from dataclasses import replace

    from app import build_app

    rc = replace(app_config.regions[1], reserve_lambda_concurrency=True)
    app, _ = build_app(replace(app_config, regions=(rc,)), outdir=str(tmp_path))
    template = app.synth().get_stack_by_name(stack_name(rc.name, "lifecycle")).template
    reserved = sorted(f["Properties"]["ReservedConcurrentExecutions"] for f in functions(template).values())
    assert reserved == [1, 2, 5, 5, 8]


def test_every_function_logs_to_its_own_encrypted_group_with_retention(
    assembly: Assembly, region: RegionConfig
) -> None:
    template = lifecycle(assembly, region)
    groups = pc.resources(template, "AWS::Logs::LogGroup")
    assert len(groups) == 6  # five functions + the state machine
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == region.retention.lifecycle_log_days
        assert "logskeyarn" in json.dumps(group["Properties"]["KmsKeyId"]).lower()
    for fn in functions(template).values():
        assert fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups


def test_retention_periods_come_from_config(assembly: Assembly, region: RegionConfig) -> None:
    template = lifecycle(assembly, region)
    for fn in functions(template).values():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["VISITOR_MONTHS"] == str(region.retention.visitor_data_months)
        assert env["WORKSPACE_MONTHS"] == str(region.retention.inactive_workspace_months)
        assert env["DB_USER"] == "trustbase_lifecycle"  # IAM auth, never a password
        assert not any("PASSWORD" in k or "SECRET" in k for k in env)


def test_schedules_run_hourly_with_retries_and_a_dead_letter_queue(assembly: Assembly, region: RegionConfig) -> None:
    template = lifecycle(assembly, region)
    schedules = pc.resources(template, "AWS::Scheduler::Schedule")
    assert len(schedules) == 2
    jobs = set()
    for schedule in schedules.values():
        p = schedule["Properties"]
        assert p["ScheduleExpression"] == "rate(1 hour)"
        target = p["Target"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1 and "DeadLetterConfig" in target
        jobs.add(json.loads(target["Input"])["job"])
    assert jobs == {"visitors", "workspaces"}


def test_each_step_function_can_do_only_its_step(assembly: Assembly, region: RegionConfig) -> None:
    template = lifecycle(assembly, region)
    objects = actions(policy_of(template, fn_id(template, "erasure-objects")))
    assert "rds-db:connect" not in objects and {"s3:DeleteObjectVersion", "s3:ListBucketVersions"} <= objects
    for name in ("erasure-database",):
        granted = actions(policy_of(template, fn_id(template, name)))
        assert "rds-db:connect" in granted and not any(a.startswith("s3:") for a in granted), name
    publish = policy_of(template, fn_id(template, "erasure-publish"))
    assert actions(publish) >= {"s3:PutObject"} and "s3:DeleteObject" not in actions(publish)
    put = next(s for s in publish if s["Action"] == "s3:PutObject")
    assert f"erasure-ledger/{region.name}/*" in json.dumps(put["Resource"])
    for statements in (policy_of(template, fid) for fid in functions(template)):
        for st in statements:
            if any(a.startswith("s3:Delete") for a in actions([st])):
                assert all(r.endswith(("/workspaces/*", "/visitors/*")) for r in _rendered(st["Resource"]))


def _rendered(resource: Any) -> list[str]:
    """Resource ARNs as strings; an Fn::Join's tokens become ${...}."""
    items = resource if isinstance(resource, list) else [resource]

    def render(r: Any) -> str:
        if isinstance(r, str):
            return r
        if "Fn::Join" in r:
            return str(r["Fn::Join"][0]).join(
                render(p) if isinstance(p, str) or "Fn::Join" in p else "${}" for p in r["Fn::Join"][1]
            )
        return "${}"

    return [render(r) for r in items]


def test_state_machine_is_encrypted_logged_traced_and_retries_to_a_dlq(
    assembly: Assembly, region: RegionConfig
) -> None:
    template = lifecycle(assembly, region)
    machine = only(pc.resources(template, "AWS::StepFunctions::StateMachine"))["Properties"]
    assert machine["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False  # requests may carry an email
    assert machine["TracingConfiguration"] == {"Enabled": True}
    definition = json.loads(
        "".join(p if isinstance(p, str) else "X" for p in machine["DefinitionString"]["Fn::Join"][1])
    )
    states = definition["States"]
    for name in ("Validate", "EraseObjects", "EraseRows", "PublishLedger"):
        retry = states[name]["Retry"][0]
        assert retry["BackoffRate"] == 2 and retry["MaxAttempts"] >= 3, name
        assert states[name]["Catch"][0]["Next"] == "SendToDeadLetterQueue"
    assert states["SendToDeadLetterQueue"]["Next"] == "ErasureFailed"
    assert states["Outcome"]["Choices"][0]["Next"] == "Rejected"


def test_only_the_submitter_and_retention_may_start_an_erasure(assembly: Assembly, region: RegionConfig) -> None:
    template = lifecycle(assembly, region)
    starters = [(pid, st) for pid, st in pc.policy_statements(template) if "states:StartExecution" in actions([st])]
    # the submitter, and the state machine for its own Distributed Map children (by its exact name)
    own = [st for _, st in starters if st.get("Sid") == "StartMapChildren"]
    assert len(own) == 1
    assert (
        own[0]["Resource"] == f"arn:aws:states:{region.name}:123456789012:stateMachine:trustbase-{region.name}-erasure"
    )
    # and retention, for a large inactive workspace (the same machine, by its exact name)
    retention = [st for _, st in starters if st.get("Sid") == "StartErasureOfLargeWorkspace"]
    assert len(retention) == 1
    assert (
        retention[0]["Resource"]
        == f"arn:aws:states:{region.name}:123456789012:stateMachine:trustbase-{region.name}-erasure"
    )
    starters = [
        (pid, st) for pid, st in starters if st.get("Sid") not in ("StartMapChildren", "StartErasureOfLargeWorkspace")
    ]
    assert len(starters) == 1
    submitter = next(
        r
        for r in pc.resources(template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == f"trustbase-{region.name}-dsar-submitter"
    )
    trust = submitter["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # The account delegates to IAM, pinned to the app role by ARN (not by the role's unique ID, so a
    # rebuilt edge stack's new app role still matches); the app role's policy must then allow it.
    assert len(trust) == 1 and trust[0]["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": {"Ref": next(p for p in template["Parameters"] if "edgeapprolearn" in p)}}
    }
    assert trust[0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert actions([starters[0][1]]) == {"states:StartExecution"}


def test_failures_alarm_the_security_topic(assembly: Assembly, region: RegionConfig) -> None:
    template = lifecycle(assembly, region)
    alarms = pc.resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 5  # three DLQs, failed executions, failed retention runs
    for alarm in alarms.values():
        assert "alertstopicarn" in json.dumps(alarm["Properties"]["AlarmActions"]).lower()
        assert alarm["Properties"]["Threshold"] == 1


def test_the_lambda_asset_imports_without_the_venv(tmp_path: Any) -> None:
    """The asset carries everything the runtime needs besides boto3 (which Lambda provides)."""
    asset, _ = lifecycle_asset()
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import pg8000.dbapi, scramp, dateutil; "
        "import lifecycle.erasure, lifecycle.retention, lifecycle.replay, lifecycle.migrate, lifecycle.db; "
        "print(len(lifecycle.migrate.migrations()), lifecycle.db.CA_BUNDLE.read_text().count('BEGIN CERTIFICATE'))"
    )
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(asset)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    migrations, certificates = map(int, result.stdout.split())
    assert migrations >= 6 and certificates >= 10  # the CA bundle is where the runtime looks for it


def test_the_asset_is_built_from_pinned_inputs_only(tmp_path: Any) -> None:
    """The vendored libraries are lifecycle/requirements.txt's hash-pinned versions, the same as the
    project's (so the tests exercise what ships); the CA bundle must match its pinned checksum."""
    import re

    from constructs_lib import lifecycle_asset as la

    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", la.REQUIREMENTS.read_text(), re.M))
    project = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (la.REPO / "requirements.txt").read_text(), re.M))
    assert set(pins) == {"asn1crypto", "pg8000", "python-dateutil", "scramp", "six"}
    assert all(project[name] == version for name, version in pins.items())
    assert la.REQUIREMENTS.read_text().count("--hash=sha256:") == len(pins)
    vendored = {
        p.name.split("-")[0].lower().replace("_", "-"): p.name.removesuffix(".dist-info").split("-")[1]
        for p in la.VENDOR.glob("*.dist-info")
    }
    assert vendored == pins
    assert la.check_ca_bundle().count(b"BEGIN CERTIFICATE") >= 10
    tampered = tmp_path / "bundle.pem"
    tampered.write_bytes(la.CA_BUNDLE.read_bytes() + b"\n")
    import pytest

    with pytest.raises(la.AssetError, match="not the pinned"):
        la.check_ca_bundle(tampered)


def _definition(template: dict[str, Any]) -> dict[str, Any]:
    machine = next(iter(pc.resources(template, "AWS::StepFunctions::StateMachine").values()))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else "<token>" for p in parts)))  # tokens sit inside strings


def test_large_subjects_fan_out_with_the_configured_concurrency(
    assembly: Assembly, region: RegionConfig, app_config: AppConfig, tmp_path: Any
) -> None:
    """Defaults are safe for a new account and the database (5 object children, 2 row children);
    a region's [region.erasure] changes them, and the state machine's role may start, describe,
    stop and redrive only its own children, in its one managed policy (no inline policy)."""
    from dataclasses import replace

    from app import build_app
    from config import Erasure

    states = _definition(lifecycle(assembly, region))["States"]
    assert states["EraseObjectShards"]["MaxConcurrency"] == 5 and states["EraseRowShards"]["MaxConcurrency"] == 2
    assert states["WaitForUploadsInFlight"]["Seconds"] == 900
    rc = replace(
        app_config.regions[1], erasure=Erasure(object_concurrency=20, row_concurrency=4, upload_grace_seconds=0)
    )
    app, _ = build_app(replace(app_config, regions=(rc,)), outdir=str(tmp_path))
    template = app.synth().get_stack_by_name(stack_name(rc.name, "lifecycle")).template
    states = _definition(template)["States"]
    assert states["EraseObjectShards"]["MaxConcurrency"] == 20 and states["EraseRowShards"]["MaxConcurrency"] == 4
    assert "WaitForUploadsInFlight" not in states  # no grace: the sweep follows the rows directly
    assert pc.resources(template, "AWS::IAM::Policy") == {}
    machine_role = next(
        r
        for r in pc.resources(template, "AWS::IAM::Role").values()
        if "states.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    )
    policy = template["Resources"][machine_role["Properties"]["ManagedPolicyArns"][0]["Ref"]]
    by_sid = {st["Sid"]: st for st in policy["Properties"]["PolicyDocument"]["Statement"]}
    name = f"trustbase-{rc.name}-erasure"
    assert by_sid["StartMapChildren"]["Resource"] == f"arn:aws:states:{rc.name}:123456789012:stateMachine:{name}"
    assert sorted(by_sid["ManageMapChildren"]["Action"]) == [
        "states:DescribeExecution",
        "states:RedriveExecution",
        "states:StopExecution",
    ]
    executions = f"arn:aws:states:{rc.name}:123456789012:execution:{name}"
    assert sorted(by_sid["ManageMapChildren"]["Resource"]) == [f"{executions}/*", f"{executions}:*"]
