"""The names that cross layers, in one place: SSM link names, resource names, the S3 key layout,
database roles and the allowed TLS policies.

Stacks and constructs (which create these), the DR drills and `verify` (which find them in an
account), the lifecycle runtime (which runs inside the Lambda asset, so this package ships with it)
and the migrations (SQL: `tests/contract/test_contract.py` checks their role names against this
module) all import it. No layer retypes a string another layer owns; a test scans the source tree
for retyped copies.

Plain Python, no CDK import.
"""

from __future__ import annotations

import re
from enum import StrEnum

PROJECT = "trustbase"

# --------------------------------------------------------------------------- SSM links
# Values shared between a region's stacks and read by the runtime (drills, verify, migrate) go
# through SSM parameters under this root; never through CloudFormation exports.
PARAMETER_ROOT = "/trustbase"


class Link(StrEnum):
    DATABASE_KEY_ARN = "keys/database-key-arn"
    OBJECTS_KEY_ARN = "keys/objects-key-arn"
    LOGS_KEY_ARN = "keys/logs-key-arn"
    AUDIT_KEY_ARN = "keys/audit-key-arn"
    BACKUP_KEY_ARN = "keys/backup-key-arn"
    LIFECYCLE_KEY_ARN = "keys/lifecycle-key-arn"
    VPC_ID = "network/vpc-id"
    S3_ENDPOINT_ID = "network/s3-gateway-endpoint-id"
    PUBLIC_SUBNET_IDS = "network/public-subnet-ids"
    APP_SUBNET_IDS = "network/app-subnet-ids"
    DATA_SUBNET_IDS = "network/data-subnet-ids"
    ALB_SECURITY_GROUP_ID = "network/alb-security-group-id"
    APP_SECURITY_GROUP_ID = "network/app-security-group-id"
    LIFECYCLE_SECURITY_GROUP_ID = "network/lifecycle-security-group-id"
    DATABASE_ADMIN_SECURITY_GROUP_ID = "network/database-admin-security-group-id"
    DATABASE_SECURITY_GROUP_ID = "network/database-security-group-id"
    DATA_BUCKET_NAME = "data/customer-bucket-name"
    DATA_BUCKET_ARN = "data/customer-bucket-arn"
    ACCESS_LOG_BUCKET_NAME = "data/access-log-bucket-name"
    CLUSTER_RESOURCE_ID = "data/cluster-resource-id"
    CLUSTER_ARN = "data/cluster-arn"
    MASTER_SECRET_ARN = "data/master-secret-arn"
    DB_SUBNET_GROUP = "data/db-subnet-group-name"
    CLUSTER_ENDPOINT = "data/cluster-endpoint"
    CLUSTER_READER_ENDPOINT = "data/cluster-reader-endpoint"
    OPERATOR_HOST_ID = "network/operator-host-instance-id"
    ALB_DNS_NAME = "edge/alb-dns-name"
    APP_ROLE_ARN = "edge/app-role-arn"
    AUDIT_BUCKET_NAME = "audit/bucket-name"
    AUDIT_BUCKET_ARN = "audit/bucket-arn"
    ALERTS_TOPIC_ARN = "audit/alerts-topic-arn"
    CONFIG_BUCKET_NAME = "audit/config-bucket-name"
    CONFIG_BUCKET_ARN = "audit/config-bucket-arn"
    BACKUP_VAULT_NAME = "backup/vault-name"
    ERASURE_STATE_MACHINE_ARN = "lifecycle/erasure-state-machine-arn"
    DSAR_SUBMITTER_ROLE_ARN = "lifecycle/dsar-submitter-role-arn"

    @property
    def parameter_name(self) -> str:
        return f"{PARAMETER_ROOT}/{self.value}"


# --------------------------------------------------------------------------- stacks
STACK_PARTS = ("keys", "network", "data", "migrations", "edge", "audit", "detection", "lifecycle")
STATEFUL_PARTS = ("keys", "data", "audit")
# Resource types that hold data or the keys to it: replacing or deleting one loses data (or
# orphans it), so a change that would do so needs a named override (change_review/stateful.py).
STATEFUL_TYPES = (
    "AWS::RDS::DBCluster",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::Backup::BackupVault",
    "AWS::SecretsManager::Secret",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
)


def stack_name(region: str, part: str) -> str:
    return f"{PROJECT}-{region}-{part}"


# --------------------------------------------------------------------------- IAM
def app_role_name(region: str) -> str:
    return f"{PROJECT}-app-{region}"


def auditor_role_name(region: str) -> str:
    return f"{PROJECT}-auditor-{region}"


def break_glass_role_name(region: str) -> str:
    return f"{PROJECT}-break-glass-{region}"


def operator_role_name(region: str) -> str:
    return f"{PROJECT}-database-operator-{region}"


def dsar_submitter_role_name(region: str) -> str:
    return f"{PROJECT}-{region}-dsar-submitter"


def boundary_policy_name(region: str) -> str:
    return f"{PROJECT}-permissions-boundary-{region}"


# --------------------------------------------------------------------------- delivery (CI/CD)
CICD_PART = "cicd"  # trustbase-<region>-cicd: the pipeline's roles in that region
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials requests
BOOTSTRAP_ROLES_FOR_DEPLOY = ("deploy", "file-publishing")  # no container assets, no lookups


def deploy_environment(region: str) -> str:
    """The GitHub Environment of a region: its approval gate and the deployer's OIDC subject."""
    return f"{PROJECT}-{region}"


def deployer_role_name(region: str) -> str:
    return f"{PROJECT}-{region}-deployer"


def reader_role_name(region: str) -> str:
    return f"{PROJECT}-{region}-reader"


def pipeline_boundary_policy_name(region: str) -> str:
    return f"{PROJECT}-pipeline-boundary-{region}"


def bootstrap_role_name(qualifier: str, kind: str, account: str, region: str) -> str:
    """A role `cdk bootstrap` creates (its template: cdk-<qualifier>-<kind>-role-<account>-<region>)."""
    return f"cdk-{qualifier}-{kind}-role-{account}-{region}"


def github_environment_subject(repository: str, environment: str) -> str:
    """The OIDC `sub` of a job that names an environment (GitHub, "OpenID Connect reference")."""
    return f"repo:{repository}:environment:{environment}"


def github_branch_subject(repository: str, branch: str) -> str:
    """The OIDC `sub` of a push or scheduled job on a branch without an environment."""
    return f"repo:{repository}:ref:refs/heads/{branch}"


# --------------------------------------------------------------------------- people and elevation
class Elevation(StrEnum):
    """The named elevations an operator may ask for (constructs_lib/elevation.py defines each one's
    permissions). Nobody holds them standing: the elevation workflow grants and expires them."""

    CUSTOMER_DATA_READ = "customer-data-read"
    DATABASE_OPERATOR = "database-operator"


class IdentitySource(StrEnum):
    IDENTITY_CENTER = "identity-center"
    SAML = "saml"


class HumanAccess(StrEnum):
    """The standing (non-elevated) human access, each through the identity provider."""

    AUDITOR = "auditor"
    REQUESTER = "requester"
    APPROVER = "approver"


def elevation_role_name(region: str, elevation: str) -> str:
    if elevation == Elevation.DATABASE_OPERATOR:
        return operator_role_name(region)
    return f"{PROJECT}-{region}-elevation-{elevation}"


def human_role_name(region: str, who: str) -> str:
    """The IAM role of a standing human access in `region` (auditor, requester, approver)."""
    if who == HumanAccess.AUDITOR:
        return auditor_role_name(region)
    return f"{PROJECT}-{region}-{who}"


_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def region_short(region: str) -> str:
    """eu-west-1 -> euw1, ap-southeast-2 -> apse2, us-gov-west-1 -> usgovw1 (for 32-character names)."""
    parts = region.split("-")
    return parts[0] + "".join(_DIRECTIONS.get(p, p) for p in parts[1:-1]) + parts[-1]


def permission_set_name(region: str, what: str) -> str:
    """An IAM Identity Center permission set of this region: an elevation or a standing access.
    Permission set names are at most 32 characters (sso-admin CreatePermissionSet: Name, 1-32)."""
    return f"tb-{region_short(region)}-{what}"


def identity_center_role_pattern(partition: str, account: str, permission_set: str) -> str:
    """The ARN (ArnLike) of the role Identity Center provisions for a permission set in an account:
    role/aws-reserved/sso.amazonaws.com/[<region>/]AWSReservedSSO_<permission set name>_<suffix>
    (IAM Identity Center user guide, "Referencing permission sets in resource policies")."""
    return f"arn:{partition}:iam::{account}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{permission_set}_*"


def saml_provider_name() -> str:
    return f"{PROJECT}-idp"


SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"
# The session tag that scopes a customer-data-read elevation to one workspace: the workflow's trust
# requires it (aws:RequestTag) to be the approved workspace, and the role's policy reads only
# under workspaces/${aws:PrincipalTag/...}/ and visitors/${aws:PrincipalTag/...}/.
WORKSPACE_TAG = "trustbase:workspace"


def workspace_scope(workspace_id: str) -> str:
    return f"workspace:{workspace_id}"


def workspace_of_scope(scope: str) -> str | None:
    """The workspace ID of a "workspace:<uuid>" scope, or None."""
    m = re.fullmatch(rf"workspace:({_UUID_RE})", scope or "")
    return m.group(1) if m else None


IDENTITY_STACK = f"{PROJECT}-identity"
ORGANIZATION_STACK = f"{PROJECT}-organization"
# The customer bucket's network-perimeter statement (constructs_lib.perimeter); the local emulator
# removes it by this Sid (no request to it comes through a VPC endpoint).
DATA_PLANE_VPC_SID = "DenyDataPlaneOutsideTheVpc"
ELEVATION_BROKER = "elevation-broker"  # the people's function (its URL)
ELEVATION_STEPS = "elevation-steps"  # the workflow's grant and expire steps
ELEVATION_PREFIX = "elevations/"


def elevation_state_machine_name(region: str) -> str:
    return f"{PROJECT}-{region}-elevation"


def elevation_prefix(region: str) -> str:
    return f"{ELEVATION_PREFIX}{region}/"


def elevation_record_key(region: str, request_id: str, seq: int, step: str) -> str:
    """One step of one elevation, in the audit bucket (Object Lock): requested, approved, granted,
    revoked, expired, refused. Records are never overwritten: each step has its own key."""
    return f"{elevation_prefix(region)}{request_id}/{seq:02d}-{step}.json"


# --------------------------------------------------------------------------- other resources
class LifecycleFunction(StrEnum):
    """The lifecycle functions: one per distinct set of permissions."""

    RETENTION = "retention"
    ERASURE_DATABASE = "erasure-database"
    ERASURE_OBJECTS = "erasure-objects"
    ERASURE_PUBLISH = "erasure-publish"
    ERASURE_REPLAY = "erasure-replay"


def function_name(region: str, name: str) -> str:
    return f"{PROJECT}-{region}-{name}"


def erasure_state_machine_name(region: str) -> str:
    return f"{PROJECT}-{region}-erasure"


def erasure_state_machine_log_group(region: str) -> str:
    # Step Functions vended logs must go to a group under /aws/vendedlogs/.
    return f"/aws/vendedlogs/states/{erasure_state_machine_name(region)}"


def retention_schedule_name(region: str, job: str) -> str:
    return f"{PROJECT}-{region}-retention-{job}"


def inspector_findings_rule_name(region: str) -> str:
    """The EventBridge rule that sends critical Inspector findings to the security alerts topic
    (the topic's policy admits exactly this rule)."""
    return f"{PROJECT}-{region}-inspector-critical"


def cluster_identifier(region: str) -> str:
    return f"{PROJECT}-{region}"


def trail_name(region: str) -> str:
    return f"{PROJECT}-{region}"


def vault_name(region: str) -> str:
    return f"{PROJECT}-{region}"


def dr_vault_name(source_region: str) -> str:
    return f"{PROJECT}-dr-from-{source_region}"


def key_alias(data_class: str, *, dr_copy_of: str | None = None) -> str:
    """`alias/trustbase/<class>`; a DR vault's key in the DR region: `alias/trustbase/dr-from-<r>/<class>`."""
    prefix = f"{PROJECT}/dr-from-{dr_copy_of}" if dr_copy_of else PROJECT
    return f"alias/{prefix}/{data_class}"


def config_rule_name(rule: str) -> str:
    return f"{PROJECT}-{rule}"


def access_analyzer_name(region: str) -> str:
    return f"{PROJECT}-{region}"


def web_acl_metric_name(region: str) -> str:
    return f"{PROJECT}-{region}"


def waf_log_group_name(region: str) -> str:
    # WAF logs to CloudWatch Logs only into a group named aws-waf-logs-*.
    return f"aws-waf-logs-{PROJECT}-{region}"


# A DR restore drill restores into clusters named with this prefix (and deletes them afterwards).
DRILL_RESTORE_PREFIX = f"{PROJECT}-drill-restore-"

AZ_POWER_INTERRUPTION = "az-power-interruption"
AURORA_FAILOVER = "aurora-failover"


def fault_injection_template_name(region: str, scenario: str) -> str:
    """The `Name` tag of a FIS experiment template (scenario: AZ_POWER_INTERRUPTION, AURORA_FAILOVER)."""
    return f"{PROJECT}-{region}-{scenario}"


# --------------------------------------------------------------------------- S3 key layout
# The contract with the application tier (README "S3 key layout"):
#   workspaces/<workspace_id>/users/<user_id>/...   an end user's objects
#   workspaces/<workspace_id>/...                    other workspace objects
#   visitors/<workspace_id>/<visitor_id>/...         a website visitor's objects
WORKSPACE_PREFIX = "workspaces/"
VISITOR_PREFIX = "visitors/"
USERS_SEGMENT = "users/"
CUSTOMER_PREFIXES = (WORKSPACE_PREFIX, VISITOR_PREFIX)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUID_RE = _UUID
# Exactly the prefixes one subject owns (what erasure may delete under): a workspace's two, a
# user's, a visitor's. Anything else (a shorter prefix, another shape) could widen an erasure.
SUBJECT_PREFIX = re.compile(
    rf"^(?:{re.escape(WORKSPACE_PREFIX)}{_UUID}/(?:{re.escape(USERS_SEGMENT)}{_UUID}/)?"
    rf"|{re.escape(VISITOR_PREFIX)}{_UUID}/(?:{_UUID}/)?)$"
)
# The DR drill writes inside the app's prefix, so it exercises the real layout.
DR_DRILL_PREFIX = f"{WORKSPACE_PREFIX}_dr-drill/"
# Published erasure-ledger entries, in the audit bucket (Object Lock), one prefix per region.
LEDGER_PREFIX = "erasure-ledger/"


def user_prefixes(workspace_id: str, user_id: str) -> list[str]:
    return [f"{WORKSPACE_PREFIX}{workspace_id}/{USERS_SEGMENT}{user_id}/"]


def visitor_prefixes(workspace_id: str, visitor_id: str) -> list[str]:
    return [f"{VISITOR_PREFIX}{workspace_id}/{visitor_id}/"]


def workspace_prefixes(workspace_id: str) -> list[str]:
    return [f"{WORKSPACE_PREFIX}{workspace_id}/", f"{VISITOR_PREFIX}{workspace_id}/"]


def ledger_prefix(region: str) -> str:
    return f"{LEDGER_PREFIX}{region}/"


def ledger_object_key(region: str, request_id: str) -> str:
    return f"{ledger_prefix(region)}{request_id}.json"


# The audit bucket (Object Lock): one prefix per writer.
TRAIL_PREFIX = "cloudtrail"
CONFIG_PREFIX = "config"
GUARDDUTY_PREFIX = "guardduty"


# --------------------------------------------------------------------------- database
DATABASE_NAME = "trustbase"
DB_PORT = 5532
# The migrating (master) user: CREATEROLE/CREATEDB, not a superuser (as on RDS).
MASTER_USERNAME = "trustbase_admin"
APP_DB_USER = "trustbase_app"
LIFECYCLE_DB_USER = "trustbase_lifecycle"
DR_DB_USER = "trustbase_dr"
# The login roles the migrations create (each logs in with IAM database authentication only).
IAM_DB_USERS = frozenset({APP_DB_USER, LIFECYCLE_DB_USER, DR_DB_USER})
# The DR canary: a schema of its own, owned by the migrating user, written only by trustbase_dr.
CANARY_TABLE = f"{DR_DB_USER}.canary"


def db_user_arn(partition: str, region: str, account: str, cluster_resource_id: str, user: str) -> str:
    """What `rds-db:connect` is granted on (IAM database authentication)."""
    return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{cluster_resource_id}/{user}"


# --------------------------------------------------------------------------- TLS
# ALB policies that allow only TLS 1.2+ and only forward-secret (ECDHE / TLS 1.3) cipher suites.
# Deliberately absent: ELBSecurityPolicy-TLS13-1-2-2021-06 (CDK's RECOMMENDED_TLS, which still
# offers RSA key exchange), every *-Ext* policy, and FS-1-2-2019-08 (offers SHA-1 CBC suites).
# The config validation, the construct, the template checks, the compliance mapping and the
# read-back of a deployed listener all use this set.
FORWARD_SECRET_TLS_POLICIES: frozenset[str] = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    }
)
DEFAULT_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
