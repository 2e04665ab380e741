from __future__ import annotations

from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import RegionConfig
from constructs_lib.audit import AuditBucket, AuditTrail, ConfigRecordsBucket, SecurityAlarms, security_alarm_specs
from constructs_lib.iam import apply_boundary
from constructs_lib.retention import log_retention
from contract import app_role_name, break_glass_role_name
from stacks.base import RegionalStack
from stacks.links import Link, publish, read


class AuditStack(RegionalStack):
    """Stateful: the locked audit bucket, the region's CloudTrail trail and its alarms."""

    def __init__(self, scope: Construct, construct_id: str, *, region_config: RegionConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, region_config=region_config, termination_protection=True, **kwargs)
        apply_boundary(self)
        retention = region_config.retention
        audit_key = kms.Key.from_key_arn(self, "AuditKey", read(self, Link.AUDIT_KEY_ARN))
        logs_key = kms.Key.from_key_arn(self, "LogsKey", read(self, Link.LOGS_KEY_ARN))
        access_logs = s3.Bucket.from_bucket_name(self, "AccessLogs", read(self, Link.ACCESS_LOG_BUCKET_NAME))

        self.bucket = AuditBucket(
            self,
            "AuditRecords",
            encryption_key=audit_key,
            access_log_bucket=access_logs,
            lock_days=retention.audit_lock_days,
        )
        self.config_records = ConfigRecordsBucket(
            self,
            "ConfigRecords",
            encryption_key=audit_key,
            access_log_bucket=access_logs,
            record_days=retention.config_record_days,
        )
        self.trail = AuditTrail(
            self,
            "Trail",
            bucket=self.bucket,
            audit_key=audit_key,
            logs_key=logs_key,
            log_retention=log_retention(retention.trail_log_days),
            data_bucket_arns=[read(self, Link.DATA_BUCKET_ARN)],
        )
        self.alarms = SecurityAlarms(
            self,
            "Alarms",
            log_group=self.trail.log_group,
            audit_key=audit_key,
            specs=security_alarm_specs(
                region_config.name,
                app_role_name=app_role_name(region_config.name),
                break_glass_role_name=break_glass_role_name(region_config.name),
                bulk_delete_threshold=region_config.bulk_delete_alarm_threshold,
                get_object_burst_threshold=region_config.object_read_alarm_threshold,
            ),
        )
        publish(self, Link.AUDIT_BUCKET_NAME, self.bucket.bucket.bucket_name)
        publish(self, Link.AUDIT_BUCKET_ARN, self.bucket.bucket.bucket_arn)
        publish(self, Link.ALERTS_TOPIC_ARN, self.alarms.topic.topic_arn)
        publish(self, Link.CONFIG_BUCKET_NAME, self.config_records.bucket.bucket_name)
        publish(self, Link.CONFIG_BUCKET_ARN, self.config_records.bucket.bucket_arn)
