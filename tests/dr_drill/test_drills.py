"""DR drills against moto, with the SSM links the stacks publish seeded as a deployment would.

Includes failing drills: a canary deliberately lost, and an RTO over target."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from config import DrTargets
from dr_drill import FAIL, NOT_EMULATED, PARTIAL, PASS, Clients, az_loss, db_failover, restore, s3_recover
from dr_drill.__main__ import main

REGION = "eu-west-1"
BUCKET = "trustbase-customer-data-test"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def clients() -> Iterator[Clients]:
    with mock_aws():
        s = boto3.Session(region_name=REGION)
        c = Clients(
            ssm=s.client("ssm"), s3=s.client("s3"), rds=s.client("rds"), backup=s.client("backup"), fis=s.client("fis")
        )
        c.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        c.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        cluster = c.rds.create_db_cluster(
            DBClusterIdentifier=f"trustbase-{REGION}",
            Engine="aurora-postgresql",
            MasterUsername="trustbase_admin",
            MasterUserPassword="not-used-by-tests-1",
            StorageEncrypted=True,
        )
        for az in ("a", "b", "c"):
            c.rds.create_db_instance(
                DBInstanceIdentifier=f"trustbase-{REGION}{az}",
                DBClusterIdentifier=f"trustbase-{REGION}",
                Engine="aurora-postgresql",
                DBInstanceClass="db.r7g.large",
                AvailabilityZone=f"{REGION}{az}",
            )
        c.ssm.put_parameter(Name="/trustbase/data/customer-bucket-name", Value=BUCKET, Type="String")
        c.ssm.put_parameter(
            Name="/trustbase/data/cluster-arn", Value=cluster["DBCluster"]["DBClusterArn"], Type="String"
        )
        c.ssm.put_parameter(Name="/trustbase/data/db-subnet-group-name", Value="trustbase-data", Type="String")
        c.ssm.put_parameter(
            Name="/trustbase/network/database-security-group-id", Value="sg-0123456789abcdef0", Type="String"
        )
        yield c


def test_s3_recover_restores_the_canary_and_meets_targets(clients: Clients, tmp_path: Path) -> None:
    report = s3_recover(clients, REGION, DrTargets())
    assert report.result == PASS, report.to_markdown()
    assert report.rpo_seconds == 0 and report.rto_seconds is not None and report.rto_seconds < 600
    md, js = report.write(tmp_path)
    assert json.loads(js.read_text())["result"] == PASS and "**PASS**" in md.read_text()


def test_s3_recover_fails_when_the_canary_is_lost(clients: Clients) -> None:
    def lose_everything(s3: Any, bucket: str, key: str) -> None:
        for v in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []):
            s3.delete_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])

    report = s3_recover(clients, REGION, DrTargets(), fault=lose_everything)
    assert report.result == FAIL
    assert any(s.status == FAIL and "data was lost" in s.detail for s in report.steps)


def test_s3_recover_measures_rpo_from_the_writes(clients: Clients) -> None:
    """The fault also destroys the newest good version: the older survivor comes back, and the RPO
    is the time between the two writes, not 0."""

    def lose_the_newest(s3: Any, bucket: str, key: str) -> None:
        newest = max(s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"], key=lambda v: v["LastModified"])
        s3.delete_object(Bucket=bucket, Key=key, VersionId=newest["VersionId"])

    report = s3_recover(clients, REGION, DrTargets(), fault=lose_the_newest)
    steps = {s.name: s.status for s in report.steps}
    assert steps["canary survived"] == FAIL and steps["RPO"] == FAIL
    assert report.rpo_seconds is not None and report.rpo_seconds > 0 and report.result == FAIL


def test_a_copy_that_is_not_deleted_fails_the_restore(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients.rds, "delete_db_cluster", lambda **kw: {})  # the deletion never happens
    report = restore(clients, REGION, DrTargets(), sleep=lambda _: None)
    step = next(s for s in report.steps if s.name == "delete the restored copy")
    assert step.status == FAIL and "delete it by hand" in step.detail


def test_s3_recover_fails_when_rto_is_over_target(clients: Clients) -> None:
    def slow_fault(s3: Any, bucket: str, key: str) -> None:
        import time

        s3.put_object(Bucket=bucket, Key=key, Body=b"corrupted")
        time.sleep(1.2)

    report = s3_recover(clients, REGION, DrTargets(recover_rto_seconds=1))
    assert report.result == PASS  # the same drill passes against a reachable target...
    slow = s3_recover(clients, REGION, DrTargets(recover_rto_seconds=1), fault=slow_fault)
    assert slow.result == FAIL  # ...and fails when recovery takes longer than the target
    assert next(s for s in slow.steps if s.name == "RTO").status == FAIL


def test_db_failover_moves_the_writer_to_another_az_but_cannot_pass_on_the_emulator(clients: Clients) -> None:
    report = db_failover(clients, REGION, DrTargets(), sleep=lambda _: None)
    statuses = {s.name: s.status for s in report.steps}
    assert statuses["writer serves again"] == PASS and statuses["RTO"] == PASS
    assert statuses["write canary"] == NOT_EMULATED and statuses["canary survived (RPO)"] == NOT_EMULATED
    assert report.result == PARTIAL  # an emulator gap is never reported as a pass
    cluster = clients.rds.describe_db_clusters(DBClusterIdentifier=f"trustbase-{REGION}")["DBClusters"][0]
    writer = next(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"])
    assert writer != f"trustbase-{REGION}a"


def test_db_failover_fails_when_the_writer_never_comes_back(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients.rds, "failover_db_cluster", lambda **_: None)  # the failover silently never happens
    report = db_failover(clients, REGION, DrTargets(), timeout=0.05, interval=0.01, sleep=lambda _: None)
    assert report.result == FAIL
    assert any(s.name == "writer serves again" and s.status == FAIL for s in report.steps)


def test_dry_run_changes_nothing(clients: Clients) -> None:
    report = s3_recover(clients, REGION, DrTargets(), dry_run=True)
    assert report.result == PARTIAL and "would write" in report.steps[0].detail
    assert clients.s3.list_object_versions(Bucket=BUCKET).get("Versions") is None
    before = clients.rds.describe_db_clusters()["DBClusters"][0]["DBClusterMembers"]
    db_failover(clients, REGION, DrTargets(), dry_run=True)
    assert clients.rds.describe_db_clusters()["DBClusters"][0]["DBClusterMembers"] == before


def test_missing_deployment_is_a_clear_error(tmp_path: Path) -> None:
    from dr_drill import DrillError

    with mock_aws():
        s = boto3.Session(region_name=REGION)
        empty = Clients(ssm=s.client("ssm"), s3=s.client("s3"), rds=s.client("rds"))
        with pytest.raises(DrillError, match="/trustbase/data/customer-bucket-name not found"):
            s3_recover(empty, REGION, DrTargets())


def test_cli_refuses_a_real_account_without_confirmation(
    clients: Clients, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No --endpoint-url means real AWS (moto stands in for STS here): confirmation is required.
    assert main(["s3-recover", "--region", REGION, "--out-dir", str(tmp_path)]) == 2
    assert "re-run with --confirm 123456789012/eu-west-1" in capsys.readouterr().err
    assert not list(tmp_path.glob("*"))
    assert (
        main(["s3-recover", "--region", REGION, "--out-dir", str(tmp_path), "--confirm", "123456789012/eu-west-1"]) == 0
    )
    assert (tmp_path / "drill-s3-recover-eu-west-1.json").exists()


def test_cli_on_aws_requires_the_sql_canary_for_aurora_drills(
    clients: Clients, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    confirmed = ["--region", REGION, "--out-dir", str(tmp_path), "--confirm", "123456789012/eu-west-1"]
    with pytest.raises(SystemExit):
        main(["db-failover", *confirmed])
    assert "pass --db-ca-bundle" in capsys.readouterr().err
    assert not list(tmp_path.glob("*"))  # nothing was failed over


def test_sql_canary_writes_and_reads_on_postgresql(pg_server: Any, pg_database: str) -> None:
    from contract import DR_DB_USER
    from dr_drill.sql_canary import SqlCanary

    canary = SqlCanary(lambda: pg_server.connect(pg_database, user=DR_DB_USER))
    canary_id, written_at = canary.write()
    assert canary.read(canary_id) == written_at and canary.newest() == written_at
    assert canary.read("00000000-0000-4000-8000-000000000000") is None


def test_cli_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["s3-recover", "--region", "eu-west-1", "--endpoint-url", "http://10.0.0.5:5000"])
    assert "not on this machine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["s3-recover", "--region", "sa-east-1"])
    assert "not a configured trustbase region" in capsys.readouterr().err


def test_restore_measures_rpo_and_deletes_the_copy(clients: Clients) -> None:
    report = restore(clients, REGION, DrTargets(), sleep=lambda _: None)
    statuses = {st.name: st.status for st in report.steps}
    assert statuses["newest AWS Backup recovery point"] == NOT_EMULATED  # moto has no recovery points
    assert statuses["restored cluster available"] == PASS and statuses["RPO"] == PASS
    assert report.rpo_seconds is not None and report.rpo_seconds <= 300
    assert report.result == PARTIAL
    remaining = {c["DBClusterIdentifier"] for c in clients.rds.describe_db_clusters()["DBClusters"]}
    assert remaining == {f"trustbase-{REGION}"}  # the drill cleaned up its copy


def test_restore_fails_when_rpo_is_over_target(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    real = clients.rds.describe_db_clusters

    def lagging_source(**kwargs: Any) -> Any:  # continuous backup 10 minutes behind
        out = real(**kwargs)
        for c in out["DBClusters"]:
            c["LatestRestorableTime"] = datetime.now(UTC) - timedelta(minutes=10)
        return out

    monkeypatch.setattr(clients.rds, "describe_db_clusters", lagging_source)
    report = restore(clients, REGION, DrTargets(), sleep=lambda _: None)
    rpo = next(st for st in report.steps if st.name == "RPO")
    assert rpo.status == FAIL and report.rpo_seconds is not None and report.rpo_seconds >= 600
    assert report.result == FAIL


def test_az_loss_without_fis_fails_over_itself_and_says_what_was_not_emulated(clients: Clients) -> None:
    report = az_loss(clients, REGION, DrTargets(), sleep=lambda _: None)
    statuses = {st.name: st.status for st in report.steps}
    assert statuses["isolate the AZ's subnets (FIS)"] == NOT_EMULATED
    assert statuses["fail Aurora over (FIS stand-in)"] == PASS and statuses["writer serves again"] == PASS
    assert report.result == PARTIAL
    cluster = clients.rds.describe_db_clusters(DBClusterIdentifier=f"trustbase-{REGION}")["DBClusters"][0]
    writer = next(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"])
    assert not writer.endswith("a")  # the writer left the lost AZ


def test_restore_turns_iam_database_authentication_on_for_the_copy(clients: Clients) -> None:
    """The source here has IAM auth off, and moto's restore applies the request's flag: the copy has
    it only because the drill asks (on AWS the restored cluster's default is off, so the canary
    could not log in to it)."""
    report = restore(clients, REGION, DrTargets(), sleep=lambda _: None)
    statuses = {st.name: st.status for st in report.steps}
    assert statuses["restored cluster accepts IAM database authentication"] == PASS


def test_a_copy_without_iam_database_authentication_fails_the_drill(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = clients.rds.restore_db_cluster_to_point_in_time

    def without_the_flag(**kwargs: Any) -> Any:  # the request the drill sent before the fix
        kwargs.pop("EnableIAMDatabaseAuthentication")
        return real(**kwargs)

    monkeypatch.setattr(clients.rds, "restore_db_cluster_to_point_in_time", without_the_flag)
    report = restore(clients, REGION, DrTargets(), sleep=lambda _: None)
    step = next(st for st in report.steps if st.name == "restored cluster accepts IAM database authentication")
    assert step.status == FAIL and report.result == FAIL


def test_each_endpoint_goes_through_its_own_port_forward() -> None:
    from dr_drill.sql_canary import iam_canary_factory

    source, copy = (
        "trustbase-eu-west-1.cluster-x.eu-west-1.rds.amazonaws.com",
        "drill-copy.cluster-x.eu-west-1.rds.amazonaws.com",
    )
    only_source = iam_canary_factory(None, ca_bundle="rds.pem", tunnel="127.0.0.1:15432", copy_id="drill-copy")
    only_source(source, 5532)  # routed to the source's forward
    with pytest.raises(ValueError, match="--db-copy-tunnel"):
        only_source(copy, 5532)  # never through the source's forward
    both = iam_canary_factory(
        None, ca_bundle="rds.pem", tunnel="127.0.0.1:15432", copy_tunnel="127.0.0.1:15433", copy_id="drill-copy"
    )
    assert both(copy, 5532).host == copy


def test_cli_refuses_a_restore_through_one_tunnel(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dr_drill.__main__.boto3.Session", lambda **kw: _FakeSession())
    with pytest.raises(SystemExit):
        main(
            [
                "restore",
                "--region",
                REGION,
                "--confirm",
                f"123456789012/{REGION}",
                "--db-ca-bundle",
                "rds.pem",
                "--db-tunnel",
                "127.0.0.1:15432",
            ]
        )
    assert "--db-copy-tunnel" in capsys.readouterr().err


class _FakeSession:
    def client(self, service: str, **kw: Any) -> Any:
        class Sts:
            def get_caller_identity(self) -> dict[str, str]:
                return {"Account": "123456789012"}

        return Sts() if service == "sts" else object()
