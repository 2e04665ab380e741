"""The erasure state machine: validate, then objects and rows (each fanning out over a Distributed
Map for a large subject), the wait for uploads in flight, the final sweep, and the ledger.

A function, not a construct: the states, the role and the log group are created directly under the
caller's scope, so their logical IDs (and the fixed-name log group) stay where they were.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import Erasure
from constructs_lib import nag
from constructs_lib.functions import SecureFunction, ignore_redundant_role_dependency
from constructs_lib.iam import ScopedRole, service_principal
from constructs_lib.lifecycle_access import invoker_statements
from constructs_lib.retention import encrypted_log_group
from contract import LifecycleFunction, erasure_state_machine_log_group, erasure_state_machine_name


def erasure_state_machine(
    scope: Construct,
    *,
    functions: dict[LifecycleFunction, SecureFunction],
    dead_letters: sqs.IQueue,
    key: kms.IKey,
    logs_key: kms.IKey,
    log_retention: logs.RetentionDays,
    fan: Erasure,
) -> sfn.StateMachine:
    """The state machine, its role (one managed policy) and its encrypted log group."""
    stack = Stack.of(scope)
    fns = functions
    machine_name = erasure_state_machine_name(stack.region)

    def step(name: str, fn: LifecycleFunction, step_name: str, payload_path: str = "$") -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            scope,
            name,
            lambda_function=fns[fn].function,
            payload_response_only=True,
            payload=sfn.TaskInput.from_object({"step": step_name, "input": sfn.JsonPath.object_at(payload_path)}),
            retry_on_service_exceptions=False,
        )
        # Transient failures (DB failover, throttling, a Lambda timeout) retry with backoff.
        task.add_retry(
            errors=["States.ALL"],
            interval=Duration.seconds(5),
            backoff_rate=2.0,
            max_attempts=6,
            max_delay=Duration.minutes(2),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    failed = sfn.Fail(scope, "ErasureFailed", error="ErasureFailed", cause="retries exhausted; request is in the DLQ")
    to_dlq = tasks.SqsSendMessage(
        scope,
        "SendToDeadLetterQueue",
        queue=dead_letters,
        message_body=sfn.TaskInput.from_object(
            {
                "execution": sfn.JsonPath.execution_id,
                "request_id": sfn.JsonPath.string_at("$$.Execution.Name"),
                "error": sfn.JsonPath.string_at("$.error.Error"),
            }
        ),
    ).next(failed)
    rejected = sfn.Fail(scope, "Rejected", error="ErasureRejected", cause_path="$.reason")
    duplicate = step("EnsureLedgerPublished", LifecycleFunction.ERASURE_PUBLISH, "publish_ledger")
    validate = step("Validate", LifecycleFunction.ERASURE_DATABASE, "validate")
    plan_objects = step("PlanObjects", LifecycleFunction.ERASURE_OBJECTS, "plan_objects")
    objects = step("EraseObjects", LifecycleFunction.ERASURE_OBJECTS, "erase_objects")
    plan_rows = step("PlanRows", LifecycleFunction.ERASURE_DATABASE, "plan_rows")
    rows = step("EraseRows", LifecycleFunction.ERASURE_DATABASE, "erase_rows")
    sweep = step("SweepObjects", LifecycleFunction.ERASURE_OBJECTS, "sweep_objects")
    publish = step("PublishLedger", LifecycleFunction.ERASURE_PUBLISH, "publish_ledger")

    def shard_map(
        name: str, fn: LifecycleFunction, step_name: str, items: str, results: str, concurrency: int
    ) -> sfn.DistributedMap:
        """A Distributed Map over the planned shards: each child loops one shard's step until
        `done` and yields the count it deleted; at most `concurrency` children at once. One
        child failing for good fails the map (tolerated 0 %), which dead-letters the request;
        a redrive re-runs only the failed children."""
        fan_out = sfn.DistributedMap(
            scope,
            name,
            items_path=items,
            max_concurrency=concurrency,
            tolerated_failure_percentage=0,
            map_execution_type=sfn.StateMachineType.STANDARD,
            result_path=results,
            label=name,
            item_selector={
                # the subject, as validated (user_id and visitor_id may be null)
                "request": {
                    k: sfn.JsonPath.string_at(f"$.{k}")
                    for k in ("request_id", "kind", "workspace_id", "user_id", "visitor_id")
                },
                "shard": sfn.JsonPath.object_at("$$.Map.Item.Value"),
            },
        )
        child = step(f"{name}Child", fn, step_name)
        child.next(
            sfn.Choice(scope, f"{name}ChildDone?")
            .when(
                sfn.Condition.boolean_equals("$.done", True),
                sfn.Succeed(scope, f"{name}ChildCounted", output_path="$.deleted"),
            )
            .otherwise(child)
        )
        fan_out.item_processor(child)
        return fan_out

    object_map = shard_map(
        "EraseObjectShards",
        LifecycleFunction.ERASURE_OBJECTS,
        "erase_object_shard",
        "$.object_shards",
        "$.object_results",
        fan.object_concurrency,
    )
    row_map = shard_map(
        "EraseRowShards",
        LifecycleFunction.ERASURE_DATABASE,
        "erase_row_shard",
        "$.row_shards",
        "$.row_results",
        fan.row_concurrency,
    )
    for state in (validate, plan_objects, objects, plan_rows, rows, sweep, publish, duplicate, object_map, row_map):
        state.add_catch(to_dlq, errors=["States.ALL"], result_path="$.error")
    plan_objects.next(
        sfn.Choice(scope, "ObjectFanOut?")
        .when(sfn.Condition.is_present("$.object_shards[0]"), object_map.next(objects))
        .otherwise(objects)
    )
    objects.next(
        sfn.Choice(scope, "ObjectsDone?")
        .when(sfn.Condition.boolean_equals("$.objects_done", True), plan_rows)
        .otherwise(objects)
    )
    plan_rows.next(
        sfn.Choice(scope, "RowFanOut?")
        .when(sfn.Condition.is_present("$.row_shards[0]"), row_map.next(rows))
        .otherwise(rows)
    )
    # After the rows (and the tombstone since validation), wait out the uploads already in
    # flight, then sweep the prefixes once more.
    after_rows: sfn.IChainable = sweep
    if fan.upload_grace_seconds:
        after_rows = sfn.Wait(
            scope, "WaitForUploadsInFlight", time=sfn.WaitTime.duration(Duration.seconds(fan.upload_grace_seconds))
        ).next(sweep)
    rows.next(
        sfn.Choice(scope, "RowsDone?")
        .when(sfn.Condition.boolean_equals("$.rows_done", True), after_rows)
        .otherwise(rows)
    )
    sweep.next(
        sfn.Choice(scope, "SweepDone?")
        .when(sfn.Condition.boolean_equals("$.sweep_done", True), publish)
        .otherwise(sweep)
    )
    definition = validate.next(
        sfn.Choice(scope, "Outcome")
        .when(sfn.Condition.string_equals("$.outcome", "rejected"), rejected)
        .when(sfn.Condition.string_equals("$.outcome", "duplicate"), duplicate)
        .otherwise(plan_objects)
    )
    log_group = encrypted_log_group(
        scope,
        "StateMachineLogs",
        key=logs_key,
        retention=log_retention,
        name=erasure_state_machine_log_group(stack.region),
    )
    executions = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:{machine_name}"
    map_children = [f"{executions}/*", f"{executions}:*"]  # the docs' example names the second form
    role = ScopedRole(
        scope,
        "StateMachineRole",
        assumed_by=service_principal("states.amazonaws.com", stack.account),
        description="trustbase erasure state machine: invoke its steps, dead-letter, logs, tracing",
        statements=[
            *invoker_statements(
                [
                    fns[n].function
                    for n in (
                        LifecycleFunction.ERASURE_DATABASE,
                        LifecycleFunction.ERASURE_OBJECTS,
                        LifecycleFunction.ERASURE_PUBLISH,
                    )
                ],
                dead_letters,
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
                resources=[f"arn:{stack.partition}:states:{stack.region}:{stack.account}:stateMachine:{machine_name}"],
            ),
            iam.PolicyStatement(
                sid="ManageMapChildren",
                actions=["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"],
                resources=map_children,
            ),
            *state_machine_log_and_trace_statements(stack, key),
        ],
    )
    nag.acknowledge(
        role.managed_policy,
        nag.iam5_resource_finding(scope, "*"),
        "CloudWatch Logs vended-log delivery and the X-Ray APIs support no resource-level permissions; "
        "everything else in this policy names its exact function, queue or key.",
    )
    nag.acknowledge(
        role.managed_policy,
        tuple(nag.iam5_resource_finding(scope, arn) for arn in map_children),
        "Distributed Map child executions are named by Step Functions at run time "
        "(execution:<machine>/<map run label>:<id>); the wildcard covers only the children of this "
        "region's erasure state machine, to describe, stop or redrive them.",
    )
    machine = sfn.StateMachine(
        scope,
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


def state_machine_log_and_trace_statements(stack: Stack, key: kms.IKey) -> list[iam.PolicyStatement]:
    """What a state machine's role needs for encrypted logging and tracing (both trustbase machines):
    Step Functions "Data at rest encryption", step 3: with a customer managed key and logging on,
    the role generates data keys for the log data (logs encryption context); vended-log delivery
    and the X-Ray APIs, which take no resource."""
    return [
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
            sid="LogDelivery",
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
    ]
