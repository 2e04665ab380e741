"""AWS FIS experiment templates that rehearse the AZ-loss promise, with stop conditions."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import jurisdictions
from constructs_lib import nag
from constructs_lib.iam import FIS_ACTIONS, ScopedRole, service_principal
from contract import AURORA_FAILOVER, AZ_POWER_INTERRUPTION, fault_injection_template_name

STOP_ON_ALARM = "aws:cloudwatch:alarm"
# Regions whose CloudFormation has no AWS::FIS::ExperimentTemplate (config/jurisdictions.py).
FIS_UNAVAILABLE = jurisdictions.FIS_UNAVAILABLE


class FaultInjection(Construct):
    """Two FIS experiment templates for one region:

    - `az-power-interruption`: cut network connectivity of every trustbase subnet in
      `target_az` (tag- and AZ-filtered) for `duration`, and fail Aurora over at the same time;
    - `aurora-failover`: fail the Aurora cluster over, nothing else.

    Both stop as soon as a customer-impact alarm fires (ALB 5xx burst, or no healthy target).
    The FIS role can touch only subnets/NACLs of this account and region and this cluster.

    Attributes: `az_power_interruption`, `aurora_failover`, `stop_alarms`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region_tag: str,
        target_az: str,
        cluster_arn: str,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        alerts_topic: sns.ITopic,
        duration_minutes: int = 5,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        partition, region, account = stack.partition, stack.region, stack.account
        self.stop_alarms = [
            cloudwatch.Alarm(
                self,
                "StopOnAlb5xx",
                alarm_description="FIS stop condition: the ALB returns 5xx to customers",
                metric=load_balancer.metrics.http_code_elb(
                    elbv2.HttpCodeElb.ELB_5XX_COUNT, period=Duration.minutes(1), statistic="Sum"
                ),
                threshold=50,
                evaluation_periods=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "StopOnNoHealthyTarget",
                alarm_description="FIS stop condition: no healthy app target is left",
                metric=target_group.metrics.healthy_host_count(period=Duration.minutes(1), statistic="Minimum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        for alarm in self.stop_alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(alerts_topic))  # on-call sees a tripped game day
        stop_conditions = [
            fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty(source=STOP_ON_ALARM, value=a.alarm_arn)
            for a in self.stop_alarms
        ]
        ec2_arn = f"arn:{partition}:ec2:{region}:{account}"
        role = ScopedRole(
            self,
            "Experiments",
            assumed_by=service_principal("fis.amazonaws.com", account),
            description="FIS: disrupt one AZ's subnets through temporary NACLs, fail Aurora over",
            statements=[
                iam.PolicyStatement(
                    sid="TemporaryNetworkAcls",
                    actions=[
                        a
                        for a in FIS_ACTIONS
                        if a.startswith("ec2:")
                        and not a.startswith("ec2:Describe")
                        and a != "ec2:GetManagedPrefixListEntries"
                    ],
                    resources=[f"{ec2_arn}:subnet/*", f"{ec2_arn}:network-acl/*", f"{ec2_arn}:vpc/*"],
                ),
                iam.PolicyStatement(
                    sid="FailOverThisCluster", actions=["rds:FailoverDBCluster"], resources=[cluster_arn]
                ),
                iam.PolicyStatement(
                    sid="DescribeOnly",
                    actions=[
                        a
                        for a in FIS_ACTIONS
                        if a.startswith(("ec2:Describe", "rds:Describe", "tag:"))
                        or a == "ec2:GetManagedPrefixListEntries"
                    ],
                    resources=["*"],
                ),
            ],
        )
        nag.acknowledge(
            role.managed_policy,
            (
                f"{nag.IAM_WILDCARD}[Resource::*]",
                *(nag.iam5_resource_finding(self, f"{ec2_arn}:{kind}/*") for kind in ("subnet", "network-acl", "vpc")),
            ),
            "FIS creates temporary NACLs with generated IDs and finds subnets by tag at run time; "
            "wildcards stay in EC2 of this account and region, and Describe/GetResources take no resource.",
        )
        subnets = fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
            resource_type="aws:ec2:subnet",
            resource_tags={"trustbase:region": region_tag},
            filters=[
                fis.CfnExperimentTemplate.ExperimentTemplateTargetFilterProperty(
                    path="AvailabilityZone", values=[target_az]
                )
            ],
            selection_mode="ALL",
        )
        cluster = fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
            resource_type="aws:rds:cluster", resource_arns=[cluster_arn], selection_mode="ALL"
        )
        failover = fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
            action_id="aws:rds:failover-db-cluster", targets={"Clusters": "AuroraCluster"}
        )
        self.az_power_interruption = fis.CfnExperimentTemplate(
            self,
            "AzPowerInterruption",
            description=f"AZ power interruption in {target_az}: isolate its subnets and fail Aurora over",
            role_arn=role.role_arn,
            stop_conditions=stop_conditions,
            targets={"AzSubnets": subnets, "AuroraCluster": cluster},
            actions={
                "IsolateAzSubnets": fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                    action_id="aws:network:disrupt-connectivity",
                    parameters={"duration": f"PT{duration_minutes}M", "scope": "all"},
                    targets={"Subnets": "AzSubnets"},
                ),
                "FailOverAurora": failover,
            },
            tags={"Name": fault_injection_template_name(region, AZ_POWER_INTERRUPTION)},
        )
        self.aurora_failover = fis.CfnExperimentTemplate(
            self,
            "AuroraFailover",
            description="Aurora cluster failover alone",
            role_arn=role.role_arn,
            stop_conditions=stop_conditions,
            targets={"AuroraCluster": cluster},
            actions={"FailOverAurora": failover},
            tags={"Name": fault_injection_template_name(region, AURORA_FAILOVER)},
        )
