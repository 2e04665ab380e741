"""The README names only things that exist: every repository path it quotes, every `make` target
and every `python -m` module. A renamed file or target must take its README mention along."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
QUOTED = re.findall(r"`([^`\n]+)`", README) + re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
# Generated or installed, never committed: a README path under them names an output, not a source.
GENERATED = {"reports", "build", "cdk.out", "node_modules", ".venv", ".venv-checkov"}
TOP_LEVEL = {p.name for p in ROOT.iterdir() if not p.name.startswith(".") and p.name not in GENERATED}


def repository_paths() -> list[str]:
    """Quoted tokens that start with one of the repository's top-level files or directories."""
    found = set()
    for span in QUOTED:
        for token in re.findall(r"[A-Za-z0-9_.*/-]+", span):
            head = token.split("/", 1)[0]
            if head in TOP_LEVEL and (("/" in token and not token.endswith("/...")) or token == head):
                found.add(token.rstrip(".,:"))
    return sorted(found)


def test_the_readme_quotes_repository_paths() -> None:
    assert len(repository_paths()) >= 40  # the check itself must find what it checks


@pytest.mark.parametrize("path", repository_paths())
def test_every_quoted_path_exists(path: str) -> None:
    matches = list(ROOT.glob(path)) if "*" in path else [ROOT / path] if (ROOT / path).exists() else []
    assert matches, f"README names {path}, which does not exist"


MAKE_TARGETS = sorted({m for span in QUOTED for m in re.findall(r"\bmake ([a-z][a-z-]*)", span)})
MODULES = sorted({m for span in QUOTED for m in re.findall(r"python -m ([a-z_][a-z_.]*)", span)})


@pytest.mark.parametrize("target", MAKE_TARGETS)
def test_every_make_target_exists(target: str) -> None:
    assert re.search(rf"^{re.escape(target)}:", (ROOT / "Makefile").read_text(), re.M), f"no make target {target}"


@pytest.mark.parametrize("module", MODULES)
def test_every_python_module_exists(module: str) -> None:
    path = ROOT / module.replace(".", "/")
    assert (path / "__main__.py").exists() or path.with_suffix(".py").exists(), f"no module {module}"


def test_the_lists_are_not_empty() -> None:
    assert {"local", "test", "synth"} <= set(MAKE_TARGETS)
    assert {"elevation", "access_review", "verify", "dr_drill"} <= set(MODULES)
