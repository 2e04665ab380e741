"""verify's client can only read: every operation of every service it may use is refused before
a request is built, except the listed metadata reads, and none of those reads customer data."""

from __future__ import annotations

import boto3
import pytest
from botocore import xform_name

from verify.readonly import DATA_READS, READ_OPERATIONS, READ_PREFIXES, ReadOnlySession, ReadOnlyViolation

# A closed port: if the guard ever let a call through, it would fail with a connection error
# (not ReadOnlyViolation), and the test would see it.
CLOSED = "https://127.0.0.1:9"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> ReadOnlySession:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return ReadOnlySession("eu-west-1", endpoint_url=CLOSED, session=boto3.Session(region_name="eu-west-1"))


def test_the_allow_list_holds_only_metadata_reads() -> None:
    for service, operations in READ_OPERATIONS.items():
        session = boto3.Session(region_name="eu-west-1")
        model = session.client(service, region_name="eu-west-1").meta.service_model  # type: ignore[call-overload]  # a service named at run time: the stubs type only literal names
        for op in operations:
            assert op in model.operation_names, f"{service}:{op} is not an operation of {service}"
            assert op.startswith(READ_PREFIXES), f"{service}:{op} is not a read"
            assert op not in DATA_READS, f"{service}:{op} reads data"


@pytest.mark.parametrize("service", sorted(READ_OPERATIONS))
def test_every_other_operation_is_refused_before_any_request(session: ReadOnlySession, service: str) -> None:
    client = session.client(service)
    refused = 0
    for op in client.meta.service_model.operation_names:
        if op in READ_OPERATIONS[service]:
            continue
        with pytest.raises(ReadOnlyViolation, match=f"{service}:{op} is not a read-only operation"):
            getattr(client, xform_name(op))()
        refused += 1
    assert refused > 0 and session.calls == []


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("s3", "put_bucket_encryption"),
        ("s3", "get_object"),
        ("s3", "delete_bucket_policy"),
        ("iam", "delete_role_permissions_boundary"),
        ("kms", "disable_key_rotation"),
        ("kms", "decrypt"),
        ("elbv2", "modify_listener_attributes"),
        ("ssm", "put_parameter"),
        ("rds", "modify_db_cluster"),
        ("cloudformation", "delete_stack"),
    ],
)
def test_the_drift_an_attacker_would_plant_cannot_be_planted_through_verify(
    session: ReadOnlySession, service: str, call: str
) -> None:
    with pytest.raises(ReadOnlyViolation):
        getattr(session.client(service), call)()


def test_an_allowed_read_that_would_decrypt_is_refused(session: ReadOnlySession) -> None:
    with pytest.raises(ReadOnlyViolation, match="WithDecryption=True would read a secret"):
        session.client("ssm").get_parameter(Name="/trustbase/data/master-secret-arn", WithDecryption=True)
    with pytest.raises(ReadOnlyViolation, match="lambda:GetFunction is not a read-only operation"):
        session.client("lambda").get_function(FunctionName="f")  # would hand out the code's download URL


def test_services_without_reads_get_no_client(session: ReadOnlySession) -> None:
    for service in ("secretsmanager", "dynamodb", "athena"):
        with pytest.raises(ReadOnlyViolation, match="no read operations are allowed"):
            session.client(service)


def test_an_allowed_read_goes_through_the_guard(session: ReadOnlySession) -> None:
    from botocore.exceptions import EndpointConnectionError, SSLError

    with pytest.raises((EndpointConnectionError, SSLError)):  # reached the network: the guard let it pass
        session.client("sts").get_caller_identity()
    assert session.calls == ["sts:GetCallerIdentity"]
