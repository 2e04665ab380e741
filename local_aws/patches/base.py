"""What every patch module uses: the Patch record, an undo log, and helpers to wrap moto's
CloudFormation models. A patch changes moto's classes in place; the undo log restores every
attribute it replaced (or removes what it added), so a test can apply patches and leave moto
exactly as it found it."""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


class Undo:
    """Records each change a patch makes, to revert them in reverse order."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []
        # moto finds CloudFormation models through CloudFormationModel.__subclasses__(), which
        # holds only weak references: the models a patch adds are kept alive here until undone.
        self.models: list[type] = []

    def set(self, obj: Any, attr: str, value: Any) -> None:
        original = obj.__dict__.get(attr, _MISSING) if hasattr(obj, "__dict__") else _MISSING

        def restore() -> None:
            if original is _MISSING:
                delattr(obj, attr)
            else:
                setattr(obj, attr, original)

        setattr(obj, attr, value)
        self._steps.append(restore)

    def setitem(self, mapping: MutableMapping[str, Any], key: str, value: Any) -> None:
        original = mapping.get(key, _MISSING)

        def restore() -> None:
            if original is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = original

        mapping[key] = value
        self._steps.append(restore)

    def model(self, cls: type) -> None:
        self.models.append(cls)

    def revert(self, *, collect: bool = True) -> None:
        while self._steps:
            self._steps.pop()()
        self.models.clear()
        if collect:
            forget_models()


def forget_models() -> None:
    """Drop removed models from CloudFormationModel.__subclasses__() (weak references): moto's
    cached model list still holds them, so clear it first, then collect (slow: once per removal)."""
    refresh_model_registry()
    gc.collect()
    refresh_model_registry()


def refresh_model_registry() -> None:
    """moto caches its CloudFormation model list (lru_cache) the first time a stack is parsed:
    clear it whenever models are added or removed."""
    from moto.cloudformation import parsing

    for fn in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        fn.cache_clear()


@dataclass(frozen=True)
class Patch:
    """One fix to moto 5.2.5. `provides`: the verify check IDs whose observed value exists only
    because this patch wrote it (reported PATCHED, never PASS); `types`: see below."""

    name: str
    gap: str  # what moto lacks, in one sentence
    install: Callable[[Undo], None]
    provides: frozenset[str] = field(default_factory=frozenset)
    # Resource types whose CloudFormation model (creation, physical ID or attributes) is this patch:
    # any value taken from such a resource (an SSM link to a patched cluster's endpoint) is PATCHED.
    types: frozenset[str] = field(default_factory=frozenset)


def cfn_tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    tags = properties.get("Tags") or []
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags]


def name_of(value: Any) -> Any:
    """moto resolves a Ref to a model object for some types and to a string for others."""
    return getattr(value, "name", getattr(value, "subnet_name", value))


def rds_identifier(value: str) -> str:
    """A valid RDS identifier from a generated name: letters, digits, single hyphens, <= 63."""
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", value.lower())).strip("-")
    if len(cleaned) > 63:  # keep it unique: generated names differ only at the end
        cleaned = f"{cleaned[:54].rstrip('-')}-{hashlib.sha1(value.encode()).hexdigest()[:8]}"
    return cleaned if cleaned[:1].isalpha() else f"db-{cleaned}"[:63].rstrip("-")


def wrap_create(
    undo: Undo,
    model: Any,
    before: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    after: Callable[[Any, dict[str, Any], str, str], None] | None = None,
) -> None:
    """Wrap a moto model's create_from_cloudformation_json: `before` rewrites the properties,
    `after` completes the created resource (properties, account, region)."""
    original = model.create_from_cloudformation_json.__func__

    def create(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        props = dict(cloudformation_json.get("Properties", {}))
        if before:
            props = before(props)
        created = original(
            cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kw
        )
        if after:
            after(created, props, account_id, region_name)
        return created

    undo.set(model, "create_from_cloudformation_json", classmethod(create))


def get_att_error() -> Exception:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    return UnformattedGetAttTemplateException()
