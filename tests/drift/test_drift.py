"""Drift reporting with CloudFormation's real API shapes.

moto 5.2.5 does not implement DetectStackDrift, DescribeStackDriftDetectionStatus or
DescribeStackResourceDrifts (its CloudFormation coverage lists them unchecked), so the detection
path is tested here with botocore's Stubber on real clients: the Stubber validates every request and
every canned response against CloudFormation's, SSM's and SNS's service models, so a wrong
parameter or field name fails the test. The planted manual change on the emulator (where only
verify can see it) is in tests/local_aws/test_local_deploy.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

import drift
from config import AppConfig
from drift.__main__ import run, targets
from verify.report import FAIL, PASS, Report, Row

REGION = "eu-west-1"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:trustbase-alerts"
DATA = "trustbase-eu-west-1-data"
DETECTION = "b78ac9b0-dec1-11e7-a451-50a6d1b8f2a2"


class StubbedSession:
    """A boto3 Session stand-in whose clients are real clients under a Stubber."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        for service in ("cloudformation", "ssm", "sns"):
            client = boto3.client(
                service,
                region_name=REGION,
                aws_access_key_id="x",
                aws_secret_access_key="x",  # never sent
            )
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)

    def client(self, service: str, **_: Any) -> Any:
        return self.clients[service]


def _started(stub: Stubber, stack: str) -> None:
    stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": stack})


def _in_sync(stub: Stubber, stack: str) -> None:
    stub.add_response(
        "describe_stack_drift_detection_status",
        {
            "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{stack}/1",
            "StackDriftDetectionId": DETECTION,
            "StackDriftStatus": "IN_SYNC",
            "DetectionStatus": "DETECTION_COMPLETE",
            "Timestamp": "2026-11-29T03:00:00Z",
        },
        {"StackDriftDetectionId": DETECTION},
    )


def _drifted(stub: Stubber, stack: str) -> None:
    status = {
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{stack}/1",
        "StackDriftDetectionId": DETECTION,
        "Timestamp": "2026-11-29T03:00:00Z",
    }
    stub.add_response(
        "describe_stack_drift_detection_status",
        {**status, "DetectionStatus": "DETECTION_IN_PROGRESS"},
        {"StackDriftDetectionId": DETECTION},
    )
    stub.add_response(
        "describe_stack_drift_detection_status",
        {
            **status,
            "DetectionStatus": "DETECTION_COMPLETE",
            "StackDriftStatus": "DRIFTED",
            "DriftedStackResourceCount": 2,
        },
        {"StackDriftDetectionId": DETECTION},
    )
    stub.add_response(
        "describe_stack_resource_drifts",
        {
            "StackResourceDrifts": [
                {
                    "StackId": status["StackId"],
                    "LogicalResourceId": "CustomerDataBucketD1735C32",
                    "PhysicalResourceId": "trustbase-eu-west-1-data-customerdatabucket",
                    "ResourceType": "AWS::S3::Bucket",
                    "ExpectedProperties": '{"VersioningConfiguration":{"Status":"Enabled"}}',
                    "ActualProperties": '{"VersioningConfiguration":{"Status":"Suspended"}}',
                    "PropertyDifferences": [
                        {
                            "PropertyPath": "/VersioningConfiguration/Status",
                            "ExpectedValue": "Enabled",
                            "ActualValue": "Suspended",
                            "DifferenceType": "NOT_EQUAL",
                        }
                    ],
                    "StackResourceDriftStatus": "MODIFIED",
                    "Timestamp": "2026-11-29T03:00:05Z",
                },
                {
                    "StackId": status["StackId"],
                    "LogicalResourceId": "AccessLogsBucket83982689",
                    "PhysicalResourceId": "trustbase-eu-west-1-data-accesslogs",
                    "ResourceType": "AWS::S3::Bucket",
                    "StackResourceDriftStatus": "DELETED",
                    "Timestamp": "2026-11-29T03:00:05Z",
                },
            ]
        },
        {"StackName": stack, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]},
    )


def _alert_sent(session: StubbedSession, message_id: str) -> None:
    """The alerts topic found through its SSM link, and one message published to it."""
    session.stubbers["ssm"].add_response(
        "get_parameter",
        {"Parameter": {"Name": "/trustbase/audit/alerts-topic-arn", "Type": "String", "Value": TOPIC}},
        {"Name": "/trustbase/audit/alerts-topic-arn"},
    )
    session.stubbers["sns"].add_response(
        "publish", {"MessageId": message_id}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY}
    )


def _report(*rows: Row) -> Report:
    report = Report(region=REGION, account="123456789012", target="test", started_at="2026-11-29T03:00:00Z")
    report.rows.extend(rows)
    return report


def _row(status: str) -> Row:
    return Row(
        stack=DATA,
        resource="AuroraCluster",
        type="AWS::RDS::DBCluster",
        physical="trustbase-eu-west-1",
        check="rds.tls",
        what="the database requires TLS",
        status=status,
    )


def test_drift_and_a_failed_check_raise_one_alert_naming_resource_and_property(tmp_path: Path) -> None:
    session = StubbedSession()
    cfn = session.stubbers["cloudformation"]
    _started(cfn, "trustbase-eu-west-1-keys")  # every detection starts first, then each is awaited
    _started(cfn, DATA)
    _in_sync(cfn, "trustbase-eu-west-1-keys")
    _drifted(cfn, DATA)
    _alert_sent(session, "m-1")
    for stub in session.stubbers.values():
        stub.activate()
    report = run(
        REGION,
        session,
        tmp_path,
        verify=lambda region, out: _report(_row(PASS), _row(FAIL)),
        stacks=[("trustbase-eu-west-1-keys", REGION), (DATA, REGION)],
        sleep=lambda s: None,
    )
    for stub in session.stubbers.values():
        stub.assert_no_pending_responses()
    assert [s.status for s in report.stacks] == ["IN_SYNC", "DRIFTED"]
    problems = report.problems
    assert len(problems) == 3
    assert (
        "trustbase-eu-west-1-data/CustomerDataBucketD1735C32 (AWS::S3::Bucket, trustbase-eu-west-1-data-customerdatabucket): "
        "/VersioningConfiguration/Status NOT_EQUAL: expected Enabled, actual Suspended"
    ) in problems
    assert any("AccessLogsBucket83982689" in p and "DELETED" in p for p in problems)
    assert any(p.startswith("verify FAIL: trustbase-eu-west-1-data/AuroraCluster") for p in problems)
    assert report.alert_message_id == "m-1"
    saved = json.loads((tmp_path / "drift-eu-west-1.json").read_text())
    assert saved["problems"] == problems
    assert "/VersioningConfiguration/Status" in (tmp_path / "drift-eu-west-1.md").read_text()


def test_the_alert_names_every_problem_within_sns_limits() -> None:
    sent: dict[str, Any] = {}

    class Sns:
        def publish(self, **kwargs: Any) -> dict[str, str]:
            sent.update(kwargs)
            return {"MessageId": "m"}

    report = drift.DriftReport(
        region=REGION, started_at="t", verify_failures=[f"check {i} " + "x" * 400 for i in range(1000)]
    )
    assert drift.alert(Sns(), TOPIC, report) == "m"
    assert len(sent["Subject"]) < 100 and "1000 problem(s)" in sent["Subject"]
    assert len(sent["Message"].encode()) <= 256 * 1024 and sent["Message"].endswith("see the run's drift report")


def test_a_clean_region_publishes_nothing(tmp_path: Path) -> None:
    session = StubbedSession()
    _started(session.stubbers["cloudformation"], "trustbase-eu-west-1-keys")
    _in_sync(session.stubbers["cloudformation"], "trustbase-eu-west-1-keys")
    for stub in session.stubbers.values():
        stub.activate()  # an unexpected SSM or SNS call would raise StubResponseError
    report = run(
        REGION,
        session,
        tmp_path,
        verify=lambda r, o: _report(_row(PASS)),
        stacks=[("trustbase-eu-west-1-keys", REGION)],
    )
    assert report.problems == [] and report.alert_message_id == ""


def test_a_failed_detection_and_a_missing_stack_are_problems(tmp_path: Path) -> None:
    session = StubbedSession()
    cfn = session.stubbers["cloudformation"]
    cfn.add_client_error(
        "detect_stack_drift",
        service_error_code="ValidationError",
        service_message="Stack with id trustbase-eu-west-1-cicd does not exist",
        expected_params={"StackName": "trustbase-eu-west-1-cicd"},
    )
    cfn.activate()
    report = run(
        REGION,
        session,
        tmp_path,
        verify=lambda r, o: _report(),
        stacks=[("trustbase-eu-west-1-cicd", REGION)],
        send_alert=False,
    )
    assert report.stacks[0].status == "NOT_DEPLOYED"
    assert report.problems == [
        "trustbase-eu-west-1-cicd: drift not checked (NOT_DEPLOYED): the stack does not exist in this region"
    ]


def test_a_detection_that_never_ends_is_reported_not_awaited_forever() -> None:
    session = StubbedSession()
    stub = session.stubbers["cloudformation"]
    stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": DATA})
    stub.add_response(
        "describe_stack_drift_detection_status",
        {
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/x/1",
            "StackDriftDetectionId": DETECTION,
            "DetectionStatus": "DETECTION_IN_PROGRESS",
            "Timestamp": "2026-11-29T03:00:00Z",
        },
        {"StackDriftDetectionId": DETECTION},
    )
    stub.activate()
    (result,) = drift.detect_stacks(
        lambda region: session.clients["cloudformation"], [(DATA, REGION)], timeout=0.0, sleep=lambda s: None
    )
    assert result.status == "DETECTION_FAILED" and "still running at the deadline" in result.detail


def test_a_failed_detection_still_reports_what_it_checked_across_pages(tmp_path: Path) -> None:
    """DETECTION_FAILED (e.g. one resource could not be read) still lists the drifted resources, over
    every page of DescribeStackResourceDrifts (NextToken)."""
    session = StubbedSession()
    stub = session.stubbers["cloudformation"]
    stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": DATA})
    stub.add_response(
        "describe_stack_drift_detection_status",
        {
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/x/1",
            "StackDriftDetectionId": DETECTION,
            "StackDriftStatus": "DRIFTED",
            "DetectionStatus": "DETECTION_FAILED",
            "DetectionStatusReason": "Failed to detect drift on resources [AuroraCluster]",
            "Timestamp": "2026-11-29T03:00:00Z",
        },
        {"StackDriftDetectionId": DETECTION},
    )
    page = {
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/x/1",
        "ResourceType": "AWS::EC2::SecurityGroup",
        "StackResourceDriftStatus": "MODIFIED",
        "Timestamp": "2026-11-29T03:00:05Z",
        "PropertyDifferences": [
            {
                "PropertyPath": "/SecurityGroupIngress/1",
                "ExpectedValue": "null",
                "ActualValue": '{"CidrIp":"0.0.0.0/0"}',
                "DifferenceType": "ADD",
            }
        ],
    }
    filters = ["MODIFIED", "DELETED"]
    stub.add_response(
        "describe_stack_resource_drifts",
        {"StackResourceDrifts": [{**page, "LogicalResourceId": "AppSg"}], "NextToken": "page-2"},
        {"StackName": DATA, "StackResourceDriftStatusFilters": filters},
    )
    stub.add_response(
        "describe_stack_resource_drifts",
        {"StackResourceDrifts": [{**page, "LogicalResourceId": "AlbSg"}]},
        {"StackName": DATA, "StackResourceDriftStatusFilters": filters, "NextToken": "page-2"},
    )
    stub.activate()
    report = run(REGION, session, tmp_path, verify=lambda r, o: _report(), stacks=[(DATA, REGION)], send_alert=False)
    stub.assert_no_pending_responses()
    assert report.stacks[0].status == "DETECTION_FAILED"
    assert [r.logical_id for r in report.stacks[0].drifted] == ["AppSg", "AlbSg"]
    problems = report.problems
    assert problems[0] == (
        "trustbase-eu-west-1-data: drift not checked (DETECTION_FAILED): Failed to detect drift on resources [AuroraCluster]"
    )
    assert "trustbase-eu-west-1-data/AlbSg (AWS::EC2::SecurityGroup, ): /SecurityGroupIngress/1 ADD" in problems[2]


def test_a_stack_that_cannot_be_checked_and_a_verify_that_cannot_run_are_alerted(tmp_path: Path) -> None:
    session = StubbedSession()
    cfn = session.stubbers["cloudformation"]
    cfn.add_client_error(
        "detect_stack_drift",
        service_error_code="AccessDenied",
        service_message="not authorized to perform: cloudformation:DetectStackDrift",
        expected_params={"StackName": DATA},
    )
    _alert_sent(session, "m-2")
    for stub in session.stubbers.values():
        stub.activate()

    def broken_verify(region: str, out: Path) -> Report:
        raise RuntimeError("throttled")

    report = run(REGION, session, tmp_path, verify=broken_verify, stacks=[(DATA, REGION)])
    assert report.problems == [
        "trustbase-eu-west-1-data: drift not checked (DETECTION_FAILED): drift detection could not start: "
        "An error occurred (AccessDenied) when calling the DetectStackDrift operation: not authorized to perform: "
        "cloudformation:DetectStackDrift",
        "verify FAIL: verify could not run: RuntimeError: throttled",
    ]
    assert report.alert_message_id == "m-2"


def test_the_job_checks_every_stack_its_region_deploys(app_config: AppConfig) -> None:
    """The region's stacks, and trustbase-identity in Identity Center's home region (us-east-1 in the
    shipped config), each in the region where it lives."""
    parts = ["keys", "network", "data", "migrations", "edge", "audit", "detection", "lifecycle", "cicd"]
    assert targets(app_config, "eu-west-1") == [(f"trustbase-eu-west-1-{p}", "eu-west-1") for p in parts]
    assert targets(app_config, "us-east-1")[-1] == ("trustbase-identity", "us-east-1")
    rc = replace(
        app_config.region("eu-west-1"),
        backup=replace(app_config.region("eu-west-1").backup, dr_copy_region="eu-central-1"),
    )
    with_dr = replace(app_config, regions=(rc,))
    assert ("trustbase-eu-west-1-dr-vault", "eu-central-1") in targets(with_dr, "eu-west-1")


def test_an_alert_that_cannot_be_sent_keeps_every_finding_in_the_report(tmp_path: Path) -> None:
    session = StubbedSession()
    cfn = session.stubbers["cloudformation"]
    _started(cfn, DATA)
    _drifted(cfn, DATA)
    session.stubbers["ssm"].add_client_error(
        "get_parameter", service_error_code="AccessDeniedException", service_message="not authorized"
    )
    for stub in session.stubbers.values():
        stub.activate()
    report = run(
        REGION, session, tmp_path, verify=lambda r, o: _report(), stacks=[(DATA, REGION)], sleep=lambda s: None
    )
    assert "AccessDeniedException" in report.alert_error and report.alert_message_id == ""
    saved = json.loads((tmp_path / "drift-eu-west-1.json").read_text())
    assert len(saved["problems"]) == 2 and "AccessDeniedException" in saved["alert_error"]
    assert "The alert could not be sent" in (tmp_path / "drift-eu-west-1.md").read_text()
