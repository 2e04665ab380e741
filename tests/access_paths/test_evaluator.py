"""The offline IAM evaluator against the worked examples and match tables of AWS's documentation.

Sources (quoted in the test names' docstrings): IAM User Guide "Policy evaluation logic" (the Carlos
examples, same account and cross-account), "Permissions boundaries for IAM entities" (Shirley,
Nikhil), "Condition operators" and "Multivalued context keys" (the match tables), "Resource"
(the wildcard table); AWS KMS Developer Guide "Key policies" and "Troubleshooting key access"
(Alice, Bob); STS API reference "AssumeRole" (same-account trust).
"""

from __future__ import annotations

from typing import Any

import pytest

from access_paths.evaluator import (
    Policies,
    Policy,
    PolicyError,
    PolicyKind,
    Principal,
    Request,
    condition_holds,
    conditions_hold,
    evaluate,
    parse_policy,
    resource_matches,
)

ACCT = "123456789012"


def doc(kind: PolicyKind, *statements: dict[str, Any], where: str = "test") -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, kind=kind, where=where)


def role(name: str, account: str = ACCT) -> Principal:
    return Principal.role(f"arn:aws:iam::{account}:role/{name}")


def ctx(**values: str | list[str]) -> dict[str, tuple[str, ...]]:
    return {
        k.replace("__", ":").replace("_SLASH_", "/"): tuple(v) if isinstance(v, list) else (v,)
        for k, v in values.items()
    }


# --------------------------------------------------------------------------- Carlos, same account

CARLOS_IDENTITY = doc(
    PolicyKind.IDENTITY,
    {
        "Sid": "AllowS3ListRead",
        "Effect": "Allow",
        "Action": [
            "s3:GetBucketLocation",
            "s3:GetAccountPublicAccessBlock",
            "s3:ListAccessPoints",
            "s3:ListAllMyBuckets",
        ],
        "Resource": "arn:aws:s3:::*",
    },
    {
        "Sid": "AllowS3Self",
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": [
            "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*",
            "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar",
        ],
    },
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)


def carlos_request(resource: str) -> Request:
    return Request(role("carlossalazar"), "s3:PutObject", resource, ACCT)


def test_carlos_same_account_logs_bucket_is_explicitly_denied() -> None:
    """'AWS first checks for a Deny statement ... It finds one'."""
    d = evaluate(
        carlos_request("arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/file.txt"),
        Policies(identity=(CARLOS_IDENTITY,)),
    )
    assert d.effect == "EXPLICIT_DENY"
    assert [r.sid for r in d.denied_by] == ["DenyS3Logs"]


def test_carlos_same_account_own_bucket_is_allowed() -> None:
    d = evaluate(
        carlos_request("arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/file.txt"), Policies(identity=(CARLOS_IDENTITY,))
    )
    assert d.allowed
    assert [r.sid for r in d.allowed_by] == ["AllowS3Self"]


def test_carlos_key_containing_log_is_denied_too() -> None:
    """`*` crosses '/': arn:aws:s3:::*log* also matches catalog.txt in his own bucket."""
    d = evaluate(
        carlos_request("arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/catalog.txt"),
        Policies(identity=(CARLOS_IDENTITY,)),
    )
    assert d.effect == "EXPLICIT_DENY"


def test_same_account_resource_policy_alone_allows_an_unbounded_principal() -> None:
    """'If either the identity-based policy or the resource-based policy within the same account
    allows the request and the other doesn't, the request is still allowed.'"""
    bucket = doc(
        PolicyKind.RESOURCE,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/carlos"},
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::b/*",
        },
    )
    req = Request(role("carlos"), "s3:GetObject", "arn:aws:s3:::b/x", ACCT)
    assert evaluate(req, Policies(resource=bucket)).allowed
    assert not evaluate(req, Policies()).allowed


# --------------------------------------------------------------------------- Carlos, cross account

CROSS_IDENTITY = doc(
    PolicyKind.IDENTITY,
    {"Sid": "AllowS3ListRead", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
    {
        "Sid": "AllowS3ProductionObjectActions",
        "Effect": "Allow",
        "Action": "s3:*Object*",
        "Resource": "arn:aws:s3:::Production/*",
    },
    {
        "Sid": "DenyS3Logs",
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::*log*", "arn:aws:s3:::*log*/*"],
    },
)
PRODUCTION_BUCKET = doc(
    PolicyKind.RESOURCE,
    {
        "Effect": "Allow",
        "Action": ["s3:GetObject*", "s3:PutObject*", "s3:ReplicateObject", "s3:RestoreObject"],
        "Principal": {"AWS": "arn:aws:iam::111111111111:role/carlossalazar"},
        "Resource": "arn:aws:s3:::Production/*",
    },
)


@pytest.mark.parametrize(
    ("action", "resource", "bucket_policy", "allowed"),
    [
        ("s3:PutObject", "arn:aws:s3:::Production/report.csv", PRODUCTION_BUCKET, True),  # both accounts allow
        ("s3:PutObject", "arn:aws:s3:::Production-logs/x", None, False),  # explicit deny (and no bucket policy)
        ("s3:DeleteObject", "arn:aws:s3:::Production/report.csv", PRODUCTION_BUCKET, False),  # bucket: no delete
        ("s3:PutObject", "arn:aws:s3:::Production/report.csv", None, False),  # identity alone is not enough
    ],
)
def test_cross_account_needs_both_sides(
    action: str, resource: str, bucket_policy: Policy | None, allowed: bool
) -> None:
    req = Request(role("carlossalazar", "111111111111"), action, resource, "222222222222")
    assert evaluate(req, Policies(identity=(CROSS_IDENTITY,), resource=bucket_policy)).allowed is allowed


# --------------------------------------------------------------------------- boundaries

SHIRLEY_BOUNDARY = doc(
    PolicyKind.BOUNDARY, {"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*", "ec2:*"], "Resource": "*"}
)
SHIRLEY_IDENTITY = doc(PolicyKind.IDENTITY, {"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"})


@pytest.mark.parametrize("action", ["iam:CreateUser", "s3:GetObject"])
def test_shirley_can_do_nothing(action: str) -> None:
    """'Given these two policies, Shirley does not have permission to perform any operations'."""
    req = Request(role("ShirleyRodriguez"), action, "*", ACCT)
    assert not evaluate(req, Policies(identity=(SHIRLEY_IDENTITY,), boundary=SHIRLEY_BOUNDARY)).allowed


def _boundary_matrix_request() -> Request:
    return Request(
        role("examplerole"), "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:s", ACCT
    )


@pytest.mark.parametrize(
    ("named", "boundary_allows", "allowed"),
    [
        (f"arn:aws:iam::{ACCT}:role/examplerole", False, False),  # role ARN: limited by the boundary
        (f"arn:aws:iam::{ACCT}:role/examplerole", True, True),
        (f"arn:aws:sts::{ACCT}:assumed-role/examplerole/session", False, True),  # session ARN: not limited
    ],
)
def test_resource_policy_vs_boundary(named: str, boundary_allows: bool, allowed: bool) -> None:
    """'Resource-based policies that grant permissions to an IAM role ARN are limited by an implicit
    deny in a permissions boundary' / '... to an IAM role session ARN ... are not limited'."""
    secret = doc(
        PolicyKind.RESOURCE,
        {"Effect": "Allow", "Principal": {"AWS": named}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
    )
    boundary = doc(
        PolicyKind.BOUNDARY,
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue" if boundary_allows else "s3:GetObject",
            "Resource": "*",
        },
    )
    assert evaluate(_boundary_matrix_request(), Policies(resource=secret, boundary=boundary)).allowed is allowed


def test_boundary_explicit_deny_beats_a_resource_grant() -> None:
    """Nikhil: 'If someone adds a resource-based policy to the logs bucket that allows Nikhil ... he
    still cannot access the bucket ... An explicit deny in any policy type results in ... denied.'"""
    boundary = doc(
        PolicyKind.BOUNDARY,
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Sid": "DenyS3Logs",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"],
        },
    )
    bucket = doc(
        PolicyKind.RESOURCE,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:sts::{ACCT}:assumed-role/Nikhil/s"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::logs/*",
        },
    )
    req = Request(Principal.role(f"arn:aws:iam::{ACCT}:role/Nikhil", "s"), "s3:PutObject", "arn:aws:s3:::logs/x", ACCT)
    assert evaluate(req, Policies(boundary=boundary, resource=bucket)).effect == "EXPLICIT_DENY"


# --------------------------------------------------------------------------- KMS key policies

DEFAULT_KEY_POLICY = doc(
    PolicyKind.KEY,
    {
        "Sid": "Enable IAM policies",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    },
)
KEY = f"arn:aws:kms:us-west-2:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_alice_without_iam_policy_is_denied() -> None:
    """'no key policy, IAM policy, or grant gives Alice permission to use the KMS key.'"""
    req = Request(role("Alice"), "kms:Decrypt", KEY, ACCT)
    assert not evaluate(req, Policies(resource=DEFAULT_KEY_POLICY, resource_required=True)).allowed


def test_iam_policy_needs_the_key_policy_to_delegate() -> None:
    """'Without permission from the key policy, IAM policies that allow permissions have no effect.'"""
    identity = doc(PolicyKind.IDENTITY, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY})
    req = Request(role("Alice"), "kms:Decrypt", KEY, ACCT)
    assert evaluate(req, Policies(identity=(identity,), resource=DEFAULT_KEY_POLICY, resource_required=True)).allowed
    no_delegation = doc(
        PolicyKind.KEY,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/Admin"},
            "Action": "kms:*",
            "Resource": "*",
        },
    )
    assert not evaluate(req, Policies(identity=(identity,), resource=no_delegation, resource_required=True)).allowed


BOB_KEY = doc(
    PolicyKind.KEY,
    {
        "Sid": "Permission to use IAM policies",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "kms:*",
        "Resource": "*",
    },
    {
        "Sid": "Allow account 1 to use this KMS key",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:DescribeKey",
        ],
        "Resource": "*",
    },
)
BOB_ROLE = doc(
    PolicyKind.IDENTITY,
    {
        "Effect": "Allow",
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ScheduleKeyDeletion"],
        "Resource": "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
)


@pytest.mark.parametrize(("action", "allowed"), [("kms:Decrypt", True), ("kms:ScheduleKeyDeletion", False)])
def test_bob_cross_account_through_engineering_role(action: str, allowed: bool) -> None:
    """'account 1 can only give its principals permission to perform the actions that the key
    policy gave to the account'."""
    req = Request(
        role("Engineering", "111122223333"),
        action,
        "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "444455556666",
    )
    assert evaluate(req, Policies(identity=(BOB_ROLE,), resource=BOB_KEY, resource_required=True)).allowed is allowed


def test_kms_via_service_and_caller_account_both_needed() -> None:
    """The EBS statement: Principal * with kms:CallerAccount AND kms:ViaService; a direct call has no
    kms:ViaService in its context and does not match."""
    ebs = doc(
        PolicyKind.KEY,
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": "111122223333", "kms:ViaService": "ec2.us-west-2.amazonaws.com"}
            },
        },
    )
    who = role("Ops", "111122223333")
    via = Request(
        who,
        "kms:Decrypt",
        KEY,
        "111122223333",
        ctx(kms__CallerAccount="111122223333", kms__ViaService="ec2.us-west-2.amazonaws.com"),
    )
    direct = Request(who, "kms:Decrypt", KEY, "111122223333", ctx(kms__CallerAccount="111122223333"))
    assert evaluate(via, Policies(resource=ebs, resource_required=True)).allowed
    assert not evaluate(direct, Policies(resource=ebs, resource_required=True)).allowed


# --------------------------------------------------------------------------- AssumeRole, same account


@pytest.mark.parametrize(
    ("trusted", "identity_allows", "boundary_allows", "allowed"),
    [
        ("arn:aws:iam::{a}:role/Caller", False, None, True),  # trust names the caller: no identity policy needed
        ("arn:aws:iam::{a}:root", False, None, False),  # the account delegates to IAM ...
        ("arn:aws:iam::{a}:root", True, None, True),  # ... whose identity policy then must allow
        ("arn:aws:iam::{a}:role/Other", True, None, False),  # the trust policy must always allow
        ("arn:aws:iam::{a}:role/Caller", False, False, False),  # the caller's boundary must allow sts:AssumeRole
        ("arn:aws:iam::{a}:role/Caller", False, True, True),
    ],
)
def test_assume_role_in_the_same_account(
    trusted: str, identity_allows: bool, boundary_allows: bool | None, allowed: bool
) -> None:
    """STS AssumeRole: 'the role's trust policy acts as an IAM resource-based policy. When a
    resource-based policy grants access to a principal in the same account, no additional
    identity-based policy is required.' Trust and key policies 'must explicitly allow'."""
    trust = doc(
        PolicyKind.TRUST, {"Effect": "Allow", "Principal": {"AWS": trusted.format(a=ACCT)}, "Action": "sts:AssumeRole"}
    )
    identity = doc(PolicyKind.IDENTITY, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    boundary = None
    if boundary_allows is not None:
        boundary = doc(
            PolicyKind.BOUNDARY,
            {"Effect": "Allow", "Action": "sts:AssumeRole" if boundary_allows else "s3:GetObject", "Resource": "*"},
        )
    req = Request(role("Caller"), "sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/Target", ACCT)
    policies = Policies(
        identity=(identity,) if identity_allows else (), boundary=boundary, resource=trust, resource_required=True
    )
    assert evaluate(req, policies).allowed is allowed


def test_service_principal_needs_the_resource_policy() -> None:
    topic = doc(
        PolicyKind.RESOURCE,
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCT}:alarm:*"}},
        },
    )
    cw = Principal.of_service("cloudwatch.amazonaws.com")
    topic_arn = f"arn:aws:sns:us-east-1:{ACCT}:alerts"
    ok = Request(cw, "sns:Publish", topic_arn, ACCT, ctx(aws__SourceArn=f"arn:aws:cloudwatch:us-east-1:{ACCT}:alarm:a"))
    other = Request(
        cw, "sns:Publish", topic_arn, ACCT, ctx(aws__SourceArn="arn:aws:cloudwatch:us-east-1:999999999999:alarm:a")
    )
    assert evaluate(ok, Policies(resource=topic)).allowed
    assert not evaluate(other, Policies(resource=topic)).allowed
    assert not evaluate(ok, Policies()).allowed  # no resource policy: services have no identity policy


# --------------------------------------------------------------------------- condition operator tables


@pytest.mark.parametrize(
    ("operator", "key", "values", "context", "expected"),
    [
        ("StringEquals", "aws:PrincipalTag/job-category", ["iamuser-admin"], ["iamuser-admin"], True),
        ("StringEquals", "aws:PrincipalTag/job-category", ["iamuser-admin"], ["dev-ops"], False),
        ("StringEquals", "aws:PrincipalTag/job-category", ["iamuser-admin"], None, False),
        ("Bool", "aws:SecureTransport", ["false"], ["false"], True),
        ("Bool", "aws:SecureTransport", ["false"], ["true"], False),
        ("Bool", "aws:SecureTransport", ["false"], None, False),
        ("BinaryEquals", "key", ["QmluYXJ5VmFsdWVJbkJhc2U2NA=="], ["QmluYXJ5VmFsdWVJbkJhc2U2NA=="], True),
        ("BinaryEquals", "key", ["QmluYXJ5VmFsdWVJbkJhc2U2NA=="], ["ASIAIOSFODNN7EXAMPLE"], False),
        ("IpAddress", "aws:SourceIp", ["203.0.113.0/24"], ["203.0.113.1"], True),
        ("IpAddress", "aws:SourceIp", ["203.0.113.0/24"], ["198.51.100.1"], False),
        (
            "ArnEquals",
            "aws:SourceArn",
            ["arn:aws:sns:us-west-2:123456789012:TOPIC-ID"],
            ["arn:aws:sns:us-west-2:123456789012:TOPIC-ID"],
            True,
        ),
        (
            "ArnEquals",
            "aws:SourceArn",
            ["arn:aws:sns:us-west-2:123456789012:TOPIC-ID"],
            ["arn:aws:sns:us-west-2:777788889999:TOPIC-ID"],
            False,
        ),
        ("ArnEquals", "aws:SourceArn", ["arn:aws:sns:us-west-2:123456789012:TOPIC-ID"], None, False),
        ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], ["t1.micro"], True),
        ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], ["m2.micro"], False),
        ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], None, True),
        # negated operators hold when the key is missing; IfExists never turns that around
        ("StringNotEquals", "aws:SourceAccount", ["123456789012"], None, True),
        ("StringNotLike", "aws:SourceAccount", ["1234*"], None, True),
        ("ArnNotLike", "aws:PrincipalArn", ["arn:aws:iam::*:role/x"], None, True),
        ("StringNotEquals", "aws:RequestedRegion", ["eu-west-1", "eu-central-1"], ["eu-west-1"], False),
        ("StringNotEquals", "aws:RequestedRegion", ["eu-west-1", "eu-central-1"], ["us-east-1"], True),
        ("NumericLessThan", "s3:TlsVersion", ["1.2"], ["1.1"], True),
        ("NumericLessThan", "s3:TlsVersion", ["1.2"], ["1.3"], False),
        ("NumericLessThan", "aws:MultiFactorAuthAge", ["900"], ["3600"], False),
        ("DateLessThan", "aws:CurrentTime", ["2026-12-01T00:00:00Z"], ["2026-11-29T12:00:00Z"], True),
        ("DateLessThan", "aws:CurrentTime", ["2026-12-01T00:00:00Z"], ["2026-12-01T00:00:01Z"], False),
        ("DateGreaterThan", "aws:TokenIssueTime", ["2020-01-01T00:00:01Z"], None, False),
        ("Null", "aws:TokenIssueTime", ["true"], None, True),
        ("Null", "aws:TokenIssueTime", ["false"], None, False),
        ("Null", "aws:TokenIssueTime", ["false"], ["2020-01-01T00:00:00Z"], True),
    ],
)
def test_condition_operator_tables(
    operator: str, key: str, values: list[str], context: list[str] | None, expected: bool
) -> None:
    request_context = {} if context is None else {key: tuple(context)}
    assert condition_holds(operator, key, values, request_context) is expected


def test_arn_like_checks_each_part_on_its_own() -> None:
    """The documented case where StringLike matches and ArnLike does not ('The first asterisk
    matches only us-east-2')."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert condition_holds("StringLike", "aws:SourceArn", [pattern], {"aws:SourceArn": (value,)})
    assert not condition_holds("ArnLike", "aws:SourceArn", [pattern], {"aws:SourceArn": (value,)})


@pytest.mark.parametrize(
    ("operator", "values", "context", "expected"),
    [
        ("ForAllValues:StringNotLike", ["key1*"], ["key1:legal"], False),
        ("ForAllValues:StringNotLike", ["key1*"], ["key1:hr", "key1:personnel"], False),
        ("ForAllValues:StringNotLike", ["key1*"], ["key2:audit"], True),
        ("ForAllValues:StringNotLike", ["key1*"], None, True),
        ("ForAllValues:StringNotLike", ["key1*", "key2*"], ["key1:hr", "key2:audit"], False),
        ("ForAllValues:StringNotLike", ["key1*", "key2*"], ["key3:legal"], True),
        ("ForAnyValue:StringEquals", ["webserver"], ["webserver"], True),
        ("ForAnyValue:StringEquals", ["webserver"], ["environment", "webserver", "test"], True),
        ("ForAnyValue:StringEquals", ["webserver"], ["environment", "test"], False),
        ("ForAnyValue:StringEquals", ["webserver"], None, False),
        ("ForAllValues:StringEquals", ["ID", "Message", "Tags"], ["ID", "Message", "Tags"], True),
        ("ForAllValues:StringEquals", ["ID", "Message", "Tags"], ["ID", "UserName"], False),
        ("ForAllValues:StringEquals", ["ID"], [], True),  # an empty set: vacuously true
        ("ForAnyValue:StringEquals", ["ID"], [], False),
    ],
)
def test_multivalued_keys(operator: str, values: list[str], context: list[str] | None, expected: bool) -> None:
    request_context = {} if context is None else {"aws:TagKeys": tuple(context)}
    assert condition_holds(operator, "aws:TagKeys", values, request_context) is expected


def test_several_keys_are_anded_and_several_values_ored() -> None:
    """The multi-value page: department in {finance,hr,legal} AND role in {audit,security} AND the
    principal ARN one of two users."""
    block = {
        "StringEquals": {
            "aws:PrincipalTag/department": ["finance", "hr", "legal"],
            "aws:PrincipalTag/role": ["audit", "security"],
        },
        "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:user/Ana", "arn:aws:iam::222222222222:user/Mary"]},
    }

    def who(dept: str | None, role_tag: str | None, user: str) -> dict[str, tuple[str, ...]]:
        c: dict[str, tuple[str, ...]] = {"aws:PrincipalArn": (f"arn:aws:iam::222222222222:user/{user}",)}
        if dept:
            c["aws:PrincipalTag/department"] = (dept,)
        if role_tag:
            c["aws:PrincipalTag/role"] = (role_tag,)
        return c

    assert conditions_hold(block, who("legal", "audit", "Mary"))
    assert not conditions_hold(block, who("hr", "audit", "Nikki"))
    assert not conditions_hold(block, who("hr", "payroll", "Mary"))
    assert not conditions_hold(block, who("hr", None, "Mary"))


def test_condition_key_names_are_case_insensitive() -> None:
    assert condition_holds("StringEquals", "AWS:SourceAccount", ["1"], {"aws:sourceaccount": ("1",)})


def test_a_plain_operator_on_a_multivalued_key_is_refused() -> None:
    with pytest.raises(PolicyError, match="set operator"):
        condition_holds("StringEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": ("a", "b")})


def test_unknown_operators_are_refused() -> None:
    with pytest.raises(PolicyError, match="unknown condition operator"):
        parse_policy(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": "*",
                        "Condition": {"StringSortOf": {"k": "v"}},
                    }
                ]
            },
            kind=PolicyKind.IDENTITY,
            where="t",
        )


# --------------------------------------------------------------------------- wildcards


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("1/test/object.jpg", True),
        ("1/2/test/object.jpg", True),
        ("1/2/test/3/object.jpg", True),
        ("1/2/3/test/4/object.jpg", True),
        ("1///test///object.jpg", True),
        ("1/test/.jpg", True),
        ("/test/object.jpg", True),
        ("1/test/", True),
        ("1-test/object.jpg", False),
        ("test/object.jpg", False),
        ("1/2/test.jpg", False),
    ],
)
def test_resource_wildcards_cross_slashes(resource: str, expected: bool) -> None:
    """The Resource page's table for arn:aws:s3:::amzn-s3-demo-bucket/*/test/*."""
    pattern = "arn:aws:s3:::amzn-s3-demo-bucket/*/test/*"
    assert resource_matches([pattern], f"arn:aws:s3:::amzn-s3-demo-bucket/{resource}", {}) is expected


def test_actions_are_case_insensitive_and_resources_are_not() -> None:
    """'iam:ListAccessKeys is the same as IAM:listaccesskeys'; `iam:*AccessKey*` covers CreateAccessKey."""
    p = doc(
        PolicyKind.IDENTITY,
        {"Effect": "Allow", "Action": ["IAM:listaccesskeys", "iam:*AccessKey*"], "Resource": "arn:aws:s3:::Bucket/*"},
    )
    for action in ("iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey"):
        assert evaluate(Request(role("r"), action, "arn:aws:s3:::Bucket/x", ACCT), Policies(identity=(p,))).allowed
    assert not evaluate(
        Request(role("r"), "iam:ListAccessKeys", "arn:aws:s3:::bucket/x", ACCT), Policies(identity=(p,))
    ).allowed


def test_not_action_deny_without_mfa() -> None:
    """NotAction with Deny: all non-IAM actions denied when MFA is absent (BoolIfExists)."""
    p = doc(
        PolicyKind.IDENTITY,
        {"Effect": "Allow", "Action": ["s3:GetObject", "iam:GetUser"], "Resource": "*"},
        {
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    )
    no_mfa = Request(role("r"), "s3:GetObject", "arn:aws:s3:::b/k", ACCT)
    with_mfa = Request(role("r"), "s3:GetObject", "arn:aws:s3:::b/k", ACCT, ctx(aws__MultiFactorAuthPresent="true"))
    assert evaluate(no_mfa, Policies(identity=(p,))).effect == "EXPLICIT_DENY"
    assert evaluate(with_mfa, Policies(identity=(p,))).allowed
    assert evaluate(Request(role("r"), "iam:GetUser", "*", ACCT), Policies(identity=(p,))).allowed


def test_not_resource_deny_protects_everything_else() -> None:
    p = doc(
        PolicyKind.IDENTITY,
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
        },
    )
    assert evaluate(
        Request(role("r"), "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/x", ACCT), Policies(identity=(p,))
    ).allowed
    assert not evaluate(
        Request(role("r"), "s3:GetObject", "arn:aws:s3:::Other/x", ACCT), Policies(identity=(p,))
    ).allowed


def test_explicit_and_implicit_deny_examples() -> None:
    """The 'explicit vs implicit deny' page: iam:Get*/List* allowed, *Report denied."""
    p = doc(
        PolicyKind.IDENTITY,
        {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
    )
    assert evaluate(Request(role("r"), "iam:GetUser", "*", ACCT), Policies(identity=(p,))).allowed
    assert (
        evaluate(Request(role("r"), "iam:CreatePolicy", "*", ACCT), Policies(identity=(p,))).effect == "IMPLICIT_DENY"
    )
    assert (
        evaluate(Request(role("r"), "iam:GetOrganizationsAccessReport", "*", ACCT), Policies(identity=(p,))).effect
        == "EXPLICIT_DENY"
    )


def test_policy_variables_without_a_value_do_not_match() -> None:
    p = ["arn:aws:s3:::b/home/${aws:username}/*"]
    assert resource_matches(p, "arn:aws:s3:::b/home/martha_rivera/x", {"aws:username": ("martha_rivera",)})
    assert not resource_matches(p, "arn:aws:s3:::b/home/martha_rivera/x", {})
