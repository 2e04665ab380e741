"""One syrupy snapshot per stack per region. Asset hashes are masked so that a CDK
upgrade that only rebuilds an asset does not churn every snapshot.

Update deliberately: `.venv/bin/pytest tests/stacks/test_snapshots.py --snapshot-update`, then review the diff.
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
# A function's published version is named by a hash of its configuration, which includes its code:
# CDK's `currentVersion` logical ID (used by the migration trigger) changes with every code change.
_VERSION_ID = re.compile(r"\b(\w+CurrentVersion[0-9A-F]{8})[0-9a-f]{32}\b")


def masked(template: dict[str, Any]) -> Any:
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template))
    return json.loads(_VERSION_ID.sub(r"\1<code-hash>", text))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(("region", "stack"), stack_names_for(load_config_file()))
def test_stack_snapshot(assembly: Assembly, snapshot_json: SnapshotAssertion, region: str, stack: str) -> None:
    assert masked(assembly.template(stack)) == snapshot_json
