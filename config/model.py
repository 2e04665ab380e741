"""Typed, frozen, validated trustbase configuration.

`load_config()` turns the raw mapping (from `regions.toml`) into an `AppConfig`,
or raises one `ConfigError` that lists every problem found, each naming the
region, the field and the fix. Nothing downstream (constructs, stacks) ever sees
raw dicts or CDK context.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Retention:
    """How long each kind of data or log is kept. Every value must be > 0."""

    visitor_data_months: int = 9
    """Website-visitor data (S3 prefix `visitors/`) expires after this, 1..9 (the promise: shorter
    is allowed, longer is refused). Example: 9."""
    inactive_workspace_months: int = 13
    """Workspaces inactive this long are deleted (enforced by the lifecycle jobs), 1..13 (the
    promise). Example: 13."""
    noncurrent_version_days: int = 30
    """Overwritten/deleted object versions in the data bucket expire after this, 1..30 (they hold
    erased and expired customer data: at most the month GDPR gives to act on an erasure). Example: 30."""
    backup_retention_days: int = 7
    """Aurora point-in-time-recovery window, 7..35 days. Example: 14."""
    flow_log_days: int = 365
    """VPC flow log retention in CloudWatch Logs (an allowed CloudWatch value). Example: 365."""
    database_log_days: int = 365
    """Aurora log export retention in CloudWatch Logs (an allowed CloudWatch value). Example: 365."""
    waf_log_days: int = 365
    """WAF log retention in CloudWatch Logs (an allowed CloudWatch value). Example: 365."""
    access_log_days: int = 365
    """S3 server access logs and ALB access logs expire after this. Example: 365."""
    audit_lock_days: int = 365
    """Object Lock (compliance mode) default retention of the audit bucket: no one, root
    included, can delete a CloudTrail/Config/GuardDuty record before this. Example: 365."""
    trail_log_days: int = 365
    """CloudTrail's CloudWatch Logs copy retention (an allowed CloudWatch value). Example: 365."""
    lifecycle_log_days: int = 365
    """Retention/erasure function and state-machine logs (an allowed CloudWatch value). They hold
    IDs and counts, never personal data. Example: 365."""
    config_record_days: int = 730
    """AWS Config snapshots and history in their own bucket (Config cannot deliver to an Object
    Lock bucket) expire after this; nobody may delete them earlier. Example: 730."""

    @property
    def visitor_data_days(self) -> int:
        return months_to_days(self.visitor_data_months)


@dataclass(frozen=True)
class Backup:
    """AWS Backup for Aurora and the customer-data bucket ([region.backup])."""

    frequency_hours: int = 4
    """Hours between backups: 1, 2, 3, 4, 6, 8, 12 or 24. Example: 4."""
    retention_days: int = 35
    """Recovery points kept this long, 7..3650 (also the Vault Lock minimum). Example: 35."""
    vault_lock_mode: str = "compliance"
    """"compliance" (immutable once the grace period ends) or "governance". Example: "compliance"."""
    vault_lock_changeable_days: int = 3
    """Grace period (>= 3 days) before a compliance-mode lock becomes immutable. Example: 3."""
    dr_copy_region: str | None = None
    """Off by default. If set, must be the region's in-jurisdiction DR region
    (us-east-1 -> us-west-2, eu-west-1 -> eu-central-1, ap-southeast-2 -> ap-southeast-4)."""


@dataclass(frozen=True)
class DrTargets:
    """What a DR drill must achieve to pass ([region.dr]). Seconds."""

    az_loss_rto_seconds: int = 120
    """AZ loss / failover: the writer serves again within this. Example: 120."""
    az_loss_rpo_seconds: int = 0
    """AZ loss / failover: data lost (age of newest data recovered). Example: 0."""
    restore_rpo_seconds: int = 300
    """Restore from backup: the newest recovered data is at most this old. Example: 300."""
    recover_rto_seconds: int = 600
    """Object recovery from versions: objects serve again within this. Example: 600."""


@dataclass(frozen=True)
class Erasure:
    """How an erasure of a large subject fans out over a Step Functions Distributed Map
    ([region.erasure]). Smaller subjects take the direct path. The defaults are safe for a new
    account (low Lambda concurrency quota) and a db.r7g.large writer."""

    object_fanout_min_versions: int = 10_000
    """A subject with at least this many object versions and delete markers fans out, 1000..10000000.
    Deciding lists at most this many (one request per 1,000). Example: 10000."""
    object_shards: int = 100
    """Key ranges a large subject's prefixes are cut into (Distributed Map items), 2..1000. Example: 100."""
    object_concurrency: int = 5
    """Children deleting objects at once, 1..100. Each sends about one 1,000-key DeleteObjects a
    second; S3 supports at least 3,500 deletes per second per partitioned prefix. Example: 5."""
    row_fanout_min_messages: int = 200_000
    """A workspace with at least this many messages fans out its message deletion, 10000..1000000000.
    Example: 200000."""
    row_shards: int = 16
    """ID ranges a large workspace's messages are cut into, 2..256. Example: 16."""
    row_concurrency: int = 2
    """Children deleting rows at once (each holds one database connection and writes WAL), 1..16.
    Example: 2."""
    upload_grace_seconds: int = 900
    """After the rows are gone, wait this long for uploads already in flight (the lifetime of the
    app's presigned upload URLs), then sweep the subject's prefixes again, 0..3600. Example: 900."""


ERASURE_LIMITS = {
    "object_fanout_min_versions": (1000, 10_000_000),
    "object_shards": (2, 1000),
    "object_concurrency": (1, 100),
    "row_fanout_min_messages": (10_000, 1_000_000_000),
    "row_shards": (2, 256),
    "row_concurrency": (1, 16),
    "upload_grace_seconds": (0, 3600),
}


@dataclass(frozen=True)
class RegionConfig:
    """One hosting region. Adding a region is adding one `[[region]]` entry to regions.toml."""

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
    retention: Retention = field(default_factory=Retention)
    backup: Backup = field(default_factory=Backup)
    dr: DrTargets = field(default_factory=DrTargets)
    erasure: Erasure = field(default_factory=Erasure)
    nat_gateways: int = 3
    """NAT gateways, 1..3. 3 (one per AZ) keeps egress up when an AZ fails; fewer saves
    cost but an AZ loss then cuts egress for the private subnets routed through it."""
    tls_policy: str = DEFAULT_TLS_POLICY
    """ALB HTTPS policy: TLS 1.2+ with forward-secret ciphers only. Example: see FORWARD_SECRET_TLS_POLICIES."""
    hsts_max_age_seconds: int = 2 * ONE_YEAR_SECONDS
    """HSTS max-age sent by the ALB, at least one year. Example: 63072000."""
    db_instance_class: str = "r7g.large"
    """Aurora instance class (without the "db." prefix). Example: "r7g.large"."""
    bulk_delete_alarm_threshold: int = 100
    """S3 object deletions per 5 minutes that raise the bulk-deletion alarm. Example: 100."""
    object_read_alarm_threshold: int = 1000
    """GetObject calls per 5 minutes, by anyone but the app tier, that raise an alarm. Example: 1000."""
    s3_prefix_list_id: str = ""
    """The AWS-managed prefix list of S3 in this region (com.amazonaws.<region>.s3), which the app
    and lifecycle security groups may reach through the gateway endpoint. Known regions default
    from config/jurisdictions.py; look it up with `aws ec2 describe-managed-prefix-lists --filters
    Name=prefix-list-name,Values=com.amazonaws.<region>.s3`. Example: "pl-6da54004"."""
    app_internet_egress: bool = False
    """Off by default: the app tier reaches only Aurora, the VPC endpoints and S3. true adds HTTPS
    to any address through the NAT gateways, unfiltered: prefer subprocessor_domains. Example: false."""
    subprocessor_domains: tuple[str, ...] = ()
    """Off by default (no internet egress). The subprocessors' API domains the app tier may reach
    over HTTPS: AWS Network Firewall on the NAT path allows exactly these (TLS SNI, stateful
    allow-list) and drops and logs everything else. "api.example.com" matches that name only,
    ".example.com" the domain and its subdomains. Example: ["api.stripe.com", ".sendgrid.net"]."""
    reserve_lambda_concurrency: bool = False
    """Off by default (new accounts have low Lambda concurrency quotas, and 100 must stay
    unreserved). true reserves 21 executions per region for the lifecycle functions (with the default
    [region.erasure]; each erasure function reserves its map's concurrency + 3): first check that
    `aws lambda get-account-settings` shows UnreservedConcurrentExecutions >= 121 per region.
    Example: false."""
    operator_access: bool = False
    """Off by default. true adds the audited database-operator path for DR drills: SSM endpoints,
    a port-forwarding host with no inbound rules, and an MFA role that may start port-forwarding
    sessions to Aurora only. Example: false."""


@dataclass(frozen=True)
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
    instance_arn: str = ""
    """identity-center only: the Identity Center instance. Example: "arn:aws:sso:::instance/ssoins-72231a2b0d6c4f1e"."""
    identity_store_id: str = ""
    """identity-center only: its identity store. Example: "d-9067a1b2c3"."""
    requester_group: str = ""
    """identity-center only: the group whose members may ask for elevations. Example: "trustbase-operators"."""
    approver_group: str = ""
    """identity-center only: the group whose members may approve others' elevations (never their own).
    Example: "trustbase-approvers"."""
    saml_metadata_file: str = ""
    """saml only: the IdP's SAML 2.0 metadata XML, relative to the config file. Example: "idp-metadata.xml"."""
    saml_metadata: str = ""
    """(loaded from saml_metadata_file, not set in the file)"""
    max_elevation_hours: int = 4
    """The longest elevation anyone may ask for, 1..12 hours. Example: 4."""
    elevations: tuple[Elevation, ...] = (Elevation.CUSTOMER_DATA_READ, Elevation.DATABASE_OPERATOR)
    """The elevations offered, from: customer-data-read, database-operator (the latter only where
    operator_access is on). Example: ["customer-data-read", "database-operator"]."""


def offered_elevations(access: AccessConfig, region: RegionConfig) -> tuple[Elevation, ...]:
    """The elevations a region offers: database-operator only where operator_access builds its path;
    none where the broker cannot run (FUNCTION_URL_UNAVAILABLE)."""
    if region.name in FUNCTION_URL_UNAVAILABLE:
        return ()
    return tuple(e for e in access.elevations if e is not Elevation.DATABASE_OPERATOR or region.operator_access)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class AppConfig:
    account: str
    regions: tuple[RegionConfig, ...]
    access: AccessConfig
    perimeter: Perimeter = field(default_factory=Perimeter)

    def region(self, name: str) -> RegionConfig:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)


# --------------------------------------------------------------------------- loading


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, field_name: str, what: str, fix: str) -> None:
        self.items.append(f"{where}: field '{field_name}': {what}. Fix: {fix}")


def _show(value: Any) -> str:
    """A config value for a message: its repr, shortened (a whole table pasted into a field must
    not flood the error)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _field_names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _check_unknown_keys(
    raw: Mapping[str, Any], cls: type, where: str, problems: _Problems, extra: tuple[str, ...] = ()
) -> None:
    allowed = set(_field_names(cls)) | set(extra)
    for key in raw:
        if key not in allowed:
            close = [a for a in sorted(allowed) if _similar(key, a)]
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(sorted(allowed))}"
            problems.add(where, key, "unknown config key (typos are not ignored)", f"remove it or rename it; {hint}")


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def _bool_field(raw: Mapping[str, Any], key: str, default: bool, where: str, problems: _Problems) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        problems.add(where, key, f"must be true or false, got {_show(value)}", f"set {key} = true or {key} = false")
        return default
    return value


def _int_field(raw: Mapping[str, Any], key: str, default: int, where: str, problems: _Problems) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, key, f"must be an integer, got {_show(value)}", f"set {key} = <whole number>")
        return default
    return value


def _parse_retention(raw: Any, where: str, problems: _Problems) -> Retention:
    if raw is None:
        return Retention()
    if not isinstance(raw, Mapping):
        problems.add(where, "retention", "must be a table", "write [region.retention] with the retention keys")
        return Retention()
    where = f"{where}.retention"
    _check_unknown_keys(raw, Retention, where, problems)
    defaults = Retention()
    values = {name: _int_field(raw, name, getattr(defaults, name), where, problems) for name in _field_names(Retention)}
    for name, value in values.items():
        if value <= 0:
            problems.add(
                where, name, f"retention must be greater than zero, got {value}", f"set {name} to a positive number"
            )
        elif name.endswith("_days") and value > MAX_DAYS:
            problems.add(where, name, f"{value} days is over 100 years", f"set {name} to at most {MAX_DAYS}")
    promised = (
        ("visitor_data_months", PROMISED_VISITOR_MONTHS, "website-visitor data"),
        ("inactive_workspace_months", PROMISED_INACTIVE_WORKSPACE_MONTHS, "inactive workspaces"),
    )
    for name, limit, what in promised:
        if values[name] > limit:
            problems.add(
                where,
                name,
                f"{values[name]} months keeps {what} longer than the product promises ({limit} months)",
                f"set {name} to {limit} or fewer (shorter is allowed, longer breaks the promise)",
            )
    if values["noncurrent_version_days"] > MAX_NONCURRENT_VERSION_DAYS:
        problems.add(
            where,
            "noncurrent_version_days",
            f"{values['noncurrent_version_days']} days keeps overwritten and erased customer data past a month",
            f"set noncurrent_version_days to {MAX_NONCURRENT_VERSION_DAYS} or fewer (GDPR Art. 12(3): act on an "
            "erasure within one month)",
        )
    bk = values["backup_retention_days"]
    if bk > 0 and not 7 <= bk <= 35:
        problems.add(
            where,
            "backup_retention_days",
            f"{bk} is outside 7..35 days",
            "Aurora PITR needs at least 7 days (our policy) and allows at most 35",
        )
    if values["config_record_days"] > 3650:
        problems.add(
            where,
            "config_record_days",
            f"{values['config_record_days']} is over 3650 days",
            "keep AWS Config records for at most 10 years (data minimisation)",
        )
    for name in ("flow_log_days", "database_log_days", "waf_log_days", "trail_log_days", "lifecycle_log_days"):
        if values[name] > 0 and values[name] not in LOG_RETENTION_DAYS:
            allowed = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - values[name]))
            problems.add(
                where,
                name,
                f"{values[name]} is not a CloudWatch Logs retention value",
                f"use one of {list(LOG_RETENTION_DAYS)} (closest: {allowed})",
            )
    return Retention(**values)


BACKUP_FREQUENCIES = (1, 2, 3, 4, 6, 8, 12, 24)


def _parse_backup(raw: Any, region: str, jurisdiction: Jurisdiction | None, where: str, problems: _Problems) -> Backup:
    if raw is None:
        return Backup()
    where = f"{where}.backup"
    if not isinstance(raw, Mapping):
        problems.add(where, "backup", "must be a table", "write [region.backup] with the backup keys")
        return Backup()
    _check_unknown_keys(raw, Backup, where, problems)
    d = Backup()
    freq = _int_field(raw, "frequency_hours", d.frequency_hours, where, problems)
    if freq not in BACKUP_FREQUENCIES:
        problems.add(
            where, "frequency_hours", f"{freq} does not divide a day", f"use one of {list(BACKUP_FREQUENCIES)}"
        )
    days = _int_field(raw, "retention_days", d.retention_days, where, problems)
    if not 7 <= days <= 3650:
        problems.add(where, "retention_days", f"{days} is outside 7..3650", "keep recovery points at least 7 days")
    mode = raw.get("vault_lock_mode", d.vault_lock_mode)
    if mode not in ("compliance", "governance"):
        problems.add(
            where, "vault_lock_mode", f"{_show(mode)} is not a Vault Lock mode", 'use "compliance" or "governance"'
        )
        mode = d.vault_lock_mode
    changeable = _int_field(raw, "vault_lock_changeable_days", d.vault_lock_changeable_days, where, problems)
    if not 3 <= changeable <= MAX_DAYS:
        problems.add(
            where,
            "vault_lock_changeable_days",
            f"{changeable} is outside 3..{MAX_DAYS} days",
            "AWS Backup requires a grace period of at least 3 days (3 is usual)",
        )
    dr = raw.get("dr_copy_region")
    if dr is not None:
        expected = DR_COPY_REGION.get(region)
        if not isinstance(dr, str) or AWS_REGIONS.get(dr) is not jurisdiction or jurisdiction is None:
            other = AWS_REGIONS.get(dr) if isinstance(dr, str) else None
            problems.add(
                where,
                "dr_copy_region",
                f"{_show(dr)} is outside {region}'s jurisdiction ({other.value if other else 'none'}): backups may never leave it",
                f'use "{expected}" or remove the key' if expected else "remove the key",
            )
        elif dr != expected:
            problems.add(
                where,
                "dr_copy_region",
                f"{dr!r} is not the DR region of {region}",
                f'use "{expected}"' if expected else f"{region} has no approved DR region; remove the key",
            )
    return Backup(
        frequency_hours=freq,
        retention_days=days,
        vault_lock_mode=str(mode),
        vault_lock_changeable_days=changeable,
        dr_copy_region=dr if isinstance(dr, str) else None,
    )


def _parse_dr(raw: Any, where: str, problems: _Problems) -> DrTargets:
    if raw is None:
        return DrTargets()
    where = f"{where}.dr"
    if not isinstance(raw, Mapping):
        problems.add(where, "dr", "must be a table", "write [region.dr] with the target keys")
        return DrTargets()
    _check_unknown_keys(raw, DrTargets, where, problems)
    d = DrTargets()
    values = {n: _int_field(raw, n, getattr(d, n), where, problems) for n in _field_names(DrTargets)}
    for name, value in values.items():
        if value < 0 or (value == 0 and name.endswith("rto_seconds")) or value > ONE_WEEK_SECONDS:
            problems.add(
                where,
                name,
                f"{value} is not a usable target",
                f"RTOs must be > 0 seconds, RPOs >= 0, both at most {ONE_WEEK_SECONDS} (a week)",
            )
    return DrTargets(**values)


def _parse_erasure(raw: Any, where: str, problems: _Problems) -> Erasure:
    if raw is None:
        return Erasure()
    where = f"{where}.erasure"
    if not isinstance(raw, Mapping):
        problems.add(where, "erasure", "must be a table", "write [region.erasure] with the fan-out keys")
        return Erasure()
    _check_unknown_keys(raw, Erasure, where, problems)
    d = Erasure()
    values = {n: _int_field(raw, n, getattr(d, n), where, problems) for n in _field_names(Erasure)}
    for name, value in values.items():
        low, high = ERASURE_LIMITS[name]
        if not low <= value <= high:
            problems.add(
                where,
                name,
                f"{value} is outside {low}..{high}",
                f"set {name} between {low} and {high} (default {getattr(d, name)})",
            )
    return Erasure(**values)


# A DNS name as AWS Network Firewall domain lists take it: lowercase labels, optionally a leading
# dot for "this domain and its subdomains"; no wildcard, no IP address, no scheme or path.
_DOMAIN_RE = re.compile(r"^\.?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_SUBPROCESSOR_DOMAINS = 100


def _parse_domains(raw: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    if not isinstance(raw, list):
        problems.add(
            where,
            "subprocessor_domains",
            f"must be a list of domain names, got {_show(raw)}",
            'write subprocessor_domains = ["api.example.com", ".example.net"]',
        )
        return ()
    out: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not _DOMAIN_RE.fullmatch(item):
            hint = (
                'a wildcard is written as a leading dot: ".example.com"'
                if isinstance(item, str) and "*" in item
                else 'give the host name only, lowercase, e.g. "api.example.com" (no scheme, port, path or IP)'
            )
            problems.add(where, "subprocessor_domains", f"{_show(item)} is not a domain name", hint)
        elif item in out:
            problems.add(where, "subprocessor_domains", f"{item!r} is listed twice", "list each domain once")
        else:
            out.append(item)
    if len(out) > MAX_SUBPROCESSOR_DOMAINS:
        problems.add(
            where,
            "subprocessor_domains",
            f"{len(out)} domains",
            f"list at most {MAX_SUBPROCESSOR_DOMAINS} "
            "(the firewall rule group's capacity); prefer a leading-dot domain over many hosts",
        )
    return tuple(out)


def _parse_region(raw: Any, index: int, problems: _Problems, account: str | None = None) -> RegionConfig | None:
    if not isinstance(raw, Mapping):
        problems.add(f"region[{index}]", "region", "must be a table", "write each region as a [[region]] entry")
        return None
    name = raw.get("name")
    where = f"region {name}" if isinstance(name, str) else f"region[{index}]"
    _check_unknown_keys(raw, RegionConfig, where, problems)

    # name + jurisdiction
    jurisdiction: Jurisdiction | None = None
    if not isinstance(name, str) or not name:
        problems.add(where, "name", "is missing", 'set name = "<aws region code>", e.g. "eu-west-1"')
        return None
    if name not in AWS_REGIONS:
        problems.add(
            where,
            "name",
            f"'{name}' is not a known AWS region",
            "use a region code such as us-east-1, eu-west-1 or ap-southeast-2",
        )
    else:
        jurisdiction = AWS_REGIONS[name]
        if jurisdiction is None:
            problems.add(
                where,
                "jurisdiction",
                f"region '{name}' has no approved jurisdiction",
                "host only in a region listed with a jurisdiction in config/jurisdictions.py, "
                "or get DPO sign-off and add the mapping there",
            )
    declared = raw.get("jurisdiction")
    if declared is None:
        problems.add(
            where,
            "jurisdiction",
            "is missing",
            f'set jurisdiction = "{jurisdiction.value if jurisdiction else "US|EU|AU"}"',
        )
    elif jurisdiction is not None and declared != jurisdiction.value:
        problems.add(
            where,
            "jurisdiction",
            f"{_show(declared)} does not match the region ({name} is {jurisdiction.value})",
            f'set jurisdiction = "{jurisdiction.value}"',
        )

    # AZs
    azs = raw.get("availability_zones")
    az_tuple: tuple[str, ...] = ()
    if not isinstance(azs, list) or not all(isinstance(a, str) for a in azs):
        problems.add(
            where,
            "availability_zones",
            "must be a list of three AZ names",
            f'set availability_zones = ["{name}a", "{name}b", "{name}c"]',
        )
    else:
        az_tuple = tuple(azs)
        if len(az_tuple) != 3 or len(set(az_tuple)) != 3:
            problems.add(
                where,
                "availability_zones",
                f"needs exactly 3 distinct AZs, got {list(az_tuple)}",
                "list three different AZs so the region survives the loss of one",
            )
        for az in az_tuple:
            if not re.fullmatch(re.escape(name) + r"[a-z]", az):
                problems.add(
                    where,
                    "availability_zones",
                    f"'{az}' is not an AZ of {name}",
                    f"use AZ names of the form {name}a, {name}b, ...",
                )

    # CIDR
    cidr = raw.get("vpc_cidr")
    try:
        net = ipaddress.IPv4Network(cidr, strict=True) if isinstance(cidr, str) else None
        if net is None:
            raise ValueError("not a string")
        if not any(net.subnet_of(block) for block in RFC1918):
            problems.add(
                where,
                "vpc_cidr",
                f"{cidr} is not inside a private (RFC 1918) range",
                "use a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
            )
        if not 16 <= net.prefixlen <= 20:
            problems.add(
                where,
                "vpc_cidr",
                f"/{net.prefixlen} is outside /16../20",
                "use a /16 to /20 so 9 subnets (3 tiers x 3 AZs) fit",
            )
    except ValueError as exc:
        problems.add(where, "vpc_cidr", f"{_show(cidr)} is not a valid IPv4 network ({exc})", 'use e.g. "10.20.0.0/16"')

    # certificate
    cert = raw.get("certificate_arn")
    m = _CERT_ARN_RE.match(cert) if isinstance(cert, str) else None
    if m is None:
        problems.add(
            where,
            "certificate_arn",
            f"{_show(cert)} is not an ACM certificate ARN",
            f"use arn:aws:acm:{name}:<12-digit account>:certificate/<uuid>",
        )
    elif m.group("region") != name:
        problems.add(
            where,
            "certificate_arn",
            f"the certificate is in {m.group('region')}, not {name}",
            f"an ALB can only use a certificate from its own region: issue or import one in {name}",
        )
    elif account is not None and account != PLACEHOLDER_ACCOUNT and m.group("account") != account:
        problems.add(
            where,
            "certificate_arn",
            f"the certificate belongs to account {m.group('account')}, not to the deploy account {account}",
            f"an ALB can only serve a certificate of its own account: request or import one in {account} ({name}) "
            "and set its ARN",
        )

    # simple scalars
    nat = _int_field(raw, "nat_gateways", 3, where, problems)
    if not 1 <= nat <= 3:
        problems.add(
            where,
            "nat_gateways",
            f"{nat} is outside 1..3",
            "use 3 (one per AZ, survives an AZ loss) or fewer to save cost",
        )
    tls = raw.get("tls_policy", DEFAULT_TLS_POLICY)
    if not isinstance(tls, str) or tls not in FORWARD_SECRET_TLS_POLICIES:
        problems.add(
            where,
            "tls_policy",
            f"{_show(tls)} is not a TLS 1.2+ forward-secrecy-only ALB policy",
            f'use "{DEFAULT_TLS_POLICY}" or another of: {", ".join(sorted(FORWARD_SECRET_TLS_POLICIES))}',
        )
    hsts = _int_field(raw, "hsts_max_age_seconds", 2 * ONE_YEAR_SECONDS, where, problems)
    if hsts < ONE_YEAR_SECONDS:
        problems.add(
            where,
            "hsts_max_age_seconds",
            f"{hsts} is under one year",
            f"set at least {ONE_YEAR_SECONDS} (HSTS preload requires it)",
        )
    elif hsts > 10 * ONE_YEAR_SECONDS:
        problems.add(
            where,
            "hsts_max_age_seconds",
            f"{hsts} is over ten years",
            f"set at most {10 * ONE_YEAR_SECONDS}; {2 * ONE_YEAR_SECONDS} (two years) is the usual value",
        )
    db_class = raw.get("db_instance_class", "r7g.large")
    if not isinstance(db_class, str) or not re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+", db_class):
        problems.add(where, "db_instance_class", f"{_show(db_class)} is not an instance class", 'use e.g. "r7g.large"')

    thresholds = {}
    for key, default in (("bulk_delete_alarm_threshold", 100), ("object_read_alarm_threshold", 1000)):
        thresholds[key] = _int_field(raw, key, default, where, problems)
        if not 0 < thresholds[key] <= 1_000_000_000:
            problems.add(
                where, key, f"must be between 1 and 1000000000, got {thresholds[key]}", f"set {key} to a positive count"
            )
    prefix_list = raw.get("s3_prefix_list_id", S3_GATEWAY_PREFIX_LISTS.get(name))
    lookup = (
        f"aws ec2 describe-managed-prefix-lists --region {name} "
        f"--filters Name=prefix-list-name,Values=com.amazonaws.{name}.s3"
    )
    if prefix_list is None:
        problems.add(
            where,
            "s3_prefix_list_id",
            f"the S3 prefix list of {name} is not known to trustbase",
            f'set s3_prefix_list_id = "pl-..." to the PrefixListId that `{lookup}` prints',
        )
    elif not isinstance(prefix_list, str) or not re.fullmatch(r"pl-[0-9a-f]{8,17}", prefix_list):
        problems.add(
            where,
            "s3_prefix_list_id",
            f"{_show(prefix_list)} is not a prefix list ID",
            f"use the PrefixListId (pl-...) that `{lookup}` prints",
        )
    flags = {
        key: _bool_field(raw, key, False, where, problems)
        for key in ("app_internet_egress", "reserve_lambda_concurrency", "operator_access")
    }
    domains = _parse_domains(raw.get("subprocessor_domains", []), where, problems)
    if domains and flags["app_internet_egress"]:
        problems.add(
            where,
            "app_internet_egress",
            "opens HTTPS to any address, which would bypass the subprocessor allow-list",
            "remove app_internet_egress: subprocessor_domains already lets the app reach exactly those domains",
        )
    retention = _parse_retention(raw.get("retention"), where, problems)
    backup = _parse_backup(raw.get("backup"), name, jurisdiction, where, problems)
    dr = _parse_dr(raw.get("dr"), where, problems)
    erasure = _parse_erasure(raw.get("erasure"), where, problems)

    if jurisdiction is None or len(az_tuple) != 3:
        return None
    return RegionConfig(
        name=name,
        jurisdiction=jurisdiction,
        availability_zones=(az_tuple[0], az_tuple[1], az_tuple[2]),
        vpc_cidr=str(cidr),
        certificate_arn=str(cert),
        retention=retention,
        backup=backup,
        dr=dr,
        erasure=erasure,
        nat_gateways=nat,
        tls_policy=str(tls),
        hsts_max_age_seconds=hsts,
        db_instance_class=str(db_class),
        s3_prefix_list_id=str(prefix_list),
        bulk_delete_alarm_threshold=thresholds["bulk_delete_alarm_threshold"],
        object_read_alarm_threshold=thresholds["object_read_alarm_threshold"],
        app_internet_egress=flags["app_internet_egress"],
        reserve_lambda_concurrency=flags["reserve_lambda_concurrency"],
        operator_access=flags["operator_access"],
        subprocessor_domains=domains,
    )


_INSTANCE_ARN_RE = re.compile(r"^arn:aws:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$")  # sso-admin InstanceArn pattern
_IDENTITY_STORE_RE = re.compile(r"^d-[0-9a-f]{10}$")  # identitystore IdentityStoreId
# Stricter than the identity store's DisplayName (1-1024 printable characters): a name people type.
_GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+=,-]{0,127}$")
_ACCESS_ONLY = {
    IdentitySource.IDENTITY_CENTER: ("instance_arn", "identity_store_id", "requester_group", "approver_group"),
    IdentitySource.SAML: ("saml_metadata_file",),
}


def _parse_access(
    raw: Any, base_dir: Path | None, region_names: tuple[str, ...], problems: _Problems
) -> AccessConfig | None:
    where = "access"
    if raw is None:
        problems.add(
            "config",
            "access",
            "is missing: people must sign in through an identity provider",
            'add an [access] table with identity_source = "identity-center" (instance_arn, identity_store_id, '
            'requester_group, approver_group) or "saml" (saml_metadata_file); see config/regions.toml',
        )
        return None
    if not isinstance(raw, Mapping):
        problems.add("config", "access", "must be a table", "write [access] with the identity-provider keys")
        return None
    _check_unknown_keys(raw, AccessConfig, where, problems)
    if "saml_metadata" in raw:
        problems.add(
            where,
            "saml_metadata",
            "is loaded from saml_metadata_file, not written inline",
            "remove it and set saml_metadata_file to the metadata XML's path",
        )
    ok = True
    source_raw = raw.get("identity_source")
    try:
        source = IdentitySource(str(source_raw))
    except ValueError:
        problems.add(
            where,
            "identity_source",
            f"{_show(source_raw)} is not an identity source",
            'use "identity-center" (IAM Identity Center) or "saml" (a SAML 2.0 provider)',
        )
        return None
    home = raw.get("home_region")
    if not isinstance(home, str) or home not in AWS_REGIONS:
        problems.add(
            where,
            "home_region",
            f"{_show(home)} is not a known AWS region",
            "set it to Identity Center's region (the console's Settings page shows it), "
            'or for saml the region the identity stack deploys to, e.g. "us-east-1"',
        )
        ok = False
    for other, keys in _ACCESS_ONLY.items():
        if other is source:
            continue
        for key in keys:
            if key in raw:
                problems.add(
                    where,
                    key,
                    f'applies to identity_source = "{other.value}", not "{source.value}"',
                    f'remove it, or set identity_source = "{other.value}"',
                )
    values: dict[str, Any] = {"identity_source": source, "home_region": str(home)}
    if source is IdentitySource.IDENTITY_CENTER:
        checks = (
            (
                "instance_arn",
                _INSTANCE_ARN_RE,
                "an Identity Center instance ARN",
                "copy it from `aws sso-admin list-instances` (arn:aws:sso:::instance/ssoins-<16 characters>)",
            ),
            (
                "identity_store_id",
                _IDENTITY_STORE_RE,
                "an identity store ID",
                "copy it from `aws sso-admin list-instances` (d-<10 hex digits>)",
            ),
            (
                "requester_group",
                _GROUP_RE,
                "a group name",
                "name the identity-store group whose members may ask for elevations (letters, digits, space ._@+=,-; "
                "at most 128 characters)",
            ),
            (
                "approver_group",
                _GROUP_RE,
                "a group name",
                "name the identity-store group whose members approve elevations (letters, digits, space ._@+=,-; "
                "at most 128 characters)",
            ),
        )
        for key, pattern, what, fix in checks:
            value = raw.get(key)
            if not isinstance(value, str) or not pattern.fullmatch(value):
                problems.add(where, key, f"{_show(value)} is not {what}" if value is not None else "is missing", fix)
                ok = False
            else:
                values[key] = value
        if ok and values["requester_group"].casefold() == values["approver_group"].casefold():
            problems.add(
                where,
                "approver_group",
                "is the requester group: requesters could approve one another's elevations without a separate approver",
                "name a different group of approvers",
            )
            ok = False
    else:
        path_raw = raw.get("saml_metadata_file")
        if not isinstance(path_raw, str) or not path_raw:
            problems.add(
                where,
                "saml_metadata_file",
                "is missing",
                "download your IdP's SAML 2.0 metadata XML next to regions.toml and name it here",
            )
            ok = False
        else:
            path = Path(path_raw)
            if not path.is_absolute():
                path = (base_dir or Path(__file__).parent) / path
            try:
                values["saml_metadata"] = check_saml_metadata(path.read_bytes())
                values["saml_metadata_file"] = path_raw
            except OSError as exc:
                problems.add(
                    where,
                    "saml_metadata_file",
                    f"{path} cannot be read ({exc.strerror})",
                    "download the IdP's metadata XML to that path, or correct the path (relative to regions.toml)",
                )
                ok = False
            except SamlMetadataError as exc:
                problems.add(
                    where,
                    "saml_metadata_file",
                    f"{path} is not usable SAML metadata: {exc}",
                    "download the metadata again from the IdP (its SAML 2.0 IdP metadata URL)",
                )
                ok = False
    hours = _int_field(raw, "max_elevation_hours", 4, where, problems)
    if not 1 <= hours <= 12:
        problems.add(
            where,
            "max_elevation_hours",
            f"{hours} is outside 1..12",
            "keep elevations short: at most 12 hours (the longest IAM and Identity Center session), 4 is usual",
        )
        ok = False
    values["max_elevation_hours"] = hours
    elevations_raw = raw.get("elevations", [e.value for e in AccessConfig.elevations])
    known = [e.value for e in Elevation]
    elevations: list[Elevation] = []
    if not isinstance(elevations_raw, list):
        problems.add(where, "elevations", f"must be a list, got {_show(elevations_raw)}", f"list some of {known}")
        ok = False
    else:
        for item in elevations_raw:
            if item not in known:
                close = [k for k in known if isinstance(item, str) and _similar(item, k)]
                problems.add(
                    where,
                    "elevations",
                    f"{_show(item)} is not a known elevation",
                    f"did you mean '{close[0]}'?" if close else f"use some of {known}",
                )
                ok = False
            elif Elevation(item) in elevations:
                problems.add(where, "elevations", f"{item!r} is listed twice", "list each elevation once")
                ok = False
            else:
                elevations.append(Elevation(item))
    values["elevations"] = tuple(elevations)
    if ok and source is IdentitySource.IDENTITY_CENTER:
        for region in region_names:  # sso-admin CreatePermissionSet: Name is 1-32 characters
            for what in [*(h.value for h in HumanAccess), *(e.value for e in elevations)]:
                name = permission_set_name(region, what)
                if len(name) > 32:
                    problems.add(
                        where,
                        "elevations",
                        f"permission set {name!r} of region {region} is over 32 characters",
                        "shorten the region abbreviation in contract.region_short",
                    )
                    ok = False
    return AccessConfig(**values) if ok else None


_ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")  # AWS Organizations: Organization.Id
_TARGET_RE = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$")  # AttachPolicy TargetId


def _parse_perimeter(raw: Any, problems: _Problems) -> Perimeter:
    if raw is None:
        return Perimeter()
    if not isinstance(raw, Mapping):
        problems.add("config", "perimeter", "must be a table", "write [perimeter] with organization_id, or remove it")
        return Perimeter()
    _check_unknown_keys(raw, Perimeter, "perimeter", problems)
    org = raw.get("organization_id")
    if org is not None and (not isinstance(org, str) or not _ORG_RE.fullmatch(org)):
        problems.add(
            "perimeter",
            "organization_id",
            f"{_show(org)} is not an AWS Organizations ID",
            "copy it from `aws organizations describe-organization` (o- and 10 to 32 lowercase letters or "
            "digits), or remove the key to keep the perimeter at this account",
        )
        org = None
    targets_raw = raw.get("organization_targets", [])
    targets: list[str] = []
    if not isinstance(targets_raw, list):
        problems.add(
            "perimeter",
            "organization_targets",
            f"must be a list, got {_show(targets_raw)}",
            'list roots, OUs or accounts, e.g. ["r-a1b2"]',
        )
    else:
        for t in targets_raw:
            if not isinstance(t, str) or not _TARGET_RE.fullmatch(t):
                problems.add(
                    "perimeter",
                    "organization_targets",
                    f"{_show(t)} is not a root, OU or account ID",
                    "use r-<4-32 lowercase letters or digits>, ou-<root part>-<8-32>, or a 12-digit account "
                    "(`aws organizations list-roots`, `list-organizational-units-for-parent`)",
                )
            elif t in targets:
                problems.add("perimeter", "organization_targets", f"{t!r} is listed twice", "list each target once")
            else:
                targets.append(t)
        if targets and "organization_id" not in raw:
            problems.add(
                "perimeter",
                "organization_targets",
                "needs organization_id: the policies name the organization",
                "set organization_id, or remove organization_targets",
            )
    management = raw.get("management_account")
    if management is not None and (not isinstance(management, str) or not _ACCOUNT_RE.fullmatch(management)):
        problems.add(
            "perimeter",
            "management_account",
            f"{_show(management)} is not a 12-digit account ID",
            "set the organization's management account, or remove the key (default: the deploy account)",
        )
        management = None
    return Perimeter(
        organization_id=org,
        organization_targets=tuple(targets),
        management_account=management if isinstance(management, str) else None,
    )


def load_config(raw: Mapping[str, Any], *, account: str, base_dir: Path | None = None) -> AppConfig:
    """Validate `raw` (the parsed regions.toml) for `account`; raise ConfigError listing every problem.
    `base_dir`: where relative paths in the config (the SAML metadata) are read from (default: config/)."""
    problems = _Problems()
    for key in raw:
        if key not in ("region", "access", "perimeter"):
            problems.add(
                "config",
                key,
                "unknown top-level key",
                "only [[region]] entries and the [access] and [perimeter] tables are allowed at the top level",
            )
    if not isinstance(account, str) or not _ACCOUNT_RE.fullmatch(account):
        problems.add(
            "config",
            "account",
            f"{_show(account)} is not a 12-digit AWS account ID",
            f"set CDK_DEFAULT_ACCOUNT or -c account=<12 digits> (placeholder: {PLACEHOLDER_ACCOUNT})",
        )

    raw_regions = raw.get("region")
    if raw_regions is not None and not isinstance(raw_regions, list):
        problems.add(
            "config",
            "region",
            f"must be an array of tables, got {_show(raw_regions)}",
            "write each region as a [[region]] entry (two brackets), not [region] or region = ...",
        )
        raise ConfigError(problems.items)
    if not raw_regions:
        problems.add("config", "region", "no regions configured", "add at least one [[region]] entry")
        raise ConfigError(problems.items)
    deploy_account = account if isinstance(account, str) and _ACCOUNT_RE.fullmatch(account) else None

    regions: list[RegionConfig] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw_regions):
        parsed = _parse_region(entry, i, problems, deploy_account)
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str):
            if name in seen:
                problems.add(
                    f"region {name}",
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
        if not isinstance(cidr, str):
            continue  # reported by the region's own checks
        try:
            nets.append((str(entry.get("name")), ipaddress.IPv4Network(cidr, strict=True)))
        except ValueError:
            continue
    for i, (name_a, a) in enumerate(nets):
        for name_b, b in nets[i + 1 :]:
            if a.overlaps(b):
                problems.add(
                    f"region {name_b}",
                    "vpc_cidr",
                    f"{b} overlaps {a} of region {name_a}",
                    "give every region a disjoint block, e.g. 10.<n>.0.0/16",
                )

    access = _parse_access(raw.get("access"), base_dir, tuple(r.name for r in regions), problems)
    perimeter = _parse_perimeter(raw.get("perimeter"), problems)
    if problems.items or access is None:
        raise ConfigError(problems.items)
    return AppConfig(account=account, regions=tuple(regions), access=access, perimeter=perimeter)
