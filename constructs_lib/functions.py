"""A Lambda function with trustbase's secure defaults, and where it runs."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

import contract
from constructs_lib import nag
from constructs_lib.iam import ScopedRole, service_principal
from constructs_lib.retention import encrypted_log_group

RUNTIME = lambda_.Runtime.PYTHON_3_14


def ignore_redundant_role_dependency(resource: Construct) -> None:
    """CDK adds a DependsOn on the execution role that the role's GetAtt already implies;
    cfn-lint W3005 flags the redundancy. Ignore it on that one resource only."""
    child = resource.node.default_child
    if child is None:
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})  # type: ignore[attr-defined]


def ignore_redundant_provider_dependency(stack: Stack, provider_id: str) -> None:
    """The same W3005 redundancy on a CDK custom-resource provider's handler (a stack singleton)."""
    provider = stack.node.try_find_child(provider_id)
    handler = provider.node.try_find_child("Handler") if provider else None
    if not isinstance(handler, CfnResource):
        raise TypeError(f"{stack.stack_name}: no CDK provider handler {provider_id}/Handler")
    handler.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


@dataclass(frozen=True)
class Network:
    """Where a function runs: the VPC, its security group, and the subnets (default: the app tier's
    private subnets)."""

    vpc: ec2.IVpc
    security_group: ec2.ISecurityGroup
    subnets: tuple[ec2.ISubnet, ...] = ()

    @property
    def selected_subnets(self) -> list[ec2.ISubnet]:
        return list(self.subnets) if self.subnets else list(self.vpc.private_subnets)


class SecureFunction(Construct):
    """A Lambda function of trustbase's runtime: in the VPC (`network`), env vars and logs under
    CMKs, X-Ray traced, optional reserved concurrency, a DLQ for async failures (None for a
    function that is only ever invoked synchronously), and a role with exactly `statements` (plus
    ENIs, its own log group and tracing) under the permissions boundary.

    Attributes: `function`, `role`, `policy`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        handler: str,
        code: lambda_.Code,
        network: Network | None,
        key: kms.IKey,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        dead_letter_queue: sqs.IQueue | None,
        environment: dict[str, str],
        statements: list[iam.PolicyStatement],
        timeout_minutes: int = 15,
        concurrency: int | None = None,
        outside_vpc_reason: str = "",
        synchronous_reason: str = (
            "This function is only ever invoked synchronously (RequestResponse) by the deploy: an "
            "error fails the CloudFormation deployment itself, so there is no async event to dead-letter."
        ),
    ) -> None:
        """`concurrency`: reserved concurrent executions, or None for none (the default: a new
        account's quota may not allow any reservation; see RegionConfig.reserve_lambda_concurrency).
        `network`: None only with `outside_vpc_reason`, for a function that calls only global
        control-plane APIs without VPC endpoints and never touches customer data."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        function_name = contract.function_name(stack.region, name)
        self.log_group = encrypted_log_group(
            self, "Logs", name=f"/aws/lambda/{function_name}", key=logs_key, retention=log_retention
        )
        log_streams = f"{self.log_group.log_group_arn}:log-stream:*"
        eni = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:network-interface/*"
        if (network is None) != bool(outside_vpc_reason):
            raise ValueError(f"{name}: a function runs in the VPC, or outside it with outside_vpc_reason (not both)")
        in_vpc = (
            []
            if network is None
            else [
                iam.PolicyStatement(
                    sid="VpcNetworkInterfaces",
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=[
                        eni,
                        *(
                            f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:subnet/{s.subnet_id}"
                            for s in network.selected_subnets
                        ),
                        f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:security-group/{network.security_group.security_group_id}",
                    ],
                ),
                iam.PolicyStatement(
                    sid="DescribeNetworkInterfaces", actions=["ec2:DescribeNetworkInterfaces"], resources=["*"]
                ),
            ]
        )
        base = [
            iam.PolicyStatement(
                sid="OwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn, log_streams],
            ),
            *in_vpc,
            iam.PolicyStatement(
                sid="Tracing", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]
            ),
            *(
                [
                    iam.PolicyStatement(
                        sid="DeadLetters", actions=["sqs:SendMessage"], resources=[dead_letter_queue.queue_arn]
                    )
                ]
                if dead_letter_queue is not None
                else []
            ),
            iam.PolicyStatement(
                sid="LifecycleKeyThroughServices",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [f"sqs.{stack.region}.amazonaws.com", f"lambda.{stack.region}.amazonaws.com"]
                    }
                },
            ),
        ]
        scoped = ScopedRole(
            self,
            "Role",
            assumed_by=service_principal("lambda.amazonaws.com", stack.account),
            description=f"trustbase {name}: {description}"[:1000],
            statements=base + statements,
        )
        self.role = scoped.role
        self.policy = scoped.managed_policy
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            role=scoped.role,
            timeout=Duration.minutes(timeout_minutes),
            memory_size=512,
            reserved_concurrent_executions=concurrency,  # None: draws from the unreserved pool
            environment=environment,
            environment_encryption=key,
            vpc=network.vpc if network else None,
            vpc_subnets=ec2.SubnetSelection(subnets=network.selected_subnets) if network else None,
            security_groups=[network.security_group] if network else None,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue_enabled=dead_letter_queue is not None,
            dead_letter_queue=dead_letter_queue,
            log_group=self.log_group,  # async invocations retry twice (Lambda's default), then the DLQ
        )
        if dead_letter_queue is None:
            nag.acknowledge(
                self.function,
                nag.LAMBDA_DLQ,
                synchronous_reason,
            )
        ignore_redundant_role_dependency(self.function)
        if network is None:
            nag.acknowledge(self.function, nag.LAMBDA_IN_VPC, outside_vpc_reason)
        if concurrency is None:
            nag.acknowledge(
                self.function,
                nag.LAMBDA_CONCURRENCY,
                "Reserved concurrency is off by default: Lambda keeps 100 executions unreserved and new "
                "accounts have lower quotas, so reservations fail the deploy. Each caller bounds the "
                "load instead (hourly schedules, one erasure execution per request); set "
                "reserve_lambda_concurrency = true once the account's quota allows it.",
            )
        nag.acknowledge(
            scoped.managed_policy,
            (
                nag.iam5_resource_finding(self, log_streams),
                *((nag.iam5_resource_finding(self, eni),) if network else ()),
                nag.iam5_resource_finding(self, "*"),
            ),
            "Log streams are named by Lambda at run time (only this function's group); ENIs get IDs when "
            "Lambda creates them (only this account/region, only our subnets and security group); "
            "DescribeNetworkInterfaces and the X-Ray trace APIs have no resource-level permissions.",
        )
