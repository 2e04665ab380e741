"""A real local deploy of one region (the session's synthesized assembly) to the patched moto
server over HTTPS, read back and judged by `verify` resource by resource, then the DR drills
against it. Includes what must FAIL: drift planted after deploy (a bucket's encryption, a role's
boundary, HSTS, key rotation), a resource type the emulator silently skips, lost canaries, RTOs
over target."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from config import DrTargets
from dr_drill import FAIL, NOT_EMULATED, PARTIAL, PASS, Clients, az_loss, db_failover, restore, s3_recover
from local_aws import emulation
from local_aws.__main__ import main as local_main
from local_aws.__main__ import verify_local
from local_aws.assembly import stacks_in_order
from local_aws.deploy import LocalAws, RegionDeployment, deploy_region
from local_aws.emulator import running_emulator
from local_aws.patches import BY_NAME
from tests.conftest import Assembly
from verify import PATCHED, Report, verify_region
from verify.__main__ import main as verify_main
from verify.readonly import ReadOnlySession

REGION = "eu-west-1"


@dataclass
class Deployed:
    endpoint: str
    deployment: RegionDeployment
    report: Report
    assembly: Assembly

    def aws(self) -> LocalAws:
        return LocalAws(self.endpoint, REGION)

    def clients(self) -> Clients:
        a = self.aws()
        return Clients(
            ssm=a.client("ssm"), s3=a.client("s3"), rds=a.client("rds"), backup=a.client("backup"), fis=a.client("fis")
        )

    def verify(self, *parts: str) -> Report:
        session = ReadOnlySession(REGION, endpoint_url=self.endpoint, session=self.aws().session)
        return verify_region(
            session, REGION, emulation=emulation.emulation_for(self.deployment), parts=parts, log=lambda _: None
        )

    def physical(self, part: str, lid_prefix: str, rtype: str) -> tuple[str, str]:
        stack = f"trustbase-{REGION}-{part}"
        listed = self.aws().client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
        found = [r for r in listed if r["LogicalResourceId"].startswith(lid_prefix) and r["ResourceType"] == rtype]
        assert len(found) == 1, [r["LogicalResourceId"] for r in found]
        return found[0]["LogicalResourceId"], found[0]["PhysicalResourceId"]


@pytest.fixture(scope="module")
def deployed(assembly: Assembly, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with running_emulator() as endpoint:
        deployment = deploy_region(endpoint, stacks_in_order(assembly.outdir, [REGION]), REGION)
        report = verify_local(endpoint, deployment, tmp_path_factory.mktemp("verify"))
        yield Deployed(endpoint, deployment, report, assembly)


def test_every_stack_deploys(deployed: Deployed) -> None:
    assert deployed.deployment.ok, deployed.deployment.to_markdown()
    assert [s.name.rsplit("-", 1)[-1] for s in deployed.deployment.stacks] == [
        "keys",
        "network",
        "data",
        "migrations",
        "audit",
        "edge",
        "detection",
        "lifecycle",
        "cicd",
    ]


def test_verify_finds_nothing_wrong_and_says_what_it_could_not_see(deployed: Deployed) -> None:
    report = deployed.report
    assert report.complete and report.result == PASS, [r for r in report.rows if r.status == FAIL]
    counts = report.counts()
    assert counts[PASS] > 100 and counts[PATCHED] > 50 and counts[NOT_EMULATED] > 20
    for row in report.rows:
        if row.status == PATCHED:  # names the patch whose write it proves
            named = re.search(r"(?:written by|created by) patch ([a-z0-9.-]+)", row.detail)
            assert named and named.group(1) in BY_NAME, row
        if row.status == NOT_EMULATED:
            assert len(row.detail) > 20, row  # says why


def test_every_logical_resource_is_accounted_for(deployed: Deployed) -> None:
    for stack in deployed.report.stacks:
        template = deployed.assembly.template(stack)
        checked = {r.resource for r in deployed.report.rows if r.stack == stack}
        resources = {lid for lid, r in template["Resources"].items() if r["Type"] != "AWS::CDK::Metadata"}
        assert not resources - checked, f"{stack}: no row for {sorted(resources - checked)}"


@pytest.mark.parametrize(
    ("check", "status", "count"),
    [
        # moto's own values, read from its service APIs: PASS
        # 26 roles: 22 before elevation, plus the customer-data-read elevation, the broker, its steps and workflow
        ("kms.key", PASS, 6),
        ("kms.rotation", PASS, 6),
        ("iam.boundary", PASS, 26),
        ("iam.trust", PASS, 26),
        ("s3.encryption", PASS, 4),
        ("elbv2.tls_policy", PASS, 1),
        ("elbv2.redirect", PASS, 1),
        ("ec2.flow_log", PASS, 1),
        ("lambda.vpc", PASS, 6),
        ("sqs.cmk", PASS, 5),
        ("logs.retention", PASS, 14),
        # values that exist in the emulator only because a patch of ours wrote them: PATCHED, never PASS
        ("s3.versioning", PATCHED, 4),
        ("s3.public_access_block", PATCHED, 4),
        ("s3.tls_only", PATCHED, 4),
        ("s3.lifecycle", PATCHED, 4),
        ("s3.object_lock", PATCHED, 1),
        ("elbv2.hsts", PATCHED, 1),
        ("rds.cluster.encryption", PATCHED, 1),
        ("rds.cluster.azs", PATCHED, 1),
        ("backup.vault.lock", PATCHED, 1),
        ("lambda.cmk", PATCHED, 8),
        ("lambda.tracing", PATCHED, 8),
        ("sqs.tls_only", PATCHED, 5),
        ("sfn.cmk", PATCHED, 2),
        ("ec2.security_group", PATCHED, 6),
        ("logs.cmk", PATCHED, 14),
        ("iam.attachments", PATCHED, 26),
        ("lambda.url_auth", PATCHED, 1),
        ("s3.bucket_policy", PATCHED, 4),
        # what moto cannot show at all
        ("lambda.dlq", NOT_EMULATED, 5),
        ("rds.instance.performance_insights", NOT_EMULATED, 3),
        ("AWS::CloudTrail::Trail.exists", NOT_EMULATED, 1),
        ("AWS::WAFv2::WebACL.exists", NOT_EMULATED, 1),
    ],
)
def test_each_property_reads_back_with_its_honest_status(
    deployed: Deployed, check: str, status: str, count: int
) -> None:
    rows = [r for r in deployed.report.rows if r.check == check]
    assert [r.status for r in rows] == [status] * count, rows


def test_a_link_carrying_a_value_of_a_patched_model_is_patched_not_pass(deployed: Deployed) -> None:
    """The cluster endpoint exists in the emulator only because our cluster model created it: the
    SSM link publishing it proves the patch, not AWS."""
    rows = {
        r.detail.split(" = ")[0].rsplit("; read back: ", 1)[-1]: r
        for r in deployed.report.rows
        if r.check == "ssm.parameter"
    }
    endpoint = rows["/trustbase/data/cluster-endpoint"]
    assert endpoint.status == PATCHED and "rds.cluster-model" in endpoint.detail
    assert rows["/trustbase/keys/objects-key-arn"].status == PASS  # a key ARN: moto's own


# ------------------------------------------------------------------------------ planted drift


def _bucket_encryption(d: Deployed) -> tuple[str, str, str, Callable[[], None]]:
    lid, bucket = d.physical("data", "CustomerDataBucket", "AWS::S3::Bucket")
    s3 = d.aws().client("s3")
    before = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    return (
        "data",
        lid,
        "s3.encryption",
        lambda: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=before),
    )


def _role_boundary(d: Deployed) -> tuple[str, str, str, Callable[[], None]]:
    lid, role = d.physical("edge", "AppTierTaskRole", "AWS::IAM::Role")
    iam = d.aws().client("iam")
    boundary = iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    iam.delete_role_permissions_boundary(RoleName=role)
    return (
        "edge",
        lid,
        "iam.boundary",
        lambda: iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=boundary),
    )


def _hsts(d: Deployed) -> tuple[str, str, str, Callable[[], None]]:
    lid, listener = d.physical("edge", "PublicEndpointAlbHttps", "AWS::ElasticLoadBalancingV2::Listener")
    elb, key = d.aws().client("elbv2"), "routing.http.response.strict_transport_security.header_value"
    before = next(
        a["Value"] for a in elb.describe_listener_attributes(ListenerArn=listener)["Attributes"] if a["Key"] == key
    )
    elb.modify_listener_attributes(ListenerArn=listener, Attributes=[{"Key": key, "Value": ""}])
    return (
        "edge",
        lid,
        "elbv2.hsts",
        lambda: elb.modify_listener_attributes(ListenerArn=listener, Attributes=[{"Key": key, "Value": before}]),
    )


def _key_rotation(d: Deployed) -> tuple[str, str, str, Callable[[], None]]:
    lid, key = d.physical("keys", "ObjectsKey", "AWS::KMS::Key")
    kms = d.aws().client("kms")
    kms.disable_key_rotation(KeyId=key)
    return "keys", lid, "kms.rotation", lambda: kms.enable_key_rotation(KeyId=key)


def _admin_attached(d: Deployed) -> tuple[str, str, str, Callable[[], None]]:
    lid, role = d.physical("edge", "AppTierTaskRole", "AWS::IAM::Role")
    iam, admin = d.aws().client("iam"), "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.attach_role_policy(RoleName=role, PolicyArn=admin)
    return "edge", lid, "iam.attachments", lambda: iam.detach_role_policy(RoleName=role, PolicyArn=admin)


def _bucket_policy_widened(d: Deployed) -> tuple[str, str, str, Callable[[], None]]:
    lid, bucket = d.physical("data", "CustomerDataBucketPolicy", "AWS::S3::BucketPolicy")
    s3 = d.aws().client("s3")
    before = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    doc = json.loads(before)
    doc["Statement"].append(
        {
            "Sid": "Planted",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))
    return "data", lid, "s3.bucket_policy", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=before)


@pytest.mark.parametrize(
    "plant",
    [_bucket_encryption, _role_boundary, _hsts, _key_rotation, _admin_attached, _bucket_policy_widened],
    ids=[
        "bucket-encryption",
        "role-boundary",
        "hsts-removed",
        "key-rotation-off",
        "admin-policy-attached",
        "bucket-policy-widened",
    ],
)
def test_drift_planted_after_deploy_is_a_fail_naming_the_resource(deployed: Deployed, plant: Any) -> None:
    part, lid, check, undo = plant(deployed)
    try:
        report = deployed.verify(part)
    finally:
        undo()
    failed = [(r.resource, r.check) for r in report.rows if r.status == FAIL]
    assert failed == [(lid, check)], failed
    row = next(r for r in report.rows if r.status == FAIL)
    assert row.physical and row.stack == f"trustbase-{REGION}-{part}" and row.detail
    again = deployed.verify(part)
    assert again.result == PASS  # restored: the same check is compliant again


def test_a_resource_the_emulator_skips_fails_unless_listed(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    aws = deployed.aws()
    # moto has no CloudFormation model for this type: the stack still says CREATE_COMPLETE.
    template = {
        "Resources": {
            "Skipped": {"Type": "AWS::Pinpoint::App", "Properties": {"Name": "x"}},
            "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
        }
    }
    aws.client("cloudformation").create_stack(
        StackName=f"trustbase-{REGION}-gaptest", TemplateBody=json.dumps(template)
    )
    statuses = {(r.resource, r.status) for r in deployed.verify("gaptest").rows}
    assert {("Skipped", FAIL), ("Gateway", PASS)} <= statuses
    # listed as not emulated: reported, not failed; a listed type the emulator does create is stale: FAIL
    monkeypatch.setitem(emulation.NOT_EMULATED_TYPES, "AWS::Pinpoint::App", "test: not in moto")
    monkeypatch.setitem(emulation.NOT_EMULATED_TYPES, "AWS::EC2::InternetGateway", "test: stale entry")
    statuses = {(r.resource, r.status) for r in deployed.verify("gaptest").rows}
    assert {("Skipped", NOT_EMULATED), ("Gateway", FAIL)} <= statuses


# ------------------------------------------------------------------------------ the verify command


def test_verify_command_against_the_deployment_reads_only_and_writes_its_report(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The live command, pointed at the emulator: it knows nothing of moto, so it never says PATCHED
    or NOT_EMULATED. What moto cannot create is, for it, missing: FAIL, exit 1."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    part, lid, check, undo = _key_rotation(deployed)  # drift planted, seen through the command
    try:
        code = verify_main(["--region", REGION, "--endpoint-url", deployed.endpoint, "--out-dir", str(tmp_path)])
    finally:
        undo()
    assert code == 1
    data = json.loads((tmp_path / f"verify-{REGION}.json").read_text())
    assert data["account"] == "123456789012" and data["target"] == "live account" and data["complete"]
    assert data["progress"] == "8/8 stacks" and data["finished_at"] >= data["started_at"]
    assert data["counts"]["PATCHED"] == 0 and data["counts"]["NOT_EMULATED"] == 0
    gaps = set(emulation.NOT_EMULATED_TYPES)
    planted = [
        r
        for r in data["rows"]
        if r["status"] == "FAIL" and r["type"] not in gaps and r["check"] not in emulation.NOT_EMULATED_CHECKS
    ]
    assert [(r["stack"], r["resource"], r["check"]) for r in planted] == [(f"trustbase-{REGION}-{part}", lid, check)]
    md = (tmp_path / f"verify-{REGION}.md").read_text()
    assert f"Observed in account 123456789012 (live account), {data['started_at']}" in md
    assert "verify eu-west-1 (account 123456789012)" in capsys.readouterr().out


def test_make_local_entry_point_deploys_verifies_drills_and_prints_the_four_counts(
    assembly: Assembly, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = local_main(["--cdk-out", str(assembly.outdir), "--regions", REGION, "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    header = next(line for line in out.splitlines() if line.startswith("region"))
    assert header.split()[:6] == ["region", "deploy", "PASS", "FAIL", "PATCHED", "NOT_EMULATED"]
    row = next(line for line in out.splitlines() if line.startswith(REGION)).split()
    assert row[1] == "ok" and row[3] == "0" and int(row[2]) > 100 and int(row[4]) > 50 and int(row[5]) > 20
    verified = json.loads((tmp_path / f"local-verify-{REGION}.json").read_text())
    assert verified["result"] == PASS and verified["target"].startswith("local emulator")
    results = {
        s: json.loads((tmp_path / f"drill-{s}-{REGION}.json").read_text())["result"]
        for s in ("s3-recover", "db-failover", "az-loss", "restore")
    }
    assert results == {"s3-recover": PASS, "db-failover": PARTIAL, "az-loss": PARTIAL, "restore": PARTIAL}


def test_make_local_refuses_a_missing_assembly_or_region(assembly: Assembly, tmp_path: Path) -> None:
    assert local_main(["--cdk-out", str(tmp_path / "nothing")]) == 2
    assert local_main(["--cdk-out", str(assembly.outdir), "--regions", "mars-north-1"]) == 2


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
    # 0 s is a target no valid config can hold (DrTargets refuses it), so the RTO step must fail
    impossible = cast(DrTargets, SimpleNamespace(**{**asdict(DrTargets()), "az_loss_rto_seconds": 0}))
    report = db_failover(deployed.clients(), REGION, impossible, timeout=30, interval=0.2)
    assert report.result == FAIL
    assert {s.name: s.status for s in report.steps}["RTO"] == FAIL


def test_restore_restores_and_removes_the_copy(deployed: Deployed) -> None:
    clients = deployed.clients()
    before = {c["DBClusterIdentifier"] for c in clients.rds.describe_db_clusters()["DBClusters"]}
    report = restore(clients, REGION, DrTargets(), timeout=30, interval=0.2)
    assert report.result == PARTIAL, report.to_markdown()
    assert {s.name: s.status for s in report.steps}["restored cluster encrypted"] == PASS
    assert {c["DBClusterIdentifier"] for c in clients.rds.describe_db_clusters()["DBClusters"]} == before


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
    report = db_failover(
        deployed.clients(),
        REGION,
        DrTargets(),
        timeout=30,
        interval=0.2,
        canary=_canary_factory(pg_server, pg_database),
    )
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
    report = restore(
        deployed.clients(),
        REGION,
        DrTargets(),
        timeout=30,
        interval=0.2,
        canary=_canary_factory(pg_server, pg_database),
    )
    rpo = next(s for s in report.steps if s.name == "RPO")
    assert rpo.status == FAIL and "not the copy's" in rpo.detail and report.result == FAIL


def test_restore_fails_when_the_copy_is_older_than_the_rpo_target(deployed: Deployed, routed: Any) -> None:
    report = restore(
        deployed.clients(), REGION, DrTargets(restore_rpo_seconds=0), timeout=30, interval=0.2, canary=routed
    )
    assert report.result == FAIL and {s.name: s.status for s in report.steps}["RPO"] == FAIL


def test_drift_job_on_the_emulator_with_a_planted_manual_change(deployed: Deployed, tmp_path: Path) -> None:
    """A manual change planted after the deploy (versioning of the customer-data bucket suspended by
    hand): moto has no CloudFormation drift detection, and the report says so for every stack
    (UNAVAILABLE, never IN_SYNC); verify, run by the drift job, catches the change, and the alert
    reaches the region's alerts topic (read back through an SQS subscription on the emulator)."""
    from contract import CICD_PART, STACK_PARTS, Link
    from drift.__main__ import run as drift_run
    from drift.__main__ import targets

    aws = LocalAws(deployed.endpoint, REGION)
    ssm, s3, sqs, sns = aws.client("ssm"), aws.client("s3"), aws.client("sqs"), aws.client("sns")
    bucket = ssm.get_parameter(Name=Link.DATA_BUCKET_NAME.parameter_name)["Parameter"]["Value"]
    topic = ssm.get_parameter(Name=Link.ALERTS_TOPIC_ARN.parameter_name)["Parameter"]["Value"]
    queue = sqs.create_queue(QueueName="drift-test-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    try:
        report = drift_run(
            REGION,
            aws.session,
            tmp_path,
            verify=lambda region, out: verify_local(deployed.endpoint, deployed.deployment, out),
            stacks=targets(deployed.assembly.config, REGION),
            endpoint_url=deployed.endpoint,
        )
    finally:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert [s.stack.rsplit("-", 1)[-1] for s in report.stacks] == [*STACK_PARTS, CICD_PART]
    assert {s.status for s in report.stacks} == {"UNAVAILABLE"}
    assert all("no drift detection" in s.detail for s in report.stacks)
    caught = [f for f in report.verify_failures if bucket in f or "CustomerData" in f]
    assert caught and any("version" in f.lower() for f in caught), report.verify_failures
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1
    delivered = json.loads(messages[0]["Body"])["Message"]
    assert any("version" in line.lower() for line in delivered.splitlines() if "verify FAIL" in line)
    assert "trustbase-eu-west-1-data: drift not checked (UNAVAILABLE)" in delivered
