"""AWS::RDS::DBCluster has no moto CloudFormation model (the cluster was silently skipped): this
one creates it through moto's RDS API from the template's properties, so every cluster property
read back (encryption, key, deletion protection, IAM auth, PITR) is a value this patch wrote:
PATCHED. AWS::RDS::DBInstance: moto's model ignores DBClusterIdentifier and DBInstanceIdentifier,
so an Aurora instance failed (KeyError 'aurora-postgresql') instead of joining its cluster; its AZ
and settings are this patch's. AWS::RDS::DBSubnetGroup has no physical ID."""

from __future__ import annotations

from typing import Any

from local_aws.patches.base import Patch, Undo, cfn_tags, get_att_error, name_of, rds_identifier

CLUSTER_ATTRS = (
    "Endpoint.Address",
    "Endpoint.Port",
    "ReadEndpoint.Address",
    "DBClusterArn",
    "DBClusterResourceId",
    "MasterUserSecret.SecretArn",
)


def _install_cluster(undo: Undo) -> None:
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
            return attr in CLUSTER_ATTRS

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> DBCluster:
            p = cloudformation_json["Properties"]
            secret = p.get("MasterUserSecret") or {}
            kwargs = {
                "db_cluster_identifier": rds_identifier(p.get("DBClusterIdentifier") or resource_name),
                "engine": p["Engine"],
                "engine_version": p.get("EngineVersion"),
                "port": int(p["Port"]) if p.get("Port") else None,
                "master_username": p.get("MasterUsername"),
                "master_user_password": p.get("MasterUserPassword"),
                "manage_master_user_password": bool(p.get("ManageMasterUserPassword", False)),
                "master_user_secret_kms_key_id": secret.get("KmsKeyId"),
                "database_name": p.get("DatabaseName"),
                "db_subnet_group_name": name_of(p.get("DBSubnetGroupName")),
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
                "tags": cfn_tags(p),
            }
            backend = rds_backends[account_id][region_name]
            cluster = backend.create_db_cluster({k: v for k, v in kwargs.items() if v is not None})
            # moto has no model for custom cluster parameter groups: keep the name for read-back.
            group = name_of(p.get("DBClusterParameterGroupName"))
            cluster.parameter_group = group or cluster.parameter_group
            return cluster

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
            raise get_att_error()
        return attrs[attribute_name]

    # Give moto's DBCluster what the CloudFormation layer needs (Ref -> identifier, GetAtt).
    undo.set(DBCluster, "physical_resource_id", property(lambda self: self.db_cluster_identifier))
    undo.set(DBCluster, "get_cfn_attribute", get_cfn_attribute)
    undo.set(DBCluster, "is_created", lambda self: True)
    undo.model(CfnDBCluster)


def _install_instance(undo: Undo) -> None:
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
                "db_instance_identifier": rds_identifier(p.get("DBInstanceIdentifier") or resource_name),
                "db_cluster_identifier": cluster.db_cluster_identifier,
                "db_instance_class": p.get("DBInstanceClass"),
                "engine": p.get("Engine") or cluster.engine,
                "engine_version": cluster.engine_version,
                "port": cluster.port,
                "availability_zone": p.get("AvailabilityZone"),
                "db_subnet_group_name": name_of(p.get("DBSubnetGroupName")) or cluster.db_subnet_group_name,
                "publicly_accessible": bool(p.get("PubliclyAccessible", False)),
                "storage_encrypted": cluster.storage_encrypted,
                "promotion_tier": int(p.get("PromotionTier", 1)),
                "auto_minor_version_upgrade": bool(p.get("AutoMinorVersionUpgrade", True)),
                "monitoring_interval": int(p.get("MonitoringInterval", 0)),
                "monitoring_role_arn": p.get("MonitoringRoleArn"),
                "tags": cfn_tags(p),
            }
        )

    undo.set(DBInstance, "create_from_cloudformation_json", classmethod(create))


def _install_subnet_group_id(undo: Undo) -> None:
    from moto.rds.models import DBSubnetGroup

    undo.set(DBSubnetGroup, "physical_resource_id", property(lambda self: self.name))


PATCHES = (
    Patch(
        "rds.cluster-model",
        "moto has no CloudFormation model for AWS::RDS::DBCluster",
        _install_cluster,
        frozenset({"rds.cluster.encryption", "rds.cluster.protection", "rds.cluster.backup"}),
        frozenset({"AWS::RDS::DBCluster"}),
    ),
    Patch(
        "rds.instance-in-cluster",
        "Aurora instances do not join their cluster",
        _install_instance,
        frozenset({"rds.cluster.azs", "rds.instance"}),
        frozenset({"AWS::RDS::DBInstance"}),
    ),
    Patch(
        "rds.subnet-group-physical-id",
        "DB subnet groups have no physical ID",
        _install_subnet_group_id,
        types=frozenset({"AWS::RDS::DBSubnetGroup"}),
    ),
)
