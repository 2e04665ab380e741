"""The stack tests run once per configured region."""

from __future__ import annotations

import pytest

from config import AppConfig, RegionConfig, load_config_file

REGIONS = [r.name for r in load_config_file().regions]


@pytest.fixture(params=REGIONS)
def region(request: pytest.FixtureRequest, app_config: AppConfig) -> RegionConfig:
    return app_config.region(request.param)
