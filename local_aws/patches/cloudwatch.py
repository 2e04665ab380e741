"""AWS::CloudWatch::Alarm has no moto CloudFormation model: this one creates the alarm through
moto's CloudWatch API from the template, so an alarm's actions and threshold read back as this
patch wrote them (PATCHED)."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, cfn_tags


def _install(undo: Undo) -> None:
    from moto.cloudwatch.models import Alarm, cloudwatch_backends
    from moto.core.common_models import CloudFormationModel

    class CfnAlarm(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Alarm:
            p = cloudformation_json["Properties"]
            return cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=p.get("AlarmName") or resource_name,
                namespace=p.get("Namespace"),
                metric_name=p.get("MetricName"),
                comparison_operator=p["ComparisonOperator"],
                evaluation_periods=int(p["EvaluationPeriods"]),
                period=int(p["Period"]) if p.get("Period") else 60,
                threshold=float(p["Threshold"]),
                statistic=p.get("Statistic"),
                description=p.get("AlarmDescription"),
                dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
                alarm_actions=p.get("AlarmActions", []),
                ok_actions=p.get("OKActions", []),
                datapoints_to_alarm=p.get("DatapointsToAlarm"),
                treat_missing_data=p.get("TreatMissingData"),
                tags=cfn_tags(p),
            )

    undo.set(Alarm, "physical_resource_id", property(lambda self: self.name))
    undo.set(Alarm, "is_created", lambda self: True)
    undo.model(CfnAlarm)


PATCHES = (
    Patch(
        "cloudwatch.alarm-model",
        "moto has no CloudFormation model for AWS::CloudWatch::Alarm",
        _install,
        frozenset({"cloudwatch.alarm"}),
        frozenset({"AWS::CloudWatch::Alarm"}),
    ),
)
