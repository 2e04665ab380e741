"""FIS experiment templates: the AZ-loss rehearsal and an Aurora failover, each with stop
conditions on customer-impact alarms and a least-privilege role."""

from __future__ import annotations

from typing import Any

import posture_checks as pc
from config import RegionConfig
from stacks.region import stack_name
from tests.conftest import Assembly


def templates(assembly: Assembly, region: RegionConfig) -> dict[str, dict[str, Any]]:
    edge = assembly.template(stack_name(region.name, "edge"))
    return {
        t["Properties"]["Tags"]["Name"]: t["Properties"]
        for t in pc.resources(edge, "AWS::FIS::ExperimentTemplate").values()
    }


def test_az_power_interruption_isolates_one_az_and_fails_aurora_over(assembly: Assembly, region: RegionConfig) -> None:
    t = templates(assembly, region)[f"trustbase-{region.name}-az-power-interruption"]
    assert {a["ActionId"] for a in t["Actions"].values()} == {
        "aws:network:disrupt-connectivity",
        "aws:rds:failover-db-cluster",
    }
    subnets = t["Targets"]["AzSubnets"]
    assert subnets["ResourceType"] == "aws:ec2:subnet"
    assert subnets["Filters"] == [{"Path": "AvailabilityZone", "Values": [region.availability_zones[0]]}]
    assert subnets["ResourceTags"] == {"trustbase:region": region.name}
    assert "clusterarn" in str(t["Targets"]["AuroraCluster"]["ResourceArns"]).lower()


def test_aurora_failover_alone(assembly: Assembly, region: RegionConfig) -> None:
    t = templates(assembly, region)[f"trustbase-{region.name}-aurora-failover"]
    assert [a["ActionId"] for a in t["Actions"].values()] == ["aws:rds:failover-db-cluster"]


def test_every_experiment_stops_on_customer_impact_alarms(assembly: Assembly, region: RegionConfig) -> None:
    edge = assembly.template(stack_name(region.name, "edge"))
    alarms = {k for k in pc.resources(edge, "AWS::CloudWatch::Alarm") if k.startswith("FaultInjectionStopOn")}
    assert len(alarms) == 2
    for t in templates(assembly, region).values():
        sources = {(c["Source"], c["Value"]["Fn::GetAtt"][0]) for c in t["StopConditions"]}
        assert sources == {("aws:cloudwatch:alarm", a) for a in alarms}


def test_fis_role_is_least_privilege_and_bounded(assembly: Assembly, region: RegionConfig) -> None:
    edge = assembly.template(stack_name(region.name, "edge"))
    policy = next(p for k, p in pc.resources(edge, "AWS::IAM::ManagedPolicy").items() if k.startswith("FaultInjection"))
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert by_sid["FailOverThisCluster"]["Action"] == "rds:FailoverDBCluster"
    assert "clusterarn" in str(by_sid["FailOverThisCluster"]["Resource"]).lower()
    assert all(f":{region.name}:" in str(r) for r in by_sid["TemporaryNetworkAcls"]["Resource"])
    assert pc.wildcard_action_violations(edge) == [] and pc.boundary_violations(edge) == []
