"""Every access path trustbase promises to work, and every one it promises to refuse.

A row names who (a role of the assembly by construct path, an AWS service principal, or a
hypothetical principal), the action, the resource and the request context AWS sends. Templates:
`{part:Construct/Path.Attr}` is that resource's attribute in the region's `part` stack
(`{data:CustomerData/Bucket.Arn}`), `{account}` and `{region}` the stack's environment.

Where the request context comes from a service, the row cites what the service sends. Families
whose members follow from the templates (every alarm and its topic, every encrypted log group,
every bucket's access logging) are generated from the model, so a new alarm or log group is
covered without a new row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from access_paths.model import RegionModel
from contract import (
    APP_DB_USER,
    DR_DB_USER,
    DR_DRILL_PREFIX,
    ELEVATION_PREFIX,
    LEDGER_PREFIX,
    LIFECYCLE_DB_USER,
    VISITOR_PREFIX,
    WORKSPACE_PREFIX,
    WORKSPACE_TAG,
    db_user_arn,
    erasure_state_machine_name,
    ledger_object_key,
    ledger_prefix,
    trail_name,
)


class Expect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


# People signed in through IAM Identity Center: the role Identity Center provisions for the
# region's permission set of that access or elevation ("idc:<access>", e.g. "idc:auditor").
IDC = "idc:"
# An IAM user of the account with every permission and MFA, and the account's root user: neither
# may ever assume a human role (only the identity provider signs people in).
IAM_USER = "iam-user"
ROOT = "root"
# Hypothetical principals for the forbidden families: an administrator of the account (identity
# policy allowing every action, no boundary) and a principal of another account with the same.
ACCOUNT_ADMIN = "admin"
EXTERNAL = "external"
EXTERNAL_ACCOUNT = "999999999999"
# The CDK bootstrap's CloudFormation execution role: the reviewed deploy is the only principal
# that may change the audit buckets' retention settings.
DEPLOY = "deploy"
DEPLOY_ROLE = "arn:aws:iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-{region}"
# Macie's service-linked role, which its classification jobs read customer objects as.
MACIE = "macie"
MACIE_ROLE = "arn:aws:iam::{account}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"


@dataclass(frozen=True)
class AccessPath:
    family: str
    name: str
    who: str  # "role:<template>", "service:<principal>", ACCOUNT_ADMIN, EXTERNAL, "person"
    action: str
    resource: str
    expect: Expect = Expect.ALLOW
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    through: str | None = None  # the VPC endpoint (service name) the request goes through
    # For sts:AssumeRole on an elevation role: evaluate its trust as the elevation workflow writes it
    # (elevation.trust.trust_for) instead of the deployed, closed one: "during" the person's approved
    # window, "after" it, or during "another" person's window.
    elevation_window: str | None = None
    elevation_tags: tuple[tuple[str, str], ...] = ()  # the session tags the approval names (its scope)


# Request context the services send, per their documentation:
SOURCE_ACCOUNT = {"aws:SourceAccount": "{account}"}
BUCKET_OWNER_FULL_CONTROL = {"s3:x-amz-acl": "bucket-owner-full-control"}
MFA = {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "300"}


def _via(service: str) -> dict[str, str]:
    return {"kms:ViaService": f"{service}.{{region}}.amazonaws.com", "kms:CallerAccount": "{account}"}


APP = "role:{edge:AppTier/Task/Role.Arn}"
SUBMITTER = "role:{lifecycle:Lifecycle/Submitter/Role.Arn}"
AUDITOR = "role:{detection:Access/Auditor/Role.Arn}"
BREAK_GLASS = "role:{detection:Access/BreakGlass/Role.Arn}"
CUSTOMER_BUCKET = "{data:CustomerData/Bucket.Arn}"
AUDIT_BUCKET = "{audit:AuditRecords/Bucket.Arn}"
CONFIG_BUCKET = "{audit:ConfigRecords/Bucket.Arn}"
ACCESS_LOG_BUCKET = "{data:AccessLogs/Bucket.Arn}"
OBJECTS_KEY = "{keys:ObjectsKey/Key.Arn}"
AUDIT_KEY = "{keys:AuditKey/Key.Arn}"
LIFECYCLE_KEY = "{keys:LifecycleKey/Key.Arn}"
DATABASE_KEY = "{keys:DatabaseKey/Key.Arn}"
CLUSTER_ID = "{data:Aurora/Cluster.DBClusterResourceId}"
STATE_MACHINE = "{lifecycle:Lifecycle/StateMachine.Arn}"
LEDGER_OBJECT = AUDIT_BUCKET + "/" + ledger_object_key("{region}", "req-1")


def _s3_key_via(bucket: str) -> dict[str, str]:
    """S3 calls KMS for an SSE-KMS object with the bucket key: the bucket ARN is the context."""
    return {**_via("s3"), "kms:EncryptionContext:aws:s3:arn": bucket}


def _function(name: str) -> str:
    return f"role:{{lifecycle:Lifecycle/{name}/Role/Role.Arn}}"


def _assumed_by(family: str, service: str, role_template: str, context: Mapping[str, str]) -> AccessPath:
    return AccessPath(
        family,
        f"{service} assumes its role",
        f"service:{service}",
        "sts:AssumeRole",
        role_template.removeprefix("role:"),
        context=context,
    )


def intended(model: RegionModel) -> Iterator[AccessPath]:
    """The paths that must be ALLOWED (issue: 'intended paths, at minimum')."""
    yield from _alarm_paths(model)
    yield from _log_group_paths(model)
    yield from _access_logging_paths(model)
    yield from _static_intended()
    if not _federated(model):  # under SAML the auditor signs in by AssumeRoleWithSAML (not modeled)
        yield AccessPath(
            "auditor",
            "a person signed in through Identity Center with the auditor access assumes the auditor role",
            "idc:auditor",
            "sts:AssumeRole",
            AUDITOR.removeprefix("role:"),
        )
    if model.has("detection", "OperatorAccess/Operator/Role"):  # config operator_access
        yield from _operator_paths(_holder(model, "idc:database-operator"))
    if model.has("cicd", "Pipeline/Deployer/Role"):  # config [delivery]
        yield from (p for p in _pipeline_paths() if p.expect is Expect.ALLOW)
    yield from _elevation_paths(model)
    # The DR drill (python -m dr_drill, an administrator's session outside the VPC) writes and reads
    # its synthetic objects: the customer bucket's network perimeter leaves that prefix out.
    drill = f"{CUSTOMER_BUCKET}/{DR_DRILL_PREFIX}run-1/canary.txt"
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        yield AccessPath(
            "dr-drill", f"a drill {action} on its synthetic object from outside the VPC", ACCOUNT_ADMIN, action, drill
        )


ELEVATION_READ = "{detection:Elevation/CustomerDataRead/Role.Arn}"
BROKER = "role:{detection:ElevationBroker/Broker/Role/Role.Arn}"
BROKER_FUNCTION = "{detection:ElevationBroker/Broker/Function.Arn}"
ELEVATION_WORKFLOW = "{detection:ElevationBroker/Workflow.Arn}"
ALERTS_TOPIC = "{audit:Alarms/Topic.Ref}"
ELEVATION_RECORD = f"{AUDIT_BUCKET}/{ELEVATION_PREFIX}{{region}}/el-20261102T090000Z-0a1b2c3d/00-requested.json"


STEPS = "role:{detection:ElevationBroker/Steps/Role/Role.Arn}"
APPROVED_WORKSPACE = "0a1b2c3d-0000-4000-8000-000000000001"  # the workspace an approval names
OTHER_WORKSPACE = "0a1b2c3d-0000-4000-8000-000000000002"
APPROVED_SCOPE = ((WORKSPACE_TAG, APPROVED_WORKSPACE),)


def _tagged_request(workspace: str) -> dict[str, str | tuple[str, ...]]:
    """An AssumeRole request that sets the workspace session tag."""
    return {f"aws:RequestTag/{WORKSPACE_TAG}": workspace, "aws:TagKeys": (WORKSPACE_TAG,)}


def _session_tag(workspace: str) -> dict[str, str]:
    return {f"aws:PrincipalTag/{WORKSPACE_TAG}": workspace}


STEPS_FUNCTION = "{detection:ElevationBroker/Steps/Function.Arn}"


SAML_REQUESTER = "role:{detection:People/Requester/Role.Arn}"


def _federated(model: RegionModel) -> bool:
    """The SAML fallback (no Identity Center): the auditor role trusts a SAML provider."""
    stack = model.stack("detection")
    trust = stack.resources[model.logical_id("detection", "Access/Auditor/Role")]["Properties"][
        "AssumeRolePolicyDocument"
    ]
    return any(st.get("Action") == "sts:AssumeRoleWithSAML" for st in trust["Statement"])


def _holder(model: RegionModel, access: str) -> str:
    """Who holds an elevation: the role Identity Center provisions for its permission set, or,
    under the SAML fallback, the requester role itself (its real policy and boundary)."""
    return SAML_REQUESTER if _federated(model) else access


def _elevation_paths(model: RegionModel) -> Iterator[AccessPath]:
    """Just-in-time elevation (constructs_lib/elevation.py): during an approved window the
    elevation's permission-set role opens its role; the role reads customer objects; the broker
    records, notifies and starts its workflow; the workflow's steps open and close the trust."""
    if model.has("detection", "Elevation/CustomerDataRead/Role"):
        yield AccessPath(
            "elevation",
            "a person holding an approved customer-data-read elevation assumes its role "
            "during the window, tagged with the approved workspace",
            _holder(model, "idc:customer-data-read"),
            "sts:AssumeRole",
            ELEVATION_READ,
            elevation_window="during",
            elevation_tags=APPROVED_SCOPE,
            context=_tagged_request(APPROVED_WORKSPACE),
        )
        yield AccessPath(
            "elevation",
            "... and tags the session (sts:TagSession)",
            _holder(model, "idc:customer-data-read"),
            "sts:TagSession",
            ELEVATION_READ,
            elevation_window="during",
            elevation_tags=APPROVED_SCOPE,
            context=_tagged_request(APPROVED_WORKSPACE),
        )
        reader = "role:" + ELEVATION_READ
        obj = f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}{APPROVED_WORKSPACE}/attachments/a.pdf"
        yield AccessPath(
            "elevation",
            "the elevation reads an object of the approved workspace",
            reader,
            "s3:GetObject",
            obj,
            context=_session_tag(APPROVED_WORKSPACE),
        )
        yield AccessPath(
            "elevation",
            "the elevation reads a visitor object of the approved workspace",
            reader,
            "s3:GetObject",
            f"{CUSTOMER_BUCKET}/{VISITOR_PREFIX}{APPROVED_WORKSPACE}/v-1/x",
            context=_session_tag(APPROVED_WORKSPACE),
        )
        yield AccessPath(
            "elevation",
            "the elevation decrypts it through S3",
            reader,
            "kms:Decrypt",
            OBJECTS_KEY,
            context=_s3_key_via(CUSTOMER_BUCKET),
        )
        yield AccessPath(
            "elevation-workflow",
            "the workflow's steps open and close the elevation's trust",
            STEPS,
            "iam:UpdateAssumeRolePolicy",
            ELEVATION_READ,
        )
        yield AccessPath(
            "elevation-workflow",
            "the workflow's steps end the elevation's older sessions",
            STEPS,
            "iam:PutRolePolicy",
            ELEVATION_READ,
        )
    if not model.has("detection", "ElevationBroker/Broker/Function"):
        return  # no elevation offered in this region
    yield _assumed_by("elevation-broker", "lambda.amazonaws.com", BROKER, SOURCE_ACCOUNT)
    yield _assumed_by("elevation-workflow", "lambda.amazonaws.com", STEPS, SOURCE_ACCOUNT)
    for who, family in ((BROKER, "elevation-broker"), (STEPS, "elevation-workflow")):
        yield AccessPath(family, "records a step", who, "s3:PutObject", ELEVATION_RECORD)
        yield AccessPath(family, "reads a step", who, "s3:GetObject", ELEVATION_RECORD)
        yield AccessPath(
            family, "encrypts a record", who, "kms:GenerateDataKey", AUDIT_KEY, context=_s3_key_via(AUDIT_BUCKET)
        )
        yield AccessPath(family, "notifies the alerts topic", who, "sns:Publish", ALERTS_TOPIC)
        yield AccessPath(
            family,
            "encrypts the notification",
            who,
            "kms:GenerateDataKey",
            AUDIT_KEY,
            context={**_via("sns"), "kms:EncryptionContext:aws:sns:topicArn": ALERTS_TOPIC},
        )
    yield AccessPath(
        "elevation-broker", "the broker starts the workflow", BROKER, "states:StartExecution", ELEVATION_WORKFLOW
    )
    yield AccessPath(
        "elevation-broker",
        "the broker encrypts the workflow's input",
        BROKER,
        "kms:GenerateDataKey",
        LIFECYCLE_KEY,
        context={**_via("states"), "kms:EncryptionContext:aws:states:stateMachineArn": ELEVATION_WORKFLOW},
    )
    execution = "arn:aws:states:{region}:{account}:execution:trustbase-{region}-elevation:el-x"
    yield AccessPath(
        "elevation-broker", "the broker stops a revoked elevation's workflow", BROKER, "states:StopExecution", execution
    )
    workflow = "role:{detection:ElevationBroker/WorkflowRole/Role.Arn}"
    yield _assumed_by(
        "elevation-workflow", "states.amazonaws.com", workflow, {**SOURCE_ACCOUNT, "aws:SourceArn": ELEVATION_WORKFLOW}
    )
    yield AccessPath(
        "elevation-workflow",
        "the workflow invokes its grant and expire steps",
        workflow,
        "lambda:InvokeFunction",
        STEPS_FUNCTION,
    )


def _elevation_forbidden(model: RegionModel) -> Iterator[AccessPath]:
    """No standing access: without an approved elevation (another access's role, an IAM user, the
    root user), after its expiry, or in another person's window, nobody opens an elevation; the
    auditor role only through its access; the elevation only reads; the broker never reads
    customer data, writes outside its records or changes another role; the workflow cannot reach
    the people's function (which trusts the caller in its event)."""
    targets: list[tuple[str, str, str | None]] = [("the auditor role", AUDITOR.removeprefix("role:"), None)]
    for label, role, access in (
        ("the customer-data-read elevation", ELEVATION_READ, "idc:customer-data-read"),
        ("the database-operator elevation", "{detection:OperatorAccess/Operator/Role.Arn}", "idc:database-operator"),
    ):
        path = role.split(":", 1)[1].rsplit(".", 1)[0]
        if not model.has("detection", path):
            continue
        targets.append((label, role, access))
        access = _holder(model, access)
        yield AccessPath(
            "no-standing-access",
            f"a person whose {label} has expired assumes it",
            access,
            "sts:AssumeRole",
            role,
            elevation_window="after",
            expect=Expect.DENY,
        )
        yield AccessPath(
            "no-standing-access",
            f"another person of the same access during someone's {label}",
            access,
            "sts:AssumeRole",
            role,
            elevation_window="another",
            expect=Expect.DENY,
        )
        yield AccessPath(
            "no-standing-access",
            f"a person holding the {label} access before any approval",
            access,
            "sts:AssumeRole",
            role,
            expect=Expect.DENY,
        )
    if model.has("detection", "Elevation/CustomerDataRead/Role"):
        holder = _holder(model, "idc:customer-data-read")
        yield AccessPath(
            "no-standing-access",
            "the holder tags the session with another workspace",
            holder,
            "sts:TagSession",
            ELEVATION_READ,
            elevation_window="during",
            elevation_tags=APPROVED_SCOPE,
            context=_tagged_request(OTHER_WORKSPACE),
            expect=Expect.DENY,
        )
        yield AccessPath(
            "no-standing-access",
            "the holder assumes the elevation without the workspace tag",
            holder,
            "sts:TagSession",
            ELEVATION_READ,
            elevation_window="during",
            elevation_tags=APPROVED_SCOPE,
            expect=Expect.DENY,
        )
        reader = "role:" + ELEVATION_READ
        yield AccessPath(
            "elevation-confined",
            "the read elevation reads another workspace",
            reader,
            "s3:GetObject",
            f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}{OTHER_WORKSPACE}/x",
            context=_session_tag(APPROVED_WORKSPACE),
            expect=Expect.DENY,
        )
        yield AccessPath(
            "elevation-confined",
            "the read elevation reads without a workspace tag",
            reader,
            "s3:GetObject",
            f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}{APPROVED_WORKSPACE}/x",
            expect=Expect.DENY,
        )
        for action in ("s3:PutObject", "s3:DeleteObject"):
            yield AccessPath(
                "elevation-confined",
                f"the read elevation {action}",
                reader,
                action,
                f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}w/x",
                expect=Expect.DENY,
            )
        yield AccessPath(
            "elevation-confined",
            "the read elevation decrypts outside S3",
            reader,
            "kms:Decrypt",
            OBJECTS_KEY,
            expect=Expect.DENY,
        )
    for label, role, _access in targets:
        for who, whom in (
            ("idc:requester", "an operator without an approved elevation (requester access)"),
            ("idc:approver", "an approver"),
            (IAM_USER, "an IAM user with every permission and MFA"),
            (ROOT, "the account's root user"),
            ("person", "a principal of the account with MFA"),
        ):
            yield AccessPath(
                "no-standing-access",
                f"{whom} assumes {label}",
                who,
                "sts:AssumeRole",
                role,
                context=MFA,
                expect=Expect.DENY,
            )
        if label != "the auditor role":
            yield AccessPath(
                "no-standing-access",
                f"the auditor access assumes {label}",
                "idc:auditor",
                "sts:AssumeRole",
                role,
                elevation_window="another",
                expect=Expect.DENY,
            )
    if not model.has("detection", "ElevationBroker/Broker/Function"):
        return
    yield AccessPath(
        "elevation-confined",
        "the broker reads a customer object",
        BROKER,
        "s3:GetObject",
        f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}w/x",
        expect=Expect.DENY,
    )
    yield AccessPath(
        "elevation-confined",
        "the broker writes into the erasure ledger",
        BROKER,
        "s3:PutObject",
        f"{AUDIT_BUCKET}/{LEDGER_PREFIX}{{region}}/x.json",
        expect=Expect.DENY,
    )
    for who in (BROKER, STEPS):
        yield AccessPath(
            "elevation-confined",
            "the elevation functions rewrite the app role's trust",
            who,
            "iam:UpdateAssumeRolePolicy",
            APP.removeprefix("role:"),
            expect=Expect.DENY,
        )
        yield AccessPath(
            "elevation-confined",
            "the elevation functions give the auditor role a policy",
            who,
            "iam:PutRolePolicy",
            AUDITOR.removeprefix("role:"),
            expect=Expect.DENY,
        )
    workflow = "role:{detection:ElevationBroker/WorkflowRole/Role.Arn}"
    yield AccessPath(
        "elevation-confined",
        "the workflow invokes the people's function (a forged caller)",
        workflow,
        "lambda:InvokeFunction",
        BROKER_FUNCTION,
        expect=Expect.DENY,
    )
    yield AccessPath(
        "elevation-confined",
        "the workflow's steps start an elevation workflow",
        STEPS,
        "states:StartExecution",
        ELEVATION_WORKFLOW,
        expect=Expect.DENY,
    )


def _operator_paths(holder: str) -> Iterator[AccessPath]:
    """The database operator's port forward (Systems Manager user guide: StartSession needs the
    instance and the document; the agent's channels go through the ssm/ssmmessages endpoints)."""
    operator, host = (
        "role:{detection:OperatorAccess/Operator/Role.Arn}",
        "role:{network:OperatorHost/HostRole/Role.Arn}",
    )
    instance = "arn:aws:ec2:{region}:{account}:instance/{network:OperatorHost/Host.Ref}"
    yield AccessPath(
        "operator",
        "a person holding an approved database-operator elevation assumes the operator role during the window",
        holder,
        "sts:AssumeRole",
        operator.removeprefix("role:"),
        elevation_window="during",
    )
    yield AccessPath("operator", "the operator starts a session on the host", operator, "ssm:StartSession", instance)
    yield AccessPath(
        "operator",
        "... with the remote-host port-forwarding document",
        operator,
        "ssm:StartSession",
        "arn:aws:ssm:{region}::document/AWS-StartPortForwardingSessionToRemoteHost",
    )
    yield AccessPath(
        "operator",
        f"the operator connects to Aurora as {DR_DB_USER}",
        operator,
        "rds-db:connect",
        db_user_arn("aws", "{region}", "{account}", CLUSTER_ID, DR_DB_USER),
    )
    yield _assumed_by("operator", "ec2.amazonaws.com", host, {})
    yield AccessPath(
        "operator",
        "the host's agent registers through the SSM endpoint",
        host,
        "ssm:UpdateInstanceInformation",
        instance,
        through="ssm",
    )
    yield AccessPath(
        "operator",
        "the host's agent opens the data channel",
        host,
        "ssmmessages:OpenDataChannel",
        "arn:aws:ssm:{region}:{account}:session/operator-1",
        through="ssmmessages",
    )


DEPLOYER = "role:{cicd:Pipeline/Deployer/Role.Arn}"
READER = "role:{cicd:Pipeline/Reader/Role.Arn}"
BOOTSTRAP_DEPLOY_ROLE = "arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-{region}"
DATA_STACK_ARN = "arn:aws:cloudformation:{region}:{account}:stack/trustbase-{region}-data/0a1b2c3d"


def _pipeline_paths() -> Iterator[AccessPath]:
    """The deploy pipeline's roles (constructs_lib/delivery.py): the deployer reaches the CDK
    bootstrap and the deployed templates, the reader drift detection, the alerts topic and the
    configuration key through Lambda; neither reads customer data or decrypts with a data key."""
    allowed = [
        (
            "deployer assumes the region's CDK bootstrap deploy role",
            DEPLOYER,
            "sts:AssumeRole",
            BOOTSTRAP_DEPLOY_ROLE,
            {},
        ),
        ("deployer reads a deployed template", DEPLOYER, "cloudformation:GetTemplate", DATA_STACK_ARN, {}),
        ("reader starts drift detection", READER, "cloudformation:DetectStackDrift", DATA_STACK_ARN, {}),
        ("reader raises the alerts topic", READER, "sns:Publish", ALERTS_TOPIC, {}),
        # SNS encrypts what the reader publishes with the audit key, in the reader's name
        ("reader encrypts an alert through SNS", READER, "kms:GenerateDataKey", AUDIT_KEY, _via("sns")),
        # CloudFormation's read of a function decrypts its environment through Lambda
        ("reader reads a function's configuration", READER, "kms:Decrypt", LIFECYCLE_KEY, _via("lambda")),
    ]
    for name, who, action, resource, context in allowed:
        yield AccessPath("pipeline", name, who, action, resource, context=context)
    other_region_role = "arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-sa-east-1"
    denied = [
        ("deployer reads a customer object", DEPLOYER, "s3:GetObject", f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}w/x", {}),
        ("reader reads a customer object", READER, "s3:GetObject", f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}w/x", {}),
        ("deployer assumes another region's bootstrap role", DEPLOYER, "sts:AssumeRole", other_region_role, {}),
        ("deployer creates a role itself", DEPLOYER, "iam:CreateRole", "arn:aws:iam::{account}:role/x", {}),
        ("reader decrypts with the objects key through S3", READER, "kms:Decrypt", OBJECTS_KEY, _via("s3")),
        ("reader decrypts with the lifecycle key directly", READER, "kms:Decrypt", LIFECYCLE_KEY, {}),
        ("reader starts an erasure", READER, "states:StartExecution", STATE_MACHINE, {}),
    ]
    for name, who, action, resource, context in denied:
        yield AccessPath("pipeline-confined", name, who, action, resource, expect=Expect.DENY, context=context)


def _static_intended() -> Iterator[AccessPath]:
    # --- AWS Config delivers snapshots and history (Config developer guide: bucket policy
    # AWSConfigBucketPermissionsCheck/ExistenceCheck/Delivery and key policy AWSConfigKMSPolicy,
    # principal config.amazonaws.com with AWS:SourceAccount).
    config = "service:config.amazonaws.com"
    yield AccessPath(
        "config", "Config checks the bucket ACL", config, "s3:GetBucketAcl", CONFIG_BUCKET, context=SOURCE_ACCOUNT
    )
    yield AccessPath(
        "config", "Config checks the bucket exists", config, "s3:ListBucket", CONFIG_BUCKET, context=SOURCE_ACCOUNT
    )
    yield AccessPath(
        "config",
        "Config delivers a snapshot",
        config,
        "s3:PutObject",
        CONFIG_BUCKET + "/config/AWSLogs/{account}/Config/{region}/2026/11/29/ConfigSnapshot/x.json.gz",
        context={**SOURCE_ACCOUNT, **BUCKET_OWNER_FULL_CONTROL},
    )
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield AccessPath(
            "config",
            f"Config encrypts with the audit key ({action})",
            config,
            action,
            AUDIT_KEY,
            context=SOURCE_ACCOUNT,
        )
    # --- CloudTrail (CloudTrail user guide: bucket policy with aws:SourceArn = the trail, KMS key
    # policy with the cloudtrail encryption context; its CloudWatch Logs role trust "doesn't support
    # the use of aws:SourceArn and aws:SourceAccount", so the request carries neither).
    trail_arn = "arn:aws:cloudtrail:{region}:{account}:trail/" + trail_name("{region}")
    trail = "service:cloudtrail.amazonaws.com"
    yield AccessPath(
        "cloudtrail",
        "CloudTrail checks the bucket ACL",
        trail,
        "s3:GetBucketAcl",
        AUDIT_BUCKET,
        context={"aws:SourceArn": trail_arn, **SOURCE_ACCOUNT},
    )
    yield AccessPath(
        "cloudtrail",
        "CloudTrail delivers a log file",
        trail,
        "s3:PutObject",
        AUDIT_BUCKET + "/cloudtrail/AWSLogs/{account}/CloudTrail/{region}/2026/11/29/x.json.gz",
        context={"aws:SourceArn": trail_arn, **SOURCE_ACCOUNT, **BUCKET_OWNER_FULL_CONTROL},
    )
    yield AccessPath(
        "cloudtrail",
        "CloudTrail encrypts with the audit key",
        trail,
        "kms:GenerateDataKey",
        AUDIT_KEY,
        context={"aws:SourceArn": trail_arn, **SOURCE_ACCOUNT, "kms:EncryptionContext:aws:cloudtrail:arn": trail_arn},
    )
    yield AccessPath(
        "cloudtrail",
        "CloudTrail describes the audit key",
        trail,
        "kms:DescribeKey",
        AUDIT_KEY,
        context={"aws:SourceArn": trail_arn, **SOURCE_ACCOUNT},
    )
    yield _assumed_by("cloudtrail", "cloudtrail.amazonaws.com", "role:{audit:Trail/LogsDelivery/Role.Arn}", {})
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield AccessPath(
            "cloudtrail",
            f"CloudTrail's role writes the trail log group ({action})",
            "role:{audit:Trail/LogsDelivery/Role.Arn}",
            action,
            "{audit:Trail/Logs.Arn}".removesuffix(":*") + ":log-stream:{account}_CloudTrail_{region}",
        )
    # --- GuardDuty exports findings (GuardDuty user guide: bucket and key policy with
    # aws:SourceAccount and aws:SourceArn = the detector).
    gd, detector = (
        "service:guardduty.amazonaws.com",
        "arn:aws:guardduty:{region}:{account}:detector/{detection:GuardDuty/Detector.Ref}",
    )
    gd_context = {**SOURCE_ACCOUNT, "aws:SourceArn": detector}
    yield AccessPath(
        "guardduty", "GuardDuty locates the bucket", gd, "s3:GetBucketLocation", AUDIT_BUCKET, context=gd_context
    )
    yield AccessPath(
        "guardduty",
        "GuardDuty exports a finding",
        gd,
        "s3:PutObject",
        AUDIT_BUCKET + "/guardduty/AWSLogs/{account}/GuardDuty/{region}/x.jsonl.gz",
        context=gd_context,
    )
    yield AccessPath(
        "guardduty", "GuardDuty encrypts with the audit key", gd, "kms:GenerateDataKey", AUDIT_KEY, context=gd_context
    )
    # --- ELB access logs (ELB user guide: the log-delivery service principal, every Region).
    yield AccessPath(
        "elb-logs",
        "the ALB delivers access logs",
        "service:logdelivery.elasticloadbalancing.amazonaws.com",
        "s3:PutObject",
        ACCESS_LOG_BUCKET + "/alb/AWSLogs/{account}/elasticloadbalancing/{region}/x.log.gz",
        context=SOURCE_ACCOUNT,
    )
    # --- the app tier: its two prefixes, the objects key through S3, its database user, the DSAR intake.
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        for prefix in (WORKSPACE_PREFIX + "w-1/", VISITOR_PREFIX + "v-1/"):
            yield AccessPath(
                "app", f"app {action} under {prefix}", APP, action, CUSTOMER_BUCKET + f"/{prefix}doc.txt", through="s3"
            )  # the app tier is in the VPC: S3 through the gateway endpoint
    yield AccessPath(
        "app",
        "app lists a workspace",
        APP,
        "s3:ListBucket",
        CUSTOMER_BUCKET,
        context={"s3:prefix": WORKSPACE_PREFIX + "w-1/"},
        through="s3",
    )
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        yield AccessPath(
            "app",
            f"app uses the objects key through S3 ({action})",
            APP,
            action,
            OBJECTS_KEY,
            context=_s3_key_via(CUSTOMER_BUCKET),
        )
    yield AccessPath(
        "app",
        f"app connects to Aurora as {APP_DB_USER}",
        APP,
        "rds-db:connect",
        db_user_arn("aws", "{region}", "{account}", CLUSTER_ID, APP_DB_USER),
    )
    yield AccessPath(
        "dsar-intake",
        "app assumes the DSAR submitter",
        APP,
        "sts:AssumeRole",
        "{lifecycle:Lifecycle/Submitter/Role.Arn}",
        through="sts",
    )
    yield AccessPath(
        "dsar-intake",
        "the submitter starts an erasure",
        SUBMITTER,
        "states:StartExecution",
        STATE_MACHINE,
        through="states",
    )
    yield AccessPath(
        "dsar-intake",
        "the submitter reads an erasure's result",
        SUBMITTER,
        "states:DescribeExecution",
        "arn:aws:states:{region}:{account}:execution:" + erasure_state_machine_name("{region}") + ":req-1",
        through="states",
    )
    yield AccessPath(
        "dsar-intake",
        "the submitter encrypts the execution input",
        SUBMITTER,
        "kms:GenerateDataKey",
        LIFECYCLE_KEY,
        context={**_via("states"), "kms:EncryptionContext:aws:states:stateMachineArn": STATE_MACHINE},
    )
    # --- lifecycle functions: exactly what each step needs.
    yield from _lifecycle_function_paths()
    # --- the erasure state machine.
    machine = "role:{lifecycle:Lifecycle/StateMachineRole/Role.Arn}"
    yield _assumed_by(
        "state-machine", "states.amazonaws.com", machine, {**SOURCE_ACCOUNT, "aws:SourceArn": STATE_MACHINE}
    )
    for fn in ("ErasureDatabase", "ErasureObjects", "ErasurePublish"):
        yield AccessPath(
            "state-machine",
            f"the state machine invokes {fn}",
            machine,
            "lambda:InvokeFunction",
            f"{{lifecycle:Lifecycle/{fn}/Function.Arn}}",
        )
    # Distributed Map: the machine starts its children (executions of itself) and manages them.
    yield AccessPath(
        "state-machine", "the state machine starts its map's children", machine, "states:StartExecution", STATE_MACHINE
    )
    child = (
        "arn:aws:states:{region}:{account}:execution:"
        + erasure_state_machine_name("{region}")
        + "/EraseObjectShards:c-1"
    )
    for action in ("states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"):
        yield AccessPath("state-machine", f"the state machine manages a map child ({action})", machine, action, child)
    yield AccessPath(
        "state-machine",
        "the state machine dead-letters a request",
        machine,
        "sqs:SendMessage",
        "{lifecycle:Lifecycle/ErasureDlq/Queue.Arn}",
    )
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield AccessPath(
            "state-machine",
            f"the state machine uses the lifecycle key through SQS ({action})",
            machine,
            action,
            LIFECYCLE_KEY,
            context={**_via("sqs"), "kms:EncryptionContext:aws:sqs:arn": "{lifecycle:Lifecycle/ErasureDlq/Queue.Arn}"},
        )
        yield AccessPath(
            "state-machine",
            f"the state machine uses its own data key ({action})",
            machine,
            action,
            LIFECYCLE_KEY,
            context={**_via("states"), "kms:EncryptionContext:aws:states:stateMachineArn": STATE_MACHINE},
        )
    yield AccessPath("state-machine", "the state machine sets up log delivery", machine, "logs:CreateLogDelivery", "*")
    yield AccessPath(
        "state-machine",
        "the state machine encrypts log data for delivery",
        machine,
        "kms:GenerateDataKey",
        LIFECYCLE_KEY,
        context={
            "kms:CallerAccount": "{account}",
            "kms:EncryptionContext:SourceArn": "arn:aws:logs:{region}:{account}:*",
        },
    )
    yield AccessPath(
        "state-machine",
        "vended-log delivery decrypts execution data",
        "service:delivery.logs.amazonaws.com",
        "kms:Decrypt",
        LIFECYCLE_KEY,
        # the CloudWatch Logs guide: vended-log delivery sends this account's logs as source
        context={
            **SOURCE_ACCOUNT,
            "aws:SourceArn": "arn:aws:logs:{region}:{account}:*",
            "kms:EncryptionContext:aws:states:stateMachineArn": STATE_MACHINE,
        },
    )
    # --- EventBridge Scheduler (Scheduler user guide: SourceAccount and a schedule-group SourceArn).
    sched = "role:{lifecycle:Lifecycle/SchedulerRole/Role.Arn}"
    group = {**SOURCE_ACCOUNT, "aws:SourceArn": "arn:aws:scheduler:{region}:{account}:schedule-group/default"}
    yield _assumed_by("scheduler", "scheduler.amazonaws.com", sched, group)
    yield AccessPath(
        "scheduler",
        "a retention schedule invokes the retention function",
        sched,
        "lambda:InvokeFunction",
        "{lifecycle:Lifecycle/Retention/Function.Arn}",
    )
    yield AccessPath(
        "scheduler",
        "a retention schedule dead-letters",
        sched,
        "sqs:SendMessage",
        "{lifecycle:Lifecycle/RetentionDlq/Queue.Arn}",
    )
    yield AccessPath(
        "scheduler",
        "a retention schedule encrypts its dead letter",
        sched,
        "kms:GenerateDataKey",
        LIFECYCLE_KEY,
        context={**_via("sqs"), "kms:EncryptionContext:aws:sqs:arn": "{lifecycle:Lifecycle/RetentionDlq/Queue.Arn}"},
    )
    # Scheduler universal targets of the detection stack: each role calls its one API and dead-letters.
    for service, doing, action, resource in (
        (
            "Macie",
            "creates a classification job",
            "macie2:CreateClassificationJob",
            "arn:aws:macie2:{region}:{account}:classification-job/job-1",
        ),
        ("Inspector", "enables Amazon Inspector for Lambda", "inspector2:Enable", "*"),
    ):
        role = f"role:{{detection:{service}/Scheduler/Role.Arn}}"
        queue = f"{{detection:{service}/DeadLetters/Queue.Arn}}"
        yield _assumed_by("scheduler", "scheduler.amazonaws.com", role, group)
        yield AccessPath("scheduler", f"the {service} schedule {doing}", role, action, resource)
        yield AccessPath("scheduler", f"the {service} schedule dead-letters", role, "sqs:SendMessage", queue)
        yield AccessPath(
            "scheduler",
            f"the {service} schedule encrypts its dead letter",
            role,
            "kms:GenerateDataKey",
            LIFECYCLE_KEY,
            context={**_via("sqs"), "kms:EncryptionContext:aws:sqs:arn": queue},
        )
    yield AccessPath(
        "scheduler",
        "Macie's classification job decrypts customer objects through S3",
        MACIE,
        "kms:Decrypt",
        OBJECTS_KEY,
        context=_s3_key_via(CUSTOMER_BUCKET),
    )
    # --- AWS Backup: back up Aurora and the bucket, test restores.
    backup, restore = "role:{data:Backup/Service/Role.Arn}", "role:{data:Backup/RestoreTest/Role.Arn}"
    yield _assumed_by("backup", "backup.amazonaws.com", backup, {})
    yield _assumed_by("backup", "backup.amazonaws.com", restore, {})
    yield AccessPath(
        "backup",
        "Backup snapshots the cluster",
        backup,
        "rds:CreateDBClusterSnapshot",
        "{data:Aurora/Cluster.DBClusterArn}",
    )
    yield AccessPath(
        "backup",
        "Backup reads customer objects",
        backup,
        "s3:GetObjectVersion",
        CUSTOMER_BUCKET + "/" + WORKSPACE_PREFIX + "w-1/doc.txt",
    )
    yield AccessPath(
        "backup",
        "Backup decrypts customer objects through S3",
        backup,
        "kms:Decrypt",
        OBJECTS_KEY,
        context=_s3_key_via(CUSTOMER_BUCKET),
    )
    yield AccessPath(
        "backup",
        "Backup restore testing restores a snapshot",
        restore,
        "rds:RestoreDBClusterFromSnapshot",
        "arn:aws:rds:{region}:{account}:cluster-snapshot:awsbackup:job-1",
    )
    yield AccessPath(
        "backup",
        "Backup restore testing grants RDS the database key",
        restore,
        "kms:CreateGrant",
        DATABASE_KEY,
        context={"kms:GrantIsForAWSResource": "true", **_via("rds")},
    )
    # --- AWS FIS (FIS user guide: SourceAccount and SourceArn = experiment/*).
    fis = "role:{edge:FaultInjection/Experiments/Role.Arn}"
    yield _assumed_by(
        "fis",
        "fis.amazonaws.com",
        fis,
        {**SOURCE_ACCOUNT, "aws:SourceArn": "arn:aws:fis:{region}:{account}:experiment/EXP1"},
    )
    yield AccessPath(
        "fis",
        "FIS creates a temporary network ACL",
        fis,
        "ec2:CreateNetworkAcl",
        "arn:aws:ec2:{region}:{account}:vpc/{network:Network/Vpc.Ref}",
    )
    yield AccessPath("fis", "FIS fails Aurora over", fis, "rds:FailoverDBCluster", "{data:Aurora/Cluster.DBClusterArn}")
    # --- people: the auditor reads and decrypts audit records; break-glass fails over.
    for bucket, key in (
        (AUDIT_BUCKET, "/cloudtrail/AWSLogs/{account}/CloudTrail/{region}/x.json.gz"),
        (CONFIG_BUCKET, "/config/AWSLogs/{account}/Config/{region}/x.json.gz"),
    ):
        yield AccessPath(
            "auditor", f"the auditor reads {key.split('/')[1]} records", AUDITOR, "s3:GetObject", bucket + key
        )
        yield AccessPath(
            "auditor",
            f"the auditor decrypts {key.split('/')[1]} records",
            AUDITOR,
            "kms:Decrypt",
            AUDIT_KEY,
            context=_s3_key_via(bucket),
        )
    yield AccessPath(
        "break-glass",
        "a person with fresh MFA assumes break-glass",
        "person",
        "sts:AssumeRole",
        BREAK_GLASS.removeprefix("role:"),
        context=MFA,
    )
    yield AccessPath(
        "break-glass",
        "break-glass fails Aurora over",
        BREAK_GLASS,
        "rds:FailoverDBCluster",
        "{data:Aurora/Cluster.DBClusterArn}",
    )
    # --- migrations at deploy time: the trigger reads the master secret through the endpoint.
    migrations = "role:{migrations:Migrations/Function/Role/Role.Arn}"
    yield _assumed_by("migrations", "lambda.amazonaws.com", migrations, SOURCE_ACCOUNT)
    yield AccessPath(
        "migrations",
        "the migration function reads the master secret",
        migrations,
        "secretsmanager:GetSecretValue",
        "{data:Aurora/Cluster.MasterUserSecret.SecretArn}",
        through="secretsmanager",
    )
    yield AccessPath(
        "migrations",
        "the migration function decrypts the master secret",
        migrations,
        "kms:Decrypt",
        DATABASE_KEY,
        context=_via("secretsmanager"),
    )
    yield AccessPath(
        "migrations",
        "the trigger invokes the migration function's version",
        "role:{migrations:AWSCDK.TriggerCustomResourceProviderCustomResourceProvider/Role.Arn}",
        "lambda:InvokeFunction",
        "{migrations:Migrations/Function/Function.Arn}:1",
    )
    yield AccessPath(
        "migrations",
        "Lambda decrypts the migration function's environment",
        migrations,
        "kms:Decrypt",
        LIFECYCLE_KEY,
        context={
            **_via("lambda"),
            "kms:EncryptionContext:aws:lambda:FunctionArn": "{migrations:Migrations/Function/Function.Arn}",
        },
    )
    # --- the reviewed deploy (the CDK bootstrap's execution role) is the one principal that may still
    # change the audit buckets' retention settings and policy.
    for bucket in (AUDIT_BUCKET, CONFIG_BUCKET):
        for action in ("s3:PutLifecycleConfiguration", "s3:PutBucketPolicy"):
            name = "audit" if bucket == AUDIT_BUCKET else "Config"
            yield AccessPath("deploys", f"a deploy changes the {name} bucket ({action})", DEPLOY, action, bucket)
    yield AccessPath(
        "deploys",
        "a deploy changes the audit bucket's Object Lock default",
        DEPLOY,
        "s3:PutBucketObjectLockConfiguration",
        AUDIT_BUCKET,
    )


def _lifecycle_function_paths() -> Iterator[AccessPath]:
    connect = db_user_arn("aws", "{region}", "{account}", CLUSTER_ID, LIFECYCLE_DB_USER)
    subject = {
        "workspaces": CUSTOMER_BUCKET + "/" + WORKSPACE_PREFIX + "w-1/doc.txt",
        "visitors": CUSTOMER_BUCKET + "/" + VISITOR_PREFIX + "v-1/x",
    }
    needs: dict[str, list[tuple[str, str, Mapping[str, str]]]] = {
        "Retention": [
            ("rds-db:connect", connect, {}),
            ("s3:ListBucketVersions", CUSTOMER_BUCKET, {"s3:prefix": VISITOR_PREFIX + "v-1/"}),
            ("s3:DeleteObjectVersion", subject["visitors"], {}),
            ("s3:DeleteObject", subject["workspaces"], {}),
            ("s3:PutObject", LEDGER_OBJECT, {}),
            ("kms:GenerateDataKey", AUDIT_KEY, _s3_key_via(AUDIT_BUCKET)),
        ],
        "ErasureDatabase": [("rds-db:connect", connect, {})],
        "ErasureObjects": [
            ("s3:ListBucketVersions", CUSTOMER_BUCKET, {"s3:prefix": WORKSPACE_PREFIX + "w-1/"}),
            ("s3:DeleteObjectVersion", subject["workspaces"], {}),
            ("s3:DeleteObject", subject["visitors"], {}),
        ],
        "ErasurePublish": [
            ("rds-db:connect", connect, {}),
            ("s3:PutObject", LEDGER_OBJECT, {}),
            ("kms:GenerateDataKey", AUDIT_KEY, _s3_key_via(AUDIT_BUCKET)),
        ],
        "ErasureReplay": [
            ("rds-db:connect", connect, {}),
            ("s3:ListBucket", AUDIT_BUCKET, {"s3:prefix": ledger_prefix("{region}")}),
            ("s3:GetObject", LEDGER_OBJECT, {}),
            ("kms:Decrypt", AUDIT_KEY, _s3_key_via(AUDIT_BUCKET)),
            ("s3:DeleteObjectVersion", subject["workspaces"], {}),
        ],
    }
    # Retention hands a large inactive workspace to the erasure state machine, through the endpoint.
    yield AccessPath(
        "lifecycle",
        "Retention starts the erasure of a large workspace",
        _function("Retention"),
        "states:StartExecution",
        STATE_MACHINE,
        through="states",
    )
    yield AccessPath(
        "lifecycle",
        "Retention encrypts the execution input",
        _function("Retention"),
        "kms:GenerateDataKey",
        LIFECYCLE_KEY,
        context=_via("states"),
    )
    for fn, rows in needs.items():
        role = _function(fn)
        yield _assumed_by("lifecycle", "lambda.amazonaws.com", role, SOURCE_ACCOUNT)
        yield AccessPath(
            "lifecycle",
            f"{fn} writes its own log stream",
            role,
            "logs:PutLogEvents",
            f"{{lifecycle:Lifecycle/{fn}/Logs.Arn}}".removesuffix(":*") + ":log-stream:2026/11/29/x",
        )
        yield AccessPath(
            "lifecycle",
            f"{fn} creates its network interface",
            role,
            "ec2:CreateNetworkInterface",
            "arn:aws:ec2:{region}:{account}:network-interface/eni-1",
        )
        yield AccessPath(
            "lifecycle",
            f"Lambda decrypts {fn}'s environment",
            role,
            "kms:Decrypt",
            LIFECYCLE_KEY,
            context={
                **_via("lambda"),
                "kms:EncryptionContext:aws:lambda:FunctionArn": f"{{lifecycle:Lifecycle/{fn}/Function.Arn}}",
            },
        )
        for action, resource, context in rows:
            # The functions run in the VPC: their S3 calls go through its gateway endpoint.
            yield AccessPath(
                "lifecycle",
                f"{fn}: {action}",
                role,
                action,
                resource,
                context=context,
                through="s3" if action.startswith("s3:") else None,
            )


def _alarm_paths(model: RegionModel) -> Iterator[AccessPath]:
    """Every alarm's SNS actions: CloudWatch must be allowed to publish (a topic policy replaces
    SNS's default one) and to use the topic's key (SNS 'encrypted topics' compatibility:
    kms:GenerateDataKey* and kms:Decrypt, with the topic ARN as encryption context)."""
    topics_keys = {}
    for stack, lid, _res in model.assembly.resources("AWS::SNS::Topic"):
        if stack.region == model.region:
            p = model.props(stack, lid)
            topics_keys[str(model.assembly.resolver(stack).ref(lid))] = p.get("KmsMasterKeyId")
    for stack, lid, _res in model.assembly.resources("AWS::CloudWatch::Alarm"):
        if stack.region != model.region:
            continue
        p = model.props(stack, lid)
        alarm = str(model.assembly.resolver(stack).get_att(lid, "Arn"))
        label = f"{stack.name.rsplit('-', 1)[-1]}:{stack.path_of(lid)}"
        for topic in p.get("AlarmActions", []):
            context = {**SOURCE_ACCOUNT, "aws:SourceArn": alarm}
            yield AccessPath(
                "alarms",
                f"alarm {label} publishes",
                "service:cloudwatch.amazonaws.com",
                "sns:Publish",
                topic,
                context=context,
            )
            key = topics_keys.get(topic)
            if key:
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    yield AccessPath(
                        "alarms",
                        f"alarm {label} uses the topic key ({action})",
                        "service:cloudwatch.amazonaws.com",
                        action,
                        _key_arn(model, key),
                        context={**context, "kms:EncryptionContext:aws:sns:topicArn": topic},
                    )

    # EventBridge rules that deliver to a topic (critical Inspector findings): the same two sides,
    # for events.amazonaws.com with the rule's ARN; and a rule of another name may not publish.
    for stack, lid, _res in model.assembly.resources("AWS::Events::Rule"):
        if stack.region != model.region:
            continue
        p = model.props(stack, lid)
        rule = f"arn:aws:events:{model.region}:{model.account}:rule/{p['Name']}"
        for target in p.get("Targets", []):
            topic = str(target["Arn"])
            context = {**SOURCE_ACCOUNT, "aws:SourceArn": rule}
            yield AccessPath(
                "alarms",
                f"rule {p['Name']} publishes",
                "service:events.amazonaws.com",
                "sns:Publish",
                topic,
                context=context,
            )
            key = topics_keys.get(topic)
            if key:
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    yield AccessPath(
                        "alarms",
                        f"rule {p['Name']} uses the topic key ({action})",
                        "service:events.amazonaws.com",
                        action,
                        _key_arn(model, key),
                        context={**context, "kms:EncryptionContext:aws:sns:topicArn": topic},
                    )


def _key_arn(model: RegionModel, key: str) -> str:
    return key if key.startswith("arn:") else f"arn:aws:kms:{model.region}:{model.account}:key/{key}"


def _log_group_paths(model: RegionModel) -> Iterator[AccessPath]:
    """Every CMK-encrypted log group: CloudWatch Logs in this region uses the key with the log
    group's ARN as encryption context (CloudWatch Logs user guide, 'Encrypt log data')."""
    for stack, lid, _res in model.assembly.resources("AWS::Logs::LogGroup"):
        if stack.region != model.region:
            continue
        p = model.props(stack, lid)
        if not p.get("KmsKeyId"):
            continue
        name = str(model.assembly.resolver(stack).ref(lid))
        arn = f"arn:aws:logs:{model.region}:{model.account}:log-group:{name}"
        for action in ("kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"):
            yield AccessPath(
                "log-groups",
                f"CloudWatch Logs uses the key of {name} ({action})",
                f"service:logs.{model.region}.amazonaws.com",
                action,
                _key_arn(model, str(p["KmsKeyId"])),
                context={**SOURCE_ACCOUNT, "kms:EncryptionContext:aws:logs:arn": arn},
            )


def _access_logging_paths(model: RegionModel) -> Iterator[AccessPath]:
    """Every bucket with server access logging: S3's logging service writes into the target
    (S3 user guide: logging.s3.amazonaws.com, aws:SourceArn = source bucket, aws:SourceAccount)."""
    for stack, lid, _res in model.assembly.resources("AWS::S3::Bucket"):
        if stack.region != model.region:
            continue
        p = model.props(stack, lid)
        logging = p.get("LoggingConfiguration")
        if not logging:
            continue
        source = str(model.assembly.resolver(stack).get_att(lid, "Arn"))
        target = f"arn:aws:s3:::{logging['DestinationBucketName']}/{logging.get('LogFilePrefix', '')}2026-11-29-x"
        yield AccessPath(
            "s3-access-logs",
            f"S3 logs access to {stack.path_of(lid)}",
            "service:logging.s3.amazonaws.com",
            "s3:PutObject",
            target,
            context={**SOURCE_ACCOUNT, "aws:SourceArn": source},
        )


# ----------------------------------------------------------------------------- forbidden

AUDIT_TAMPERING = (
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectRetention",
    "s3:BypassGovernanceRetention",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
)


def forbidden(model: RegionModel) -> Iterator[AccessPath]:
    """The paths that must be DENIED (issue: 'forbidden paths, at minimum')."""
    yield from _elevation_forbidden(model)
    if model.has("cicd", "Pipeline/Deployer/Role"):
        yield from (p for p in _pipeline_paths() if p.expect is Expect.DENY)
    # Only the findings rule may publish to the alerts topic: another rule of this account may not.
    for stack, lid, _res in model.assembly.resources("AWS::Events::Rule"):
        if stack.region == model.region:
            p = model.props(stack, lid)
            for target in p.get("Targets", []):
                other = f"arn:aws:events:{model.region}:{model.account}:rule/{p['Name']}-other"
                yield AccessPath(
                    "topic-confined",
                    f"a rule other than {p['Name']} publishes to the alerts topic",
                    "service:events.amazonaws.com",
                    "sns:Publish",
                    str(target["Arn"]),
                    context={**SOURCE_ACCOUNT, "aws:SourceArn": other},
                    expect=Expect.DENY,
                )
    everyone = [f"role:{arn}" for arn in sorted(model.roles)] + [ACCOUNT_ADMIN, EXTERNAL]
    # Nobody deletes audit records or their versions, or shortens their retention.
    for who in everyone:
        for bucket in (AUDIT_BUCKET, CONFIG_BUCKET):
            for action in AUDIT_TAMPERING:
                target = bucket + "/cloudtrail/x.json.gz" if "Object" in action and "Lock" not in action else bucket
                yield AccessPath(
                    "audit-immutable",
                    f"{action} on {bucket.split(':')[0][1:]} records",
                    who,
                    action,
                    target,
                    expect=Expect.DENY,
                )
    # The app role stays inside its prefixes, away from the audit key, and in its region.
    for resource in (CUSTOMER_BUCKET + "/internal/x", CUSTOMER_BUCKET + "/x", AUDIT_BUCKET + "/cloudtrail/x"):
        yield AccessPath(  # from inside the VPC, where the app runs: only its own policy may refuse
            "app-confined",
            f"app reads {resource.split('}')[-1]}",
            APP,
            "s3:GetObject",
            resource,
            expect=Expect.DENY,
            through="s3",
        )
    yield AccessPath(
        "app-confined",
        "app decrypts with the audit key through S3",
        APP,
        "kms:Decrypt",
        AUDIT_KEY,
        expect=Expect.DENY,
        context=_s3_key_via(AUDIT_BUCKET),
    )
    yield AccessPath(
        "app-confined",
        "app decrypts with the objects key directly",
        APP,
        "kms:Decrypt",
        OBJECTS_KEY,
        expect=Expect.DENY,
        context={"kms:CallerAccount": "{account}"},
    )
    yield AccessPath(
        "app-confined",
        "app calls another region",
        APP,
        "s3:GetObject",
        CUSTOMER_BUCKET + "/" + WORKSPACE_PREFIX + "w-1/doc.txt",
        expect=Expect.DENY,
        context={"aws:RequestedRegion": "{other_region}"},
        through="s3",
    )
    # No principal of another account reaches customer data.
    for action, resource in (
        ("s3:GetObject", CUSTOMER_BUCKET + "/" + WORKSPACE_PREFIX + "w-1/doc.txt"),
        ("s3:PutObject", CUSTOMER_BUCKET + "/" + WORKSPACE_PREFIX + "w-1/x"),
        ("s3:ListBucket", CUSTOMER_BUCKET),
        ("kms:Decrypt", OBJECTS_KEY),
        ("kms:Decrypt", DATABASE_KEY),
        ("kms:Decrypt", LIFECYCLE_KEY),
        ("kms:Decrypt", AUDIT_KEY),
        ("s3:GetObject", AUDIT_BUCKET + "/" + LEDGER_PREFIX + "x"),
        ("rds-db:connect", db_user_arn("aws", "{region}", "{account}", CLUSTER_ID, APP_DB_USER)),
        ("states:StartExecution", STATE_MACHINE),
        ("sqs:ReceiveMessage", "{lifecycle:Lifecycle/ErasureDlq/Queue.Arn}"),
        ("s3:GetObject", ACCESS_LOG_BUCKET + "/s3/x"),
    ):
        yield AccessPath(
            "external",
            f"another account: {action} on {resource.split(':')[0][1:] or resource}",
            EXTERNAL,
            action,
            resource,
            expect=Expect.DENY,
        )
    for arn in sorted(model.roles):
        yield AccessPath(
            "external", "another account assumes a trustbase role", EXTERNAL, "sts:AssumeRole", arn, expect=Expect.DENY
        )
    # The customer data's network perimeter: objects only through this VPC's S3 gateway endpoint;
    # the app role's credentials used elsewhere, or an administrator of the account, are refused.
    for who, whom in (
        (APP, "the app role's credentials used outside the VPC"),
        (_function("ErasureObjects"), "an erasure function's credentials used outside the VPC"),
        (ACCOUNT_ADMIN, "an account administrator outside the VPC"),
    ):
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObjectVersion"):
            yield AccessPath(
                "external",
                f"{whom}: {action} on a customer object",
                who,
                action,
                f"{CUSTOMER_BUCKET}/{WORKSPACE_PREFIX}w-1/doc.txt",
                expect=Expect.DENY,
            )
    # The network perimeter: the endpoint policies admit only this account's principals acting on
    # this account's resources, whatever the resource's own policy says.
    yield AccessPath(
        "external",
        "another account's principal starts an erasure through our endpoint",
        EXTERNAL,
        "states:StartExecution",
        STATE_MACHINE,
        through="states",
        expect=Expect.DENY,
    )
    yield AccessPath(
        "external",
        "the app tier starts another account's state machine through our endpoint",
        APP,
        "states:StartExecution",
        "arn:aws:states:{region}:" + EXTERNAL_ACCOUNT + ":stateMachine:exfil",
        through="states",
        expect=Expect.DENY,
    )
    yield AccessPath(
        "external",
        "the app tier assumes another account's role through our endpoint",
        APP,
        "sts:AssumeRole",
        f"arn:aws:iam::{EXTERNAL_ACCOUNT}:role/exfil",
        through="sts",
        expect=Expect.DENY,
    )
    # Erasure and retention functions touch subject prefixes and the ledger only.
    outside = (
        CUSTOMER_BUCKET + "/internal/x",
        CUSTOMER_BUCKET + "/x",
        AUDIT_BUCKET + "/cloudtrail/x",
        AUDIT_BUCKET + "/" + ledger_prefix("{other_region}") + "x",
    )
    yield AccessPath(
        "erasure-confined",
        "the erasure state machine starts another state machine",
        "role:{lifecycle:Lifecycle/StateMachineRole/Role.Arn}",
        "states:StartExecution",
        "arn:aws:states:{region}:{account}:stateMachine:trustbase-{region}-other",
        expect=Expect.DENY,
    )
    for fn in ("Retention", "ErasureDatabase", "ErasureObjects", "ErasurePublish", "ErasureReplay"):
        for resource in outside:
            for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:PutObject"):
                yield AccessPath(
                    "erasure-confined",
                    f"{fn} {action} outside the subject prefixes",
                    _function(fn),
                    action,
                    resource,
                    expect=Expect.DENY,
                    through="s3",  # the functions run in the VPC: only their own policy may refuse
                )
        if fn != "Retention":
            yield AccessPath(
                "erasure-confined",
                f"{fn} starts an erasure (only retention may, for a large workspace)",
                _function(fn),
                "states:StartExecution",
                STATE_MACHINE,
                expect=Expect.DENY,
                through="states",
            )
        yield AccessPath(
            "erasure-confined",
            f"{fn} decrypts customer objects",
            _function(fn),
            "kms:Decrypt",
            OBJECTS_KEY,
            expect=Expect.DENY,
            context=_s3_key_via(CUSTOMER_BUCKET),
        )


# Families whose resources exist only when a config option turns them on.
OPTIONAL_FAMILIES = frozenset({"operator"})
FAMILIES: dict[str, str] = {
    "pipeline": "the deploy pipeline ([delivery]): the deployer -> the CDK bootstrap roles and templates; "
    "the reader -> drift detection, the alerts topic and its key, the configuration key through Lambda",
    "pipeline-confined": "FORBIDDEN: the pipeline's roles reading a customer object, using a data key, assuming another "
    "region's bootstrap role, writing IAM or starting an erasure",
    "alarms": "CloudWatch alarms -> every alarm topic and its key",
    "config": "AWS Config -> its bucket and the audit key",
    "cloudtrail": "CloudTrail -> the audit bucket, the audit key and its logs role",
    "guardduty": "GuardDuty -> the audit bucket and key",
    "elb-logs": "ELB access-log delivery -> the access-log bucket",
    "s3-access-logs": "S3 server access logging -> the access-log bucket",
    "log-groups": "CloudWatch Logs -> each encrypted log group's key",
    "app": f"app role -> its two prefixes, the objects key through S3, rds-db:connect as {APP_DB_USER}",
    "dsar-intake": "app role -> assume the submitter -> start an erasure",
    "lifecycle": "each lifecycle function -> exactly what its step needs",
    "state-machine": "the erasure state machine -> its functions, queue, key and log delivery",
    "scheduler": "EventBridge Scheduler -> its targets and dead-letter queues",
    "backup": "AWS Backup -> back up and test restores",
    "fis": "AWS FIS -> its actions",
    "auditor": "auditor -> read and decrypt the audit records",
    "break-glass": "break-glass -> its incident-response actions",
    "migrations": "the deploy-time migration function -> the master secret; the trigger -> the function",
    "deploys": "the CDK deploy role -> the audit buckets' retention settings and policy (the one exception)",
    "operator": f"the database operator (only with operator_access) -> port forward through the host, {DR_DB_USER}",
    "dr-drill": "an administrator's DR drill -> its synthetic objects, from outside the VPC",
    "elevation": "an approved elevation's permission set -> its role -> read and decrypt customer objects",
    "elevation-broker": "the elevation broker -> its records, the alerts topic, its workflow",
    "elevation-workflow": "the elevation workflow -> the broker's grant and expire steps",
    "audit-immutable": "FORBIDDEN: anyone deleting audit records or shortening their retention",
    "no-standing-access": "FORBIDDEN: without an approved elevation (another access, an IAM user, root) nobody "
    "opens an elevation or a human role",
    "elevation-confined": "FORBIDDEN: the read elevation writing or decrypting outside S3; the broker reading "
    "customer data, writing outside its records or changing another role",
    "app-confined": "FORBIDDEN: the app role outside its prefixes, with the audit key, in another region",
    "external": "FORBIDDEN: any principal of another account reaching customer data",
    "erasure-confined": "FORBIDDEN: an erasure function outside the subject prefixes or starting an erasure; the machine starting another",
    "topic-confined": "FORBIDDEN: an EventBridge rule other than the Inspector findings rule publishing to the alerts topic",
}
