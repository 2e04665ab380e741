"""S3 in moto 5.2.5:

- AWS::S3::Bucket: the model applies only encryption (without the bucket key) and tags;
  versioning, the public access block, ownership controls, Object Lock, lifecycle rules and access
  logging were silently dropped. This patch writes them through moto's S3 backend, so those
  read-backs are PATCHED (the encryption algorithm and key are moto's own: PASS).
- AWS::S3::BucketPolicy has no model: this one stores the document (TLS-only read-backs PATCHED).
- Bucket policy evaluation: moto applies a Deny even when its condition does not hold (and knows
  only StringEquals, with no request context; the patch adds Bool, NumericLessThan and the
  perimeter's StringNotEqualsIfExists/BoolIfExists), so our "deny unless TLS" policy denied every
  request. Statements now apply only when their condition holds (Bool and NumericLessThan added),
  with aws:SecureTransport and s3:TlsVersion from the server: it serves HTTPS only (server.py)
  with Python's TLS 1.2 floor, so "true" and "1.2". Anywhere else (TLS_ONLY false) the context
  says "false" and the buckets refuse, as on AWS.
"""

from __future__ import annotations

import json
from typing import Any

from local_aws.patches.base import Patch, Undo, wrap_create

# Set by server.py when it serves HTTPS only: the S3 policy context of every request.
TLS_ONLY = False


def lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the shape moto's S3 API parser produces."""
    out: dict[str, Any] = {"ID": rule.get("Id"), "Status": rule.get("Status", "Enabled")}
    out["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
    elif rule.get("ExpiredObjectDeleteMarker"):
        out["Expiration"] = {"ExpiredObjectDeleteMarker": "true"}
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": str(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(days)}
    return out


def _install_bucket(undo: Undo) -> None:
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    def after(bucket: Any, p: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id][get_partition(region_name)]
        rules = (p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if rules and rules[0].get("BucketKeyEnabled") and bucket.encryption:
            bucket.encryption["Rule"]["BucketKeyEnabled"] = "true"  # moto's model drops it
        if p.get("VersioningConfiguration"):
            backend.put_bucket_versioning(bucket.name, p["VersioningConfiguration"]["Status"])
        if p.get("PublicAccessBlockConfiguration"):
            backend.put_public_access_block(bucket.name, p["PublicAccessBlockConfiguration"])
        ownership = (p.get("OwnershipControls") or {}).get("Rules") or []
        if ownership:
            backend.put_bucket_ownership_controls(bucket.name, ownership[0]["ObjectOwnership"])
        if p.get("ObjectLockEnabled"):
            retention = (p.get("ObjectLockConfiguration") or {}).get("Rule", {}).get("DefaultRetention", {})
            backend.put_object_lock_configuration(
                bucket.name, True, retention.get("Mode"), retention.get("Days"), retention.get("Years")
            )
        if p.get("LifecycleConfiguration"):
            backend.put_bucket_lifecycle(bucket.name, [lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]])
        logging = p.get("LoggingConfiguration") or {}
        if logging.get("DestinationBucketName"):
            # Set directly: moto's put_bucket_logging wants the target's policy, which CloudFormation
            # creates later. What is recorded is only what the template declared.
            bucket.logging = {
                "TargetBucket": str(logging["DestinationBucketName"]),
                "TargetPrefix": logging.get("LogFilePrefix", ""),
            }

    wrap_create(undo, FakeBucket, after=after)


def _install_policy_model(undo: Undo) -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    class BucketPolicy:
        def __init__(self, bucket: str) -> None:
            self.physical_resource_id = bucket

        def is_created(self) -> bool:
            return True

    class CfnBucketPolicy(CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> BucketPolicy:
            p = cloudformation_json["Properties"]
            backend = s3_backends[account_id][get_partition(region_name)]
            backend.put_bucket_policy(p["Bucket"], json.dumps(p["PolicyDocument"]).encode())
            return BucketPolicy(p["Bucket"])

    undo.model(CfnBucketPolicy)


def _install_policy_conditions(undo: Undo) -> None:
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def bool_operation(expected: list[str] | str, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return any(str(v).lower() == str(actual).lower() for v in values)

    def numeric_less_than(expected: list[str] | str, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return any(float(actual) < float(v) for v in values)

    def string_not_equals(expected: list[str] | str, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return all(str(v) != str(actual) for v in values)

    operations: dict[str, Any] = policy_conditions.CONDITION_OPERATIONS
    undo.setitem(operations, "Bool", bool_operation)
    undo.setitem(operations, "BoolIfExists", bool_operation)  # the keys below are always present here
    undo.setitem(operations, "NumericLessThan", numeric_less_than)
    undo.setitem(operations, "StringNotEqualsIfExists", string_not_equals)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        context = {
            "aws:SecureTransport": "true" if TLS_ONLY else "false",
            "s3:TlsVersion": "1.2" if TLS_ONLY else "0",
            # Every request to the emulator is signed with its one account's credentials, and
            # no AWS service calls it as itself: the data perimeter's Deny (outside this
            # account) never applies here. The perimeter is proved by the offline evaluator.
            "aws:PrincipalAccount": self.account_id,
            "aws:PrincipalIsAWSService": "false",
        }
        # A statement whose condition does not hold does not apply (moto would turn even a Deny
        # with an unmet condition into DENIED): keep only the statements that apply.
        doc = json.loads(self.policy.decode())
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        applying = [
            {k: v for k, v in st.items() if k != "Condition"}
            for st in statements
            if IAMPolicyStatement(st)._check_conditions(context)
        ]
        if not applying:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**doc, "Statement": applying})).is_action_permitted(action, resource)

    undo.set(FakeBucket, "get_permission", get_permission)


PATCHES = (
    Patch(
        "s3.bucket-properties",
        "bucket key, versioning, public access block, ownership, Object Lock, lifecycle and logging are dropped",
        _install_bucket,
        frozenset(
            {
                "s3.bucket_key",
                "s3.versioning",
                "s3.public_access_block",
                "s3.ownership",
                "s3.object_lock",
                "s3.lifecycle",
                "s3.access_logs",
            }
        ),
    ),
    Patch(
        "s3.bucket-policy-model",
        "moto has no CloudFormation model for AWS::S3::BucketPolicy",
        _install_policy_model,
        frozenset({"s3.tls_only", "s3.bucket_policy"}),
        frozenset({"AWS::S3::BucketPolicy"}),
    ),
    Patch(
        "s3.policy-conditions",
        "bucket policy Denies apply even when their condition does not hold",
        _install_policy_conditions,
    ),
)
