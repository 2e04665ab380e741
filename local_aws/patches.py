"""Small, tested fixes to moto 5.2.5's CloudFormation models, applied only inside the local
emulator (`python -m local_aws.server`). Each one closes a gap our templates hit; none changes
what a resource *is*, only how moto reads the CloudFormation properties. Pinned: `apply()`
refuses any other moto version, because these reach into moto's internals.

1. AWS::KMS::Key: moto passes CFN's Tags [{Key, Value}] to create_key, which expects
   [{TagKey, TagValue}] (KeyError 'TagKey'); and it stores KeyPolicy as a dict, so every later
   KMS call crashes in moto's policy validator (json.loads of a dict).
2. AWS::SSM::Parameter with Tags: CFN gives a map, moto's put_parameter expects a list.
3. AWS::RDS::DBCluster: moto has no CloudFormation model, so the cluster was silently skipped.
4. AWS::RDS::DBInstance: moto's model ignores DBClusterIdentifier and DBInstanceIdentifier, so an
   Aurora instance failed (KeyError 'aurora-postgresql') instead of joining its cluster.
5. AWS::Logs::LogGroup: moto reads `kmsKeyId`, CloudFormation says `KmsKeyId`: the CMK was lost.
6. AWS::EC2::SecurityGroupIngress: the rule is created but has no physical ID, so it cannot be
   told apart from a skipped resource. It gets one (group/protocol/from/to/source) to verify by.
7. AWS::Backup::BackupVault and AWS::Backup::BackupPlan: moto has the AWS Backup API but no
   CloudFormation models, so a template that references the vault could not deploy at all.
8. AWS::S3::Bucket: moto's model applies only encryption and tags; versioning, the public access
   block, Object Lock and lifecycle rules were silently dropped. AWS::S3::BucketPolicy and
   AWS::CloudWatch::Alarm have no model at all; AWS::RDS::DBSubnetGroup has no physical ID.
9. AWS::ElasticLoadBalancingV2::TargetGroup: no GetAtt at all (AttributeError), so an alarm on
   the target group's TargetGroupFullName could not deploy.
10. AWS::ElasticLoadBalancingV2::Listener: ListenerAttributes (where HSTS is set) were dropped.
11. S3 bucket policies: moto evaluates a Deny as applying even when its condition does not hold
    (and knows only StringEquals, with no request context), so our "deny unless TLS" policy
    denied every request. Statements now apply only when their condition holds (Bool and
    NumericLessThan added), with aws:SecureTransport and s3:TlsVersion from the server: it
    serves HTTPS only (server.py) with Python's TLS 1.2 floor, so "true" and "1.2". Anywhere
    else (TLS_ONLY false) the context says "false" and the buckets refuse, as on AWS.
12. AWS::StepFunctions::StateMachine: logging, tracing and CMK encryption were dropped;
    AWS::Lambda::Function: the environment's CMK and the tracing mode were dropped.
    AWS::SQS::QueuePolicy has no model (the queues' TLS-only policies were silently skipped).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

MOTO_VERSION = "5.2.5"
_applied = False
# moto finds CloudFormation models through CloudFormationModel.__subclasses__(), which holds only
# weak references: keep ours alive here.
_MODELS: list[type] = []
# Set by server.py when it serves HTTPS only: the S3 policy context of every request.
TLS_ONLY = False


def _cfn_tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    tags = properties.get("Tags") or []
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags]


def _name(value: Any) -> Any:
    """moto resolves a Ref to a model object for some types and to a string for others."""
    return getattr(value, "name", getattr(value, "subnet_name", value))


def _identifier(value: str) -> str:
    """A valid RDS identifier from a generated name: letters, digits, single hyphens, <= 63."""
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", value.lower())).strip("-")
    if len(cleaned) > 63:  # keep it unique: generated names differ only at the end
        cleaned = f"{cleaned[:54].rstrip('-')}-{hashlib.sha1(value.encode()).hexdigest()[:8]}"
    return cleaned if cleaned[:1].isalpha() else f"db-{cleaned}"[:63].rstrip("-")


def _wrap_create(
    model: Any,
    before: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    after: Callable[[Any, dict[str, Any], str, str], None] | None = None,
) -> None:
    """Wrap a moto model's create_from_cloudformation_json: `before` rewrites the properties,
    `after` completes the created resource (properties, account, region)."""
    original = model.create_from_cloudformation_json.__func__

    def create(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        props = dict(cloudformation_json.get("Properties", {}))
        if before:
            props = before(props)
        created = original(
            cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kw
        )
        if after:
            after(created, props, account_id, region_name)
        return created

    model.create_from_cloudformation_json = classmethod(create)


def apply() -> None:
    global _applied
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local_aws.patches targets moto {MOTO_VERSION}, found {moto.__version__}: "
            "re-check each patch against the new moto and update MOTO_VERSION"
        )
    if _applied:
        return
    _patch_kms_key_tags()
    _patch_ssm_parameter_tags()
    _add_rds_cluster_model()
    _patch_rds_instance_model()
    _patch_log_group_kms()
    _patch_security_group_ingress_id()
    _add_backup_models()
    _patch_s3_bucket_model()
    _add_bucket_policy_and_alarm_models()
    _patch_target_group_attributes()
    _patch_listener_attributes()
    _patch_bucket_policy_conditions()
    _patch_state_machine_and_queue_policy()
    _applied = True


def _patch_kms_key_tags() -> None:
    from moto.kms.models import Key

    def before(props: dict[str, Any]) -> dict[str, Any]:
        policy = props.get("KeyPolicy")
        return {
            **props,
            "Tags": [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _cfn_tags(props)],
            "KeyPolicy": json.dumps(policy) if isinstance(policy, dict) else policy,
        }

    _wrap_create(Key, before=before)


def _patch_ssm_parameter_tags() -> None:
    from moto.ssm.models import Parameter

    _wrap_create(Parameter, before=lambda props: {**props, "Tags": _cfn_tags(props) or None})


def _add_rds_cluster_model() -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.rds.models import DBCluster, rds_backends

    class CfnDBCluster(CloudFormationModel):  # a direct subclass: moto lists models by __subclasses__()
        @staticmethod
        def cloudformation_name_type() -> str:
            return "DBClusterIdentifier"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::RDS::DBCluster"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in (
                "Endpoint.Address",
                "Endpoint.Port",
                "ReadEndpoint.Address",
                "DBClusterArn",
                "DBClusterResourceId",
                "MasterUserSecret.SecretArn",
            )

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> DBCluster:
            p = cloudformation_json["Properties"]
            secret = p.get("MasterUserSecret") or {}
            kwargs = {
                "db_cluster_identifier": _identifier(p.get("DBClusterIdentifier") or resource_name),
                "engine": p["Engine"],
                "engine_version": p.get("EngineVersion"),
                "port": int(p["Port"]) if p.get("Port") else None,
                "master_username": p.get("MasterUsername"),
                "master_user_password": p.get("MasterUserPassword"),
                "manage_master_user_password": bool(p.get("ManageMasterUserPassword", False)),
                "master_user_secret_kms_key_id": secret.get("KmsKeyId"),
                "database_name": p.get("DatabaseName"),
                "db_subnet_group_name": _name(p.get("DBSubnetGroupName")),
                "db_cluster_parameter_group_name": _name(p.get("DBClusterParameterGroupName")),
                "vpc_security_group_ids": p.get("VpcSecurityGroupIds", []),
                "storage_encrypted": bool(p.get("StorageEncrypted", False)),
                "kms_key_id": p.get("KmsKeyId"),
                "backup_retention_period": int(p.get("BackupRetentionPeriod", 1)),
                "preferred_backup_window": p.get("PreferredBackupWindow", "01:37-02:07"),
                "preferred_maintenance_window": p.get("PreferredMaintenanceWindow", "wed:02:40-wed:03:10"),
                "deletion_protection": bool(p.get("DeletionProtection", False)),
                "copy_tags_to_snapshot": bool(p.get("CopyTagsToSnapshot", False)),
                "enable_cloudwatch_logs_exports": p.get("EnableCloudwatchLogsExports", []),
                "enable_iam_database_authentication": bool(p.get("EnableIAMDatabaseAuthentication", False)),
                "tags": _cfn_tags(p),
            }
            backend = rds_backends[account_id][region_name]
            # moto's DBCluster has no parameter-group model for custom cluster groups: keep the
            # name for readback but do not fail on it.
            group = kwargs.pop("db_cluster_parameter_group_name")
            cluster = backend.create_db_cluster({k: v for k, v in kwargs.items() if v is not None})
            cluster.parameter_group = group or cluster.parameter_group
            return cluster

    # Give moto's DBCluster what the CloudFormation layer needs (Ref -> identifier, GetAtt, delete).
    DBCluster.physical_resource_id = property(lambda self: self.db_cluster_identifier)  # type: ignore[attr-defined]

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        attrs = {
            "Endpoint.Address": self.endpoint,
            "Endpoint.Port": str(self.port),
            "ReadEndpoint.Address": self.reader_endpoint,
            "DBClusterArn": self.db_cluster_arn,
            "DBClusterResourceId": self.db_cluster_resource_id,
        }
        if getattr(self, "master_user_secret", None) is not None:  # the RDS-managed secret moto created
            attrs["MasterUserSecret.SecretArn"] = self.master_user_secret.secret_arn
        if attribute_name not in attrs:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()
        return attrs[attribute_name]

    DBCluster.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]
    DBCluster.is_created = lambda self: True  # type: ignore[attr-defined]
    _MODELS.append(CfnDBCluster)


def _patch_rds_instance_model() -> None:
    from moto.rds.models import DBInstance, rds_backends

    original = DBInstance.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        if not p.get("DBClusterIdentifier"):
            return original(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        backend = rds_backends[account_id][region_name]
        cluster = backend.clusters[str(p["DBClusterIdentifier"]).lower()]
        return backend.create_db_instance(
            {
                "db_instance_identifier": _identifier(p.get("DBInstanceIdentifier") or resource_name),
                "db_cluster_identifier": cluster.db_cluster_identifier,
                "db_instance_class": p.get("DBInstanceClass"),
                "engine": p.get("Engine") or cluster.engine,
                "engine_version": cluster.engine_version,
                "port": cluster.port,
                "availability_zone": p.get("AvailabilityZone"),
                "db_subnet_group_name": _name(p.get("DBSubnetGroupName")) or cluster.db_subnet_group_name,
                "publicly_accessible": bool(p.get("PubliclyAccessible", False)),
                "storage_encrypted": cluster.storage_encrypted,
                "promotion_tier": int(p.get("PromotionTier", 1)),
                "auto_minor_version_upgrade": bool(p.get("AutoMinorVersionUpgrade", True)),
                "monitoring_interval": int(p.get("MonitoringInterval", 0)),
                "monitoring_role_arn": p.get("MonitoringRoleArn"),
                "tags": _cfn_tags(p),
            }
        )

    DBInstance.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def _patch_log_group_kms() -> None:
    from moto.logs.models import LogGroup

    def before(props: dict[str, Any]) -> dict[str, Any]:
        return {("kmsKeyId" if k == "KmsKeyId" else k): v for k, v in props.items()}

    _wrap_create(LogGroup, before=before)


def _patch_security_group_ingress_id() -> None:
    from moto.ec2.models.security_groups import SecurityGroupIngress

    def physical_resource_id(self: Any) -> str:
        p = self.properties
        source = p.get("SourceSecurityGroupId") or p.get("CidrIp") or p.get("CidrIpv6") or ""
        return "/".join(
            str(x) for x in (self.security_group.id, p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"), source)
        )

    SecurityGroupIngress.physical_resource_id = property(physical_resource_id)  # type: ignore[attr-defined]


def _add_backup_models() -> None:
    from moto.backup.models import Plan, Vault, backup_backends
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.core.common_models import CloudFormationModel

    def tag_map(tags: Any) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else dict(tags or {})

    class CfnBackupVault(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return "BackupVaultName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Backup::BackupVault"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("BackupVaultName", "BackupVaultArn")

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Vault:
            p = cloudformation_json["Properties"]
            backend = backup_backends[account_id][region_name]
            name = p.get("BackupVaultName") or resource_name
            vault = backend.create_backup_vault(name, tag_map(p.get("BackupVaultTags")), p.get("EncryptionKeyArn"), "")
            lock = p.get("LockConfiguration")
            if lock:
                backend.put_backup_vault_lock_configuration(
                    name, lock.get("MinRetentionDays"), lock.get("MaxRetentionDays"), lock.get("ChangeableForDays")
                )
            return vault

    class CfnBackupPlan(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Backup::BackupPlan"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("BackupPlanId", "BackupPlanArn", "VersionId")

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Plan:
            p = cloudformation_json["Properties"]
            doc = dict(p["BackupPlan"])
            # CloudFormation says TargetBackupVault where the API says TargetBackupVaultName.
            doc["Rules"] = [
                {("TargetBackupVaultName" if k == "TargetBackupVault" else k): v for k, v in rule.items()}
                for rule in doc.pop("BackupPlanRule")
            ]
            return backup_backends[account_id][region_name].create_backup_plan(
                doc, tag_map(p.get("BackupPlanTags")), ""
            )

    def vault_attr(self: Any, name: str) -> Any:
        attrs = {"BackupVaultName": self.backup_vault_name, "BackupVaultArn": self.backup_vault_arn}
        if name not in attrs:
            raise UnformattedGetAttTemplateException()
        return attrs[name]

    def plan_attr(self: Any, name: str) -> Any:
        attrs = {
            "BackupPlanId": self.backup_plan_id,
            "BackupPlanArn": self.backup_plan_arn,
            "VersionId": self.version_id,
        }
        if name not in attrs:
            raise UnformattedGetAttTemplateException()
        return attrs[name]

    Vault.physical_resource_id = property(lambda self: self.backup_vault_name)  # type: ignore[attr-defined]
    Vault.get_cfn_attribute = vault_attr  # type: ignore[attr-defined]
    Vault.is_created = lambda self: True  # type: ignore[attr-defined]
    Plan.physical_resource_id = property(lambda self: self.backup_plan_id)  # type: ignore[attr-defined]
    Plan.get_cfn_attribute = plan_attr  # type: ignore[attr-defined]
    Plan.is_created = lambda self: True  # type: ignore[attr-defined]
    _MODELS.extend([CfnBackupVault, CfnBackupPlan])


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
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


def _patch_s3_bucket_model() -> None:
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    def after(bucket: Any, p: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id][get_partition(region_name)]
        if p.get("VersioningConfiguration"):
            backend.put_bucket_versioning(bucket.name, p["VersioningConfiguration"]["Status"])
        if p.get("PublicAccessBlockConfiguration"):
            backend.put_public_access_block(bucket.name, p["PublicAccessBlockConfiguration"])
        if p.get("ObjectLockEnabled"):
            retention = (p.get("ObjectLockConfiguration") or {}).get("Rule", {}).get("DefaultRetention", {})
            backend.put_object_lock_configuration(
                bucket.name, True, retention.get("Mode"), retention.get("Days"), retention.get("Years")
            )
        if p.get("LifecycleConfiguration"):
            backend.put_bucket_lifecycle(
                bucket.name, [_lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]]
            )

    _wrap_create(FakeBucket, after=after)


def _add_bucket_policy_and_alarm_models() -> None:
    from moto.cloudwatch.models import Alarm, cloudwatch_backends
    from moto.core.common_models import CloudFormationModel
    from moto.rds.models import DBSubnetGroup
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
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> BucketPolicy:
            p = cloudformation_json["Properties"]
            backend = s3_backends[account_id][get_partition(region_name)]
            backend.put_bucket_policy(p["Bucket"], json.dumps(p["PolicyDocument"]).encode())
            return BucketPolicy(p["Bucket"])

    class CfnAlarm(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Alarm:
            p = cloudformation_json["Properties"]
            return cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=p.get("AlarmName") or resource_name,
                namespace=p.get("Namespace"),
                metric_name=p.get("MetricName"),
                comparison_operator=p["ComparisonOperator"],
                evaluation_periods=int(p["EvaluationPeriods"]),
                period=int(p["Period"]) if p.get("Period") else 60,
                threshold=float(p["Threshold"]),
                statistic=p.get("Statistic"),
                description=p.get("AlarmDescription"),
                dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
                alarm_actions=p.get("AlarmActions", []),
                ok_actions=p.get("OKActions", []),
                datapoints_to_alarm=p.get("DatapointsToAlarm"),
                treat_missing_data=p.get("TreatMissingData"),
                tags=_cfn_tags(p),
            )

    Alarm.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    Alarm.is_created = lambda self: True  # type: ignore[attr-defined]
    DBSubnetGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    _MODELS.extend([CfnBucketPolicy, CfnAlarm])


def _patch_target_group_attributes() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2.models import FakeTargetGroup

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        attrs = {
            "TargetGroupArn": self.arn,
            "TargetGroupName": self.name,
            "TargetGroupFullName": self.arn.split(":", 5)[-1],  # targetgroup/<name>/<id>
            "LoadBalancerArns": list(getattr(self, "load_balancer_arns", [])),
        }
        if attribute_name not in attrs:
            raise UnformattedGetAttTemplateException()
        return attrs[attribute_name]

    FakeTargetGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]


def _patch_listener_attributes() -> None:
    from moto.elbv2.models import FakeListener

    def after(listener: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        for attr in props.get("ListenerAttributes", []):
            listener.attributes[attr["Key"]] = str(attr["Value"])

    _wrap_create(FakeListener, after=after)


def _patch_bucket_policy_conditions() -> None:
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def bool_operation(expected: list[str] | str, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return any(str(v).lower() == str(actual).lower() for v in values)

    def numeric_less_than(expected: list[str] | str, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return any(float(actual) < float(v) for v in values)

    operations: dict[str, Any] = policy_conditions.CONDITION_OPERATIONS
    operations.setdefault("Bool", bool_operation)
    operations.setdefault("NumericLessThan", numeric_less_than)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        context = {"aws:SecureTransport": "true" if TLS_ONLY else "false", "s3:TlsVersion": "1.2" if TLS_ONLY else "0"}
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

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _cfn_to_api(value: Any) -> Any:
    """CloudFormation's PascalCase keys -> the Step Functions API's camelCase keys."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _cfn_to_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cfn_to_api(v) for v in value]
    return value


def _patch_state_machine_and_queue_policy() -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.sqs.models import sqs_backends
    from moto.stepfunctions.models import StateMachine

    def after(machine: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        if props.get("LoggingConfiguration"):
            machine.loggingConfiguration = _cfn_to_api(props["LoggingConfiguration"])
        if props.get("TracingConfiguration"):
            machine.tracingConfiguration = _cfn_to_api(props["TracingConfiguration"])
        if props.get("EncryptionConfiguration"):
            machine.encryptionConfiguration = _cfn_to_api(props["EncryptionConfiguration"])

    _wrap_create(StateMachine, after=after)

    from moto.awslambda.models import LambdaFunction

    def after_function(fn: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        fn.kms_key_arn = props.get("KmsKeyArn")
        fn.tracing_config = props.get("TracingConfig") or {"Mode": "PassThrough"}

    _wrap_create(LambdaFunction, after=after_function)

    class QueuePolicy:
        def __init__(self, queues: list[str]) -> None:
            self.physical_resource_id = "|".join(queues)

        def is_created(self) -> bool:
            return True

    class CfnQueuePolicy(CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SQS::QueuePolicy"

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> QueuePolicy:
            p = cloudformation_json["Properties"]
            backend = sqs_backends[account_id][region_name]
            for url in p["Queues"]:
                backend.set_queue_attributes(
                    url.rstrip("/").rsplit("/", 1)[-1], {"Policy": json.dumps(p["PolicyDocument"])}
                )
            return QueuePolicy(list(p["Queues"]))

    _MODELS.append(CfnQueuePolicy)
