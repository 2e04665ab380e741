"""[access]: the identity provider's config is validated before anything is built, and every
problem names the field and the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from config import DEFAULT_CONFIG_FILE, ConfigError, load_config
from contract import Elevation, IdentitySource

DATA = Path(__file__).with_name("data")
METADATA = DATA / "idp-metadata.xml"


def raw(**access: Any) -> dict[str, Any]:
    data = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    data["access"] = {**data["access"], **access}
    for key in [k for k, v in access.items() if v is None]:
        del data["access"][key]
    return data


def saml(**extra: Any) -> dict[str, Any]:
    data = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    data["access"] = {
        "identity_source": "saml",
        "home_region": "us-east-1",
        "saml_metadata_file": METADATA.name,
        **extra,
    }
    return data


def problems(data: dict[str, Any], base_dir: Path = DATA) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(data, account="123456789012", base_dir=base_dir)
    return exc.value.problems


def test_the_shipped_config_uses_identity_center() -> None:
    access = load_config(raw(), account="123456789012").access
    assert access.identity_source is IdentitySource.IDENTITY_CENTER
    assert (access.requester_group, access.approver_group, access.max_elevation_hours) == (
        "trustbase-operators",
        "trustbase-approvers",
        4,
    )
    assert access.elevations == (Elevation.CUSTOMER_DATA_READ, Elevation.DATABASE_OPERATOR)


def test_a_missing_access_table_is_refused() -> None:
    data = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    del data["access"]
    (problem,) = problems(data)
    assert problem.startswith("config: field 'access': is missing") and 'identity_source = "identity-center"' in problem


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("identity_source", "ldap", "field 'identity_source': 'ldap' is not an identity source"),
        ("home_region", "eu-west-9", "field 'home_region': 'eu-west-9' is not a known AWS region"),
        ("instance_arn", "arn:aws:sso:::instance/ins-1", "field 'instance_arn': 'arn:aws:sso:::instance/ins-1' is not"),
        ("identity_store_id", "d-XYZ", "field 'identity_store_id': 'd-XYZ' is not an identity store ID"),
        ("requester_group", "", "field 'requester_group': '' is not a group name"),
        ("approver_group", "approvers; DROP", "field 'approver_group': 'approvers; DROP' is not a group name"),
        ("approver_group", "Trustbase-Operators", "field 'approver_group': is the requester group"),
        ("max_elevation_hours", 13, "field 'max_elevation_hours': 13 is outside 1..12"),
        ("max_elevation_hours", "4h", "field 'max_elevation_hours': must be an integer"),
        ("elevations", ["customer-data-reed"], "did you mean 'customer-data-read'?"),
        ("elevations", ["customer-data-read", "customer-data-read"], "is listed twice"),
        ("elevations", "customer-data-read", "field 'elevations': must be a list"),
        ("saml_metadata_file", "idp.xml", "field 'saml_metadata_file': applies to identity_source = \"saml\""),
        ("approvers_group", "x", "did you mean 'approver_group'?"),
    ],
)
def test_bad_identity_center_settings_name_the_field(field: str, value: Any, says: str) -> None:
    found = problems(raw(**{field: value}))
    assert any(p.startswith("access: ") and says in p and "Fix: " in p for p in found), found


def test_a_missing_group_is_reported() -> None:
    found = problems(raw(approver_group=None))
    assert any("field 'approver_group': is missing" in p for p in found), found


def test_saml_metadata_is_loaded_relative_to_the_config_file() -> None:
    access = load_config(saml(), account="123456789012", base_dir=DATA).access
    assert access.identity_source is IdentitySource.SAML
    assert 'entityID="https://idp.example.com/saml2"' in access.saml_metadata


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "idp.xml"
    path.write_text(METADATA.read_text().replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("md:IDPSSODescriptor", "md:SPSSODescriptor", "no IDPSSODescriptor"),
        ('use="signing"', 'use="encryption"', "no signing certificate"),
        ("<ds:X509Certificate>", "<ds:X509Certificate>!!", "not base64"),
        ('entityID="https://idp.example.com/saml2"', 'entityID=""', "no entityID"),
        ("<md:SingleSignOnService", "<md:ArtifactResolutionService", "no SingleSignOnService"),
        ("urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:1.1:protocol", "SAML 2.0 protocol"),
        ('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]>', "DOCTYPE"),
        ("</md:EntityDescriptor>", "", "not well-formed XML"),
    ],
)
def test_bad_saml_metadata_is_refused_with_the_reason(tmp_path: Path, old: str, new: str, says: str) -> None:
    path = _variant(tmp_path, old, new)
    (problem,) = problems(saml(saml_metadata_file=str(path)))
    assert problem.startswith("access: field 'saml_metadata_file': ") and says in problem and "Fix: " in problem


def test_an_html_page_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "login.html"
    page.write_text("<html><body>" + "Sign in " * 200 + "</body></html>")
    (problem,) = problems(saml(saml_metadata_file=str(page)))
    assert "the root element is html, not a SAML 2.0 md:EntityDescriptor" in problem
    (problem,) = problems(saml(saml_metadata_file="nowhere.xml"))
    assert "cannot be read" in problem and "nowhere.xml" in problem


def test_identity_center_keys_are_refused_under_saml() -> None:
    found = problems(saml(approver_group="trustbase-approvers"))
    assert any("field 'approver_group': applies to identity_source = \"identity-center\"" in p for p in found), found


def test_an_untrusted_config_names_files_in_its_folder_only(tmp_path: Path) -> None:
    """The change-review verdict reads a pull request's regions.toml (confined): no absolute path, no
    `..`, no symbolic link, nothing larger than 1 MiB (never /dev/zero read whole)."""
    import shutil

    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(METADATA, folder / "idp.xml")
    (folder / "link.xml").symlink_to(METADATA)
    (folder / "huge.xml").write_bytes(b"<" * (1024 * 1024 + 1))
    for name, says in [
        (str(METADATA), "is not a file in the config's folder"),
        ("../" + METADATA.name, "is not a file in the config's folder"),
        ("link.xml", "is not a file in the config's folder"),
        ("huge.xml", "is larger than 1,048,576 bytes"),
    ]:
        with pytest.raises(ConfigError) as err:
            load_config(saml(saml_metadata_file=name), account="123456789012", base_dir=folder, confined=True)
        assert says in str(err.value), name
    account = "123456789012"
    config = load_config(saml(saml_metadata_file="idp.xml"), account=account, base_dir=folder, confined=True)
    assert config.access.saml_metadata
    assert load_config(saml(saml_metadata_file=str(METADATA)), account=account).access.saml_metadata  # trusted
