"""The resource perimeter of AWS's data-perimeter policy examples
(aws-samples/data-perimeter-policy-examples, resource_based_policies): a resource policy statement
that denies every principal outside this account (or, when `[perimeter] organization_id` is
configured, outside the organization: aws:PrincipalOrgID), except AWS services acting as themselves.

    Deny  Principal *  <service>:*  on the resource
      StringNotEqualsIfExists  aws:PrincipalAccount = <this account>   (or aws:PrincipalOrgID = <o-...>)
      BoolIfExists             aws:PrincipalIsAWSService = false

`aws:PrincipalIsAWSService` is true only for a service principal calling with its own identity
(CloudTrail, Config or S3 server access logging writing a bucket, CloudWatch Logs using a key);
such calls are confined by the allows' `aws:SourceAccount` / `aws:SourceArn`. A service acting
with a role of this account (AWS Backup, the lifecycle functions) is a principal of this account.

A Deny wins over any Allow: a mistaken grant to another account in the same policy, or a key grant,
cannot open the resource.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import DATA_PLANE_VPC_SID

SID = "DenyOutsideThisAccount"
ORGANIZATION_SID = "DenyOutsideThisOrganization"


def organization_of(scope: Construct) -> str | None:
    """The configured AWS Organizations ID of the stack `scope` is in (RegionalStack.organization_id),
    or None: the perimeter is then this account."""
    value = getattr(Stack.of(scope), "organization_id", None)
    return value if isinstance(value, str) and value else None


def principal_condition(scope: Construct) -> dict[str, str]:
    """Who is inside: {"aws:PrincipalOrgID": <o-...>} or {"aws:PrincipalAccount": <account>}."""
    org = organization_of(scope)
    return {"aws:PrincipalOrgID": org} if org else {"aws:PrincipalAccount": Stack.of(scope).account}


def resource_condition(scope: Construct) -> dict[str, str]:
    """Which resources are inside: aws:ResourceOrgID or aws:ResourceAccount (endpoint policies)."""
    org = organization_of(scope)
    return {"aws:ResourceOrgID": org} if org else {"aws:ResourceAccount": Stack.of(scope).account}


def outside_account_deny(scope: Construct, *, service: str, resources: list[str]) -> iam.PolicyStatement:
    """The perimeter statement for one service's resource policy (`service`: s3, kms, sqs)."""
    return iam.PolicyStatement(
        sid=ORGANIZATION_SID if organization_of(scope) else SID,
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=[f"{service}:*"],
        resources=resources,
        conditions={
            "StringNotEqualsIfExists": principal_condition(scope),
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        },
    )


VPC_SID = DATA_PLANE_VPC_SID
DATA_PLANE_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
)


def outside_vpc_deny(
    *, bucket_arn: str, endpoint_id: str, exceptions: list[str], excluded_prefix: str
) -> iam.PolicyStatement:
    """The network perimeter of the customer data (data-perimeter examples, "network perimeter":
    aws:SourceVpce): object reads and writes only through this VPC's S3 gateway endpoint, which
    the in-VPC roles (app tier, lifecycle functions) use. Exceptions, each named: AWS services
    calling as themselves (aws:PrincipalIsAWSService), and `exceptions` (aws:PrincipalArn: the
    break-glass and elevation roles, AWS Backup's role, Macie's service-linked role). The DR drill's
    synthetic objects under `excluded_prefix` are outside the statement (NotResource). Listing
    stays outside too: keys carry IDs, not data."""
    return iam.PolicyStatement(
        sid=VPC_SID,
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=list(DATA_PLANE_ACTIONS),
        not_resources=[f"{bucket_arn}/{excluded_prefix}*"],
        conditions={
            "StringNotEqualsIfExists": {"aws:SourceVpce": endpoint_id},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            "ArnNotLike": {"aws:PrincipalArn": exceptions},
        },
    )
