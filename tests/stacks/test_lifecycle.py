"""Posture of the lifecycle stack (retention jobs, erasure state machine), every region."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import posture_checks as pc
from config import AppConfig, RegionConfig
from constructs_lib.functions import RUNTIME
from constructs_lib.lifecycle import lifecycle_asset
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
    """With reserve_lambda_concurrency = true the functions reserve 2 (retention), 5 per erasure
    step and 1 (replay): 18 per region."""
    from dataclasses import replace

    from app import build_app

    rc = replace(app_config.regions[1], reserve_lambda_concurrency=True)
    app, _ = build_app(replace(app_config, regions=(rc,)), outdir=str(tmp_path))
    template = app.synth().get_stack_by_name(stack_name(rc.name, "lifecycle")).template
    reserved = sorted(f["Properties"]["ReservedConcurrentExecutions"] for f in functions(template).values())
    assert reserved == [1, 2, 5, 5, 5]


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
            return r["Fn::Join"][0].join(
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


def test_only_the_submitter_role_may_start_an_erasure(assembly: Assembly, region: RegionConfig) -> None:
    template = lifecycle(assembly, region)
    starters = [(pid, st) for pid, st in pc.policy_statements(template) if "states:StartExecution" in actions([st])]
    assert len(starters) == 1
    submitter = next(r for r in pc.resources(template, "AWS::IAM::Role").values()
                     if r["Properties"].get("RoleName") == f"trustbase-{region.name}-dsar-submitter")  # fmt: skip
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
    assert (asset / "rds-ca-bundle.pem").read_text().count("BEGIN CERTIFICATE") >= 10
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import pg8000.dbapi, scramp, dateutil; "
              "import lifecycle.erasure, lifecycle.retention, lifecycle.replay, lifecycle.migrate; "
              "print(len(lifecycle.migrate.migrations()))")  # fmt: skip
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(asset)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 2
