"""One syrupy snapshot per stack per region. Asset hashes are masked so that a CDK
upgrade that only rebuilds an asset does not churn every snapshot.

Update deliberately: `make pytest PYTEST_ARGS=--snapshot-update`, then review the diff.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import load_config_file
from tests.conftest import Assembly, stack_names_for

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: dict[str, Any]) -> Any:
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(("region", "stack"), stack_names_for(load_config_file()))
def test_stack_snapshot(assembly: Assembly, snapshot_json: SnapshotAssertion, region: str, stack: str) -> None:
    assert masked(assembly.template(stack)) == snapshot_json
