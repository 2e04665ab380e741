"""A real local deploy of one region (the session's synthesized assembly) to the patched moto
server over HTTPS, verified resource by resource, then the DR drills against it, including
drills that must FAIL (a lost canary, an RTO over target) and verifications that must FAIL
(a property changed after deploy, a resource type the emulator silently skips)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config import DrTargets
from dr_drill import FAIL, NOT_EMULATED, PARTIAL, PASS, Clients, az_loss, db_failover, restore, s3_recover
from local_aws import deploy as local_deploy
from local_aws.__main__ import main as local_main
from local_aws.deploy import LocalAws, RegionDeployment, deploy_region, localize, stacks_in_order, verify_stack
from local_aws.emulator import running_emulator
from tests.conftest import Assembly

REGION = "eu-west-1"


@dataclass
class Deployed:
    endpoint: str
    report: RegionDeployment
    assembly: Assembly

    def aws(self) -> LocalAws:
        return LocalAws(self.endpoint, REGION)

    def clients(self) -> Clients:
        a = self.aws()
        return Clients(ssm=a.client("ssm"), s3=a.client("s3"), rds=a.client("rds"), backup=a.client("backup"), fis=a.client("fis"))  # fmt: skip


@pytest.fixture(scope="module")
def deployed(assembly: Assembly) -> Iterator[Deployed]:
    with running_emulator() as endpoint:
        report = deploy_region(endpoint, stacks_in_order(assembly.outdir, [REGION]), REGION)
        yield Deployed(endpoint, report, assembly)


def test_every_stack_deploys_and_every_check_passes_or_is_listed(deployed: Deployed) -> None:
    report = deployed.report
    assert report.result == PASS, report.to_markdown()
    assert [s.rsplit("-", 1)[-1] for s in report.stacks] == [
        "keys",
        "network",
        "data",
        "migrations",
        "audit",
        "edge",
        "detection",
        "lifecycle",
    ]
    for check in report.checks:
        assert check.status in (PASS, NOT_EMULATED)
        if check.status == NOT_EMULATED:
            assert len(check.detail) > 20, check  # says why


def test_every_logical_resource_is_accounted_for(deployed: Deployed) -> None:
    for stack in deployed.report.stacks:
        template = deployed.assembly.template(stack)
        checked = {c.subject for c in deployed.report.checks if c.stack == stack}
        missing = set(template["Resources"]) - checked
        assert not missing, f"{stack}: no check for {sorted(missing)}"


@pytest.mark.parametrize(
    ("what", "count"),
    [
        ("KMS key rotation", 6),
        ("S3 default encryption", 4),
        ("S3 versioning", 4),
        ("S3 refuses non-TLS requests", 4),
        ("S3 Object Lock", 1),
        ("S3 lifecycle rules", 4),
        ("ALB TLS policy (TLS 1.2+, forward secrecy)", 1),
        ("ALB sends HSTS", 1),
        ("HTTP listener redirects to HTTPS", 1),
        ("Aurora storage encrypted with the CMK", 1),
        ("Aurora instances in 3 AZs", 1),
        ("backup vault locked", 1),
        ("backup vault encrypted with a CMK of this region", 1),
        ("VPC flow log captures ALL traffic", 1),
        ("Lambda in VPC subnets of 3 AZs", 6),
        ("Lambda environment encrypted with a CMK", 6),
        ("Lambda traced", 6),
        ("SQS queue encrypted with a CMK", 4),
        ("SQS queue refuses non-TLS requests", 4),
        ("state machine encrypted with a CMK", 1),
        ("state machine logs ALL without execution data", 1),
        ("state machine traced", 1),
    ],
)
def test_key_properties_read_back_from_the_service_apis(deployed: Deployed, what: str, count: int) -> None:
    passed = [c for c in deployed.report.checks if c.what == what and c.status == PASS]
    assert len(passed) == count, [c for c in deployed.report.checks if c.what == what]


def test_what_the_emulator_cannot_do_is_listed(deployed: Deployed) -> None:
    listed = {(c.subject, c.what) for c in deployed.report.checks if c.status == NOT_EMULATED}
    whats = {w for _, w in listed}
    assert "changed for the emulator" in whats  # the Lambda-backed custom resource, the certificate
    assert {"AWS::WAFv2::WebACL", "AWS::FIS::ExperimentTemplate", "AWS::GuardDuty::Detector"} <= whats


def test_a_property_changed_after_deploy_fails_verification(deployed: Deployed) -> None:
    aws = deployed.aws()
    stack = f"trustbase-{REGION}-keys"
    template, _ = localize(deployed.assembly.template(stack))
    key_lid = next(lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key")
    physical = aws.client("cloudformation").describe_stack_resource(StackName=stack, LogicalResourceId=key_lid)
    key_id = physical["StackResourceDetail"]["PhysicalResourceId"]
    aws.client("kms").disable_key_rotation(KeyId=key_id)
    try:
        again = RegionDeployment(REGION)
        verify_stack(aws, stack, template, again)
        assert again.result == FAIL
        assert [(c.subject, c.what) for c in again.checks if c.status == FAIL] == [(key_lid, "KMS key rotation")]
    finally:
        aws.client("kms").enable_key_rotation(KeyId=key_id)


def test_a_resource_the_emulator_skips_fails_unless_listed(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    aws = deployed.aws()
    # moto has no CloudFormation model for this type: the stack still says CREATE_COMPLETE.
    template = {"Resources": {"Skipped": {"Type": "AWS::Pinpoint::App", "Properties": {"Name": "x"}},
                              "Queue": {"Type": "AWS::EC2::InternetGateway", "Properties": {}}}}  # fmt: skip
    aws.client("cloudformation").create_stack(StackName="gap-test", TemplateBody=json.dumps(template))
    report = RegionDeployment(REGION)
    verify_stack(aws, "gap-test", template, report)
    assert {(c.subject, c.status) for c in report.checks} == {("Skipped", FAIL), ("Queue", PASS)}
    # listed as not emulated: reported, not failed ...
    monkeypatch.setitem(local_deploy.NOT_EMULATED_TYPES, "AWS::Pinpoint::App", "test: not in moto")
    # ... and a listed type that the emulator does create is a stale entry: it fails.
    monkeypatch.setitem(local_deploy.NOT_EMULATED_TYPES, "AWS::EC2::InternetGateway", "test: stale entry")
    report = RegionDeployment(REGION)
    verify_stack(aws, "gap-test", template, report)
    assert {(c.subject, c.status) for c in report.checks} == {("Skipped", NOT_EMULATED), ("Queue", FAIL)}


# ------------------------------------------------------------------------------ drills on the deployment


def test_s3_recover_passes_on_the_deployed_bucket(deployed: Deployed) -> None:
    report = s3_recover(deployed.clients(), REGION, DrTargets())
    assert report.result == PASS, report.to_markdown()
    assert report.rpo_seconds == 0


def test_s3_recover_fails_when_the_canary_is_lost(deployed: Deployed) -> None:
    def lose_everything(s3: Any, bucket: str, key: str) -> None:
        for v in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []):
            s3.delete_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])

    report = s3_recover(deployed.clients(), REGION, DrTargets(), fault=lose_everything)
    assert report.result == FAIL
    assert any(s.status == FAIL and "data was lost" in s.detail for s in report.steps)


def test_db_failover_moves_the_writer_across_azs(deployed: Deployed) -> None:
    report = db_failover(deployed.clients(), REGION, DrTargets(), timeout=30, interval=0.2)
    assert report.result == PARTIAL, report.to_markdown()  # the SQL canary is not emulated
    assert {s.name: s.status for s in report.steps}["writer serves again"] == PASS
    assert report.rto_seconds is not None and report.rto_seconds < 120


def test_db_failover_fails_when_rto_is_over_target(deployed: Deployed) -> None:
    report = db_failover(deployed.clients(), REGION, DrTargets(az_loss_rto_seconds=0), timeout=30, interval=0.2)
    assert report.result == FAIL
    assert {s.name: s.status for s in report.steps}["RTO"] == FAIL


def test_restore_restores_and_removes_the_copy(deployed: Deployed) -> None:
    clients = deployed.clients()
    before = {c["DBClusterIdentifier"] for c in clients.rds.describe_db_clusters()["DBClusters"]}
    report = restore(clients, REGION, DrTargets(), timeout=30, interval=0.2)
    assert report.result == PARTIAL, report.to_markdown()
    assert {s.name: s.status for s in report.steps}["restored cluster encrypted"] == PASS
    assert {c["DBClusterIdentifier"] for c in clients.rds.describe_db_clusters()["DBClusters"]} == before


def test_make_local_entry_point_deploys_drills_and_reports(assembly: Assembly, tmp_path: Path) -> None:
    code = local_main(["--cdk-out", str(assembly.outdir), "--regions", REGION, "--out-dir", str(tmp_path)])
    assert code == 0
    deploy = json.loads((tmp_path / f"local-deploy-{REGION}.json").read_text())
    assert deploy["result"] == PASS
    results = {s: json.loads((tmp_path / f"drill-{s}-{REGION}.json").read_text())["result"]
               for s in ("s3-recover", "db-failover", "az-loss", "restore")}  # fmt: skip
    assert results == {"s3-recover": PASS, "db-failover": PARTIAL, "az-loss": PARTIAL, "restore": PARTIAL}


def test_make_local_refuses_a_missing_assembly_or_region(assembly: Assembly, tmp_path: Path) -> None:
    assert local_main(["--cdk-out", str(tmp_path / "nothing")]) == 2
    assert local_main(["--cdk-out", str(assembly.outdir), "--regions", "mars-north-1"]) == 2


# ------------------------------------------------------------------------------ the SQL canary
# The emulator's Aurora has no database engine. These tests give the drill a canary connected to
# a real PostgreSQL (standing in for the cluster volume, which survives a failover) to prove the
# drill's canary logic: written before the fault, read after it, and a lost row is a FAIL.


def _canary_factory(pg_server: Any, database: str) -> Any:
    from contract import DR_DB_USER
    from dr_drill.sql_canary import SqlCanary

    def factory(host: str, port: int) -> SqlCanary:
        return SqlCanary(lambda: pg_server.connect(database, user=DR_DB_USER), host)

    return factory


def test_db_failover_with_the_sql_canary_proves_rpo_zero(deployed: Deployed, pg_server: Any, pg_database: str) -> None:
    report = db_failover(deployed.clients(), REGION, DrTargets(), timeout=30, interval=0.2,
                         canary=_canary_factory(pg_server, pg_database))  # fmt: skip
    steps = {s.name: s.status for s in report.steps}
    assert steps["write canary"] == PASS and steps["canary survived (RPO)"] == PASS
    assert report.result == PASS and report.rpo_seconds == 0


def test_db_failover_fails_when_the_sql_canary_is_lost(
    deployed: Deployed, pg_server: Any, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = deployed.clients()
    real_failover = clients.rds.failover_db_cluster

    def failover_that_loses_data(**kw: Any) -> Any:
        conn = pg_server.connect(pg_database)
        conn.cursor().execute("DELETE FROM trustbase_dr.canary")
        conn.commit()
        conn.close()
        return real_failover(**kw)

    monkeypatch.setattr(clients.rds, "failover_db_cluster", failover_that_loses_data)
    report = az_loss(
        clients, REGION, DrTargets(), timeout=30, interval=0.2, canary=_canary_factory(pg_server, pg_database)
    )
    assert report.result == FAIL
    assert any(s.name == "canary survived (RPO)" and s.status == FAIL and "lost" in s.detail for s in report.steps)


def _aurora_instance_identifier(pg_server: Any, database: str, instance: str) -> None:
    """Aurora PostgreSQL's aurora_db_instance_identifier(), emulated on the test server (labelled: it
    returns what this test says, standing in for the name of the instance a connection reached)."""
    conn = pg_server.connect(database)
    conn.cursor().execute(
        f"CREATE OR REPLACE FUNCTION aurora_db_instance_identifier() RETURNS text LANGUAGE sql AS $$ SELECT '{instance}'::text $$"
    )
    conn.commit()
    conn.close()


@pytest.fixture
def routed(pg_server: Any, pg_database: str) -> Iterator[Any]:
    """Canaries that reach the database behind the endpoint they are given: the source cluster's
    endpoint -> the source database; a restored copy's endpoint -> a copy of the source database
    taken when the canary first reaches it (what the restore recovered)."""
    from contract import DR_DB_USER
    from dr_drill.sql_canary import SqlCanary

    _aurora_instance_identifier(pg_server, pg_database, f"trustbase-{REGION}a")
    copies: dict[str, str] = {}

    def factory(host: str, port: int) -> SqlCanary:
        cluster = host.split(".", 1)[0]
        database = pg_database
        if cluster != f"trustbase-{REGION}":
            if cluster not in copies:
                copies[cluster] = f"copy_{len(copies)}_{pg_database}"[:60]
                conn = pg_server.connect()
                conn.autocommit = True
                conn.cursor().execute(f'CREATE DATABASE "{copies[cluster]}" TEMPLATE "{pg_database}"')
                conn.close()
                _aurora_instance_identifier(pg_server, copies[cluster], f"{cluster}-reader")
            database = copies[cluster]
        return SqlCanary(lambda: pg_server.connect(database, user=DR_DB_USER), host)

    yield factory
    for database in copies.values():
        pg_server.drop_database(database)


def test_restore_with_the_sql_canary_measures_rpo_from_the_copy(deployed: Deployed, routed: Any) -> None:
    clients = deployed.clients()
    before = {c["DBClusterIdentifier"] for c in clients.rds.describe_db_clusters()["DBClusters"]}
    report = restore(clients, REGION, DrTargets(), timeout=30, interval=0.2, canary=routed)
    steps = {s.name: s for s in report.steps}
    assert steps["write canary"].status == PASS and "newest canary in the copy" in steps["RPO"].detail
    assert steps["RPO"].status == PASS and report.rpo_seconds is not None and report.rpo_seconds < 60
    assert {c["DBClusterIdentifier"] for c in clients.rds.describe_db_clusters()["DBClusters"]} == before


def test_restore_fails_when_the_canary_reaches_the_source_instead_of_the_copy(
    deployed: Deployed, pg_server: Any, pg_database: str
) -> None:
    """One port forward for every endpoint (the old --db-tunnel): the "copy" read is the source,
    which always looks current. The drill must notice that it is not talking to the copy."""
    _aurora_instance_identifier(pg_server, pg_database, f"trustbase-{REGION}a")
    report = restore(deployed.clients(), REGION, DrTargets(), timeout=30, interval=0.2,
                     canary=_canary_factory(pg_server, pg_database))  # fmt: skip
    rpo = next(s for s in report.steps if s.name == "RPO")
    assert rpo.status == FAIL and "not the copy's" in rpo.detail and report.result == FAIL


def test_restore_fails_when_the_copy_is_older_than_the_rpo_target(deployed: Deployed, routed: Any) -> None:
    report = restore(deployed.clients(), REGION, DrTargets(restore_rpo_seconds=0), timeout=30, interval=0.2,
                     canary=routed)  # fmt: skip
    assert report.result == FAIL and {s.name: s.status for s in report.steps}["RPO"] == FAIL
