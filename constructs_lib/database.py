"""Aurora PostgreSQL with trustbase's secure defaults."""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from constructs_lib import nag
from constructs_lib.iam import ScopedRole, service_principal
from constructs_lib.retention import encrypted_log_group
from contract import DATABASE_NAME, DB_PORT, MASTER_USERNAME, cluster_identifier

# A version RDS still creates (cfn-lint E3691 flags retired ones). Bump deliberately.
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_7
# Not 5432: scanners probe the default port first (AwsSolutions-RDS11).


class SecureAuroraCluster(Construct):
    """Aurora PostgreSQL: a writer and two readers, one per AZ (an AZ loss leaves a
    promotable reader); storage, Performance Insights, logs and the master secret
    encrypted with CMKs; TLS 1.2+ forced by the cluster parameter group; IAM auth;
    deletion protection; PITR retention; SNAPSHOT on removal.

    The master password is managed by RDS in Secrets Manager (encrypted with
    `encryption_key`, rotated by RDS every 7 days), so no rotation Lambda is needed.

    Attributes: `cluster`, `log_group`, `cluster_identifier`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        availability_zones: tuple[str, str, str],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        logs_key: kms.IKey,
        instance_class: str,
        backup_retention_days: int,
        log_retention: logs.RetentionDays,
        insecure_allow_plain_connections: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if insecure_allow_plain_connections:
            Annotations.of(self).add_warning_v2(
                "trustbase:InsecureOverride",
                "insecure_allow_plain_connections=True: rds.force_ssl=0, clients may connect without TLS",
            )
        self.cluster_identifier = cluster_identifier(stack.region)
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION)
        parameter_group = rds.ParameterGroup(
            self,
            "ClusterParameters",
            engine=engine,
            description="trustbase: TLS required, connections logged",
            parameters={
                "rds.force_ssl": "0" if insecure_allow_plain_connections else "1",  # HIPAA 164.312(e)(1)
                "ssl_min_protocol_version": "TLSv1.2",
                "log_connections": "1",  # who connected (SOC 2 CC7.2)
                "log_disconnections": "1",
            },
        )
        # The export log group is created here, not by RDS, so it is KMS-encrypted and
        # has retention without CDK's LogRetention Lambda.
        self.log_group = encrypted_log_group(
            self,
            "PostgresqlLogs",
            name=f"/aws/rds/cluster/{self.cluster_identifier}/postgresql",
            key=logs_key,
            retention=log_retention,
        )
        # Same permissions as AmazonRDSEnhancedMonitoringRole, scoped to the one log group.
        metrics_group = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:RDSOSMetrics"
        monitoring = ScopedRole(
            self,
            "Monitoring",
            assumed_by=service_principal("monitoring.rds.amazonaws.com", stack.account),
            description="RDS enhanced monitoring: writes OS metrics to RDSOSMetrics only",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogGroup", "logs:PutRetentionPolicy"], resources=[metrics_group]
                ),
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                        "logs:GetLogEvents",
                    ],
                    resources=[f"{metrics_group}:log-stream:*"],
                ),
            ],
        )
        nag.acknowledge(
            monitoring.managed_policy,
            nag.iam5_resource_finding(self, f"{metrics_group}:log-stream:*"),
            "RDS names one log stream per instance resource ID at run time; the wildcard is "
            "limited to streams of the RDSOSMetrics group in this account and region.",
        )

        def instance(az: str, tier: int) -> rds.IClusterInstance:
            return rds.ClusterInstance.provisioned(
                f"Instance-{az}",
                instance_type=ec2.InstanceType(instance_class),
                availability_zone=az,  # one instance per AZ, pinned
                promotion_tier=tier,
                enable_performance_insights=True,
                performance_insight_encryption_key=encryption_key,
                performance_insight_retention=rds.PerformanceInsightRetention.DEFAULT,
                auto_minor_version_upgrade=True,
                publicly_accessible=False,
            )

        writer_az, *reader_azs = availability_zones
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=engine,
            cluster_identifier=self.cluster_identifier,
            writer=instance(writer_az, 0),
            readers=[instance(az, 1) for az in reader_azs],
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[security_group],
            port=DB_PORT,
            default_database_name=DATABASE_NAME,
            manage_master_user_password=True,
            credentials=rds.Credentials.from_username(MASTER_USERNAME, encryption_key=encryption_key),
            storage_encrypted=True,
            storage_encryption_key=encryption_key,
            iam_authentication=True,
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
            backup=rds.BackupProps(retention=Duration.days(backup_retention_days), preferred_window="02:00-03:00"),
            copy_tags_to_snapshot=True,
            parameter_group=parameter_group,
            cloudwatch_logs_exports=["postgresql"],
            monitoring_interval=Duration.seconds(60),
            monitoring_role=monitoring.role,
            preferred_maintenance_window="sun:03:30-sun:04:30",
        )
        self.cluster.node.add_dependency(self.log_group)
        for az in availability_zones:
            db_instance = self.cluster.node.find_child(f"Instance-{az}")
            nag.acknowledge(
                db_instance,
                ("CloudFormation Validate::W3010",),
                "AZs are pinned on purpose: one instance in each of the region's three validated AZs, "
                "so losing any AZ leaves a reader to promote.",
            )
            nag.acknowledge(
                db_instance,
                ("HIPAA.Security-RDSInBackupPlan", "NIST.800.53.R5-RDSInBackupPlan"),
                "AWS Backup protects Aurora per cluster, not per member instance: this instance's "
                "cluster is in the region's backup plan selection (pinned by tests/stacks/test_backup.py).",
            )
