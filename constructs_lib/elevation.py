"""People reach the account only through the identity provider, and customer data or the data
plane only through a just-in-time elevation (the runtime is the `elevation` package).

- `human_principal`: who may assume a standing human role (auditor; under SAML also the
  requester and approver roles). Identity Center: only the role Identity Center provisions for
  that access's permission set (ArnLike aws:PrincipalArn on AWSReservedSSO_<set>_*), so never an
  IAM user and never the root user. SAML: only a federated session from the configured provider
  (sts:AssumeRoleWithSAML with SAML:aud, IAM user guide "Configure SAML assertions").
- `elevation_principal`: who may assume an elevation role: nobody, until the workflow rewrites the
  trust (elevation.trust) for the people holding an active grant, each only in its window, and
  nobody again after expiry. The principal it then admits is the role of the elevation's
  permission set (Identity Center: the temporary account assignment is how the person signs in)
  or the requester role (SAML).
- `ElevationRoles`: the elevation roles and what each may do.
- `ElevationBroker`: the broker function (function URL, AWS_IAM auth), its workflow (grant, Wait
  until the expiry, expire) and an alarm when the workflow fails.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import AccessConfig
from constructs_lib import nag
from constructs_lib.erasure_machine import state_machine_log_and_trace_statements
from constructs_lib.functions import SecureFunction, ignore_redundant_role_dependency
from constructs_lib.iam import ScopedRole, service_principal
from constructs_lib.lifecycle_asset import lifecycle_code
from constructs_lib.retention import encrypted_log_group
from contract import (
    ELEVATION_BROKER,
    ELEVATION_STEPS,
    SAML_AUDIENCE,
    VISITOR_PREFIX,
    WORKSPACE_PREFIX,
    WORKSPACE_TAG,
    Elevation,
    HumanAccess,
    IdentitySource,
    elevation_prefix,
    elevation_role_name,
    elevation_state_machine_name,
    function_name,
    human_role_name,
    identity_center_role_pattern,
    permission_set_name,
    saml_provider_name,
)
from elevation.trust import closed_conditions


def saml_provider_arn(stack: Stack) -> str:
    return f"arn:{stack.partition}:iam::{stack.account}:saml-provider/{saml_provider_name()}"


def human_principal(scope: Construct, access: AccessConfig, who: HumanAccess) -> iam.IPrincipal:
    stack = Stack.of(scope)
    if access.identity_source is IdentitySource.IDENTITY_CENTER:
        pattern = identity_center_role_pattern(stack.partition, stack.account, permission_set_name(stack.region, who))
        return iam.AccountRootPrincipal().with_conditions({"ArnLike": {"aws:PrincipalArn": pattern}})
    return iam.FederatedPrincipal(
        saml_provider_arn(stack), {"StringEquals": {"SAML:aud": SAML_AUDIENCE}}, "sts:AssumeRoleWithSAML"
    )


def elevation_trust_principal(stack: Stack, access: AccessConfig, elevation: Elevation) -> str:
    """The principal an elevation's trust names (elevation.trust.principal_condition)."""
    if access.identity_source is IdentitySource.IDENTITY_CENTER:
        return identity_center_role_pattern(
            stack.partition, stack.account, permission_set_name(stack.region, elevation)
        )
    return f"arn:{stack.partition}:iam::{stack.account}:role/{human_role_name(stack.region, HumanAccess.REQUESTER)}"


def elevation_principal(scope: Construct, access: AccessConfig, elevation: Elevation) -> iam.IPrincipal:
    """The deployed (closed) trust of an elevation role: the same document the workflow restores."""
    principal = elevation_trust_principal(Stack.of(scope), access, elevation)
    return iam.AccountRootPrincipal().with_conditions(closed_conditions(principal))


def broker_function_arn(stack: Stack, name: str = ELEVATION_BROKER) -> str:
    return f"arn:{stack.partition}:lambda:{stack.region}:{stack.account}:function:{function_name(stack.region, name)}"


def invoke_broker_statements(function_arn: str) -> list[dict[str, Any]]:
    """What the requester and approver accesses may do: call the broker's function URL, nothing
    else. Lambda developer guide, "Control access to Lambda function URLs": "Starting in October
    2025, new function URLs will require both lambda:InvokeFunctionUrl and lambda:InvokeFunction
    permissions"; a same-account caller needs them in its identity policy only. The conditions
    keep both to the URL with IAM auth (lambda:FunctionUrlAuthType, lambda:InvokedViaFunctionUrl)."""
    return [
        {
            "Sid": "CallTheElevationBrokerUrl",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": function_arn,
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        },
        {
            "Sid": "InvokeTheElevationBrokerThroughItsUrl",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": function_arn,
            "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
        },
    ]


class SamlPeopleRoles(Construct):
    """Under SAML only: the requester and approver roles, federated from the IdP, that may only
    call the broker. (Under Identity Center these are permission sets of the identity stack.)"""

    def __init__(
        self, scope: Construct, construct_id: str, *, access: AccessConfig, elevation_roles: list[str]
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.roles: dict[HumanAccess, iam.IRole] = {}
        for who in (HumanAccess.REQUESTER, HumanAccess.APPROVER):
            statements = [
                iam.PolicyStatement.from_json(st) for st in invoke_broker_statements(broker_function_arn(stack))
            ]
            if who is HumanAccess.REQUESTER:
                # A same-account trust that names the account needs the caller's own allow too: the
                # elevation roles' trust stays closed unless the workflow opened it for this person.
                statements.append(
                    iam.PolicyStatement(
                        sid="AssumeOpenedElevations",
                        actions=["sts:AssumeRole", "sts:TagSession"],
                        resources=elevation_roles,
                    )
                )
            role = ScopedRole(
                self,
                who.value.title(),
                assumed_by=human_principal(self, access, who),
                description=f"trustbase {who.value}: signs in through the SAML IdP; the elevation broker"
                + (", and an elevation while the workflow has opened it" if who is HumanAccess.REQUESTER else ""),
                statements=statements,
                role_name=human_role_name(stack.region, who),
            )
            self.roles[who] = role.role


class ElevationRoles(Construct):
    """One role per offered elevation (the database operator's role is OperatorAccess, built by
    the detection stack with its host): 1-hour sessions, the permissions boundary, and a trust
    only the elevation mechanism opens. Attributes: `roles` (elevation -> role)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access: AccessConfig,
        offered: tuple[Elevation, ...],
        data_bucket_arn: str,
        objects_key_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.roles: dict[Elevation, iam.IRole] = {}
        if Elevation.CUSTOMER_DATA_READ in offered:
            # One workspace only: the one the approval named, which the workflow's trust requires as
            # the session tag (elevation.trust), read back here as a policy variable.
            workspace = f"${{aws:PrincipalTag/{WORKSPACE_TAG}}}"
            prefixes = (f"{WORKSPACE_PREFIX}{workspace}/", f"{VISITOR_PREFIX}{workspace}/")
            objects = [f"{data_bucket_arn}/{p}*" for p in prefixes]
            role = ScopedRole(
                self,
                "CustomerDataRead",
                assumed_by=elevation_principal(self, access, Elevation.CUSTOMER_DATA_READ),
                description="trustbase elevation customer-data-read: read customer objects, approved and expiring",
                role_name=elevation_role_name(stack.region, Elevation.CUSTOMER_DATA_READ),
                statements=[
                    iam.PolicyStatement(
                        sid="ListCustomerPrefixes",
                        actions=["s3:ListBucket"],
                        resources=[data_bucket_arn],
                        conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
                    ),
                    iam.PolicyStatement(
                        sid="ReadCustomerObjects", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=objects
                    ),
                    # SSE-KMS objects: reading them needs kms:Decrypt on the key, only through S3.
                    iam.PolicyStatement(
                        sid="DecryptCustomerObjectsThroughS3",
                        actions=["kms:Decrypt"],
                        resources=[objects_key_arn],
                        conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
                    ),
                ],
            )
            nag.acknowledge(
                role.managed_policy,
                tuple(nag.iam5_resource_finding(self, o) for o in objects),
                "Customer objects are keyed by workspace and visitor IDs; the role reads only the approved "
                "workspace's two prefixes (its session tag) of this region's bucket, read-only, and opens for a "
                "person only during an approved, expiring elevation.",
            )
            self.roles[Elevation.CUSTOMER_DATA_READ] = role.role


class ElevationBroker(Construct):
    """The broker function (no VPC: it calls IAM, Identity Center and the identity store, which
    have no VPC endpoints, and it handles no customer data), its function URL (AWS_IAM), and the
    workflow: Grant -> Wait until expires_at -> Expire, with retries; a failed workflow raises the
    ElevationWorkflowFailed alarm. Attributes: `function`, `state_machine`, `url`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access: AccessConfig,
        elevation_roles: dict[Elevation, str],
        audit_bucket_name: str,
        audit_bucket_arn: str,
        audit_key_arn: str,
        alerts_topic: sns.ITopic,
        function_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        p, region, account = stack.partition, stack.region, stack.account
        machine_name = elevation_state_machine_name(region)
        machine_arn = f"arn:{p}:states:{region}:{account}:stateMachine:{machine_name}"
        executions = f"arn:{p}:states:{region}:{account}:execution:{machine_name}:*"
        records = f"{audit_bucket_arn}/{elevation_prefix(region)}*"
        roles = list(elevation_roles.values())
        common = [
            iam.PolicyStatement(sid="RecordSteps", actions=["s3:PutObject", "s3:GetObject"], resources=[records]),
            iam.PolicyStatement(
                sid="ListSteps",
                actions=["s3:ListBucket"],
                resources=[audit_bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{elevation_prefix(region)}*"]}},
            ),
            # Records are SSE-KMS with the audit key (bucket default), and so is the alerts topic:
            # S3 and SNS call KMS on the broker's behalf (SNS "Key management": a publisher to an
            # encrypted topic needs kms:GenerateDataKey and kms:Decrypt).
            iam.PolicyStatement(
                sid="AuditKeyThroughS3AndSns",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[audit_key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": [f"s3.{region}.amazonaws.com", f"sns.{region}.amazonaws.com"]}
                },
            ),
            iam.PolicyStatement(sid="Notify", actions=["sns:Publish"], resources=[alerts_topic.topic_arn]),
            # Open and close exactly the elevation roles' trust, and end their older sessions with an
            # inline aws:TokenIssueTime deny (the boundary denies every other IAM write).
            iam.PolicyStatement(
                sid="OpenAndCloseElevationTrust",
                actions=["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"],
                resources=roles,
            ),
        ]
        people_only = [
            iam.PolicyStatement(sid="StartTheWorkflow", actions=["states:StartExecution"], resources=[machine_arn]),
            iam.PolicyStatement(sid="StopTheWorkflow", actions=["states:StopExecution"], resources=[executions]),
            # Step Functions encrypts the execution input with the workflow's key ("Data at rest
            # encryption": StartExecution needs kms:GenerateDataKey and kms:Decrypt through states).
            iam.PolicyStatement(
                sid="WorkflowKeyThroughStepFunctions",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[function_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"states.{region}.amazonaws.com"}},
            ),
        ]
        wildcards = [records, executions]
        env = {
            "TRUSTBASE_REGION": region,
            "TRUSTBASE_ACCOUNT": account,
            "IDENTITY_SOURCE": access.identity_source.value,
            "MAX_ELEVATION_HOURS": str(access.max_elevation_hours),
            "ELEVATIONS": ",".join(e.value for e in elevation_roles),
            "AUDIT_BUCKET": audit_bucket_name,
            "ALERTS_TOPIC_ARN": alerts_topic.topic_arn,
            "STATE_MACHINE_ARN": machine_arn,
        }
        if access.identity_source is IdentitySource.IDENTITY_CENTER:
            instance_id = access.instance_arn.rsplit("/", 1)[1]
            permission_sets = f"arn:{p}:sso:::permissionSet/{instance_id}/*"
            # The identity store belongs to the account that owns the Identity Center instance.
            identity_store = f"arn:{p}:identitystore::*:identitystore/{access.identity_store_id}"
            users, groups = f"arn:{p}:identitystore:::user/*", f"arn:{p}:identitystore:::group/*"
            memberships = f"arn:{p}:identitystore:::membership/*"
            sso_roles = f"arn:{p}:iam::{account}:role/aws-reserved/sso.amazonaws.com/*"
            common += [
                # Service Authorization Reference, IAM Identity Center: the assignment calls act on
                # the instance, the permission set and the target account.
                iam.PolicyStatement(
                    sid="TemporaryAccountAssignments",
                    actions=[
                        "sso:CreateAccountAssignment",
                        "sso:DeleteAccountAssignment",
                        "sso:ListAccountAssignments",
                    ],
                    resources=[access.instance_arn, permission_sets, f"arn:{p}:sso:::account/{account}"],
                ),
                iam.PolicyStatement(
                    sid="FindPermissionSetsAndAssignmentStatus",
                    actions=[
                        "sso:ListPermissionSets",
                        "sso:DescribePermissionSet",
                        "sso:DescribeAccountAssignmentCreationStatus",
                        "sso:DescribeAccountAssignmentDeletionStatus",
                    ],
                    resources=[access.instance_arn, permission_sets],
                ),
                # Service Authorization Reference, AWS Identity Store: GetUserId acts on the store and
                # the user, GetGroupId on the store and the group, IsMemberInGroups also on memberships.
                iam.PolicyStatement(
                    sid="CheckUsersAndGroups",
                    actions=["identitystore:GetUserId", "identitystore:GetGroupId", "identitystore:IsMemberInGroups"],
                    resources=[identity_store, users, groups, memberships],
                ),
            ]
            # The caller's role must be the one Identity Center provisioned (its path), not a namesake.
            people_only.append(
                iam.PolicyStatement(sid="VerifyCallerRoles", actions=["iam:GetRole"], resources=[sso_roles])
            )
            wildcards += [permission_sets, identity_store, users, groups, memberships, sso_roles]
            env |= {
                "IDENTITY_CENTER_REGION": access.home_region,
                "IDENTITY_CENTER_INSTANCE_ARN": access.instance_arn,
                "IDENTITY_STORE_ID": access.identity_store_id,
                "REQUESTER_GROUP": access.requester_group,
                "APPROVER_GROUP": access.approver_group,
            }
        else:
            people = [
                f"arn:{p}:iam::{account}:role/{human_role_name(region, w)}"
                for w in (HumanAccess.REQUESTER, HumanAccess.APPROVER)
            ]
            people_only.append(iam.PolicyStatement(sid="VerifyCallerRoles", actions=["iam:GetRole"], resources=people))

        def function(
            cid: str, name: str, handler: str, description: str, statements: list[iam.PolicyStatement], invoked_by: str
        ) -> SecureFunction:
            fn = SecureFunction(
                self,
                cid,
                name=name,
                description=description,
                handler=handler,
                code=lifecycle_code(),
                network=None,
                key=function_key,
                logs_key=logs_key,
                log_retention=log_retention,
                dead_letter_queue=None,
                environment=env,
                statements=statements,
                timeout_minutes=2,
                outside_vpc_reason="It calls IAM, IAM Identity Center and the identity store, which offer no VPC "
                "endpoints here, and reads and writes only elevation records (no customer data).",
                synchronous_reason=f"Invoked only synchronously, by {invoked_by}: there is no async event to "
                "dead-letter (the caller gets the error; the workflow retries and its failure alarm fires).",
            )
            nag.acknowledge(
                fn.policy,
                tuple(
                    nag.iam5_resource_finding(self, w) for w in wildcards if w != executions or name == ELEVATION_BROKER
                ),
                "Elevation records are keyed by request ID under this region's prefix only; executions are named "
                "by request ID, only of this region's elevation workflow; permission sets, users, groups and the "
                "Identity Center roles get names and IDs from Identity Center, and the calls are limited to this "
                "instance, store and account.",
            )
            return fn

        self.function = function(
            "Broker",
            ELEVATION_BROKER,
            "elevation.handler.serve_url",
            "Elevations for people: request, approve, revoke, list (function URL, AWS_IAM)",
            common + people_only,
            "its function URL",
        )
        self.steps = function(
            "Steps",
            ELEVATION_STEPS,
            "elevation.handler.run_step",
            "Elevation workflow steps: grant at approval, expire at the end",
            common,
            "the elevation workflow's tasks",
        )
        self.url = self.function.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        CfnOutput(self, "ElevationBrokerUrl", value=self.url.url, description="python -m elevation --url <this>")

        # --- the workflow
        def step(name: str, what: str) -> sfn.TaskStateBase:
            return tasks.LambdaInvoke(
                self,
                name,
                lambda_function=self.steps.function,
                payload=sfn.TaskInput.from_object({"step": what, "request_id": sfn.JsonPath.string_at("$.request_id")}),
                result_path=f"$.{what}",
                payload_response_only=True,
                retry_on_service_exceptions=False,
            ).add_retry(
                errors=["States.ALL"],
                max_attempts=6,
                interval=Duration.seconds(10),
                backoff_rate=2,
                max_delay=Duration.minutes(5),
                jitter_strategy=sfn.JitterType.FULL,
            )

        grant, expire = step("Grant", "grant"), step("Expire", "expire")
        expire_after_failure = step("ExpireAfterFailedGrant", "expire")
        failed = sfn.Fail(self, "GrantFailed", error="ElevationGrantFailed", cause="the grant failed; it was removed")
        grant.add_catch(expire_after_failure.next(failed), result_path="$.error")
        definition = grant.next(sfn.Wait(self, "UntilExpiry", time=sfn.WaitTime.timestamp_path("$.expires_at"))).next(
            expire
        )
        log_group = encrypted_log_group(
            self, "WorkflowLogs", key=logs_key, retention=log_retention, name=f"/aws/vendedlogs/states/{machine_name}"
        )
        role = ScopedRole(
            self,
            "WorkflowRole",
            assumed_by=service_principal("states.amazonaws.com", account),
            description="trustbase elevation workflow: invoke the broker's grant and expire steps, logs, tracing",
            statements=[
                iam.PolicyStatement(
                    sid="InvokeTheSteps",
                    actions=["lambda:InvokeFunction"],
                    resources=[broker_function_arn(stack, ELEVATION_STEPS)],
                ),
                iam.PolicyStatement(
                    sid="WorkflowKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[function_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"states.{region}.amazonaws.com"}},
                ),
                *state_machine_log_and_trace_statements(stack, function_key),
            ],
        )
        nag.acknowledge(
            role.managed_policy,
            nag.iam5_resource_finding(self, "*"),
            "CloudWatch Logs vended-log delivery and the X-Ray APIs support no resource-level permissions; the "
            "workflow otherwise invokes exactly the broker function with exactly its key.",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Workflow",
            state_machine_name=machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            role=role.role,
            timeout=Duration.hours(access.max_elevation_hours + 24),  # the wait, plus a day of retries
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(function_key, Duration.minutes(5)),
        )
        ignore_redundant_role_dependency(self.state_machine)
        self.alarm = cloudwatch.Alarm(
            self,
            "WorkflowFailed",
            alarm_description="An elevation workflow failed, timed out or was aborted outside a revoke: check that "
            "its grant was removed (python -m elevation list; aws sso-admin list-account-assignments)",
            metric=cloudwatch.MathExpression(
                expression="failed + timedout",
                using_metrics={
                    "failed": self.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
                    "timedout": self.state_machine.metric_timed_out(period=Duration.minutes(5), statistic="Sum"),
                },
                period=Duration.minutes(5),
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(alerts_topic))
