"""S3 buckets with trustbase's secure defaults."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from constructs_lib import nag
from constructs_lib.perimeter import outside_account_deny
from constructs_lib.retention import KEEP

MIN_TLS_VERSION = 1.2


@dataclass(frozen=True)
class PrefixExpiry:
    """Expire current objects under `prefix` after `days` (data minimisation, GDPR Art. 5(1)(e))."""

    prefix: str
    days: int
    rule_id: str


def secure_bucket_defaults(*, allow_insecure_transport: bool = False) -> dict[str, object]:
    # Shared by every trustbase bucket: private, owner-enforced, versioned, TLS 1.2+ only, RETAIN.
    return {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,  # no ACLs
        "versioned": True,
        "enforce_ssl": not allow_insecure_transport,  # HIPAA 164.312(e)(1): deny aws:SecureTransport=false
        "minimum_tls_version": None if allow_insecure_transport else MIN_TLS_VERSION,  # deny s3:TlsVersion < 1.2
        "removal_policy": KEEP,  # kept on deletion/replacement, not after a failed first create
    }


class AccessLogBucket(Construct):
    """Destination of S3 server access logs and ALB access logs in one region.

    Encryption is SSE-S3 (AES-256, S3-managed key), not SSE-KMS, because neither
    S3 server access logging nor ELB access logging can write to an SSE-KMS bucket.
    Compensating controls: TLS-only policy, no public access, versioning, owner-
    enforced objects, writes only by the two log services for this account.

    Attributes: `bucket`, `alb_log_prefix`, `s3_log_prefix`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, expiration_days: int) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.alb_log_prefix = "alb"
        self.s3_log_prefix = "s3"
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(expiration_days),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            **secure_bucket_defaults(allow_insecure_transport=False),  # type: ignore[arg-type]
        )
        # ELB user guide, "Enable access logs": the log-delivery service principal is the
        # recommended grantee; Regions older than August 2022 also deliver as their ELB account
        # ("This legacy policy is still supported"), so both are granted where AWS has one. Only under
        # this account's prefix: ELB writes each load balancer's logs under its owner's account ID.
        elb_account = RegionInfo.get(stack.region).elbv2_account
        principals: list[iam.IPrincipal] = [iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")]
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlbAccessLogDelivery",
                principals=principals,
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{self.alb_log_prefix}/AWSLogs/{stack.account}/*")],
            )
        )
        if elb_account:
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AlbAccessLogDeliveryLegacy",
                    principals=[iam.AccountPrincipal(elb_account)],
                    actions=["s3:PutObject"],
                    resources=[self.bucket.arn_for_objects(f"{self.alb_log_prefix}/AWSLogs/{stack.account}/*")],
                )
            )
        # Server access logs of buckets in other stacks (the audit bucket): CDK adds this grant
        # only for source buckets in the same stack, so the target grants it, for this account.
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLogsFromThisAccount",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{self.s3_log_prefix}/*")],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        nag.acknowledge(
            self.bucket,
            nag.S3_KMS_DEFAULT,
            "S3 server access logging and ELB access logging cannot deliver to SSE-KMS buckets; "
            "this bucket uses SSE-S3 (AES-256) and is TLS-only, private and versioned.",
        )
        nag.acknowledge(
            self.bucket,
            nag.S3_ACCESS_LOGS,
            "This is the access-log destination itself; logging it into itself would loop and "
            "logging it elsewhere would need a second log bucket with the same finding.",
        )
        nag.acknowledge(
            self.bucket,
            nag.S3_REPLICATION,
            "Access logs stay in their region (residency); S3 stores them across 3+ AZs and "
            "versioning protects against overwrite, so cross-region replication is not allowed.",
        )


class SecureDataBucket(Construct):
    """Customer-data bucket: SSE-KMS with a CMK and bucket key, private, owner-enforced,
    versioned, access-logged, TLS 1.2+ only, with expiry of noncurrent versions and of
    the listed prefixes.

    Secure defaults can be weakened only through the named `insecure_*` arguments,
    which add a loud warning to the construct (and trip the posture tests / cdk-nag).

    Attributes: `bucket`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_logs: AccessLogBucket,
        noncurrent_version_days: int,
        prefix_expiry: tuple[PrefixExpiry, ...] = (),
        insecure_allow_plain_http: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if insecure_allow_plain_http:
            Annotations.of(self).add_warning_v2(
                "trustbase:InsecureOverride",
                "insecure_allow_plain_http=True: this bucket accepts non-TLS requests (HIPAA 164.312(e)(1) violated)",
            )
        rules = [
            s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                expired_object_delete_marker=True,
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ]
        rules += [
            s3.LifecycleRule(id=p.rule_id, prefix=p.prefix, expiration=Duration.days(p.days)) for p in prefix_expiry
        ]
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,  # fewer KMS calls, same key hierarchy
            server_access_logs_bucket=access_logs.bucket,
            server_access_logs_prefix=f"{access_logs.s3_log_prefix}/{construct_id}/",
            lifecycle_rules=rules,
            **secure_bucket_defaults(allow_insecure_transport=insecure_allow_plain_http),  # type: ignore[arg-type]
        )
        # The resource perimeter: nobody outside this account, whatever another statement allows.
        self.bucket.add_to_resource_policy(
            outside_account_deny(
                self, service="s3", resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")]
            )
        )
        nag.acknowledge(
            self.bucket,
            nag.S3_REPLICATION,
            "Replication would copy customer data out of its region; residency forbids it. "
            "Durability: S3 spans 3+ AZs, versioning, and AWS Backup in-region (issue 5).",
        )
