"""trustbase configuration: the only place region facts and policy values come from."""

from __future__ import annotations

import tomllib
from pathlib import Path

from config.jurisdictions import AWS_REGIONS, Jurisdiction
from config.model import (
    PLACEHOLDER_ACCOUNT,
    AccessConfig,
    AppConfig,
    Backup,
    ConfigError,
    Delivery,
    DrTargets,
    Erasure,
    Perimeter,
    RegionConfig,
    Retention,
    load_config,
    offered_elevations,
)

DEFAULT_CONFIG_FILE = Path(__file__).with_name("regions.toml")


def load_config_file(
    path: Path = DEFAULT_CONFIG_FILE, *, account: str = PLACEHOLDER_ACCOUNT, confined: bool = False
) -> AppConfig:
    """Parse and validate a regions.toml file."""
    if not path.is_file():
        raise ConfigError([f"config file {path} does not exist. Fix: pass -c config=<path to regions.toml>"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror}). Fix: make the file readable"]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [
                f"{path}: line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 (TOML files are UTF-8). "
                "Fix: save the file as UTF-8"
            ]
        ) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc}). Fix: correct the syntax at that line"]) from exc
    return load_config(raw, account=account, base_dir=path.parent, confined=confined)


__all__ = [
    "AWS_REGIONS",
    "DEFAULT_CONFIG_FILE",
    "PLACEHOLDER_ACCOUNT",
    "AccessConfig",
    "AppConfig",
    "Backup",
    "ConfigError",
    "Delivery",
    "DrTargets",
    "Erasure",
    "Jurisdiction",
    "Perimeter",
    "RegionConfig",
    "Retention",
    "load_config",
    "load_config_file",
    "offered_elevations",
]
