"""The shipped config cut to one region (eu-west-1), for tests that synthesize a variant of it
(SAML, an organization, the organization layer, the egress firewall): one region keeps each synth
short."""

from __future__ import annotations

import tomllib
from typing import Any

from config import DEFAULT_CONFIG_FILE


def eu_west_1(*, perimeter: dict[str, Any] | None = None, **region: Any) -> dict[str, Any]:
    """The raw config with only eu-west-1 (its fields updated by `region`) and, if given, a
    [perimeter] table; without [delivery], which needs Identity Center's home region (us-east-1)
    to host a region (the pipeline's variants: tests/stacks/test_cicd.py)."""
    raw = tomllib.loads(DEFAULT_CONFIG_FILE.read_text())
    raw.pop("delivery", None)
    raw["region"] = [r for r in raw["region"] if r["name"] == "eu-west-1"]
    raw["region"][0].update(region)
    if perimeter is not None:
        raw["perimeter"] = perimeter
    return raw
