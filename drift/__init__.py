"""Drift detection: does what runs still match what was approved and deployed?

For one region (scheduled in GitHub Actions, with the region's read-only pipeline role):
1. CloudFormation drift detection on every trustbase stack of the region (DetectStackDrift, then
   DescribeStackDriftDetectionStatus until it ends, then DescribeStackResourceDrifts for the
   MODIFIED and DELETED resources, with each property's expected and actual value);
2. `verify` (read-only), which judges what drift detection does not compare, such as properties
   CloudFormation never set and the posture predicates the gates apply to the templates;
3. on any drift, failed detection or failed check, one message to the region's alerts topic that
   names each resource and property;
4. a report: <out-dir>/drift-<region>.md and .json.

CloudFormation compares only the properties a template sets explicitly, skips resource types that
do not support drift detection (reported NOT_CHECKED), and reads each resource with the caller's
permissions (CloudFormation user guide, "Detect unmanaged configuration changes to stacks and
resources").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

# DescribeStackDriftDetectionStatus.DetectionStatus and StackDriftStatus (CloudFormation API reference).
IN_PROGRESS = "DETECTION_IN_PROGRESS"
FAILED = "DETECTION_FAILED"
DRIFTED = "DRIFTED"
# Resource drift statuses worth an alert (IN_SYNC and NOT_CHECKED are not).
ALERTING = ["MODIFIED", "DELETED"]
SUBJECT_CHARS = 100  # SNS Publish: Subject "must be less than 100 characters"
MESSAGE_BYTES = 256 * 1024  # SNS Publish: Message at most 256 KB


@dataclass(frozen=True)
class PropertyDrift:
    path: str
    expected: str
    actual: str
    difference: str  # ADD, REMOVE, NOT_EQUAL


@dataclass(frozen=True)
class ResourceDrift:
    stack: str
    logical_id: str
    physical_id: str
    type: str
    status: str  # MODIFIED, DELETED
    properties: tuple[PropertyDrift, ...] = ()


@dataclass
class StackResult:
    stack: str
    status: str  # IN_SYNC, DRIFTED, NOT_CHECKED, DETECTION_FAILED, NOT_DEPLOYED, UNAVAILABLE
    detail: str = ""
    drifted: list[ResourceDrift] = field(default_factory=list)


@dataclass
class DriftReport:
    region: str
    started_at: str
    stacks: list[StackResult] = field(default_factory=list)
    verify_failures: list[str] = field(default_factory=list)
    verify_counts: dict[str, int] = field(default_factory=dict)
    alert_message_id: str = ""
    alert_error: str = ""

    @property
    def problems(self) -> list[str]:
        """One line per drifted property, deleted resource, stack that could not be checked and
        failed verify check: what the alert says."""
        out: list[str] = []
        for s in self.stacks:
            if s.status in (FAILED, "UNAVAILABLE", "NOT_DEPLOYED"):
                out.append(f"{s.stack}: drift not checked ({s.status}): {s.detail}")
            for r in s.drifted:
                where = f"{s.stack}/{r.logical_id} ({r.type}, {r.physical_id})"
                if r.status == "DELETED":
                    out.append(f"{where}: DELETED outside CloudFormation")
                for p in r.properties:
                    out.append(f"{where}: {p.path} {p.difference}: expected {p.expected}, actual {p.actual}")
                if r.status == "MODIFIED" and not r.properties:
                    out.append(f"{where}: MODIFIED")
        out += [f"verify FAIL: {f}" for f in self.verify_failures]
        return out

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "problems": self.problems}

    def to_markdown(self) -> str:
        lines = [f"# Drift report: {self.region}", "", f"Started {self.started_at}.", ""]
        lines += ["| stack | drift status | detail |", "|---|---|---|"]
        lines += [f"| {s.stack} | {s.status} | {s.detail.replace('|', '/')} |" for s in self.stacks]
        lines += ["", f"verify: {', '.join(f'{k} {v}' for k, v in self.verify_counts.items()) or 'not run'}", ""]
        if self.problems:
            lines += ["## Problems (sent to the alerts topic)", ""] + [f"- {p}" for p in self.problems]
        else:
            lines.append("No drift and no failed check.")
        if self.alert_message_id:
            lines += ["", f"Alert published: message {self.alert_message_id}."]
        if self.alert_error:
            lines += ["", f"**The alert could not be sent**: {self.alert_error}"]
        return "\n".join(lines) + "\n"


def _unavailable(exc: Exception) -> bool:
    """The endpoint does not offer drift detection at all (an emulator), as opposed to an error."""
    text = str(exc)
    return any(s in text for s in ("not yet implemented", "InvalidAction", "not valid for this web service"))


def start(cloudformation: Any, stack: str) -> str | StackResult:
    """Start drift detection of one stack: its detection ID, or the result when it cannot start
    (a stack that does not exist, an endpoint without drift detection, or any other error, such as
    a stack in the middle of an update or a missing permission: reported, never raised)."""
    try:
        detection_id: str = cloudformation.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]
        return detection_id
    except ClientError as exc:
        if "does not exist" in str(exc):
            return StackResult(stack, "NOT_DEPLOYED", "the stack does not exist in this region")
        if _unavailable(exc):
            return StackResult(stack, "UNAVAILABLE", f"this endpoint has no drift detection: {exc}")
        return StackResult(stack, FAILED, f"drift detection could not start: {exc}")
    except (BotoCoreError, ResponseParserError) as exc:  # an emulator without it answers with an HTML 500
        return StackResult(stack, "UNAVAILABLE", f"this endpoint has no drift detection: {exc}")


def finish(
    cloudformation: Any,
    stack: str,
    detection_id: str,
    *,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
) -> StackResult:
    """Wait for a started detection (until `deadline`, time.monotonic()) and collect its drifts."""
    try:
        while True:
            status = cloudformation.describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
            if status["DetectionStatus"] != IN_PROGRESS:
                break
            if time.monotonic() > deadline:
                return StackResult(stack, FAILED, f"detection {detection_id} still running at the deadline")
            sleep(5)
        result = StackResult(
            stack,
            FAILED if status["DetectionStatus"] == FAILED else status.get("StackDriftStatus", "UNKNOWN"),
            status.get("DetectionStatusReason", ""),
        )
        # A failed detection may still have checked most resources: their drift counts all the same.
        if status.get("StackDriftStatus") == DRIFTED or status["DetectionStatus"] == FAILED:
            result.drifted = list(_drifted_resources(cloudformation, stack))
        return result
    except (ClientError, BotoCoreError) as exc:
        return StackResult(stack, FAILED, f"drift detection could not be read: {exc}")


def detect_stacks(
    client_for: Callable[[str], Any],
    stacks: list[tuple[str, str]],
    *,
    timeout: float = 1800,
    sleep: Callable[[float], None] = time.sleep,
) -> list[StackResult]:
    """Drift detection of every (stack, region): all started first, so they run at the same time
    in CloudFormation, then each awaited; `timeout` seconds for all of them."""
    started = [(name, region, start(client_for(region), name)) for name, region in stacks]
    deadline = time.monotonic() + timeout
    return [
        begun
        if isinstance(begun, StackResult)
        else finish(client_for(region), name, begun, deadline=deadline, sleep=sleep)
        for name, region, begun in started
    ]


def _drifted_resources(cloudformation: Any, stack: str) -> Iterable[ResourceDrift]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"StackName": stack, "StackResourceDriftStatusFilters": ALERTING}
        if token:
            kwargs["NextToken"] = token
        page = cloudformation.describe_stack_resource_drifts(**kwargs)
        for d in page["StackResourceDrifts"]:
            yield ResourceDrift(
                stack=stack,
                logical_id=d["LogicalResourceId"],
                physical_id=d.get("PhysicalResourceId", ""),
                type=d["ResourceType"],
                status=d["StackResourceDriftStatus"],
                properties=tuple(
                    PropertyDrift(p["PropertyPath"], p["ExpectedValue"], p["ActualValue"], p["DifferenceType"])
                    for p in d.get("PropertyDifferences", [])
                ),
            )
        token = page.get("NextToken")
        if not token:
            return


def alert(sns: Any, topic_arn: str, report: DriftReport) -> str:
    """One message naming every problem; returns its message ID."""
    subject = f"trustbase drift {report.region}: {len(report.problems)} problem(s)"[: SUBJECT_CHARS - 1]
    body = "\n".join(
        [f"Drift detection and verify in {report.region} ({report.started_at}) found:", "", *report.problems]
    )
    encoded = body.encode()
    if len(encoded) > MESSAGE_BYTES - 200:
        body = encoded[: MESSAGE_BYTES - 200].decode(errors="ignore") + "\n... cut: see the run's drift report"
    message_id: str = sns.publish(TopicArn=topic_arn, Subject=subject, Message=body)["MessageId"]
    return message_id


def write(report: DriftReport, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"drift-{report.region}.json").write_text(json.dumps(report.to_json(), indent=1, default=str))
    path = out_dir / f"drift-{report.region}.md"
    path.write_text(report.to_markdown())
    return path


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
