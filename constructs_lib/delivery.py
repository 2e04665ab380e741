"""The deploy pipeline's way into the account: GitHub's OIDC provider and, per region, two roles
that GitHub Actions jobs of one repository assume with short-lived tokens (no access keys).

- The deployer (`trustbase-<region>-deployer`) may only assume that region's CDK bootstrap deploy
  and file-publishing roles (the CDK CLI does the deploy through them) and read the region's
  trustbase stacks' templates (the plan compares with what is deployed). Its trust admits only a
  job of the repository that names the region's GitHub Environment, whose approval rule and
  deployment-branch rule (the deploy branch only) are set in GitHub.
- The reader (`trustbase-<region>-reader`) reads: verify's exact calls, CloudFormation drift
  detection on the region's trustbase stacks, and the read permissions drift detection needs for
  each resource type in them (CloudFormation reads each resource with the caller's credentials).
  It may publish to the region's alerts topic. The deploy job (after a deploy) and the scheduled
  drift job of the deploy branch assume it.

Both carry the pipeline's permissions boundary: the region boundary's denials, and a ceiling of
exactly these actions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from change_review.schema import cfn_lint_data, read_permissions
from constructs_lib import nag
from constructs_lib.iam import PermissionsBoundaryPolicy, ScopedRole
from contract import (
    BOOTSTRAP_ROLES_FOR_DEPLOY,
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    IDENTITY_STACK,
    PARAMETER_ROOT,
    PROJECT,
    bootstrap_role_name,
    deploy_environment,
    deployer_role_name,
    github_branch_subject,
    github_environment_subject,
    pipeline_boundary_policy_name,
    reader_role_name,
)
from verify.readonly import iam_actions

# GitHub's certificate thumbprint. AWS no longer uses it for GitHub (it trusts GitHub's CA through
# its own library: IAM API reference, UpdateOpenIDConnectProviderThumbprint), but CloudFormation
# still requires a ThumbprintList on AWS::IAM::OIDCProvider.
GITHUB_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"

# Drift detection (CloudFormation user guide, "Detect unmanaged configuration changes to stacks and
# resources"): the caller needs cloudformation:DetectStackDrift and DetectStackResourceDrift, and
# read permission for each resource in the stack.
DRIFT_ACTIONS = (
    "cloudformation:DetectStackDrift",
    "cloudformation:DetectStackResourceDrift",
    "cloudformation:DescribeStackResourceDrifts",
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
)
# Takes no resource (Service Authorization Reference: no resource types for this action).
DRIFT_STATUS_ACTION = "cloudformation:DescribeStackDriftDetectionStatus"
PLAN_ACTIONS = ("cloudformation:DescribeStacks", "cloudformation:GetTemplate")
# Read handlers list some permissions that are not reads (associating a web ACL, passing a role)
# or that read data (kms:Decrypt): the reader never gets those.
_READ_VERBS = ("Describe", "Get", "List")
_NEVER = frozenset({"kms:Decrypt", "s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue"})
SCHEMA_REGION = "us-east-1"
# Always in a trustbase region (the cicd stack's own types, and IAM's read of the roles above).
BASE_TYPES = ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy")


def drift_read_actions(resource_types: Iterable[str]) -> tuple[str, ...]:
    """The read actions drift detection needs for `resource_types` (each type's read handler in
    the CloudFormation resource schema), without data reads and non-read verbs. IAM action names
    are case-insensitive; the schemas write some prefixes capitalized (CloudTrail:)."""
    found: set[str] = set()
    for rtype in {*resource_types, *BASE_TYPES}:
        # Read handlers are the same in every commercial region; reading one region's schema index
        # (not each region's, 0.1 s apiece at synth) is checked per region by
        # tests/stacks/test_cicd.py::test_the_reader_can_read_every_resource_type_its_job_deploys.
        for action in read_permissions(rtype, SCHEMA_REGION) or ():
            prefix, _, name = action.partition(":")
            normal = f"{prefix.lower()}:{name}"
            if name.startswith(_READ_VERBS) and normal not in _NEVER and _is_iam_action(normal):
                found.add(normal)
    return tuple(sorted(found))


@cache
def _iam_actions_known() -> dict[str, Any]:
    """IAM's actions per service prefix (the Service Authorization Reference, as cfn-lint ships it)."""
    known: dict[str, Any] = json.loads((cfn_lint_data() / "AdditionalSpecs" / "Policies.json").read_text())
    return known


def _is_iam_action(action: str) -> bool:
    """Some read handlers list a permission IAM does not have (for example
    vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation): granting it would be a typo to IAM."""
    prefix, _, name = action.partition(":")
    return name.lower() in _iam_actions_known().get(prefix, {}).get("Actions", {})


def _actions(statements: list[iam.PolicyStatement]) -> tuple[str, ...]:
    return tuple(sorted({a for st in statements for a in st.actions}))


def oidc_provider_arn(stack: Stack) -> str:
    """One provider per URL per account (IAM: CreateOpenIDConnectProvider refuses a second)."""
    return f"arn:{stack.partition}:iam::{stack.account}:oidc-provider/{GITHUB_OIDC_HOST}"


class GitHubOidcProvider(Construct):
    """The account's OIDC provider for GitHub Actions (IAM is global: the identity stack has it).

    Attributes: `provider`."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.provider = iam.CfnOIDCProvider(
            self,
            "Provider",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_id_list=[GITHUB_OIDC_AUDIENCE],
            thumbprint_list=[GITHUB_THUMBPRINT],
        )


def github_principal(stack: Stack, subjects: list[str]) -> iam.WebIdentityPrincipal:
    """GitHub Actions jobs whose token has exactly one of `subjects` and our audience. AWS refuses a
    GitHub trust without a `sub` condition; StringEquals (never StringLike) admits no other repo,
    environment or branch."""
    return iam.WebIdentityPrincipal(
        oidc_provider_arn(stack),
        conditions={
            "StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": subjects[0] if len(subjects) == 1 else subjects,
            }
        },
    )


class PipelineRoles(Construct):
    """The deployer and reader of one region (see the module docstring).

    Attributes: `deployer`, `reader` (ScopedRole), `boundary`, `deployer_actions`, `reader_actions`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository: str,
        branch: str,
        qualifier: str,
        resource_types: Iterable[str],
        alerts_topic_arn: str,
        alerts_key_arn: str,
        configuration_key_arn: str,
        deploy_regions: tuple[str, ...] = (),
        identity_stack: bool = False,
    ) -> None:
        """`deploy_regions`: regions besides the stack's own whose bootstrap roles the deployer
        assumes (the in-jurisdiction DR region of the backup copies, when configured).
        `identity_stack`: this is Identity Center's home region, whose job also deploys
        trustbase-identity (and the reader checks its drift)."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region, account, partition = stack.region, stack.account, stack.partition
        environment = deploy_environment(region)
        # The stacks the region's job deploys and checks: trustbase-<region>-* (in the DR region
        # too: the DR vault stack) and, in the home region, trustbase-identity.
        stacks_arns = [
            f"arn:{partition}:cloudformation:{r}:{account}:stack/{PROJECT}-{region}-*/*"
            for r in (region, *deploy_regions)
        ] + ([f"arn:{partition}:cloudformation:{region}:{account}:stack/{IDENTITY_STACK}/*"] if identity_stack else [])
        bootstrap = [
            f"arn:{partition}:iam::{account}:role/{bootstrap_role_name(qualifier, kind, account, r)}"
            for r in (region, *deploy_regions)
            for kind in BOOTSTRAP_ROLES_FOR_DEPLOY
        ]
        deployer_statements = [
            iam.PolicyStatement(sid="AssumeCdkBootstrapRoles", actions=["sts:AssumeRole"], resources=bootstrap),
            iam.PolicyStatement(sid="ReadDeployedTemplates", actions=list(PLAN_ACTIONS), resources=stacks_arns),
        ]
        reads = set(iam_actions()) | set(drift_read_actions(resource_types))
        parameters = sorted(a for a in reads if a.startswith("ssm:Get"))
        describe = sorted(a for a in reads if not a.startswith(("cloudformation:", "ssm:Get")))
        parameter_arn = f"arn:{partition}:ssm:{region}:{account}:parameter{PARAMETER_ROOT}/*"
        # Describe/Get/List calls of many services take no resource ARN (or only "*"). In a policy
        # of their own: with the rest they exceed IAM's 6,144 characters per managed policy.
        configuration_reads = [iam.PolicyStatement(sid="ReadConfiguration", actions=describe, resources=["*"])]
        reader_statements = [
            iam.PolicyStatement(sid="DriftOfTrustbaseStacks", actions=list(DRIFT_ACTIONS), resources=stacks_arns),
            iam.PolicyStatement(sid="DriftDetectionStatus", actions=[DRIFT_STATUS_ACTION], resources=["*"]),
            # CloudFormation's reads of a function and a state machine decrypt their configuration
            # (environment, definition) with the lifecycle key: only through Lambda and Step Functions.
            iam.PolicyStatement(
                sid="ConfigurationKeyThroughLambdaAndStates",
                actions=["kms:Decrypt"],
                resources=[configuration_key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [f"lambda.{region}.amazonaws.com", f"states.{region}.amazonaws.com"]
                    }
                },
            ),
            # verify reads the cross-stack links; drift detection reads the link parameters
            iam.PolicyStatement(sid="ReadLinks", actions=parameters, resources=[parameter_arn]),
            iam.PolicyStatement(sid="RaiseAlerts", actions=["sns:Publish"], resources=[alerts_topic_arn]),
            # An encrypted topic: the publisher needs the key (SNS developer guide, "Encryption
            # at rest": kms:GenerateDataKey and kms:Decrypt), and only through SNS.
            iam.PolicyStatement(
                sid="AlertsKeyThroughSns",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[alerts_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
            ),
        ]
        self.deployer_actions = _actions(deployer_statements)
        self.reader_actions = _actions(reader_statements + configuration_reads)
        # Their own boundary: the region's denials (other regions, IAM writes, key and bucket
        # policy changes) and a ceiling of exactly these actions. The region's boundary cannot
        # hold them too: a managed policy holds at most 6,144 characters (IAM quotas).
        self.boundary = PermissionsBoundaryPolicy(
            self,
            "Boundary",
            extra_regions=deploy_regions,
            allowed_actions=(*self.deployer_actions, *self.reader_actions),
            policy_name=pipeline_boundary_policy_name(region),
        )
        self.deployer = ScopedRole(
            self,
            "Deployer",
            assumed_by=github_principal(stack, [github_environment_subject(repository, environment)]),
            description=f"trustbase pipeline: deploys {region} through the CDK bootstrap roles (GitHub OIDC)",
            statements=deployer_statements,
            role_name=deployer_role_name(region),
            # The job's credentials must outlast a long `cdk deploy` (its bootstrap-role sessions are
            # chained from them); the workflow asks for 3 hours, its timeout.
            max_session_duration_hours=3,
        )
        self.reader = ScopedRole(
            self,
            "Reader",
            assumed_by=github_principal(
                stack,
                [github_environment_subject(repository, environment), github_branch_subject(repository, branch)],
            ),
            description=f"trustbase pipeline: verify and drift detection in {region}, read-only (GitHub OIDC)",
            statements=reader_statements,
            more_statements=configuration_reads,
            role_name=reader_role_name(region),
        )
        iam.PermissionsBoundary.of(self).apply(self.boundary.policy)
        for policy, arns in (
            (self.deployer.managed_policy, stacks_arns),
            (self.reader.managed_policy, [*stacks_arns, parameter_arn]),
        ):
            nag.acknowledge(
                policy,
                tuple(nag.iam5_resource_finding(self, arn) for arn in arns),
                "Only the stacks the region's job deploys (stack/trustbase-<region>-*/*, and trustbase-identity "
                "in the home region): a stack ARN ends in an ID CloudFormation generates when the stack is "
                "created, so it cannot be written out; the actions read templates and run drift detection, "
                "none changes a stack. The reader's parameter reads cover only the /trustbase/ link "
                "parameters (names and ARNs, no secrets).",
            )
        for policy in self.reader.managed_policies:
            nag.acknowledge(
                policy,
                f"{nag.IAM_WILDCARD}[Resource::*]",
                "Read-only configuration calls listed one by one (Describe/Get/List, no wildcard action; no "
                "object or secret contents: no GetObject or GetSecretValue, and Decrypt only through SNS, "
                "Lambda and Step Functions; ListBucket lists object names and GetFunction links our code, both "
                "needed by CloudFormation's reads of buckets and functions for drift detection); these calls "
                "take no resource ARN, as does DescribeStackDriftDetectionStatus.",
            )
