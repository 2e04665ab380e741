"""Which property changes make CloudFormation replace a resource.

The CloudFormation resource schemas list, per resource type, the `createOnlyProperties`: a change
to one of them creates a new physical resource and deletes the old one ("Update requires:
Replacement" in the resource reference), and `conditionalCreateOnlyProperties`, which replace it
in some cases ("Some interruptions" or "Replacement", depending on the value). cfn-lint (pinned in
requirements.txt) ships these schemas per region, so this needs no AWS call.
The schemas also list each type's read handler permissions, which drift detection uses with the
caller's credentials (`read_permissions`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

_FALLBACK_REGION = "us-east-1"


@cache
def cfn_lint_data() -> Path:
    """cfn-lint's data directory, found without importing cfn-lint (its import takes half a second
    of every synth; only its JSON files are read)."""
    spec = find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def _providers(region: str) -> dict[str, Any]:
    root = cfn_lint_data() / "schemas" / "providers"
    file = root / f"{region}.json"
    if not file.is_file():
        file = root / f"{_FALLBACK_REGION}.json"
    providers: dict[str, Any] = json.loads(file.read_text())
    return providers


@cache
def resource_schema(resource_type: str, region: str) -> dict[str, Any] | None:
    """The registry schema of `resource_type` in `region` (None for custom and unknown types)."""
    entry = _providers(region).get(resource_type)
    if not isinstance(entry, str):
        return None
    schema: dict[str, Any] = json.loads((cfn_lint_data() / "schemas" / "resources" / f"{entry}.json").read_text())
    return schema


def _paths(schema: dict[str, Any] | None, key: str) -> tuple[tuple[str, ...], ...]:
    if schema is None:
        return ()
    return tuple(
        tuple(p.removeprefix("/properties/").split("/")) for p in schema.get(key, []) if p.startswith("/properties/")
    )


def create_only(resource_type: str, region: str) -> tuple[tuple[str, ...], ...]:
    """Property paths whose change replaces the resource, e.g. (("DBClusterIdentifier",), ...)."""
    return _paths(resource_schema(resource_type, region), "createOnlyProperties")


def conditionally_create_only(resource_type: str, region: str) -> tuple[tuple[str, ...], ...]:
    return _paths(resource_schema(resource_type, region), "conditionalCreateOnlyProperties")


def read_permissions(resource_type: str, region: str) -> tuple[str, ...] | None:
    """The IAM actions of the type's read handler (None when the schema has none, e.g. custom
    resources, which drift detection does not check)."""
    schema = resource_schema(resource_type, region)
    if schema is None:
        return None
    read = schema.get("handlers", {}).get("read")
    if read is None:
        return None
    return tuple(read.get("permissions", ()))


def is_within(path: tuple[str, ...], prefixes: tuple[tuple[str, ...], ...]) -> bool:
    """Whether a changed property path falls under one of the schema's paths. Schema paths may end
    in a `*` segment for array items, which matches any index."""
    # Compared over the shorter of the two: a changed parent (the whole property replaced)
    # contains the create-only child, and a changed child lies within a create-only parent.
    return any(all(a == b or b == "*" for a, b in zip(path, prefix, strict=False)) for prefix in prefixes)
