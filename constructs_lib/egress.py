"""Egress to subprocessors only: AWS Network Firewall with a domain allow-list on the NAT path.

With `subprocessor_domains` configured, each AZ's NAT gateway sits in its own small "egress"
subnet whose default route goes to that AZ's firewall endpoint, the firewall subnet's default
route goes to the internet gateway, and the internet gateway's edge route table sends the return
traffic for each egress subnet back through the same AZ's endpoint (Network Firewall developer
guide, "Architecture with an internet gateway and a NAT gateway"). The ALB's public subnets keep
their direct route: inbound customer traffic never crosses the firewall.

- One firewall per AZ, each with one subnet mapping: a firewall's EndpointIds attribute lists
  "az:vpce-id" pairs in no documented order, and a single-AZ firewall has exactly one, so every
  route names its own AZ's endpoint without a lookup. Network Firewall bills per endpoint, so three
  one-AZ firewalls cost what one three-AZ firewall does, and an AZ loss takes only its own.
- The policy: stateless traffic forwarded to the stateful engine; strict rule order; one domain
  list rule group (RulesSourceList, ALLOWLIST, TargetTypes TLS_SNI: "For HTTPS traffic, domain
  filtering is SNI-based"; a leading dot matches the domain and its subdomains); the default
  actions aws:drop_established and aws:alert_established drop and log every other connection
  once its first data packet (the TLS ClientHello) shows where it goes.
- ALERT and FLOW logs to one CMK-encrypted log group.
"""

from __future__ import annotations

from aws_cdk import Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_networkfirewall as nfw
from constructs import Construct

from constructs_lib import nag
from constructs_lib.retention import encrypted_log_group
from contract import PROJECT

RULE_GROUP_CAPACITY = 200  # a domain list costs about one unit per domain and target type: 100 domains fit
DEFAULT_ACTIONS = ("aws:drop_established", "aws:alert_established")


class EgressFirewall(Construct):
    """Attributes: `rule_group`, `policy`, `firewalls` (one per AZ), `endpoints` (vpce IDs, per AZ),
    `log_group`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.Vpc,
        firewall_subnets: list[ec2.ISubnet],
        egress_subnets: list[ec2.ISubnet],
        domains: tuple[str, ...],
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        if not domains:
            raise ValueError("EgressFirewall needs at least one subprocessor domain")
        if len(firewall_subnets) != len(egress_subnets):
            raise ValueError("one firewall subnet per egress subnet (per AZ)")
        region = Stack.of(self).region
        name = f"{PROJECT}-{region}-egress"
        self.rule_group = nfw.CfnRuleGroup(
            self,
            "Subprocessors",
            rule_group_name=f"{name}-subprocessors",
            type="STATEFUL",
            capacity=RULE_GROUP_CAPACITY,
            description="HTTPS to the configured subprocessor domains only (TLS SNI)",
            rule_group=nfw.CfnRuleGroup.RuleGroupProperty(
                rules_source=nfw.CfnRuleGroup.RulesSourceProperty(
                    rules_source_list=nfw.CfnRuleGroup.RulesSourceListProperty(
                        generated_rules_type="ALLOWLIST", target_types=["TLS_SNI"], targets=list(domains)
                    )
                ),
                stateful_rule_options=nfw.CfnRuleGroup.StatefulRuleOptionsProperty(rule_order="STRICT_ORDER"),
            ),
        )
        self.policy = nfw.CfnFirewallPolicy(
            self,
            "Policy",
            firewall_policy_name=f"{name}-policy",
            firewall_policy=nfw.CfnFirewallPolicy.FirewallPolicyProperty(
                stateless_default_actions=["aws:forward_to_sfe"],
                stateless_fragment_default_actions=["aws:forward_to_sfe"],
                stateful_engine_options=nfw.CfnFirewallPolicy.StatefulEngineOptionsProperty(rule_order="STRICT_ORDER"),
                stateful_default_actions=list(DEFAULT_ACTIONS),
                stateful_rule_group_references=[
                    nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty(
                        resource_arn=self.rule_group.attr_rule_group_arn, priority=1
                    )
                ],
            ),
        )
        self.log_group = encrypted_log_group(
            self, "Logs", key=logs_key, retention=log_retention, name=f"/aws/network-firewall/{name}"
        )
        self.firewalls: list[nfw.CfnFirewall] = []
        self.endpoints: list[str] = []
        for i, (firewall_subnet, egress_subnet) in enumerate(zip(firewall_subnets, egress_subnets, strict=True)):
            az = firewall_subnet.availability_zone
            firewall = nfw.CfnFirewall(
                self,
                f"Firewall{i + 1}",
                firewall_name=f"{name}-{az[-1]}",
                firewall_policy_arn=self.policy.attr_firewall_policy_arn,
                vpc_id=vpc.vpc_id,
                subnet_mappings=[nfw.CfnFirewall.SubnetMappingProperty(subnet_id=firewall_subnet.subnet_id)],
                subnet_change_protection=True,
                firewall_policy_change_protection=False,  # a domain list change is a normal deploy
                description=f"Egress allow-list for {az}",
            )
            nfw.CfnLoggingConfiguration(
                self,
                f"Logging{i + 1}",
                firewall_arn=firewall.attr_firewall_arn,
                logging_configuration=nfw.CfnLoggingConfiguration.LoggingConfigurationProperty(
                    log_destination_configs=[
                        nfw.CfnLoggingConfiguration.LogDestinationConfigProperty(
                            log_destination_type="CloudWatchLogs",
                            log_type=log_type,
                            log_destination={"logGroup": self.log_group.log_group_name},
                        )
                        for log_type in ("ALERT", "FLOW")
                    ]
                ),
            )
            endpoint = Fn.select(1, Fn.split(":", Fn.select(0, firewall.attr_endpoint_ids)))
            self.firewalls.append(firewall)
            self.endpoints.append(endpoint)
            # The egress subnet's default route: to its AZ's firewall endpoint, not the gateway.
            route = egress_subnet.node.find_child("DefaultRoute")
            cfn = route if isinstance(route, ec2.CfnRoute) else None
            if cfn is None:
                raise TypeError(f"{egress_subnet.node.path}: no CfnRoute DefaultRoute to redirect")
            cfn.gateway_id = None
            cfn.vpc_endpoint_id = endpoint
        # The internet gateway's edge route table: return traffic to each egress subnet through
        # its AZ's endpoint (symmetric path; otherwise the stateful engine sees half a flow).
        edge = ec2.CfnRouteTable(self, "GatewayEdge", vpc_id=vpc.vpc_id)
        if vpc.internet_gateway_id is None:
            raise ValueError("EgressFirewall needs the VPC's internet gateway")
        ec2.CfnGatewayRouteTableAssociation(
            self, "GatewayEdgeAssociation", gateway_id=vpc.internet_gateway_id, route_table_id=edge.ref
        )
        for i, (egress_subnet, endpoint) in enumerate(zip(egress_subnets, self.endpoints, strict=True)):
            ec2.CfnRoute(
                self,
                f"ReturnThroughFirewall{i + 1}",
                route_table_id=edge.ref,
                destination_cidr_block=egress_subnet.ipv4_cidr_block,
                vpc_endpoint_id=endpoint,
            )
        for subnet in firewall_subnets:
            nag.acknowledge(
                subnet.node.find_child("DefaultRoute"),
                (
                    "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
                    "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                    "PCI.DSS.321-VPCNoUnrestrictedRouteToIGW",
                ),
                "The firewall subnet holds only the Network Firewall endpoint, whose allow-list decides what "
                "leaves; nothing else can be placed there or get a public IP.",
            )
