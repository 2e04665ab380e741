"""Egress to subprocessors only: with `subprocessor_domains`, the app tier reaches the internet only
through NAT gateways behind an AWS Network Firewall domain allow-list. The route walk and the
firewall's verdicts are checked on the synthesized template (the gate runs the same check), and
every planted bypass is caught."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import posture_checks as pc
from app import build_app
from config import ConfigError, load_config
from tests.conftest import Assembly, only
from tests.stacks.variants import eu_west_1

DOMAINS = ("api.stripe.com", ".sendgrid.net")


def _raw(**region: Any) -> dict[str, Any]:
    return eu_west_1(**region)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = load_config(_raw(subprocessor_domains=list(DOMAINS)), account="123456789012")
    assert config.regions[0].subprocessor_domains == DOMAINS
    outdir = tmp_path_factory.mktemp("egress")
    app, _ = build_app(config, outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    app.synth()
    return dict(json.loads((outdir / "trustbase-eu-west-1-network.template.json").read_text()))


def test_the_shipped_config_has_no_internet_egress_and_no_firewall(assembly: Assembly) -> None:
    template = assembly.template("trustbase-eu-west-1-network")
    assert not pc.resources(template, "AWS::NetworkFirewall::Firewall")
    assert pc.egress_violations(template) == []  # no security group reaches the internet


def test_every_app_subnet_leaves_through_its_own_azs_firewall(network: dict[str, Any]) -> None:
    assert pc.egress_firewall_violations(network, DOMAINS) == []
    firewalls = pc.resources(network, "AWS::NetworkFirewall::Firewall")
    assert sorted(f["Properties"]["FirewallName"] for f in firewalls.values()) == [
        "trustbase-eu-west-1-egress-a",
        "trustbase-eu-west-1-egress-b",
        "trustbase-eu-west-1-egress-c",
    ]
    group = only(pc.resources(network, "AWS::NetworkFirewall::RuleGroup"))["Properties"]
    source = group["RuleGroup"]["RulesSource"]["RulesSourceList"]
    assert (source["GeneratedRulesType"], source["TargetTypes"], source["Targets"]) == (
        "ALLOWLIST",
        ["TLS_SNI"],
        ["api.stripe.com", ".sendgrid.net"],
    )


@pytest.mark.parametrize(
    ("server_name", "verdict"),
    [
        ("api.stripe.com", "pass"),
        ("stripe.com", "drop"),  # an explicit name matches only itself
        ("files.stripe.com", "drop"),
        ("sendgrid.net", "pass"),  # a leading dot matches the domain ...
        ("api.sendgrid.net", "pass"),  # ... and its subdomains
        ("evilsendgrid.net", "drop"),
        ("api.stripe.com.attacker.io", "drop"),
        ("exfiltrate.example.org", "drop"),
        ("", "drop"),  # no SNI at all
    ],
)
def test_the_firewall_passes_the_subprocessors_and_drops_the_rest(
    network: dict[str, Any], server_name: str, verdict: str
) -> None:
    group = only(pc.resources(network, "AWS::NetworkFirewall::RuleGroup"))["Properties"]
    policy = only(pc.resources(network, "AWS::NetworkFirewall::FirewallPolicy"))["Properties"]
    assert pc.sni_verdict(group, policy, server_name) == verdict


def _first(template: dict[str, Any], rtype: str, prefix: str) -> dict[str, Any]:
    return next(
        r["Properties"] for k, r in template["Resources"].items() if r["Type"] == rtype and k.startswith(prefix)
    )


def _route_to_igw(t: dict[str, Any]) -> None:
    route = _first(t, "AWS::EC2::Route", "NetworkVpcegressSubnet1DefaultRoute")
    route.pop("VpcEndpointId")
    route["GatewayId"] = {"Ref": "NetworkVpcIGW6BEA7B02"}


def _denylist(t: dict[str, Any]) -> None:
    _first(t, "AWS::NetworkFirewall::RuleGroup", "")["RuleGroup"]["RulesSource"]["RulesSourceList"][
        "GeneratedRulesType"
    ] = "DENYLIST"


def _pass_by_default(t: dict[str, Any]) -> None:
    _first(t, "AWS::NetworkFirewall::FirewallPolicy", "")["FirewallPolicy"]["StatefulDefaultActions"] = []


def _cross_az_return(t: dict[str, Any]) -> None:
    route = _first(t, "AWS::EC2::Route", "NetworkEgressFirewallReturnThroughFirewall1")
    route["VpcEndpointId"] = _first(t, "AWS::EC2::Route", "NetworkEgressFirewallReturnThroughFirewall2")[
        "VpcEndpointId"
    ]


def _no_alert_log(t: dict[str, Any]) -> None:
    config = _first(t, "AWS::NetworkFirewall::LoggingConfiguration", "")["LoggingConfiguration"]
    config["LogDestinationConfigs"] = [d for d in config["LogDestinationConfigs"] if d["LogType"] != "ALERT"]


@pytest.mark.parametrize(
    ("plant", "finding"),
    [
        (_route_to_igw, "the NAT subnet's default route does not go to a firewall endpoint"),
        (_denylist, "the firewall lets off-list.example.invalid through"),
        (_pass_by_default, "the firewall lets off-list.example.invalid through"),
        (_cross_az_return, "return traffic does not come back through"),
        (_no_alert_log, "no ALERT log"),
    ],
    ids=["nat-straight-to-the-internet", "denylist", "pass-by-default", "return-through-another-az", "no-alert-log"],
)
def test_a_planted_bypass_is_caught(
    network: dict[str, Any], plant: Callable[[dict[str, Any]], None], finding: str
) -> None:
    planted = copy.deepcopy(network)
    plant(planted)
    found = pc.egress_firewall_violations(planted, DOMAINS)
    assert any(finding in f for f in found), found


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (["*.stripe.com"], "a wildcard is written as a leading dot"),
        (["https://api.stripe.com"], "is not a domain name"),
        (["10.0.0.1"], "is not a domain name"),
        (["api.stripe.com", "api.stripe.com"], "is listed twice"),
        ("api.stripe.com", "must be a list of domain names"),
    ],
)
def test_bad_subprocessor_domains_name_the_field(value: Any, says: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(_raw(subprocessor_domains=value), account="123456789012")
    assert any("region eu-west-1: field 'subprocessor_domains'" in p and says in p for p in exc.value.problems)


def test_unfiltered_egress_and_the_allow_list_exclude_each_other() -> None:
    with pytest.raises(ConfigError, match="field 'app_internet_egress': opens HTTPS to any address"):
        load_config(_raw(subprocessor_domains=["api.stripe.com"], app_internet_egress=True), account="123456789012")


def test_the_gate_runs_the_firewall_check(tmp_path: Path, network: dict[str, Any]) -> None:
    from policy_gates import run_own_checks

    config = load_config(_raw(subprocessor_domains=list(DOMAINS)), account="123456789012")
    planted = copy.deepcopy(network)
    _route_to_igw(planted)
    path = tmp_path / "trustbase-eu-west-1-network.template.json"
    path.write_text(json.dumps(planted))
    assert any("does not go to a firewall endpoint" in f for f in run_own_checks([path], config))
