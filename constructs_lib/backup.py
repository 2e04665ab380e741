"""AWS Backup: a locked, CMK-encrypted vault per region, a plan covering Aurora and the
customer-data bucket, an optional copy to the jurisdiction's DR region, and a restore test."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config import Backup as BackupConfig
from constructs_lib import nag
from constructs_lib.iam import BACKUP_ACTIONS, RESTORE_TEST_ACTIONS, ScopedRole
from contract import dr_vault_name, vault_name

# AWS Backup documents no aws:SourceAccount/aws:SourceArn for the role it assumes (its
# confused-deputy page covers SNS and KMS only); a condition on a key it does not send would stop
# every backup. Who may hand the role to Backup is limited by iam:PassRole instead.
BACKUP_SERVICE = iam.ServicePrincipal("backup.amazonaws.com")


def _lock(cfg: BackupConfig) -> backup.CfnBackupVault.LockConfigurationTypeProperty:
    # Compliance mode: after `vault_lock_changeable_days` nobody, root included, can delete
    # recovery points early or remove the lock. Governance mode omits ChangeableForDays.
    return backup.CfnBackupVault.LockConfigurationTypeProperty(
        min_retention_days=cfg.retention_days,
        max_retention_days=max(cfg.retention_days, 3650),
        changeable_for_days=cfg.vault_lock_changeable_days if cfg.vault_lock_mode == "compliance" else None,
    )


class LockedVault(Construct):
    """A backup vault encrypted with `encryption_key`, with Vault Lock. Attributes: `vault`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, encryption_key: kms.IKey, cfg: BackupConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.vault = backup.CfnBackupVault(
            self,
            "Vault",
            backup_vault_name=name,
            encryption_key_arn=encryption_key.key_arn,
            lock_configuration=_lock(cfg),
        )
        # Kept on deletion and replacement; a first create that rolls back deletes the (empty,
        # still changeable) vault so that the fixed-name vault does not block the retry.
        self.vault.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


class BackupProtection(Construct):
    """The region's vault, plan (every `frequency_hours`, kept `retention_days`, optionally
    copied to the in-jurisdiction DR vault) and selection of Aurora and the customer bucket,
    plus a weekly restore test of the latest Aurora recovery point.

    Attributes: `vault`, `plan`, `restore_testing_plan`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: BackupConfig,
        encryption_key: kms.IKey,
        cluster_arn: str,
        bucket_arn: str,
        data_key_arns: list[str],
        restore_subnet_group: str,
        restore_security_group_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region, account, partition = stack.region, stack.account, stack.partition
        self.vault = LockedVault(self, "Vault", name=vault_name(region), encryption_key=encryption_key, cfg=cfg).vault

        copy_actions = None
        if cfg.dr_copy_region:
            copy_actions = [
                backup.CfnBackupPlan.CopyActionResourceTypeProperty(
                    destination_backup_vault_arn=f"arn:{partition}:backup:{cfg.dr_copy_region}:{account}:backup-vault:{dr_vault_name(region)}",
                    lifecycle=backup.CfnBackupPlan.LifecycleResourceTypeProperty(delete_after_days=cfg.retention_days),
                )
            ]
        self.plan = backup.CfnBackupPlan(
            self,
            "Plan",
            backup_plan=backup.CfnBackupPlan.BackupPlanResourceTypeProperty(
                backup_plan_name=vault_name(region),
                backup_plan_rule=[
                    backup.CfnBackupPlan.BackupRuleResourceTypeProperty(
                        rule_name=f"every-{cfg.frequency_hours}h",
                        target_backup_vault=self.vault.attr_backup_vault_name,
                        schedule_expression=f"cron(0 0/{cfg.frequency_hours} * * ? *)"
                        if cfg.frequency_hours < 24
                        else "cron(0 3 * * ? *)",
                        start_window_minutes=60,
                        completion_window_minutes=360,
                        lifecycle=backup.CfnBackupPlan.LifecycleResourceTypeProperty(
                            delete_after_days=cfg.retention_days
                        ),
                        copy_actions=copy_actions,
                    )
                ],
            ),
        )
        rds_arn = f"arn:{partition}:rds:{region}:{account}"
        backup_snapshots = f"{rds_arn}:cluster-snapshot:awsbackup:*"
        vault_arns = [self.vault.attr_backup_vault_arn]
        if cfg.dr_copy_region:
            vault_arns.append(
                f"arn:{partition}:backup:{cfg.dr_copy_region}:{account}:backup-vault:{dr_vault_name(region)}"
            )
        keys = [*data_key_arns, encryption_key.key_arn]
        by_action = {a: a for a in BACKUP_ACTIONS}  # every statement below draws from BACKUP_ACTIONS
        role = ScopedRole(
            self,
            "Service",
            assumed_by=BACKUP_SERVICE,
            description="AWS Backup: back up and copy Aurora and the customer bucket",
            statements=[
                iam.PolicyStatement(
                    sid="BucketInventoryAndEvents",
                    resources=[bucket_arn],
                    actions=[
                        by_action[a]
                        for a in (
                            "s3:GetBucketLocation",
                            "s3:GetBucketNotification",
                            "s3:GetBucketTagging",
                            "s3:GetBucketVersioning",
                            "s3:GetInventoryConfiguration",
                            "s3:ListBucket",
                            "s3:ListBucketVersions",
                            "s3:PutBucketNotification",
                            "s3:PutInventoryConfiguration",
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadObjectsToBackUp",
                    resources=[f"{bucket_arn}/*"],
                    actions=[
                        by_action[a]
                        for a in (
                            "s3:GetObject",
                            "s3:GetObjectAcl",
                            "s3:GetObjectTagging",
                            "s3:GetObjectVersion",
                            "s3:GetObjectVersionAcl",
                            "s3:GetObjectVersionTagging",
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="ClusterSnapshots",
                    resources=[cluster_arn, backup_snapshots],
                    actions=[
                        by_action[a]
                        for a in (
                            "rds:AddTagsToResource",
                            "rds:CopyDBClusterSnapshot",
                            "rds:CreateDBClusterSnapshot",
                            "rds:DeleteDBClusterSnapshot",
                            "rds:DescribeDBClusterSnapshots",
                            "rds:DescribeDBClusters",
                            "rds:ListTagsForResource",
                            "rds:ModifyDBClusterSnapshotAttribute",
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="KeysOfProtectedData",
                    resources=keys,
                    actions=[
                        by_action[a]
                        for a in (
                            "kms:Decrypt",
                            "kms:DescribeKey",
                            "kms:GenerateDataKey",
                            "kms:GenerateDataKeyWithoutPlaintext",
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="GrantsForAwsResources",
                    resources=keys,
                    actions=[by_action["kms:CreateGrant"]],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                iam.PolicyStatement(
                    sid="Vaults",
                    resources=vault_arns,
                    actions=[by_action["backup:CopyIntoBackupVault"], by_action["backup:DescribeBackupVault"]],
                ),
                iam.PolicyStatement(
                    sid="ManagedEventRules",
                    resources=[f"arn:{partition}:events:{region}:{account}:rule/AwsBackupManagedRule*"],
                    actions=[
                        by_action[a]
                        for a in (
                            "events:DeleteRule",
                            "events:DescribeRule",
                            "events:DisableRule",
                            "events:EnableRule",
                            "events:ListTargetsByRule",
                            "events:PutRule",
                            "events:PutTargets",
                            "events:RemoveTargets",
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="NoResourceScopeExists",
                    resources=["*"],
                    actions=[
                        by_action[a]
                        for a in (
                            "s3:ListAllMyBuckets",
                            "tag:GetResources",
                            "cloudwatch:GetMetricData",
                            "events:ListRules",
                        )
                    ],
                ),
            ],
        )
        nag.acknowledge(
            role.managed_policy,
            (
                f"{nag.IAM_WILDCARD}[Resource::*]",
                nag.iam5_resource_finding(self, f"{bucket_arn}/*"),
                nag.iam5_resource_finding(self, backup_snapshots),
                nag.iam5_resource_finding(
                    self, f"arn:{partition}:events:{region}:{account}:rule/AwsBackupManagedRule*"
                ),
            ),
            "Wildcards only where AWS names things at run time (objects, awsbackup: snapshots, AWS "
            "Backup's managed event rules) or the action takes no resource (ListAllMyBuckets, GetResources).",
        )
        self.service_role_arn = role.role_arn  # the customer bucket's network perimeter names it
        backup.CfnBackupSelection(
            self,
            "Selection",
            backup_plan_id=self.plan.attr_backup_plan_id,
            backup_selection=backup.CfnBackupSelection.BackupSelectionResourceTypeProperty(
                selection_name="aurora-and-customer-data",
                iam_role_arn=role.role_arn,
                resources=[cluster_arn, bucket_arn],
            ),
        )

        restore_only = {a: a for a in RESTORE_TEST_ACTIONS}
        restored = [f"{rds_arn}:cluster:*", f"{rds_arn}:db:*", f"{rds_arn}:subgrp:*", backup_snapshots]
        restore_role = ScopedRole(
            self,
            "RestoreTest",
            assumed_by=BACKUP_SERVICE,
            description="AWS Backup restore testing: restore Aurora into a throw-away cluster and delete it",
            statements=[
                iam.PolicyStatement(
                    sid="RestoreAndDeleteTestClusters",
                    resources=restored,
                    actions=[
                        restore_only[a]
                        for a in (
                            "rds:AddTagsToResource",
                            "rds:CreateDBInstance",
                            "rds:DeleteDBCluster",
                            "rds:DeleteDBInstance",
                            "rds:RestoreDBClusterFromSnapshot",
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="KeysOfRestoredData",
                    resources=keys,
                    actions=[restore_only[a] for a in ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")],
                ),
                iam.PolicyStatement(
                    sid="GrantsForAwsResources",
                    resources=keys,
                    actions=[restore_only["kms:CreateGrant"]],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                iam.PolicyStatement(
                    sid="DescribeOnly",
                    resources=["*"],
                    actions=[
                        restore_only[a]
                        for a in (
                            "rds:DescribeDBClusters",
                            "rds:DescribeDBInstances",
                            "rds:DescribeDBClusterSnapshots",
                            "ec2:DescribeSecurityGroups",
                            "ec2:DescribeSubnets",
                            "ec2:DescribeVpcs",
                        )
                    ],
                ),
            ],
        )
        nag.acknowledge(
            restore_role.managed_policy,
            (f"{nag.IAM_WILDCARD}[Resource::*]", *(nag.iam5_resource_finding(self, r) for r in restored)),
            "Restore tests create clusters, instances and subnet groups whose names AWS Backup picks; "
            "wildcards stay inside RDS of this account and region, and Describe* takes no resource.",
        )
        self.restore_testing_plan = backup.CfnRestoreTestingPlan(
            self,
            "RestoreTesting",
            restore_testing_plan_name=f"trustbase_{region.replace('-', '_')}",
            schedule_expression="cron(0 5 ? * SAT *)",
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[self.vault.attr_backup_vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=7,
            ),
        )
        backup.CfnRestoreTestingSelection(
            self,
            "RestoreTestingAurora",
            restore_testing_plan_name=self.restore_testing_plan.restore_testing_plan_name,
            restore_testing_selection_name="aurora",
            protected_resource_type="Aurora",
            protected_resource_arns=[cluster_arn],
            iam_role_arn=restore_role.role_arn,
            restore_metadata_overrides={
                "dbsubnetgroupname": restore_subnet_group,
                "vpcsecuritygroupids": f'["{restore_security_group_id}"]',
            },
            validation_window_hours=1,
        )
