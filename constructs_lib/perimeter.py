"""The resource perimeter of AWS's data-perimeter policy examples
(aws-samples/data-perimeter-policy-examples, resource_based_policies): a resource policy statement
that denies every principal outside this account, except AWS services acting as themselves.

    Deny  Principal *  <service>:*  on the resource
      StringNotEqualsIfExists  aws:PrincipalAccount = <this account>
      BoolIfExists             aws:PrincipalIsAWSService = false

`aws:PrincipalIsAWSService` is true only for a service principal calling with its own identity
(CloudTrail, Config or S3 server access logging writing a bucket, CloudWatch Logs using a key);
such calls are confined by the allows' `aws:SourceAccount` / `aws:SourceArn`. A service acting
with a role of this account (AWS Backup, the lifecycle functions) is a principal of this account.

A Deny wins over any Allow: a mistaken grant to another account in the same policy, or a key grant,
cannot open the resource.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam

SID = "DenyOutsideThisAccount"


def outside_account_deny(*, account: str, service: str, resources: list[str]) -> iam.PolicyStatement:
    """The perimeter statement for one service's resource policy (`service`: s3, kms, sqs)."""
    return iam.PolicyStatement(
        sid=SID,
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=[f"{service}:*"],
        resources=resources,
        conditions={
            "StringNotEqualsIfExists": {"aws:PrincipalAccount": account},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        },
    )
