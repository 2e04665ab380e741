"""The benchmark's synthetic scale series must stay valid config, or `make bench` breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run_bench import synthetic_config
from config import Jurisdiction, load_config_file


@pytest.mark.parametrize("n", [1, 3, 6, 12])
def test_synthetic_regions_pass_config_validation(tmp_path: Path, n: int) -> None:
    cfg = load_config_file(synthetic_config(n, tmp_path / "regions.toml"))
    assert len(cfg.regions) == n
    assert [r.name for r in cfg.regions][: min(n, 3)] == ["us-east-1", "eu-west-1", "ap-southeast-2"][: min(n, 3)]


def test_twelve_regions_cover_every_jurisdiction(tmp_path: Path) -> None:
    cfg = load_config_file(synthetic_config(12, tmp_path / "regions.toml"))
    assert {r.jurisdiction for r in cfg.regions} == set(Jurisdiction)


def test_more_regions_than_jurisdictions_allow_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="only 12 regions"):
        synthetic_config(13, tmp_path / "regions.toml")
