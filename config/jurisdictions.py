"""Static facts about AWS regions: which jurisdiction each one belongs to.

This is reference data, not deployment config: it lists every region trustbase
knows about, including ones it does not (yet) deploy to, so that validation can
tell "unknown region" (a typo) apart from "known region without a jurisdiction"
(a legal decision that has not been made).

Adding a jurisdiction to a region is a legal/residency decision: it needs sign-off
from the DPO before the mapping changes.
"""

from __future__ import annotations

from enum import StrEnum


class Jurisdiction(StrEnum):
    """Legal area whose data must never leave it (GDPR Art. 44, customer contracts)."""

    US = "US"
    EU = "EU"
    AU = "AU"


# Every commercial AWS region (as of 2026). Value: the trustbase jurisdiction, or None
# when the region exists but no jurisdiction has been approved for it.
AWS_REGIONS: dict[str, Jurisdiction | None] = {
    "us-east-1": Jurisdiction.US,
    "us-east-2": Jurisdiction.US,
    "us-west-1": Jurisdiction.US,
    "us-west-2": Jurisdiction.US,
    "eu-west-1": Jurisdiction.EU,
    "eu-west-2": None,  # UK: post-Brexit, not EU; needs its own jurisdiction first
    "eu-west-3": Jurisdiction.EU,
    "eu-central-1": Jurisdiction.EU,
    "eu-central-2": None,  # Switzerland: not EU
    "eu-north-1": Jurisdiction.EU,
    "eu-south-1": Jurisdiction.EU,
    "eu-south-2": Jurisdiction.EU,
    "ap-southeast-2": Jurisdiction.AU,
    "ap-southeast-4": Jurisdiction.AU,
    "ap-southeast-1": None,
    "ap-southeast-3": None,
    "ap-southeast-5": None,
    "ap-southeast-7": None,
    "ap-northeast-1": None,
    "ap-northeast-2": None,
    "ap-northeast-3": None,
    "ap-south-1": None,
    "ap-south-2": None,
    "ap-east-1": None,
    "ca-central-1": None,
    "ca-west-1": None,
    "sa-east-1": None,
    "me-south-1": None,
    "me-central-1": None,
    "il-central-1": None,
    "af-south-1": None,
    "mx-central-1": None,
}


# The only region each hosting region may copy backups to: inside the same jurisdiction.
DR_COPY_REGION: dict[str, str] = {
    "us-east-1": "us-west-2",
    "eu-west-1": "eu-central-1",
    "ap-southeast-2": "ap-southeast-4",
}


# The AWS-managed prefix list of S3 (com.amazonaws.<region>.s3) per region: the destination that
# security groups use to reach S3 through the gateway endpoint (AWS::EC2::SecurityGroupEgress
# DestinationPrefixListId). us-east-1 and eu-west-1: the EC2 API reference's DescribePrefixLists
# examples; ap-southeast-2 and eu-central-1: `describe-prefix-lists` output. IDs repeat across
# regions for other services, so a region not listed here must set `s3_prefix_list_id` from
# `aws ec2 describe-managed-prefix-lists` (config validation says so).
S3_GATEWAY_PREFIX_LISTS: dict[str, str] = {
    "us-east-1": "pl-63a5400a",
    "eu-west-1": "pl-6da54004",
    "ap-southeast-2": "pl-6ca54005",
    "eu-central-1": "pl-6ea54007",
}


# --------------------------------------------------------------------------- region service facts
# Static service availability, so no construct looks anything up at synth time. Sources: cfn-lint
# 1.58's per-region resource specs (Macie, FIS, Lambda function URLs) and AWS Config's managed-rule
# documentation (2026) for the rule below. Where a service is missing, the region still deploys,
# and the compliance report shows what it lacks.
MACIE_UNAVAILABLE = frozenset({"ap-southeast-4", "eu-south-2"})
FIS_UNAVAILABLE = frozenset({"ap-southeast-4"})
CONFIG_RULE_UNAVAILABLE: dict[str, frozenset[str]] = {
    "ELBV2_PREDEFINED_SECURITY_POLICY_SSL_CHECK": frozenset(
        {
            "me-south-1",
            "me-central-1",
            "ap-south-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-7",
            "ca-west-1",
            "eu-south-2",
            "eu-central-2",
            "il-central-1",
            "mx-central-1",
        }
    ),
}

# Regions whose CloudFormation has no AWS::Lambda::Url (cfn-lint's per-region registry data): the
# elevation broker needs a function URL (it is how the caller's signed identity reaches it), so
# these regions offer no elevation at all: no human access to their customer data (break-glass
# stays, for incidents).
FUNCTION_URL_UNAVAILABLE = frozenset({"ap-southeast-4"})
