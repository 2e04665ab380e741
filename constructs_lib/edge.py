"""Public HTTPS entry point: ALB with strict TLS and HSTS, fronted by a WAF web ACL."""

from __future__ import annotations

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from config.model import ONE_YEAR_SECONDS
from constructs_lib import nag
from constructs_lib.retention import encrypted_log_group
from contract import FORWARD_SECRET_TLS_POLICIES, waf_log_group_name, web_acl_metric_name

HSTS_ATTRIBUTE = "routing.http.response.strict_transport_security.header_value"
MIN_HSTS_SECONDS = ONE_YEAR_SECONDS

# Policy name (as in config and in the template) -> CDK enum member.
_SSL_POLICIES: dict[str, elbv2.SslPolicy] = {
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": elbv2.SslPolicy.TLS13_RES,
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09": elbv2.SslPolicy.TLS13_12_RES_PQ,
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04": elbv2.SslPolicy.FIPS_TLS13_12_RES,
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09": elbv2.SslPolicy.FIPS_TLS13_12_RES_PQ,
    "ELBSecurityPolicy-TLS13-1-3-2021-06": elbv2.SslPolicy.TLS13_13,
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09": elbv2.SslPolicy.TLS13_13_PQ,
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04": elbv2.SslPolicy.FIPS_TLS13_13,
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09": elbv2.SslPolicy.FIPS_TLS13_13_PQ,
    "ELBSecurityPolicy-FS-1-2-Res-2020-10": elbv2.SslPolicy.FORWARD_SECRECY_TLS12_RES_GCM,
    "ELBSecurityPolicy-FS-1-2-Res-2019-08": elbv2.SslPolicy.FORWARD_SECRECY_TLS12_RES,
}
# An insecure override for tests that prove the policy gate trips.
_INSECURE_POLICIES: dict[str, elbv2.SslPolicy] = {
    "ELBSecurityPolicy-TLS13-1-2-2021-06": elbv2.SslPolicy.RECOMMENDED_TLS,
    "ELBSecurityPolicy-2016-08": elbv2.SslPolicy.RECOMMENDED,
}
if set(_SSL_POLICIES) != FORWARD_SECRET_TLS_POLICIES:
    raise RuntimeError("contract.FORWARD_SECRET_TLS_POLICIES and the CDK SslPolicy mapping diverged")

AWS_MANAGED_RULE_GROUPS: tuple[str, ...] = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def hsts_header(max_age_seconds: int) -> str:
    return f"max-age={max_age_seconds}; includeSubDomains; preload"


class HttpsAlb(Construct):
    """Internet-facing ALB over the public subnets of all AZs.

    - HTTPS :443 with a TLS 1.2+ forward-secrecy-only policy and HSTS sent by the
      listener itself; HTTP :80 answers only a 301 to HTTPS.
    - Invalid header fields dropped, strictest desync mitigation, deletion protection.
    - Access logs to `access_log_bucket_name` under `access_log_prefix`.
    - A target group (HTTPS, IP targets) for the app tier in the private subnets.

    `tls_policy` must be in contract.FORWARD_SECRET_TLS_POLICIES; the only way around
    that is `insecure_tls_policy=True`, which warns loudly and trips the posture tests.

    Attributes: `load_balancer`, `https_listener`, `http_listener`, `target_group`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        certificate_arn: str,
        tls_policy: str,
        hsts_max_age_seconds: int,
        access_log_bucket_name: str,
        access_log_prefix: str,
        app_port: int,
        insecure_tls_policy: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if tls_policy in _SSL_POLICIES:
            ssl_policy = _SSL_POLICIES[tls_policy]
        elif insecure_tls_policy and tls_policy in _INSECURE_POLICIES:
            ssl_policy = _INSECURE_POLICIES[tls_policy]
            Annotations.of(self).add_warning_v2(
                "trustbase:InsecureOverride",
                f"insecure_tls_policy=True: {tls_policy} allows non-forward-secret ciphers",
            )
        else:
            raise ValueError(
                f"tls_policy {tls_policy!r} is not TLS 1.2+ forward-secrecy-only; use one of {sorted(_SSL_POLICIES)}"
            )
        if hsts_max_age_seconds < MIN_HSTS_SECONDS:
            raise ValueError(f"hsts_max_age_seconds must be >= {MIN_HSTS_SECONDS}, got {hsts_max_age_seconds}")

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=security_group,
            deletion_protection=True,
            drop_invalid_header_fields=True,  # request smuggling via malformed headers
            desync_mitigation_mode=elbv2.DesyncMitigationMode.STRICTEST,
            http2_enabled=True,
        )
        # Set as attributes (not log_access_logs) because the bucket and its delivery
        # policy live in the stateful data stack.
        self.load_balancer.set_attribute("access_logs.s3.enabled", "true")
        self.load_balancer.set_attribute("access_logs.s3.bucket", access_log_bucket_name)
        self.load_balancer.set_attribute("access_logs.s3.prefix", access_log_prefix)

        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "AppTargets",
            vpc=vpc,
            port=app_port,
            protocol=elbv2.ApplicationProtocol.HTTPS,  # TLS re-encrypted to the app tier
            target_type=elbv2.TargetType.IP,
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(path="/healthz", protocol=elbv2.Protocol.HTTPS, healthy_http_codes="200"),
        )
        self.https_listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=ssl_policy,
            default_target_groups=[self.target_group],
            open=False,  # ingress is managed by the tier security groups
        )
        https_cfn = self.https_listener.node.default_child
        if not isinstance(https_cfn, elbv2.CfnListener):
            raise TypeError(f"expected the HTTPS listener's CfnListener, got {type(https_cfn).__name__}")
        https_cfn.listener_attributes = [
            elbv2.CfnListener.ListenerAttributeProperty(key=HSTS_ATTRIBUTE, value=hsts_header(hsts_max_age_seconds))
        ]
        self.http_listener = self.load_balancer.add_listener(
            "HttpRedirect",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port="443", permanent=True),
            open=False,
        )
        nag.acknowledge(
            self.http_listener,
            (
                "HIPAA.Security-ELBv2ACMCertificateRequired",
                "NIST.800.53.R5-ELBv2ACMCertificateRequired",
                "PCI.DSS.321-ELBv2ACMCertificateRequired",
            ),
            "Port 80 serves no content: its only action is a 301 redirect to HTTPS :443, which uses "
            "the ACM certificate; the posture tests pin that redirect.",
        )


class RegionalWebAcl(Construct):
    """WAFv2 web ACL (REGIONAL) with AWS managed rule groups, associated with
    `resource_arn`, logging to a KMS-encrypted CloudWatch log group with retention.

    Attributes: `web_acl`, `log_group`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_arn: str,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=i,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                    cloud_watch_metrics_enabled=True, metric_name=group, sampled_requests_enabled=True
                ),
            )
            for i, group in enumerate(AWS_MANAGED_RULE_GROUPS)
        ]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=web_acl_metric_name(region), sampled_requests_enabled=True
            ),
        )
        wafv2.CfnWebACLAssociation(self, "Association", resource_arn=resource_arn, web_acl_arn=self.web_acl.attr_arn)
        self.log_group = encrypted_log_group(
            self,
            "Logs",
            name=waf_log_group_name(region),
            key=logs_key,
            retention=log_retention,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[self.log_group.log_group_arn],
            # Never log credentials or session cookies.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "cookie"}),
            ],
        )
