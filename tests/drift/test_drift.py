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
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

import drift
from drift.__main__ import run
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


def _in_sync(stub: Stubber, stack: str) -> None:
    stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": stack})
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
    stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": stack})
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
    _in_sync(cfn, "trustbase-eu-west-1-keys")
    _drifted(cfn, DATA)
    session.stubbers["ssm"].add_response(
        "get_parameter",
        {"Parameter": {"Name": "/trustbase/audit/alerts-topic-arn", "Type": "String", "Value": TOPIC}},
        {"Name": "/trustbase/audit/alerts-topic-arn"},
    )
    session.stubbers["sns"].add_response(
        "publish", {"MessageId": "m-1"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY}
    )
    for stub in session.stubbers.values():
        stub.activate()
    report = run(
        REGION,
        session,
        tmp_path,
        verify=lambda region, out: _report(_row(PASS), _row(FAIL)),
        parts=("keys", "data"),
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
    _in_sync(session.stubbers["cloudformation"], "trustbase-eu-west-1-keys")
    for stub in session.stubbers.values():
        stub.activate()  # an unexpected SSM or SNS call would raise StubResponseError
    report = run(REGION, session, tmp_path, verify=lambda r, o: _report(_row(PASS)), parts=("keys",))
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
    report = run(REGION, session, tmp_path, verify=lambda r, o: _report(), parts=("cicd",), send_alert=False)
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
    result = drift.detect_stack(session.clients["cloudformation"], DATA, timeout=0.0, sleep=lambda s: None)
    assert result.status == "DETECTION_FAILED" and "still running" in result.detail
