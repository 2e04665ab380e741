"""The organization layer (`trustbase-organization`): off by default, for users with AWS
Organizations. One stack in the management account (the Organizations API is served from
us-east-1), with two policies attached to `[perimeter] organization_targets`:

- an SCP that denies every request outside the hosting regions, their in-jurisdiction DR regions
  and Identity Center's home region, except the global services whose single endpoint lives in
  us-east-1 (Organizations user guide, "Deny access to AWS based on the requested AWS Region";
  IAM user guide, "Denies access to AWS based on the requested Region"). It repeats the
  permissions boundary's DenyOtherRegions for every principal of the accounts, including the ones
  trustbase did not create;
- an RCP, the identity perimeter of AWS's data-perimeter examples
  (resource_control_policies/identity_perimeter_rcp.json): the data services' resources (S3,
  SQS, KMS, Secrets Manager, STS role trust) of every account admit only principals of the
  organization, except AWS services acting as themselves, whose calls must then come from the
  organization (aws:SourceOrgID, confused-deputy protection), and the Elastic Load Balancing
  account of each hosting region (ELB access-log delivery in regions older than August 2022); a
  resource tagged `dp:exclude:identity=true` is the documented escape hatch. And it refuses any
  request without TLS.

SCPs and RCPs do not apply to the management account itself: deploy trustbase's regions in a
member account under the targets.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_organizations as organizations
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from config import AppConfig

# Services with a single global endpoint (us-east-1) or account-level APIs: never region-denied.
GLOBAL_SERVICES: tuple[str, ...] = (
    "account:*",
    "budgets:*",
    "ce:*",
    "cloudfront:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "organizations:*",
    "route53:*",
    "route53domains:*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf:*",
    "wafv2:*",
    "sso:*",
    "identitystore:*",
    "access-analyzer:*",
    "pricing:*",
)
DATA_SERVICES: tuple[str, ...] = ("s3:*", "sqs:*", "kms:*", "secretsmanager:*")
STS_ACTIONS: tuple[str, ...] = (
    "sts:AssumeRole",
    "sts:DecodeAuthorizationMessage",
    "sts:GetAccessKeyInfo",
    "sts:GetFederationToken",
    "sts:GetServiceBearerToken",
    "sts:GetSessionToken",
    "sts:SetContext",
)
EXCLUDE_TAG = "aws:ResourceTag/dp:exclude:identity"


def allowed_regions(app_config: AppConfig) -> list[str]:
    regions = {rc.name for rc in app_config.regions}
    regions |= {rc.backup.dr_copy_region for rc in app_config.regions if rc.backup.dr_copy_region}
    regions.add(app_config.access.home_region)
    return sorted(regions)


def region_deny_scp(app_config: AppConfig) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOutsideTheHostingRegions",
                "Effect": "Deny",
                "NotAction": list(GLOBAL_SERVICES),
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": allowed_regions(app_config)}},
            }
        ],
    }


def identity_perimeter_rcp(app_config: AppConfig) -> dict[str, Any]:
    org = app_config.perimeter.organization_id
    elb_accounts = sorted({a for rc in app_config.regions if (a := RegionInfo.get(rc.name).elbv2_account)})
    principals: dict[str, Any] = {"aws:PrincipalOrgID": org, EXCLUDE_TAG: "true"}
    if elb_accounts:
        principals["aws:PrincipalAccount"] = elb_accounts
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnforceOrgIdentities",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [*DATA_SERVICES, *STS_ACTIONS],
                "Resource": "*",
                "Condition": {
                    "StringNotEqualsIfExists": principals,
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                },
            },
            {
                "Sid": "EnforceConfusedDeputyProtection",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [*DATA_SERVICES, "sts:*"],
                "Resource": "*",
                "Condition": {
                    "StringNotEqualsIfExists": {"aws:SourceOrgID": org, EXCLUDE_TAG: "true"},
                    "Null": {"aws:SourceAccount": "false"},
                    "Bool": {"aws:PrincipalIsAWSService": "true"},
                },
            },
            {
                "Sid": "EnforceSecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [*DATA_SERVICES, "sts:*"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
            },
        ],
    }


class OrganizationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, app_config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        targets = list(app_config.perimeter.organization_targets)
        self.scp = organizations.CfnPolicy(
            self,
            "RegionDeny",
            name="trustbase-region-deny",
            type="SERVICE_CONTROL_POLICY",
            description="trustbase: no request outside the hosting regions, their DR regions and Identity Center's",
            content=region_deny_scp(app_config),
            target_ids=targets,
        )
        self.rcp = organizations.CfnPolicy(
            self,
            "IdentityPerimeter",
            name="trustbase-identity-perimeter",
            type="RESOURCE_CONTROL_POLICY",
            description="trustbase: data resources admit only this organization's principals, over TLS",
            content=identity_perimeter_rcp(app_config),
            target_ids=targets,
        )
