"""Config validation never crashes: any value of any TOML type in any field, and any file content,
gets a ConfigError naming the region (or file), the field and the fix. Plus the bounds that come
from the promise: RFC 1918 only, retention no longer than promised, certificates of the deploy
account."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from config import (
    DEFAULT_CONFIG_FILE,
    Backup,
    ConfigError,
    DrTargets,
    RegionConfig,
    Retention,
    load_config,
    load_config_file,
)

# A value of every TOML type (and a few awkward ones of each), as TOML source.
TOML_VALUES = [
    '"text"',
    '""',
    '"\\u0000"',
    '"10.20.0.0/16 "',
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "nan",
    "-inf",
    "true",
    "false",
    "1979-05-27T07:32:00Z",
    "1979-05-27T07:32:00",
    "1979-05-27",
    "07:32:00",
    "[]",
    '[1, "a"]',
    "[[1], [2]]",
    "{}",
    "{ a = 1 }",
    "[{ a = 1 }]",
    '["eu-west-1a", "eu-west-1b", "eu-west-1c"]',
]
FIELDS = (
    [f.name for f in fields(RegionConfig)]
    + [f"retention.{f.name}" for f in fields(Retention)]
    + [f"backup.{f.name}" for f in fields(Backup)]
    + [f"dr.{f.name}" for f in fields(DrTargets)]
    + ["unknown_key", "retention.unknown_key"]
)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def document(field: str, snippet: str) -> str:
    """The shipped config as TOML, with `field` of eu-west-1 set to the raw TOML `snippet`."""
    raw = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    out = ["[access]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in raw["access"].items())]
    for entry in raw["region"]:
        lines = {k: _toml(v) for k, v in entry.items() if not isinstance(v, dict)}
        tables = {k: {kk: _toml(vv) for kk, vv in v.items()} for k, v in entry.items() if isinstance(v, dict)}
        if entry["name"] == "eu-west-1":
            if "." in field:
                table, key = field.split(".")
                tables.setdefault(table, {})[key] = snippet
            else:
                tables.pop(field, None)
                lines[field] = snippet
        for table, body in tables.items():
            lines[table] = "{ " + ", ".join(f"{k} = {v}" for k, v in body.items()) + " }"
        out.append("[[region]]\n" + "\n".join(f"{k} = {v}" for k, v in lines.items()))
    for table in sorted(set(raw) - {"access", "region"}):  # [delivery], [perimeter]
        out.append(f"[{table}]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in raw[table].items()))
    return "\n\n".join(out) + "\n"


def test_the_document_builder_round_trips_the_shipped_config(tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(document("nat_gateways", "3"))
    assert tomllib.loads(path.read_text()) == tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    assert len(load_config_file(path).regions) == 3


@pytest.mark.parametrize("field", FIELDS)
def test_any_toml_value_in_any_field_is_a_named_error_or_valid(field: str, tmp_path: Path) -> None:
    name = field.split(".")[-1]
    where = "region eu-west-1" + (f".{field.split('.')[0]}" if "." in field else "")
    wrong = []
    for snippet in TOML_VALUES:
        path = tmp_path / "regions.toml"
        path.write_text(document(field, snippet))
        try:
            load_config_file(path)
        except ConfigError as exc:
            lines = exc.problems
            about = [p for p in lines if f"field '{name}'" in p]
            if field == "name":  # an unusable region name leaves only the index to name the region
                about = [p for p in lines if "field 'name'" in p and ("region[1]" in p or "region " in p)]
            else:  # about this field, or (a table) about a key inside it
                about = [
                    p
                    for p in lines
                    if (p.startswith(where) and f"field '{name}'" in p) or p.startswith(f"{where}.{name}:")
                ]
            if not about or not all("Fix:" in p for p in lines):
                wrong.append(f"{snippet}: {lines}")
        # any other exception type fails the test with its traceback: that is a crash
    assert wrong == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[[region]]\nname = "eu-west-1"\n# caf\xe9 in Latin-1\n', "line 3: byte 0xe9 is not UTF-8"),
        (b"\xff\xfe[\x00[\x00r\x00", "line 1: byte 0xff is not UTF-8"),
        (b'[[region]]\nname = "eu\x00west-1"\n', "not valid TOML"),
        (b"\xef\xbb\xbf[[region]]\n", "not valid TOML"),
        (b"", "no regions configured"),
        (b'region = "eu-west-1"\n', "must be an array of tables"),
        (b'[region]\nname = "eu-west-1"\n', "must be an array of tables"),
        (b"region = []\n", "no regions configured"),
        (b'region = [1, "x"]\n', "write each region as a [[region]] entry"),
    ],
    ids=["latin-1", "utf-16", "nul", "bom", "empty", "string", "single-table", "empty-array", "scalars"],
)
def test_any_file_content_is_a_config_error_with_a_fix(content: bytes, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        load_config_file(path)
    assert expected in str(exc.value)
    assert all("Fix:" in p for p in exc.value.problems)


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist\. Fix:"):
        load_config_file(tmp_path)


def _raw() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_CONFIG_FILE.read_text())


def _eu(raw: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in raw["region"] if r["name"] == "eu-west-1")


@pytest.mark.parametrize(
    "cidr", ["100.64.0.0/16", "198.18.0.0/16", "169.254.0.0/16", "172.32.0.0/16", "192.169.0.0/16", "0.0.0.0/16"]
)
def test_private_means_rfc_1918_only(cidr: str) -> None:
    raw = _raw()
    _eu(raw)["vpc_cidr"] = cidr
    with pytest.raises(ConfigError) as exc:
        load_config(raw, account="123456789012")
    assert any("region eu-west-1: field 'vpc_cidr'" in p and "RFC 1918" in p for p in exc.value.problems)


@pytest.mark.parametrize("cidr", ["10.200.0.0/16", "172.16.0.0/16", "172.31.0.0/20", "192.168.0.0/16"])
def test_every_rfc_1918_block_is_accepted(cidr: str) -> None:
    raw = _raw()
    _eu(raw)["vpc_cidr"] = cidr
    assert load_config(raw, account="123456789012").region("eu-west-1").vpc_cidr == cidr


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("visitor_data_months", 9, True),
        ("visitor_data_months", 6, True),
        ("visitor_data_months", 10, False),
        ("visitor_data_months", 120, False),
        ("inactive_workspace_months", 13, True),
        ("inactive_workspace_months", 1, True),
        ("inactive_workspace_months", 14, False),
        ("noncurrent_version_days", 30, True),
        ("noncurrent_version_days", 7, True),
        ("noncurrent_version_days", 31, False),
    ],
)
def test_retention_never_exceeds_the_promise(key: str, value: int, ok: bool) -> None:
    """The README promises visitors 9 months and inactive workspaces 13: shorter is fine, longer is refused."""
    raw = _raw()
    _eu(raw)["retention"][key] = value
    if ok:
        cfg = load_config(raw, account="123456789012")
        assert getattr(cfg.region("eu-west-1").retention, key) == value
        return
    with pytest.raises(ConfigError) as exc:
        load_config(raw, account="123456789012")
    line = next(p for p in exc.value.problems if f"field '{key}'" in p)
    assert line.startswith("region eu-west-1.retention")
    assert "longer than the product promises" in line or "past a month" in line


def test_a_certificate_of_another_account_is_refused() -> None:
    # The shipped certificates carry the placeholder account: deploying them to a real account fails.
    with pytest.raises(ConfigError) as exc:
        load_config(_raw(), account="111122223333")
    lines = [p for p in exc.value.problems if "field 'certificate_arn'" in p]
    assert len(lines) == 3
    assert all("123456789012" in p and "111122223333" in p and "Fix:" in p for p in lines)


def test_certificates_of_the_deploy_account_are_accepted() -> None:
    raw = _raw()
    for entry in raw["region"]:
        entry["certificate_arn"] = entry["certificate_arn"].replace(":123456789012:", ":111122223333:")
    cfg = load_config(raw, account="111122223333")
    assert all(":111122223333:" in r.certificate_arn for r in cfg.regions)


def test_offline_synth_with_the_placeholder_account_accepts_any_certificate_account() -> None:
    raw = _raw()
    _eu(raw)["certificate_arn"] = _eu(raw)["certificate_arn"].replace(":123456789012:", ":111122223333:")
    assert load_config(raw, account="123456789012").region("eu-west-1").certificate_arn.count("111122223333") == 1
