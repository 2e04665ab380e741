"""The data-lifecycle pipelines: the lifecycle functions, the retention schedules, the DSAR
submitter role and the alarms. The rest lives in its own module: the Lambda asset
(`lifecycle_asset`), the IAM statement sets (`lifecycle_access`) and the erasure state machine
(`erasure_machine`); the secure queue, function and log group are generic (`queues`, `functions`,
`retention.encrypted_log_group`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import Erasure
from constructs_lib import nag
from constructs_lib.erasure_machine import erasure_state_machine
from constructs_lib.functions import Network, SecureFunction
from constructs_lib.iam import ScopedRole, scheduler_principal
from constructs_lib.lifecycle_access import invoker_statements, lifecycle_access
from constructs_lib.lifecycle_asset import lifecycle_code
from constructs_lib.queues import SecureQueue
from contract import (
    LIFECYCLE_DB_USER,
    LifecycleFunction,
    dsar_submitter_role_name,
    erasure_state_machine_name,
    retention_schedule_name,
)


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
        s = settings
        code = lifecycle_code()
        self.dead_letter_queues = {
            "functions": SecureQueue(
                self, "FunctionDlq", key=key, dead_letter_for="the lifecycle functions' async invocations"
            ).queue,
            "retention": SecureQueue(self, "RetentionDlq", key=key, dead_letter_for="the retention schedules").queue,
            "erasure": SecureQueue(self, "ErasureDlq", key=key, dead_letter_for="the erasure state machine").queue,
        }
        access = lifecycle_access(
            self,
            data_bucket_arn=s.data_bucket_arn,
            ledger_bucket_arn=s.ledger_bucket_arn,
            audit_key_arn=s.audit_key_arn,
            cluster_resource_id=s.cluster_resource_id,
        )
        connect, erase_objects, publish_ledger = access.connect[0], access.erase_objects, access.publish_ledger
        read_ledger, subject_objects, ledger_objects = access.read_ledger, access.subject_objects, access.ledger_objects
        env = {
            "DB_HOST": s.cluster_endpoint,
            "DB_PORT": str(s.db_port),
            "DB_NAME": s.db_name,
            "DB_USER": LIFECYCLE_DB_USER,
            "DATA_BUCKET": s.data_bucket_name,
            "LEDGER_BUCKET": s.ledger_bucket_name,
            "VISITOR_MONTHS": str(s.visitor_months),
            "WORKSPACE_MONTHS": str(s.workspace_months),
            "FANOUT_OBJECT_MIN_VERSIONS": str(s.erasure.object_fanout_min_versions),
            "FANOUT_OBJECT_SHARDS": str(s.erasure.object_shards),
            "FANOUT_ROW_MIN_MESSAGES": str(s.erasure.row_fanout_min_messages),
            "FANOUT_ROW_SHARDS": str(s.erasure.row_shards),
        }

        def function(
            cid: str,
            name: str,
            description: str,
            handler: str,
            statements: list[iam.PolicyStatement],
            wildcards: tuple[str, ...] = (),
            concurrency: int = 1,
            extra_env: dict[str, str] | None = None,
        ) -> SecureFunction:
            fn = SecureFunction(
                self,
                cid,
                name=name,
                description=description,
                handler=handler,
                code=code,
                network=network,
                key=key,
                logs_key=logs_key,
                log_retention=log_retention,
                dead_letter_queue=self.dead_letter_queues["functions"],
                environment={**env, **(extra_env or {})},
                statements=statements,
                concurrency=concurrency if s.reserve_concurrency else None,
            )
            if wildcards:
                nag.acknowledge(
                    fn.policy,
                    tuple(nag.iam5_resource_finding(self, w) for w in wildcards),
                    "Object ARNs need a trailing wildcard: it is confined to the subject prefixes of the "
                    "layout (workspaces/, visitors/) or to this region's erasure-ledger prefix.",
                )
            return fn

        # Retention hands a large inactive workspace to the erasure state machine (its maps), through
        # the Step Functions interface endpoint. Starting an execution of a state machine encrypted
        # with a customer managed key encrypts the input with it, on the caller's behalf.
        stack = Stack.of(self)
        machine_arn = (
            f"arn:{stack.partition}:states:{stack.region}:{stack.account}:stateMachine:"
            f"{erasure_state_machine_name(stack.region)}"
        )
        start_erasure = [
            iam.PolicyStatement(
                sid="StartErasureOfLargeWorkspace", actions=["states:StartExecution"], resources=[machine_arn]
            ),
            iam.PolicyStatement(
                sid="LifecycleKeyThroughStepFunctions",
                actions=["kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"states.{stack.region}.amazonaws.com"}},
            ),
        ]
        # One function per distinct set of permissions: steps that need exactly the same access
        # share one (validate and erase-rows: the database only; both retention jobs).
        self.functions = {
            LifecycleFunction.RETENTION: function(
                "Retention",
                LifecycleFunction.RETENTION,
                "Retention: delete visitors and inactive workspaces past their period, rows and objects",
                "lifecycle.handlers.retention",
                [connect, *erase_objects, *publish_ledger, *start_erasure],
                (*subject_objects, ledger_objects),
                concurrency=2,
                extra_env={"ERASURE_STATE_MACHINE_ARN": machine_arn},
            ),
            LifecycleFunction.ERASURE_DATABASE: function(
                "ErasureDatabase",
                LifecycleFunction.ERASURE_DATABASE,
                "Erasure: validate a DSAR into the ledger (the tombstone); plan and delete the subject's rows",
                "lifecycle.handlers.erasure_step",
                [connect],
                concurrency=s.erasure.row_concurrency + 3,
            ),
            LifecycleFunction.ERASURE_OBJECTS: function(
                "ErasureObjects",
                LifecycleFunction.ERASURE_OBJECTS,
                "Erasure: plan, delete and finally sweep every object version of the subject",
                "lifecycle.handlers.erasure_step",
                erase_objects,
                tuple(subject_objects),
                concurrency=s.erasure.object_concurrency + 3,
            ),
            LifecycleFunction.ERASURE_PUBLISH: function(
                "ErasurePublish",
                LifecycleFunction.ERASURE_PUBLISH,
                "Erasure step 4: publish the ledger entry to the audit bucket",
                "lifecycle.handlers.erasure_step",
                [connect, *publish_ledger],
                (ledger_objects,),
                concurrency=5,
            ),
            LifecycleFunction.ERASURE_REPLAY: function(
                "ErasureReplay",
                LifecycleFunction.ERASURE_REPLAY,
                "After a restore: re-apply every published erasure (run before use)",
                "lifecycle.handlers.erasure_step",
                [connect, *erase_objects, *read_ledger],
                (*subject_objects, ledger_objects),
            ),
        }
        self.state_machine = erasure_state_machine(
            self,
            functions=self.functions,
            dead_letters=self.dead_letter_queues["erasure"],
            key=key,
            logs_key=logs_key,
            log_retention=log_retention,
            fan=s.erasure,
        )
        self._schedules(key)
        self.submitter_role = self._submitter(s.app_role_arn, key)
        self._alarms(alerts_topic)

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
            statements=invoker_statements(
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
        executions = (
            f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:"
            f"{erasure_state_machine_name(stack.region)}:*"
        )
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
            cw.Alarm(
                self,
                f"{name.capitalize()}DeadLetters",
                alarm_description=f"Lifecycle {name} dead letters: a request or run failed for good",
                metric=q.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            for name, q in self.dead_letter_queues.items()
        ]
        alarms.append(
            cw.Alarm(
                self,
                "ErasureExecutionsFailed",
                alarm_description="An erasure execution failed (after its retries)",
                metric=self.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        )
        alarms.append(
            cw.Alarm(
                self,
                "RetentionErrors",
                alarm_description="A retention run failed",
                metric=self.functions[LifecycleFunction.RETENTION].function.metric_errors(
                    period=Duration.hours(1), statistic="Sum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        )
        for alarm in alarms:
            alarm.add_alarm_action(action)
