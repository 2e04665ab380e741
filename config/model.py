"""Typed, frozen, validated trustbase configuration, on pydantic v2.

Each table of `regions.toml` is a frozen pydantic dataclass: its fields carry the types and the
defaults (written once, here), its validators the rules, each rule with the fix it suggests.
`load_config()` validates the raw mapping into an `AppConfig`, or raises one `ConfigError` that
lists every problem found, each naming the region, the field and the fix (with "did you mean"
for a mistyped key): pydantic's own errors are translated into that form in `_problems_of`.
Nothing downstream (constructs, stacks) ever sees raw dicts or CDK context.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic import field_validator as check
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from config.jurisdictions import (
    AWS_REGIONS,
    DR_COPY_REGION,
    FUNCTION_URL_UNAVAILABLE,
    S3_GATEWAY_PREFIX_LISTS,
    Jurisdiction,
)
from config.saml import SamlMetadataError, check_saml_metadata
from contract import (
    DEFAULT_TLS_POLICY,
    FORWARD_SECRET_TLS_POLICIES,
    Elevation,
    HumanAccess,
    IdentitySource,
    permission_set_name,
)

PLACEHOLDER_ACCOUNT = "123456789012"

# CloudWatch Logs accepts only these retention values (days).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

ONE_YEAR_SECONDS = 31_536_000
ONE_WEEK_SECONDS = 604_800
MAX_DAYS = 36_500  # S3 Object Lock's own maximum retention (100 years) bounds every *_days value

# What the product promises (README): data is never kept longer than this. Shorter is allowed.
PROMISED_VISITOR_MONTHS = 9
PROMISED_INACTIVE_WORKSPACE_MONTHS = 13
# Overwritten and deleted object versions still hold customer data (an erased user's, an expired
# visitor's): at most a month, the time GDPR Art. 12(3) gives to act on an erasure request.
MAX_NONCURRENT_VERSION_DAYS = 30

# "Private" means RFC 1918, not Python's is_private (which also admits 100.64/10 shared space,
# 198.18/15 benchmarking, documentation ranges, ...).
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_CERT_ARN_RE = re.compile(
    r"^arn:aws:acm:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


class ConfigError(ValueError):
    """Invalid configuration. The message lists every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid trustbase config:\n" + "\n".join(f"  - {p}" for p in problems))


def months_to_days(months: int) -> int:
    """The longest span of `months` consecutive calendar months, in days (S3 lifecycle counts
    days): an object is never expired before its months are up, and at most a few days after."""
    lengths = [calendar.monthrange(year, month)[1] for year in range(2024, 2032) for month in range(1, 13)]
    return max(sum(lengths[i : i + months]) for i in range(len(lengths) - months + 1))


# --------------------------------------------------------------------------- how a rule reports


def problem(what: str, fix: str, *, field: str = "", table: str = "") -> PydanticCustomError:
    """One problem found by a rule: what is wrong and how to fix it. `field` names another field than
    the one validated (a rule that spans fields); `table` the nested table that field lives in."""
    return PydanticCustomError("trustbase", "{what}", {"what": what, "fix": fix, "field": field, "table": table})


def problems(found: list[tuple[str, str, str]]) -> PydanticCustomError:
    """Several problems found by one rule, as (field, what, fix)."""
    return PydanticCustomError("trustbase_many", "{count} problems", {"found": found, "count": len(found)})


def _show(value: Any) -> str:
    """A config value for a message: its repr, shortened (a whole table pasted into a field must
    not flood the error)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _context(info: ValidationInfo, key: str) -> Any:
    """A load-time fact (the deploy account, the config file's folder, the region names): present when
    load_config() validates a file, absent when code builds or copies a config (dataclasses.replace)."""
    return (info.context or {}).get(key)


# Every table rejects keys it does not define (a typo is not ignored).
_TABLE = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_TABLE)
class Retention:
    """How long each kind of data or log is kept. Every value must be > 0."""

    visitor_data_months: StrictInt = 9
    """Website-visitor data (S3 prefix `visitors/`) expires after this, 1..9 (the promise: shorter
    is allowed, longer is refused). Example: 9."""
    inactive_workspace_months: StrictInt = 13
    """Workspaces inactive this long are deleted (enforced by the lifecycle jobs), 1..13 (the
    promise). Example: 13."""
    noncurrent_version_days: StrictInt = 30
    """Overwritten/deleted object versions in the data bucket expire after this, 1..30 (they hold
    erased and expired customer data: at most the month GDPR gives to act on an erasure). Example: 30."""
    backup_retention_days: StrictInt = 7
    """Aurora point-in-time-recovery window, 7..35 days. Example: 14."""
    flow_log_days: StrictInt = 365
    """VPC flow log retention in CloudWatch Logs (an allowed CloudWatch value). Example: 365."""
    database_log_days: StrictInt = 365
    """Aurora log export retention in CloudWatch Logs (an allowed CloudWatch value). Example: 365."""
    waf_log_days: StrictInt = 365
    """WAF log retention in CloudWatch Logs (an allowed CloudWatch value). Example: 365."""
    access_log_days: StrictInt = 365
    """S3 server access logs and ALB access logs expire after this. Example: 365."""
    audit_lock_days: StrictInt = 365
    """Object Lock (compliance mode) default retention of the audit bucket: no one, root
    included, can delete a CloudTrail/Config/GuardDuty record before this. Example: 365."""
    trail_log_days: StrictInt = 365
    """CloudTrail's CloudWatch Logs copy retention (an allowed CloudWatch value). Example: 365."""
    lifecycle_log_days: StrictInt = 365
    """Retention/erasure function and state-machine logs (an allowed CloudWatch value). They hold
    IDs and counts, never personal data. Example: 365."""
    config_record_days: StrictInt = 730
    """AWS Config snapshots and history in their own bucket (Config cannot deliver to an Object
    Lock bucket) expire after this; nobody may delete them earlier. Example: 730."""

    @property
    def visitor_data_days(self) -> int:
        return months_to_days(self.visitor_data_months)

    @check("*")
    @classmethod
    def _within_limits(cls, value: int, info: ValidationInfo) -> int:
        name = info.field_name or ""
        if value <= 0:
            raise problem(f"retention must be greater than zero, got {value}", f"set {name} to a positive number")
        if name.endswith("_days") and value > MAX_DAYS:
            raise problem(f"{value} days is over 100 years", f"set {name} to at most {MAX_DAYS}")
        promised = {
            "visitor_data_months": (PROMISED_VISITOR_MONTHS, "website-visitor data"),
            "inactive_workspace_months": (PROMISED_INACTIVE_WORKSPACE_MONTHS, "inactive workspaces"),
        }
        if name in promised and value > promised[name][0]:
            limit, what = promised[name]
            raise problem(
                f"{value} months keeps {what} longer than the product promises ({limit} months)",
                f"set {name} to {limit} or fewer (shorter is allowed, longer breaks the promise)",
            )
        if name == "noncurrent_version_days" and value > MAX_NONCURRENT_VERSION_DAYS:
            raise problem(
                f"{value} days keeps overwritten and erased customer data past a month",
                f"set noncurrent_version_days to {MAX_NONCURRENT_VERSION_DAYS} or fewer (GDPR Art. 12(3): act on "
                "an erasure within one month)",
            )
        if name == "backup_retention_days" and not 7 <= value <= 35:
            raise problem(
                f"{value} is outside 7..35 days", "Aurora PITR needs at least 7 days (our policy) and allows at most 35"
            )
        if name == "config_record_days" and value > 3650:
            raise problem(
                f"{value} is over 3650 days", "keep AWS Config records for at most 10 years (data minimisation)"
            )
        if name in CLOUDWATCH_RETENTIONS and value not in LOG_RETENTION_DAYS:
            closest = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - value))
            raise problem(
                f"{value} is not a CloudWatch Logs retention value",
                f"use one of {list(LOG_RETENTION_DAYS)} (closest: {closest})",
            )
        return value


CLOUDWATCH_RETENTIONS = ("flow_log_days", "database_log_days", "waf_log_days", "trail_log_days", "lifecycle_log_days")
BACKUP_FREQUENCIES = (1, 2, 3, 4, 6, 8, 12, 24)


@dataclass(frozen=True, config=_TABLE)
class Backup:
    """AWS Backup for Aurora and the customer-data bucket ([region.backup])."""

    frequency_hours: StrictInt = 4
    """Hours between backups: 1, 2, 3, 4, 6, 8, 12 or 24. Example: 4."""
    retention_days: StrictInt = 35
    """Recovery points kept this long, 7..3650 (also the Vault Lock minimum). Example: 35."""
    vault_lock_mode: str = "compliance"
    """"compliance" (immutable once the grace period ends) or "governance". Example: "compliance"."""
    vault_lock_changeable_days: StrictInt = 3
    """Grace period (>= 3 days) before a compliance-mode lock becomes immutable. Example: 3."""
    dr_copy_region: str | None = None
    """Off by default. If set, must be the region's in-jurisdiction DR region
    (us-east-1 -> us-west-2, eu-west-1 -> eu-central-1, ap-southeast-2 -> ap-southeast-4)."""

    @check("frequency_hours")
    @classmethod
    def _divides_a_day(cls, value: int) -> int:
        if value not in BACKUP_FREQUENCIES:
            raise problem(f"{value} does not divide a day", f"use one of {list(BACKUP_FREQUENCIES)}")
        return value

    @check("retention_days")
    @classmethod
    def _kept_a_week(cls, value: int) -> int:
        if not 7 <= value <= 3650:
            raise problem(f"{value} is outside 7..3650", "keep recovery points at least 7 days")
        return value

    @check("vault_lock_mode")
    @classmethod
    def _a_lock_mode(cls, value: str) -> str:
        if value not in ("compliance", "governance"):
            raise problem(f"{_show(value)} is not a Vault Lock mode", _FIX["vault_lock_mode"])
        return value

    @check("dr_copy_region")
    @classmethod
    def _copies_stay_in_the_jurisdiction(cls, value: str | None, info: ValidationInfo) -> str | None:
        name = _context(info, "region")
        if value is None or name not in AWS_REGIONS:
            return value  # no copy; or no region to judge it by (its name's problem is reported)
        jurisdiction, expected = AWS_REGIONS[name], DR_COPY_REGION.get(name)
        if AWS_REGIONS.get(value) is not jurisdiction or jurisdiction is None:
            other = AWS_REGIONS.get(value)
            raise problem(
                f"{_show(value)} is outside {name}'s jurisdiction ({other.value if other else 'none'}): backups may "
                "never leave it",
                f'use "{expected}" or remove the key' if expected else "remove the key",
            )
        if value != expected:
            raise problem(
                f"{value!r} is not the DR region of {name}",
                f'use "{expected}"' if expected else f"{name} has no approved DR region; remove the key",
            )
        return value

    @check("vault_lock_changeable_days")
    @classmethod
    def _grace(cls, value: int) -> int:
        if not 3 <= value <= MAX_DAYS:
            raise problem(
                f"{value} is outside 3..{MAX_DAYS} days",
                "AWS Backup requires a grace period of at least 3 days (3 is usual)",
            )
        return value


@dataclass(frozen=True, config=_TABLE)
class DrTargets:
    """What a DR drill must achieve to pass ([region.dr]). Seconds."""

    az_loss_rto_seconds: StrictInt = 120
    """AZ loss / failover: the writer serves again within this. Example: 120."""
    az_loss_rpo_seconds: StrictInt = 0
    """AZ loss / failover: data lost (age of newest data recovered). Example: 0."""
    restore_rpo_seconds: StrictInt = 300
    """Restore from backup: the newest recovered data is at most this old. Example: 300."""
    recover_rto_seconds: StrictInt = 600
    """Object recovery from versions: objects serve again within this. Example: 600."""

    @check("*")
    @classmethod
    def _usable(cls, value: int, info: ValidationInfo) -> int:
        rto = (info.field_name or "").endswith("rto_seconds")
        if value < 0 or (value == 0 and rto) or value > ONE_WEEK_SECONDS:
            raise problem(
                f"{value} is not a usable target",
                f"RTOs must be > 0 seconds, RPOs >= 0, both at most {ONE_WEEK_SECONDS} (a week)",
            )
        return value


ERASURE_LIMITS = {
    "object_fanout_min_versions": (1000, 10_000_000),
    "object_shards": (2, 1000),
    "object_concurrency": (1, 100),
    "row_fanout_min_messages": (10_000, 1_000_000_000),
    "row_shards": (2, 256),
    "row_concurrency": (1, 16),
    "upload_grace_seconds": (0, 3600),
}


@dataclass(frozen=True, config=_TABLE)
class Erasure:
    """How an erasure of a large subject fans out over a Step Functions Distributed Map
    ([region.erasure]). Smaller subjects take the direct path. The defaults are safe for a new
    account (low Lambda concurrency quota) and a db.r7g.large writer."""

    object_fanout_min_versions: StrictInt = 10_000
    """A subject with at least this many object versions and delete markers fans out, 1000..10000000.
    Deciding lists at most this many (one request per 1,000). Example: 10000."""
    object_shards: StrictInt = 100
    """Key ranges a large subject's prefixes are cut into (Distributed Map items), 2..1000. Example: 100."""
    object_concurrency: StrictInt = 5
    """Children deleting objects at once, 1..100. Each sends about one 1,000-key DeleteObjects a
    second; S3 supports at least 3,500 deletes per second per partitioned prefix. Example: 5."""
    row_fanout_min_messages: StrictInt = 200_000
    """A workspace with at least this many messages fans out its message deletion, 10000..1000000000.
    Example: 200000."""
    row_shards: StrictInt = 16
    """ID ranges a large workspace's messages are cut into, 2..256. Example: 16."""
    row_concurrency: StrictInt = 2
    """Children deleting rows at once (each holds one database connection and writes WAL), 1..16.
    Example: 2."""
    upload_grace_seconds: StrictInt = 900
    """After the rows are gone, wait this long for uploads already in flight (the lifetime of the
    app's presigned upload URLs), then sweep the subject's prefixes again, 0..3600. Example: 900."""

    @check("*")
    @classmethod
    def _within_limits(cls, value: int, info: ValidationInfo) -> int:
        name = info.field_name or ""
        low, high = ERASURE_LIMITS[name]
        if not low <= value <= high:
            default = Erasure.__dataclass_fields__[name].default
            raise problem(
                f"{value} is outside {low}..{high}", f"set {name} between {low} and {high} (default {default})"
            )
        return value


# A DNS name as AWS Network Firewall domain lists take it: lowercase labels, optionally a leading
# dot for "this domain and its subdomains"; no wildcard, no IP address, no scheme or path.
_DOMAIN_RE = re.compile(r"^\.?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_SUBPROCESSOR_DOMAINS = 100


@dataclass(frozen=True, config=_TABLE)
class RegionConfig:
    """One hosting region. Adding a region is adding one `[[region]]` entry to regions.toml.

    The fields are validated in this order, and a rule that needs an earlier field (the AZs need the
    name) reads it from the fields already validated."""

    name: str
    """AWS region code. Example: "eu-west-1"."""
    jurisdiction: Jurisdiction
    """Residency area; must match config/jurisdictions.py. Example: "EU"."""
    availability_zones: tuple[str, str, str]
    """Exactly three AZ names inside `name`. Example: ["eu-west-1a", "eu-west-1b", "eu-west-1c"]."""
    vpc_cidr: str
    """IPv4 /16../20 block inside RFC 1918 (10/8, 172.16/12, 192.168/16), disjoint from every other
    region. Example: "10.20.0.0/16"."""
    certificate_arn: str
    """ACM certificate for the public endpoint, in this region and the deploy account (any account
    only for an offline synth with the placeholder account).
    Example: "arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>"."""
    retention: Retention = Field(default_factory=Retention)
    backup: Backup = Field(default_factory=Backup)
    dr: DrTargets = Field(default_factory=DrTargets)
    erasure: Erasure = Field(default_factory=Erasure)
    nat_gateways: StrictInt = 3
    """NAT gateways, 1..3. 3 (one per AZ) keeps egress up when an AZ fails; fewer saves
    cost but an AZ loss then cuts egress for the private subnets routed through it."""
    tls_policy: str = DEFAULT_TLS_POLICY
    """ALB HTTPS policy: TLS 1.2+ with forward-secret ciphers only. Example: see FORWARD_SECRET_TLS_POLICIES."""
    hsts_max_age_seconds: StrictInt = 2 * ONE_YEAR_SECONDS
    """HSTS max-age sent by the ALB, at least one year. Example: 63072000."""
    db_instance_class: str = "r7g.large"
    """Aurora instance class (without the "db." prefix). Example: "r7g.large"."""
    bulk_delete_alarm_threshold: StrictInt = 100
    """S3 object deletions per 5 minutes that raise the bulk-deletion alarm. Example: 100."""
    object_read_alarm_threshold: StrictInt = 1000
    """GetObject calls per 5 minutes, by anyone but the app tier, that raise an alarm. Example: 1000."""
    s3_prefix_list_id: str = Field(default="", validate_default=True)
    """The AWS-managed prefix list of S3 in this region (com.amazonaws.<region>.s3), which the app
    and lifecycle security groups may reach through the gateway endpoint. Known regions default
    from config/jurisdictions.py; look it up with `aws ec2 describe-managed-prefix-lists --filters
    Name=prefix-list-name,Values=com.amazonaws.<region>.s3`. Example: "pl-6da54004"."""
    app_internet_egress: StrictBool = False
    """Off by default: the app tier reaches only Aurora, the VPC endpoints and S3. true adds HTTPS
    to any address through the NAT gateways, unfiltered: prefer subprocessor_domains. Example: false."""
    subprocessor_domains: tuple[str, ...] = ()
    """Off by default (no internet egress). The subprocessors' API domains the app tier may reach
    over HTTPS: AWS Network Firewall on the NAT path allows exactly these (TLS SNI, stateful
    allow-list) and drops and logs everything else. "api.example.com" matches that name only,
    ".example.com" the domain and its subdomains. Example: ["api.stripe.com", ".sendgrid.net"]."""
    reserve_lambda_concurrency: StrictBool = False
    """Off by default (new accounts have low Lambda concurrency quotas, and 100 must stay
    unreserved). true reserves 21 executions per region for the lifecycle functions (with the default
    [region.erasure]; each erasure function reserves its map's concurrency + 3): first check that
    `aws lambda get-account-settings` shows UnreservedConcurrentExecutions >= 121 per region.
    Example: false."""
    operator_access: StrictBool = False
    """Off by default. true adds the audited database-operator path for DR drills: SSM endpoints,
    a port-forwarding host with no inbound rules, and an MFA role that may start port-forwarding
    sessions to Aurora only. Example: false."""

    @check("name")
    @classmethod
    def _a_region(cls, value: str) -> str:
        if not value:
            raise problem("is missing", _FIX["name"])
        if value not in AWS_REGIONS:
            raise problem(
                f"'{value}' is not a known AWS region",
                "use a region code such as us-east-1, eu-west-1 or ap-southeast-2",
            )
        return value

    @check("jurisdiction")
    @classmethod
    def _the_regions_jurisdiction(cls, value: Jurisdiction, info: ValidationInfo) -> Jurisdiction:
        name = info.data.get("name")
        if name is None:
            return value  # the name's own problem is reported
        actual = AWS_REGIONS[name]
        if actual is None:
            raise problem(
                f"region '{name}' has no approved jurisdiction",
                "host only in a region listed with a jurisdiction in config/jurisdictions.py, "
                "or get DPO sign-off and add the mapping there",
            )
        if value is not actual:
            raise problem(
                f"{_show(value.value)} does not match the region ({name} is {actual.value})",
                f'set jurisdiction = "{actual.value}"',
            )
        return value

    @check("availability_zones", mode="before")
    @classmethod
    def _three_distinct(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and all(isinstance(a, str) for a in value):
            if len(value) != 3 or len(set(value)) != 3:
                raise problem(
                    f"needs exactly 3 distinct AZs, got {list(value)}",
                    "list three different AZs so the region survives the loss of one",
                )
            return tuple(value)
        return value  # not a list of names: the type check says so

    @check("availability_zones")
    @classmethod
    def _azs_of_the_region(cls, value: tuple[str, str, str], info: ValidationInfo) -> tuple[str, str, str]:
        name: str | None = info.data.get("name")
        if name is None:
            return value
        found = [
            ("availability_zones", f"'{az}' is not an AZ of {name}", f"use AZ names of the form {name}a, {name}b, ...")
            for az in value
            if not re.fullmatch(re.escape(name) + r"[a-z]", az)
        ]
        if found:
            raise problems(found)
        return value

    @check("vpc_cidr")
    @classmethod
    def _a_private_block(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise problem(f"{_show(value)} is not a valid IPv4 network ({exc})", _FIX["vpc_cidr"]) from None
        found = []
        if not any(net.subnet_of(block) for block in RFC1918):
            found.append(
                (
                    "vpc_cidr",
                    f"{value} is not inside a private (RFC 1918) range",
                    "use a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
                )
            )
        if not 16 <= net.prefixlen <= 20:
            found.append(
                (
                    "vpc_cidr",
                    f"/{net.prefixlen} is outside /16../20",
                    "use a /16 to /20 so 9 subnets (3 tiers x 3 AZs) fit",
                )
            )
        if found:
            raise problems(found)
        return value

    @check("certificate_arn")
    @classmethod
    def _a_certificate_of_this_region_and_account(cls, value: str, info: ValidationInfo) -> str:
        name = info.data.get("name") or "<region>"
        m = _CERT_ARN_RE.match(value)
        if m is None:
            raise problem(
                f"{_show(value)} is not an ACM certificate ARN",
                f"use arn:aws:acm:{name}:<12-digit account>:certificate/<uuid>",
            )
        if "name" in info.data and m.group("region") != name:
            raise problem(
                f"the certificate is in {m.group('region')}, not {name}",
                f"an ALB can only use a certificate from its own region: issue or import one in {name}",
            )
        account = _context(info, "account")
        if account is not None and account != PLACEHOLDER_ACCOUNT and m.group("account") != account:
            raise problem(
                f"the certificate belongs to account {m.group('account')}, not to the deploy account {account}",
                f"an ALB can only serve a certificate of its own account: request or import one in {account} ({name}) "
                "and set its ARN",
            )
        return value

    @check("nat_gateways")
    @classmethod
    def _one_to_three(cls, value: int) -> int:
        if not 1 <= value <= 3:
            raise problem(f"{value} is outside 1..3", "use 3 (one per AZ, survives an AZ loss) or fewer to save cost")
        return value

    @check("tls_policy")
    @classmethod
    def _forward_secret(cls, value: str) -> str:
        if value not in FORWARD_SECRET_TLS_POLICIES:
            raise problem(
                f"{_show(value)} is not a TLS 1.2+ forward-secrecy-only ALB policy",
                f'use "{DEFAULT_TLS_POLICY}" or another of: {", ".join(sorted(FORWARD_SECRET_TLS_POLICIES))}',
            )
        return value

    @check("hsts_max_age_seconds")
    @classmethod
    def _a_year_or_more(cls, value: int) -> int:
        if value < ONE_YEAR_SECONDS:
            raise problem(f"{value} is under one year", f"set at least {ONE_YEAR_SECONDS} (HSTS preload requires it)")
        if value > 10 * ONE_YEAR_SECONDS:
            raise problem(
                f"{value} is over ten years",
                f"set at most {10 * ONE_YEAR_SECONDS}; {2 * ONE_YEAR_SECONDS} (two years) is the usual value",
            )
        return value

    @check("db_instance_class")
    @classmethod
    def _an_instance_class(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+", value):
            raise problem(f"{_show(value)} is not an instance class", _FIX["db_instance_class"])
        return value

    @check("bulk_delete_alarm_threshold", "object_read_alarm_threshold")
    @classmethod
    def _a_positive_count(cls, value: int, info: ValidationInfo) -> int:
        if not 0 < value <= 1_000_000_000:
            raise problem(
                f"must be between 1 and 1000000000, got {value}", f"set {info.field_name} to a positive count"
            )
        return value

    @check("s3_prefix_list_id")
    @classmethod
    def _the_regions_s3_prefix_list(cls, value: str, info: ValidationInfo) -> str:
        name = info.data.get("name")
        if name is None:
            return value
        lookup = (
            f"aws ec2 describe-managed-prefix-lists --region {name} "
            f"--filters Name=prefix-list-name,Values=com.amazonaws.{name}.s3"
        )
        if not value and "s3_prefix_list_id" not in (_context(info, "present") or ()):
            known = S3_GATEWAY_PREFIX_LISTS.get(name)
            if known is None:
                raise problem(
                    f"the S3 prefix list of {name} is not known to trustbase",
                    f'set s3_prefix_list_id = "pl-..." to the PrefixListId that `{lookup}` prints',
                )
            return known
        if not re.fullmatch(r"pl-[0-9a-f]{8,17}", value):
            raise problem(
                f"{_show(value)} is not a prefix list ID", f"use the PrefixListId (pl-...) that `{lookup}` prints"
            )
        return value

    @check("subprocessor_domains")
    @classmethod
    def _an_allow_list(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        found: list[tuple[str, str, str]] = []
        seen: list[str] = []
        for item in value:
            if not _DOMAIN_RE.fullmatch(item):
                hint = (
                    'a wildcard is written as a leading dot: ".example.com"'
                    if "*" in item
                    else 'give the host name only, lowercase, e.g. "api.example.com" (no scheme, port, path or IP)'
                )
                found.append(("subprocessor_domains", f"{_show(item)} is not a domain name", hint))
            elif item in seen:
                found.append(("subprocessor_domains", f"{item!r} is listed twice", "list each domain once"))
            else:
                seen.append(item)
        if len(seen) > MAX_SUBPROCESSOR_DOMAINS:
            found.append(
                (
                    "subprocessor_domains",
                    f"{len(seen)} domains",
                    f"list at most {MAX_SUBPROCESSOR_DOMAINS} "
                    "(the firewall rule group's capacity); prefer a leading-dot domain over many hosts",
                )
            )
        if seen and info.data.get("app_internet_egress"):
            found.append(
                (
                    "app_internet_egress",
                    "opens HTTPS to any address, which would bypass the subprocessor allow-list",
                    "remove app_internet_egress: subprocessor_domains already lets the app reach exactly those domains",
                )
            )
        if found:
            raise problems(found)
        return value


_INSTANCE_ARN_RE = re.compile(r"^arn:aws:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$")  # sso-admin InstanceArn pattern
_IDENTITY_STORE_RE = re.compile(r"^d-[0-9a-f]{10}$")  # identitystore IdentityStoreId
# Stricter than the identity store's DisplayName (1-1024 printable characters): a name people type.
_GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+=,-]{0,127}$")
# The keys that belong to one identity source, each with what it must be and how to find it.
_IDENTITY_CENTER_KEYS = {
    "instance_arn": (
        _INSTANCE_ARN_RE,
        "an Identity Center instance ARN",
        "copy it from `aws sso-admin list-instances` (arn:aws:sso:::instance/ssoins-<16 characters>)",
    ),
    "identity_store_id": (
        _IDENTITY_STORE_RE,
        "an identity store ID",
        "copy it from `aws sso-admin list-instances` (d-<10 hex digits>)",
    ),
    "requester_group": (
        _GROUP_RE,
        "a group name",
        "name the identity-store group whose members may ask for elevations (letters, digits, space ._@+=,-; "
        "at most 128 characters)",
    ),
    "approver_group": (
        _GROUP_RE,
        "a group name",
        "name the identity-store group whose members approve elevations (letters, digits, space ._@+=,-; "
        "at most 128 characters)",
    ),
}
_SOURCE_KEYS = {
    IdentitySource.IDENTITY_CENTER: tuple(_IDENTITY_CENTER_KEYS),
    IdentitySource.SAML: ("saml_metadata_file",),
}


def _belongs_to(key: str, value: str, info: ValidationInfo) -> IdentitySource | None:
    """The identity source in use when `key` is one of its keys; a problem when `key` is set but
    belongs to the other source; None when the source itself is invalid (reported on its own)."""
    source: IdentitySource | None = info.data.get("identity_source")
    if source is None:
        return None
    owner = next(s for s, keys in _SOURCE_KEYS.items() if key in keys)
    if owner is not source and (value or key in (_context(info, "present") or ())):
        raise problem(
            f'applies to identity_source = "{owner.value}", not "{source.value}"',
            f'remove it, or set identity_source = "{owner.value}"',
        )
    return source


@dataclass(frozen=True, config=_TABLE)
class AccessConfig:
    """How people reach the account ([access], one table for all regions): only through the
    identity provider, and customer data only through an approved elevation that expires."""

    identity_source: IdentitySource
    """"identity-center" (IAM Identity Center permission sets; temporary account assignments for
    elevations) or "saml" (a SAML 2.0 provider from `saml_metadata_file`; elevation by a role whose
    trust carries aws:CurrentTime, rewritten and restored by the workflow). Example: "identity-center"."""
    home_region: str
    """Identity Center's region (identity-center), or where the global identity stack deploys (saml).
    Example: "us-east-1"."""
    instance_arn: str = Field(default="", validate_default=True)
    """identity-center only: the Identity Center instance. Example: "arn:aws:sso:::instance/ssoins-72231a2b0d6c4f1e"."""
    identity_store_id: str = Field(default="", validate_default=True)
    """identity-center only: its identity store. Example: "d-9067a1b2c3"."""
    requester_group: str = Field(default="", validate_default=True)
    """identity-center only: the group whose members may ask for elevations. Example: "trustbase-operators"."""
    approver_group: str = Field(default="", validate_default=True)
    """identity-center only: the group whose members may approve others' elevations (never their own).
    Example: "trustbase-approvers"."""
    saml_metadata_file: str = Field(default="", validate_default=True)
    """saml only: the IdP's SAML 2.0 metadata XML, relative to the config file. Example: "idp-metadata.xml"."""
    saml_metadata: str = ""
    """(loaded from saml_metadata_file, not set in the file)"""
    max_elevation_hours: StrictInt = 4
    """The longest elevation anyone may ask for, 1..12 hours. Example: 4."""
    elevations: tuple[Elevation, ...] = (Elevation.CUSTOMER_DATA_READ, Elevation.DATABASE_OPERATOR)
    """The elevations offered, from: customer-data-read, database-operator (the latter only where
    operator_access is on). Example: ["customer-data-read", "database-operator"]."""

    @check("home_region")
    @classmethod
    def _a_region(cls, value: str) -> str:
        if value not in AWS_REGIONS:
            raise problem(
                f"{_show(value)} is not a known AWS region",
                "set it to Identity Center's region (the console's Settings page shows it), "
                'or for saml the region the identity stack deploys to, e.g. "us-east-1"',
            )
        return value

    @check(*_IDENTITY_CENTER_KEYS)
    @classmethod
    def _identity_center_ids(cls, value: str, info: ValidationInfo) -> str:
        key = info.field_name or ""
        if _belongs_to(key, value, info) is not IdentitySource.IDENTITY_CENTER:
            return value
        pattern, what, fix = _IDENTITY_CENTER_KEYS[key]
        if not value and key not in (_context(info, "present") or (key,)):
            raise problem("is missing", fix)
        if not pattern.fullmatch(value):
            raise problem(f"{_show(value)} is not {what}", fix)
        requester = info.data.get("requester_group")
        if key == "approver_group" and requester and requester.casefold() == value.casefold():
            raise problem(
                "is the requester group: requesters could approve one another's elevations without a separate approver",
                "name a different group of approvers",
            )
        return value

    @check("saml_metadata_file")
    @classmethod
    def _saml_metadata_readable(cls, value: str, info: ValidationInfo) -> str:
        if _belongs_to("saml_metadata_file", value, info) is not IdentitySource.SAML:
            return value
        if not value:
            raise problem(
                "is missing", "download your IdP's SAML 2.0 metadata XML next to regions.toml and name it here"
            )
        if not _context(info, "loading"):
            return value
        path = Path(value)
        base_dir = _context(info, "base_dir") or Path(__file__).parent
        if not path.is_absolute():
            path = base_dir / path
        if _context(info, "confined"):  # an untrusted config (a pull request's): its folder only
            try:
                outside = Path(value).is_absolute() or path.is_symlink()
                outside = outside or base_dir.resolve() not in path.resolve().parents
            except (OSError, ValueError):
                outside = True
            if outside:
                raise problem(
                    f"{_show(value)} is not a file in the config's folder",
                    "name the metadata XML by its file name, next to regions.toml",
                )
        try:
            with path.open("rb") as handle:  # at most one byte more than allowed (never /dev/zero whole)
                data = handle.read(MAX_SAML_METADATA_BYTES + 1)
        except (OSError, ValueError) as exc:  # ValueError: a path no file system accepts (a NUL byte)
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise problem(
                f"{_show(str(path))} cannot be read ({reason})",
                "download the IdP's metadata XML to that path, or correct the path (relative to regions.toml)",
            ) from None
        if len(data) > MAX_SAML_METADATA_BYTES:
            raise problem(
                f"{_show(value)} is larger than {MAX_SAML_METADATA_BYTES:,} bytes, too large for SAML metadata",
                "download the IdP's metadata XML again (it is a few kilobytes)",
            )
        try:
            metadata = check_saml_metadata(data)
        except SamlMetadataError as exc:
            raise problem(
                f"{path} is not usable SAML metadata: {exc}",
                "download the metadata again from the IdP (its SAML 2.0 IdP metadata URL)",
            ) from None
        info.context["saml_metadata"] = metadata  # type: ignore[index]  # while loading, the context is ours
        return value

    @check("saml_metadata")
    @classmethod
    def _not_inline(cls, value: str, info: ValidationInfo) -> str:
        if "saml_metadata" in (_context(info, "present") or ()):
            raise problem(
                "is loaded from saml_metadata_file, not written inline",
                "remove it and set saml_metadata_file to the metadata XML's path",
            )
        return value

    @check("max_elevation_hours")
    @classmethod
    def _short(cls, value: int) -> int:
        if not 1 <= value <= 12:
            raise problem(
                f"{value} is outside 1..12",
                "keep elevations short: at most 12 hours (the longest IAM and Identity Center session), 4 is usual",
            )
        return value

    @check("elevations")
    @classmethod
    def _each_once_and_nameable(cls, value: tuple[Elevation, ...], info: ValidationInfo) -> tuple[Elevation, ...]:
        twice = sorted({e.value for e in value if value.count(e) > 1})
        if twice:
            raise problem(f"{twice[0]!r} is listed twice", "list each elevation once")
        if info.data.get("identity_source") is not IdentitySource.IDENTITY_CENTER:
            return value
        found = []
        for region in _context(info, "region_names") or ():  # sso-admin CreatePermissionSet: Name is 1-32
            for what in [*(h.value for h in HumanAccess), *(e.value for e in value)]:
                name = permission_set_name(region, what)
                if len(name) > 32:
                    found.append(
                        (
                            "elevations",
                            f"permission set {name!r} of region {region} is over 32 characters",
                            "shorten the region abbreviation in contract.region_short",
                        )
                    )
        if found:
            raise problems(found)
        return value

    @model_validator(mode="after")
    def _metadata_from_the_file(self, info: ValidationInfo) -> AccessConfig:
        """Keep the SAML metadata read (and checked) while validating saml_metadata_file."""
        metadata = _context(info, "saml_metadata")
        if metadata is not None:
            object.__setattr__(self, "saml_metadata", metadata)  # frozen: set once, while loading
        return self


def offered_elevations(access: AccessConfig, region: RegionConfig) -> tuple[Elevation, ...]:
    """The elevations a region offers: database-operator only where operator_access builds its path;
    none where the broker cannot run (FUNCTION_URL_UNAVAILABLE)."""
    if region.name in FUNCTION_URL_UNAVAILABLE:
        return ()
    return tuple(e for e in access.elevations if e is not Elevation.DATABASE_OPERATOR or region.operator_access)


_ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")  # AWS Organizations: Organization.Id
_TARGET_RE = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$")  # AttachPolicy TargetId


@dataclass(frozen=True, config=_TABLE)
class Perimeter:
    """The data perimeter ([perimeter], optional): who counts as inside."""

    organization_id: str | None = None
    """Off by default (the perimeter is this account). An AWS Organizations ID widens every resource
    and endpoint perimeter to the organization (aws:PrincipalOrgID, aws:ResourceOrgID), for
    deployments that span accounts. Example: "o-a1b2c3d4e5"."""
    organization_targets: tuple[str, ...] = ()
    """Off by default. The roots, OUs or accounts to attach the organization layer's policies to
    (the `trustbase-organization` stack: a Region-deny SCP and an identity-perimeter RCP); needs
    organization_id. Example: ["r-a1b2"] or ["ou-a1b2-c3d4e5f6"]."""
    management_account: str | None = None
    """The organization's management account, where `trustbase-organization` deploys (default: the
    deploy account). Example: "111122223333"."""

    @check("organization_id")
    @classmethod
    def _an_organization(cls, value: str | None) -> str | None:
        if value is not None and not _ORG_RE.fullmatch(value):
            raise problem(
                f"{_show(value)} is not an AWS Organizations ID",
                _FIX["organization_id"],
            )
        return value

    @check("organization_targets")
    @classmethod
    def _roots_ous_or_accounts(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        found: list[tuple[str, str, str]] = []
        seen: list[str] = []
        for t in value:
            if not _TARGET_RE.fullmatch(t):
                found.append(
                    (
                        "organization_targets",
                        f"{_show(t)} is not a root, OU or account ID",
                        "use r-<4-32 lowercase letters or digits>, ou-<root part>-<8-32>, or a 12-digit account "
                        "(`aws organizations list-roots`, `list-organizational-units-for-parent`)",
                    )
                )
            elif t in seen:
                found.append(("organization_targets", f"{t!r} is listed twice", "list each target once"))
            else:
                seen.append(t)
        if seen and "organization_id" in info.data and info.data["organization_id"] is None:
            found.append(
                (
                    "organization_targets",
                    "needs organization_id: the policies name the organization",
                    "set organization_id, or remove organization_targets",
                )
            )
        if found:
            raise problems(found)
        return value

    @check("management_account")
    @classmethod
    def _an_account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT_RE.fullmatch(value):
            raise problem(
                f"{_show(value)} is not a 12-digit account ID",
                "set the organization's management account, or remove the key (default: the deploy account)",
            )
        return value


MAX_SAML_METADATA_BYTES = 1024 * 1024
_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")  # GitHub owner/name
_BRANCH_RE = re.compile(r"^(?!/|.*//|.*\.\.|.*@\{|.*\.lock$|.*/$|.*\.$)[A-Za-z0-9._/-]{1,200}$")  # git check-ref-format
_QUALIFIER_RE = re.compile(r"^[A-Za-z0-9_-]{1,10}$")  # cdk bootstrap --qualifier
_DELIVERY_FORMS = {
    "github_repository": (_REPOSITORY_RE, "a GitHub repository"),
    "deploy_branch": (_BRANCH_RE, "a branch name"),
    "bootstrap_qualifier": (_QUALIFIER_RE, "a CDK bootstrap qualifier"),
}


@dataclass(frozen=True, config=_TABLE)
class Delivery:
    """The deploy pipeline ([delivery], optional): a GitHub repository whose workflows deploy each
    region through GitHub's OIDC provider, with no access keys. With it, every region gets a
    `trustbase-<region>-cicd` stack (the deployer and reader roles) and the identity stack the
    account's GitHub OIDC provider."""

    github_repository: str
    """The repository whose workflows may deploy, as owner/name. Example: "example-org/trustbase"."""
    deploy_branch: str = "main"
    """The only branch the pipeline deploys from (the region environments' deployment branch,
    and the drift job's ref). Example: "main"."""
    bootstrap_qualifier: str = "hnb659fds"
    """The qualifier of `cdk bootstrap` in every region (CDK's default). The deployer may assume
    only that bootstrap's deploy and file-publishing roles. Example: "hnb659fds"."""

    @check("github_repository", "deploy_branch", "bootstrap_qualifier")
    @classmethod
    def _well_formed(cls, value: str, info: ValidationInfo) -> str:
        pattern, what = _DELIVERY_FORMS[info.field_name or ""]
        if not pattern.fullmatch(value) or (info.field_name == "deploy_branch" and value.startswith("refs/")):
            raise problem(f"{_show(value)} is not {what}", _FIX[info.field_name or ""])
        return value


@dataclass(frozen=True)
class AppConfig:
    account: str
    regions: tuple[RegionConfig, ...]
    access: AccessConfig
    perimeter: Perimeter = Field(default_factory=Perimeter)
    delivery: Delivery | None = None

    def region(self, name: str) -> RegionConfig:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)


# --------------------------------------------------------------------------- loading

_T = TypeVar("_T")
_NESTED = {"retention": Retention, "backup": Backup, "dr": DrTargets, "erasure": Erasure}
# What a value of the wrong kind should have been, per field (for pydantic's own type errors).
_KIND = {
    "int_type": "an integer",
    "bool_type": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "dataclass_type": "a table",
    "enum": "one of {expected}",
}
_ENUM = {"identity_source": "an identity source", "jurisdiction": "a jurisdiction"}
_LIST_OF = {
    "availability_zones": "three AZ names",
    "subprocessor_domains": "domain names",
    "organization_targets": "roots, OUs or accounts",
    "elevations": "elevations",
}
_ITEM = {  # what one entry of a list field must be
    "availability_zones": "an AZ name",
    "subprocessor_domains": "a domain name",
    "organization_targets": "a root, OU or account ID",
    "elevations": "a known elevation",
}
_FIX = {  # how to write a field: for a value of the wrong kind or a missing one, and for the rules above
    "name": 'set name = "<aws region code>", e.g. "eu-west-1"',
    "jurisdiction": 'set jurisdiction = "US", "EU" or "AU": the one config/jurisdictions.py gives the region',
    "availability_zones": 'set availability_zones = ["<region>a", "<region>b", "<region>c"]',
    "vpc_cidr": 'use e.g. "10.20.0.0/16"',
    "certificate_arn": 'set certificate_arn = "arn:aws:acm:<region>:<12-digit account>:certificate/<uuid>"',
    "subprocessor_domains": 'write subprocessor_domains = ["api.example.com", ".example.net"]',
    "identity_source": 'use "identity-center" (IAM Identity Center) or "saml" (a SAML 2.0 provider)',
    "home_region": 'set home_region = "us-east-1" (Identity Center\'s region)',
    "elevations": f"use some of {[e.value for e in Elevation]}",
    "organization_targets": 'list roots, OUs or accounts, e.g. ["r-a1b2"]',
    "organization_id": "copy it from `aws organizations describe-organization` (o- and 10 to 32 lowercase letters or "
    "digits), or remove the key to keep the perimeter at this account",
    "management_account": "set the organization's management account (12 digits), or remove the key",
    "saml_metadata_file": "name the IdP's SAML 2.0 metadata XML, relative to regions.toml",
    "vault_lock_mode": 'use "compliance" or "governance"',
    "dr_copy_region": "name the region's in-jurisdiction DR region (see [region.backup] in the README), or remove the key",
    "s3_prefix_list_id": 'set s3_prefix_list_id = "pl-..." (aws ec2 describe-managed-prefix-lists), or remove it',
    "tls_policy": f'use "{DEFAULT_TLS_POLICY}"',
    "db_instance_class": 'use e.g. "r7g.large"',
    "github_repository": 'set github_repository = "<owner>/<name>", e.g. "example-org/trustbase"',
    "deploy_branch": 'name the branch without refs/heads/, e.g. "main"',
    "bootstrap_qualifier": 'use the --qualifier of `cdk bootstrap` (1-10 letters, digits, - or _), default "hnb659fds"',
}


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def _did_you_mean(key: str, allowed: list[str]) -> str:
    close = [a for a in sorted(allowed) if _similar(key, a)]
    return f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(sorted(allowed))}"


def _problems_of(error: ValidationError, where: str, cls: type) -> list[str]:
    """pydantic's errors as our lines: '<where>: field '<field>': <what>. Fix: <fix>'."""
    out: list[str] = []
    for e in error.errors():
        loc = [str(p) if not isinstance(p, int) else p for p in e["loc"]]
        table, owner = "", cls
        if len(loc) > 1 and loc[0] in _NESTED:  # a key inside a nested table such as [region.retention]
            table = str(loc.pop(0))
            owner = _NESTED[table]
        field_name = next((p for p in loc if isinstance(p, str)), table) or "config"
        ctx: dict[str, Any] = dict(e.get("ctx") or {})
        at = f"{where}.{table}" if table else where
        kind, value = e["type"], e.get("input")
        if kind == "trustbase_many":
            out += [f"{at}: field '{f}': {what}. Fix: {fix}" for f, what, fix in ctx["found"]]
            continue
        if kind == "trustbase":
            if ctx["table"]:
                at = f"{where}.{ctx['table']}"
            out.append(f"{at}: field '{ctx['field'] or field_name}': {ctx['what']}. Fix: {ctx['fix']}")
            continue
        if kind in ("unexpected_keyword_argument", "extra_forbidden"):
            allowed = [f.name for f in fields(owner) if f.name != "saml_metadata"]
            what, fix = (
                "unknown config key (typos are not ignored)",
                f"remove it or rename it; {_did_you_mean(field_name, allowed)}",
            )
        elif kind in ("missing", "missing_argument"):
            what, fix = "is missing", _FIX.get(field_name, f"set {field_name}")
        elif kind == "dataclass_type" and field_name in _NESTED:
            at = f"{where}.{field_name}"
            what, fix = "must be a table", f"write [{where.split(' ')[0]}.{field_name}] with its keys"
        elif loc and isinstance(loc[-1], int) and field_name in _ITEM:  # one entry of a list
            what = f"{_show(value)} is not {_ITEM[field_name]}"
            known = [v.value for v in Elevation] if field_name == "elevations" else []
            close = [k for k in known if isinstance(value, str) and _similar(value, k)]
            fix = f"did you mean '{close[0]}'?" if close else _FIX.get(field_name, f"correct {field_name}")
        elif kind == "enum":
            expected = _ENUM.get(field_name) or _KIND["enum"].format(expected=ctx.get("expected", ""))
            what = f"{_show(value)} is not {expected}"
            fix = _FIX.get(field_name, f"use {ctx.get('expected', 'a listed value')}")
        elif kind in ("tuple_type", "list_type") and field_name in _LIST_OF:
            what = f"must be a list of {_LIST_OF[field_name]}, got {_show(value)}"
            fix = _FIX.get(field_name, f"write {field_name} = [...]")
        elif kind == "int_type":
            what, fix = f"must be an integer, got {_show(value)}", f"set {field_name} = <whole number>"
        elif kind == "bool_type":
            what, fix = f"must be true or false, got {_show(value)}", f"set {field_name} = true or {field_name} = false"
        else:
            what = f"must be {_KIND.get(kind, 'valid')}, got {_show(value)}"
            fix = _FIX.get(field_name, f"see the documentation of {field_name} in config/model.py")
        out.append(f"{at}: field '{field_name}': {what}. Fix: {fix}")
    return out


def _validate(cls: type[_T], raw: Any, where: str, context: dict[str, Any], found: list[str]) -> _T | None:
    """`raw` validated as `cls` (a table of the config), or None with its problems added to `found`."""
    try:
        return TypeAdapter(cls).validate_python(raw, context=context)
    except ValidationError as exc:
        found += _problems_of(exc, where, cls)
        return None


def load_config(
    raw: Mapping[str, Any], *, account: str, base_dir: Path | None = None, confined: bool = False
) -> AppConfig:
    """Validate `raw` (the parsed regions.toml) for `account`; raise ConfigError listing every problem.
    `base_dir`: where relative paths in the config (the SAML metadata) are read from (default: config/).
    `confined`: an untrusted config (a pull request's, in the review workflow) may name files in
    `base_dir` only: no absolute path, no `..`, no symbolic link."""
    found: list[str] = []

    def add(where: str, field_name: str, what: str, fix: str) -> None:
        found.append(f"{where}: field '{field_name}': {what}. Fix: {fix}")

    for key in raw:
        if key not in ("region", "access", "perimeter", "delivery"):
            add(
                "config",
                key,
                "unknown top-level key",
                "only [[region]] entries and the [access], [perimeter] and [delivery] tables are allowed at the top level",
            )
    if not isinstance(account, str) or not _ACCOUNT_RE.fullmatch(account):
        add(
            "config",
            "account",
            f"{_show(account)} is not a 12-digit AWS account ID",
            f"set CDK_DEFAULT_ACCOUNT or -c account=<12 digits> (placeholder: {PLACEHOLDER_ACCOUNT})",
        )
    raw_regions = raw.get("region")
    if raw_regions is not None and not isinstance(raw_regions, list):
        add(
            "config",
            "region",
            f"must be an array of tables, got {_show(raw_regions)}",
            "write each region as a [[region]] entry (two brackets), not [region] or region = ...",
        )
        raise ConfigError(found)
    if not raw_regions:
        add("config", "region", "no regions configured", "add at least one [[region]] entry")
        raise ConfigError(found)
    deploy_account = account if isinstance(account, str) and _ACCOUNT_RE.fullmatch(account) else None
    context = {"loading": True, "account": deploy_account, "base_dir": base_dir, "confined": confined}

    regions: list[RegionConfig] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw_regions):
        if not isinstance(entry, Mapping):
            add(f"region[{i}]", "region", "must be a table", "write each region as a [[region]] entry")
            continue
        name = entry.get("name")
        where = f"region {name}" if isinstance(name, str) and name else f"region[{i}]"
        region_context = {**context, "present": set(entry), "region": name}
        parsed = _validate(RegionConfig, dict(entry), where, region_context, found)
        if isinstance(name, str):
            if name in seen:
                add(
                    where,
                    "name",
                    f"duplicate region (entries {seen[name]} and {i})",
                    "keep one entry per region; merge the two",
                )
            seen.setdefault(name, i)
        if parsed is not None:
            regions.append(parsed)

    # CIDRs must be disjoint so regions can be peered/routed later without renumbering.
    nets: list[tuple[str, ipaddress.IPv4Network]] = []
    for entry in raw_regions:
        if not isinstance(entry, Mapping):
            continue
        cidr = entry.get("vpc_cidr")
        try:
            nets.append((str(entry.get("name")), ipaddress.IPv4Network(cidr, strict=True)))
        except (ValueError, TypeError):
            continue  # reported by the region's own checks
    for i, (name_a, a) in enumerate(nets):
        for name_b, b in nets[i + 1 :]:
            if a.overlaps(b):
                add(
                    f"region {name_b}",
                    "vpc_cidr",
                    f"{b} overlaps {a} of region {name_a}",
                    "give every region a disjoint block, e.g. 10.<n>.0.0/16",
                )

    access: AccessConfig | None = None
    raw_access = raw.get("access")
    if raw_access is None:
        add(
            "config",
            "access",
            "is missing: people must sign in through an identity provider",
            'add an [access] table with identity_source = "identity-center" (instance_arn, identity_store_id, '
            'requester_group, approver_group) or "saml" (saml_metadata_file); see config/regions.toml',
        )
    elif not isinstance(raw_access, Mapping):
        add("config", "access", "must be a table", "write [access] with the identity-provider keys")
    else:
        region_names = tuple(r.name for r in regions)
        access_context = {**context, "region_names": region_names, "present": set(raw_access)}
        access = _validate(AccessConfig, dict(raw_access), "access", access_context, found)

    perimeter: Perimeter | None = Perimeter()
    raw_perimeter = raw.get("perimeter")
    if raw_perimeter is not None and not isinstance(raw_perimeter, Mapping):
        add("config", "perimeter", "must be a table", "write [perimeter] with organization_id, or remove it")
    elif raw_perimeter is not None:
        perimeter = _validate(Perimeter, dict(raw_perimeter), "perimeter", context, found)
    delivery: Delivery | None = None
    raw_delivery = raw.get("delivery")
    if raw_delivery is not None and not isinstance(raw_delivery, Mapping):
        add("config", "delivery", "must be a table", 'write [delivery] with github_repository = "<owner>/<name>"')
    elif raw_delivery is not None:
        delivery = _validate(Delivery, dict(raw_delivery), "delivery", context, found)
    names = [r.name for r in regions]
    if delivery is not None and access is not None and names and access.home_region not in names:
        add(
            "access",
            "home_region",
            f"{access.home_region!r} hosts no trustbase region, so with [delivery] no region's deploy job "
            "would deploy or check trustbase-identity",
            f"use one of {names} as home_region (Identity Center's region), or add a [[region]] for it",
        )
    if found or access is None or perimeter is None:
        raise ConfigError(found)
    return AppConfig(account=account, regions=tuple(regions), access=access, perimeter=perimeter, delivery=delivery)
