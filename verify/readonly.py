"""A boto3 session that can only read.

`verify` runs against production accounts. Its clients carry a guard that refuses, before any
request is built or signed, every operation that is not on the list below: the exact read calls
the observers make. Nothing else gets through: no write, no delete, and no read of customer data
or secrets (no s3:GetObject, no secretsmanager:GetSecretValue, no kms:Decrypt). A test walks
every operation of every listed service and proves the guard refuses all but these.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3

# service -> the operations the observers call. All are Describe/Get/List/Head: metadata only.
READ_OPERATIONS: dict[str, frozenset[str]] = {
    "sts": frozenset({"GetCallerIdentity"}),
    "cloudformation": frozenset({"DescribeStacks", "GetTemplate", "ListStackResources"}),
    "ssm": frozenset({"GetParameter"}),
    "kms": frozenset({"DescribeKey", "GetKeyRotationStatus", "ListAliases"}),
    "s3": frozenset(
        {
            "GetBucketEncryption",
            "GetBucketVersioning",
            "GetPublicAccessBlock",
            "GetBucketOwnershipControls",
            "GetBucketPolicy",
            "GetBucketLifecycleConfiguration",
            "GetObjectLockConfiguration",
            "GetBucketLogging",
        }
    ),
    "iam": frozenset(
        {"GetRole", "GetPolicy", "GetPolicyVersion", "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy"}
    ),
    "elbv2": frozenset(
        {
            "DescribeListeners",
            "DescribeListenerAttributes",
            "DescribeLoadBalancers",
            "DescribeLoadBalancerAttributes",
            "DescribeTargetGroups",
        }
    ),
    "rds": frozenset(
        {"DescribeDBClusters", "DescribeDBInstances", "DescribeDBSubnetGroups", "DescribeDBClusterParameters"}
    ),
    "logs": frozenset({"DescribeLogGroups", "DescribeMetricFilters"}),
    "sns": frozenset({"GetTopicAttributes"}),
    "sqs": frozenset({"GetQueueAttributes"}),
    "ec2": frozenset(
        {
            "DescribeVpcs",
            "DescribeSubnets",
            "DescribeRouteTables",
            "DescribeInternetGateways",
            "DescribeNatGateways",
            "DescribeAddresses",
            "DescribeSecurityGroups",
            "DescribeVpcEndpoints",
            "DescribeFlowLogs",
        }
    ),
    # GetFunctionConfiguration also returns environment variables (decrypted only for a caller with
    # kms:Decrypt on the function's key); the observer keeps none of them. GetFunction is not listed:
    # it hands out a download URL for the code.
    "lambda": frozenset({"GetFunctionConfiguration", "GetFunctionUrlConfig"}),
    "network-firewall": frozenset(
        {"DescribeFirewall", "DescribeFirewallPolicy", "DescribeRuleGroup", "DescribeLoggingConfiguration"}
    ),
    "stepfunctions": frozenset({"DescribeStateMachine"}),
    "backup": frozenset(
        {
            "DescribeBackupVault",
            "GetBackupPlan",
            "GetBackupSelection",
            "GetRestoreTestingPlan",
            "GetRestoreTestingSelection",
        }
    ),
    "cloudwatch": frozenset({"DescribeAlarms"}),
    "cloudtrail": frozenset({"GetTrail", "GetTrailStatus", "GetEventSelectors"}),
    "config": frozenset(
        {
            "DescribeConfigRules",
            "DescribeConfigurationRecorders",
            "DescribeConfigurationRecorderStatus",
            "DescribeDeliveryChannels",
        }
    ),
    "guardduty": frozenset({"GetDetector", "DescribePublishingDestination"}),
    "securityhub": frozenset({"DescribeHub", "GetEnabledStandards"}),
    "macie2": frozenset({"GetMacieSession"}),
    "accessanalyzer": frozenset({"GetAnalyzer"}),
    "wafv2": frozenset({"GetWebACL", "GetWebACLForResource", "GetLoggingConfiguration"}),
    "fis": frozenset({"GetExperimentTemplate"}),
    "scheduler": frozenset({"GetSchedule"}),
    "events": frozenset({"DescribeRule", "ListTargetsByRule"}),
}
# The IAM action of each operation, where its name differs from the API operation's (the
# Service Authorization Reference); boto3's service names that differ from IAM's prefix.
_IAM_PREFIX = {"elbv2": "elasticloadbalancing", "stepfunctions": "states", "accessanalyzer": "access-analyzer"}
_IAM_ACTION = {
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("s3", "GetObjectLockConfiguration"): "GetBucketObjectLockConfiguration",
}
_NO_PERMISSION = {("sts", "GetCallerIdentity")}  # STS user guide: no permission needed, cannot be denied


def iam_actions() -> tuple[str, ...]:
    """The IAM actions a principal needs to run verify: one per read operation above."""
    return tuple(
        sorted(
            f"{_IAM_PREFIX.get(service, service)}:{_IAM_ACTION.get((service, operation), operation)}"
            for service, operations in READ_OPERATIONS.items()
            for operation in operations
            if (service, operation) not in _NO_PERMISSION
        )
    )


READ_PREFIXES = ("Describe", "Get", "List", "Head")
# Parameters that would turn an allowed read into a read of secrets: refused whatever the operation.
REFUSED_PARAMETERS = {"WithDecryption": True}
# Reads that would expose customer data, secrets or plaintext: never on the list.
DATA_READS = frozenset(
    {
        "GetObject",
        "GetObjectVersion",
        "GetSecretValue",
        "Decrypt",
        "GetParametersByPath",
        "GetLogEvents",
        "FilterLogEvents",
        "GetQueryResults",
        "ReceiveMessage",
    }
)


class ReadOnlyViolation(RuntimeError):
    """A mutating (or not allow-listed) call was attempted through a read-only client."""


class ReadOnlySession:
    """boto3 clients that refuse every operation but READ_OPERATIONS[service]."""

    def __init__(self, region: str, *, endpoint_url: str | None = None, session: boto3.Session | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._session = session or boto3.Session(region_name=region)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.calls: list[str] = []  # every operation let through ("s3:GetBucketPolicy"); reads run in threads

    def client(self, service: str) -> Any:
        if service not in READ_OPERATIONS:
            raise ReadOnlyViolation(f"{service}: no read operations are allowed for this service")
        with self._lock:  # a boto3 Session is not thread-safe; its clients are (verify reads in threads)
            return self._client(service)

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            kw = {"endpoint_url": self.endpoint_url} if self.endpoint_url else {}
            c = self._session.client(service, region_name=self.region, **kw)  # type: ignore[call-overload]  # a service named at run time: the stubs type only literal names
            allowed = READ_OPERATIONS[service]

            def guard(model: Any, params: dict[str, Any] | None = None, **_: Any) -> None:
                if model.name not in allowed:
                    raise ReadOnlyViolation(f"{service}:{model.name} is not a read-only operation verify may call")
                for key, value in REFUSED_PARAMETERS.items():
                    if (params or {}).get(key) == value:
                        raise ReadOnlyViolation(f"{service}:{model.name} with {key}={value} would read a secret")
                self.calls.append(f"{service}:{model.name}")

            # provide-client-params fires first, before the parameters are validated, the request
            # is built or anything is signed or sent.
            c.meta.events.register(f"provide-client-params.{c.meta.service_model.service_id.hyphenize()}", guard)
            self._clients[service] = c
        return self._clients[service]
