"""One region is snapshotted in full (syrupy, one snapshot per stack of eu-west-1). Every other
region's templates must equal it after substituting what makes a region a region: its name, AZs,
jurisdiction, CIDR, certificate, S3 prefix list and ELB log-delivery account. So a change is
reviewed once, in eu-west-1's snapshots, and a difference that only one region has (a condition,
a region flag, a resource more or less) fails here unless it is one of the listed, real ones.

Asset hashes are masked so that a CDK upgrade that only rebuilds an asset does not churn every
snapshot. Update deliberately: `.venv/bin/pytest tests/stacks/test_snapshots.py --snapshot-update`,
then review the diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.region_info import RegionInfo
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import RegionConfig, load_config_file
from config.jurisdictions import S3_GATEWAY_PREFIX_LISTS
from contract import CICD_PART, region_short
from stacks.region import STACK_PARTS, stack_name
from tests.conftest import Assembly

SNAPSHOT_REGION = "eu-west-1"
OTHER_REGIONS = [rc.name for rc in load_config_file().regions if rc.name != SNAPSHOT_REGION]
SNAPSHOT_PARTS = (*STACK_PARTS, CICD_PART)  # the shipped config has [delivery]: the pipeline's roles

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
# A function's published version is named by a hash of its configuration, which includes its code:
# CDK's `currentVersion` logical ID (used by the migration trigger) changes with every code change.
_VERSION_ID = re.compile(r"\b(\w+CurrentVersion[0-9A-F]{8})[0-9a-f]{32}\b")


def masked(template: dict[str, Any]) -> Any:
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template))
    return json.loads(_VERSION_ID.sub(r"\1<code-hash>", text))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("part", SNAPSHOT_PARTS)
def test_stack_snapshot(assembly: Assembly, snapshot_json: SnapshotAssertion, part: str) -> None:
    assert masked(assembly.template(stack_name(SNAPSHOT_REGION, part))) == snapshot_json


# ------------------------------------------------------------------ the other regions equal it


def substitutions(rc: RegionConfig, base: RegionConfig) -> list[tuple[str, str]]:
    """What differs between two regions by construction, as (this region's text, the base's)."""
    pairs = list(zip(rc.availability_zones, base.availability_zones, strict=True))
    pairs.append((rc.certificate_arn, base.certificate_arn))
    prefix_lists = [r.s3_prefix_list_id or S3_GATEWAY_PREFIX_LISTS[r.name] for r in (rc, base)]
    pairs.append((prefix_lists[0], prefix_lists[1]))
    pairs.append((prefix_lists[0].replace("-", ""), prefix_lists[1].replace("-", "")))  # inside logical IDs
    elb = [RegionInfo.get(r.name).elbv2_account for r in (rc, base)]
    if elb[0] and elb[1]:
        pairs.append((elb[0], elb[1]))
    for form in (str, lambda n: n.replace("-", ""), lambda n: n.replace("-", "_"), region_short):
        pairs.append((form(rc.name), form(base.name)))
    cidr = [".".join(r.vpc_cidr.split(".")[:2]) + "." for r in (rc, base)]  # every subnet is in the /16
    pairs.append((f'"{cidr[0]}', f'"{cidr[1]}'))
    pairs.append((f"jurisdiction {rc.jurisdiction.value}", f"jurisdiction {base.jurisdiction.value}"))
    pairs.append((f'"{rc.jurisdiction.value}"', f'"{base.jurisdiction.value}"'))
    return pairs


_CDK_PATH_HASH = re.compile(r"[0-9A-F]{8}(?=[:/\"]|$)")


# A resource whose logical ID changes is replaced by CloudFormation: these hold data, so they are
# never renamed here, and a changed ID of one of them in one region is a difference. (Aurora
# instances are not among them: the data lives in the cluster volume, and each instance's ID names
# its AZ, so it differs by region and is renamed.)
STATEFUL = frozenset({"AWS::RDS::DBCluster", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"})
_HASH = re.compile(r"[0-9A-F]{8,}")  # a hash, with any digits (a port) beside it


def in_base_terms(template: dict[str, Any], base_template: dict[str, Any], rc: RegionConfig, base: RegionConfig) -> Any:
    text = json.dumps(masked(template))
    # Substituting only works one way: this region's template must not already hold the base
    # region's own values (that would be a reference across jurisdictions, and would compare equal).
    leaked = [theirs for _, theirs in substitutions(rc, base) if theirs in text]
    assert leaked == [], f"{rc.name} holds {base.name}'s values: {leaked}"
    for mine, theirs in substitutions(rc, base):
        text = text.replace(mine, theirs)
    # A logical ID that hashes a peer's unique ID (security-group rules name the other group) differs
    # by hashes alone: rename by position, only between resources of the same type, holding no data,
    # whose IDs differ in their 8-character hashes and nothing else.
    ours, theirs = json.loads(text)["Resources"], base_template["Resources"]
    for a, b in zip(ours, theirs, strict=False):
        same_name = _HASH.sub("#", a) == _HASH.sub("#", b)  # equal but for CDK's 8-character hashes
        kind = ours[a]["Type"]
        if a != b and same_name and kind == theirs[b]["Type"] and kind not in STATEFUL:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(a)}(?![A-Za-z0-9])", b, text)
    out = json.loads(text)
    for resource in (out["Resources"], base_template["Resources"]):
        for body in resource.values():
            path = body.get("Metadata", {}).get("aws:cdk:path")
            if path:  # construct paths carry the same peer hashes
                body["Metadata"]["aws:cdk:path"] = _CDK_PATH_HASH.sub("<hash>", path)
    return out


def differences(a: Any, b: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    if type(a) is not type(b):
        yield path, json.dumps(a), json.dumps(b)
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                yield f"{path}/{k}", json.dumps(a.get(k, "<absent>")), json.dumps(b.get(k, "<absent>"))
            else:
                yield from differences(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differences(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, json.dumps(a), json.dumps(b)


# The real differences: us-east-1 is also Identity Center's home region (access.home_region), and
# AWS Config records global resources (IAM) once per account, in that region.
HOME = '"us-east-1"'
KNOWN: dict[tuple[str, str], set[tuple[str, str, str]]] = {
    ("us-east-1", "keys"): {
        # the home region is this region's own name, so the substitution rewrote it
        (
            "/Resources/PermissionsBoundaryPolicy2F8055A4/Properties/PolicyDocument/Statement[2]"
            "/Condition/StringNotEquals/aws:RequestedRegion",
            '"eu-west-1"',
            HOME,
        ),
    },
    ("us-east-1", "detection"): {
        ("/Resources/ConfigRecorder49EDB580/Properties/RecordingGroup/IncludeGlobalResourceTypes", "true", "false"),
        (
            "/Resources/ElevationBrokerFunction2BA50269/Properties/Environment/Variables/IDENTITY_CENTER_REGION",
            '"eu-west-1"',
            HOME,
        ),
        (
            "/Resources/ElevationBrokerStepsFunctionDD5F3437/Properties/Environment/Variables/IDENTITY_CENTER_REGION",
            '"eu-west-1"',
            HOME,
        ),
    },
}


# The home region's pipeline also deploys and checks trustbase-identity: its deployer and reader
# name that stack too, and its reader and boundary hold the read permissions of the identity stack's
# types (tests/stacks/test_cicd.py pins both). Only these values differ, in us-east-1's cicd stack.
HOME_PIPELINE_PATHS = {
    "/Resources/PipelineDeployerPolicyAD6F20DA/Properties/PolicyDocument/Statement[1]/Resource",
    "/Resources/PipelineReaderPolicyFC128B08/Properties/PolicyDocument/Statement[0]/Resource",
    "/Resources/PipelineReaderPolicyMore7647E624/Properties/PolicyDocument/Statement[0]/Action",
    "/Resources/PipelineBoundaryPolicy80D93A28/Properties/PolicyDocument/Statement[0]/Action",
}


@pytest.mark.parametrize("part", SNAPSHOT_PARTS)
@pytest.mark.parametrize("region", OTHER_REGIONS)
def test_every_other_region_equals_the_snapshot_after_substitution(assembly: Assembly, region: str, part: str) -> None:
    cfg = assembly.config
    rc, base = cfg.region(region), cfg.region(SNAPSHOT_REGION)
    base_template = masked(assembly.template(stack_name(SNAPSHOT_REGION, part)))
    mine = in_base_terms(assembly.template(stack_name(region, part)), base_template, rc, base)
    found = set(differences(mine, base_template))
    home_only = {d for d in found if d[0] in HOME_PIPELINE_PATHS} if (region, part) == ("us-east-1", "cicd") else set()
    assert {d[0] for d in home_only} == (HOME_PIPELINE_PATHS if home_only else set())
    assert found - home_only == KNOWN.get((region, part), set()), sorted(found)


def test_a_logical_id_changed_in_one_region_is_a_difference(assembly: Assembly) -> None:
    """A renamed stateful resource (CloudFormation would replace the database) is not renamed back."""
    cfg = assembly.config
    rc, base = cfg.region("us-east-1"), cfg.region(SNAPSHOT_REGION)
    base_template = masked(assembly.template(stack_name(SNAPSHOT_REGION, "data")))
    planted = json.loads(json.dumps(assembly.template(stack_name("us-east-1", "data"))))
    cluster = next(k for k, v in planted["Resources"].items() if v["Type"] == "AWS::RDS::DBCluster")
    renamed = cluster[:-8] + "0BADC0DE"
    planted["Resources"] = {(renamed if k == cluster else k): v for k, v in planted["Resources"].items()}
    found = {path for path, _, _ in differences(in_base_terms(planted, base_template, rc, base), base_template)}
    assert f"/Resources/{cluster}" in found and f"/Resources/{renamed}" in found


def test_the_substitution_does_not_hide_a_real_difference(assembly: Assembly) -> None:
    """A change made in one region only is a difference after substitution (the test can fail)."""
    cfg = assembly.config
    rc, base = cfg.region("ap-southeast-2"), cfg.region(SNAPSHOT_REGION)
    base_template = masked(assembly.template(stack_name(SNAPSHOT_REGION, "data")))
    planted = json.loads(json.dumps(assembly.template(stack_name("ap-southeast-2", "data"))))
    cluster = next(k for k, v in planted["Resources"].items() if v["Type"] == "AWS::RDS::DBCluster")
    planted["Resources"][cluster]["Properties"]["DeletionProtection"] = False
    found = set(differences(in_base_terms(planted, base_template, rc, base), base_template))
    assert found == {(f"/Resources/{cluster}/Properties/DeletionProtection", "false", "true")}
