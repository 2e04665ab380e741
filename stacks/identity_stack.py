"""The identity provider's side of access (`trustbase-identity`, one stack for the account, in
[access] home_region).

- Identity Center: one permission set per region and access: the auditor, requester and approver
  accesses (standing, assigned to groups by the Identity Center administrator and reviewed each
  quarter) and one per elevation (never assigned standing: only the elevation workflow assigns it,
  to one user, until expiry). Each set may do one thing: assume its region's role, or call its
  region's elevation broker. Each carries the region's permissions boundary (a customer managed
  policy reference, which Identity Center resolves by name in the target account) and 1-hour
  sessions, so access ends at most an hour after an assignment is deleted.

  CloudFormation creates permission sets through the Identity Center instance, so deploy this
  stack in Identity Center's home region, from the management account or the delegated
  administrator account, after the regional keys stacks (the boundary policies must exist when
  a permission set is provisioned).
- SAML: the account's SAML provider from the validated metadata (config/saml.py); the regional
  stacks name it in their roles' trust.

The stack holds names and ARNs of every region's roles and brokers, and no data: it is the one
stack that names several jurisdictions, because the identity provider serves the whole company.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sso as sso
from constructs import Construct

from config import AppConfig, offered_elevations
from constructs_lib.delivery import GitHubOidcProvider
from constructs_lib.elevation import invoke_broker_statements
from contract import (
    ELEVATION_BROKER,
    HumanAccess,
    IdentitySource,
    boundary_policy_name,
    elevation_role_name,
    function_name,
    human_role_name,
    permission_set_name,
    saml_provider_name,
)

SESSION_DURATION = "PT1H"  # ISO 8601; the shortest Identity Center allows


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def identity_resource_types(app_config: AppConfig) -> tuple[str, ...]:
    """The resource types this stack creates for `app_config` (the home region's pipeline reader
    needs their read permissions; a test checks the list against the synthesized stack)."""
    saml = app_config.access.identity_source is IdentitySource.SAML
    return (("AWS::IAM::SAMLProvider",) if saml else ("AWS::SSO::PermissionSet",)) + (
        ("AWS::IAM::OIDCProvider",) if app_config.delivery is not None else ()
    )


class IdentityStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, app_config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        access = app_config.access
        account = app_config.account
        self.permission_sets: dict[str, sso.CfnPermissionSet] = {}
        if app_config.delivery is not None:  # one per account: the regional cicd stacks trust it
            self.github = GitHubOidcProvider(self, "GitHubOidc")
        if access.identity_source is IdentitySource.SAML:
            self.saml_provider = iam.SamlProvider(
                self,
                "SamlProvider",
                name=saml_provider_name(),
                metadata_document=iam.SamlMetadataDocument.from_xml(access.saml_metadata),
            )
            return
        for rc in app_config.regions:
            region = rc.name
            broker = f"arn:aws:lambda:{region}:{account}:function:{function_name(region, ELEVATION_BROKER)}"
            offered = offered_elevations(access, rc)
            grants: dict[str, tuple[str, list[dict[str, Any]]]] = {
                HumanAccess.AUDITOR.value: (
                    f"trustbase auditor of {region}: assume the auditor role (read-only evidence)",
                    [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Resource": f"arn:aws:iam::{account}:role/{human_role_name(region, HumanAccess.AUDITOR)}",
                        }
                    ],
                ),
                **{
                    who.value: (
                        f"trustbase {who.value} of {region}: call the elevation broker, nothing else",
                        invoke_broker_statements(broker),
                    )
                    for who in (HumanAccess.REQUESTER, HumanAccess.APPROVER)
                    if offered  # no broker where no elevation is offered
                },
                **{
                    e.value: (
                        f"trustbase elevation {e.value} of {region}: assigned only by the elevation workflow, "
                        "until expiry",
                        [
                            {
                                "Effect": "Allow",
                                "Action": ["sts:AssumeRole", "sts:TagSession"],
                                "Resource": f"arn:aws:iam::{account}:role/{elevation_role_name(region, e)}",
                            }
                        ],
                    )
                    for e in offered
                },
            }
            for what, (description, statements) in grants.items():
                name = permission_set_name(region, what)
                self.permission_sets[name] = sso.CfnPermissionSet(
                    self,
                    name,
                    instance_arn=access.instance_arn,
                    name=name,
                    description=description[:700],
                    session_duration=SESSION_DURATION,
                    inline_policy=_policy(statements),
                    permissions_boundary=sso.CfnPermissionSet.PermissionsBoundaryProperty(
                        customer_managed_policy_reference=sso.CfnPermissionSet.CustomerManagedPolicyReferenceProperty(
                            name=boundary_policy_name(region)
                        )
                    ),
                )
