"""Per-template result cache for the external gate tools (cfn-lint, checkov).

Both tools judge one template at a time, so a template whose bytes did not change needs no new
run. The key of a cached result is the SHA-256 of:
- the template's file name and bytes;
- the tool's name and the exact arguments the gate passes it;
- the tool's configuration files, wherever the tool would read them (the working directory and
  the home directory), so a local rule configuration is part of the key;
- what is installed in the tool's virtualenv (every distribution's name and version, read from
  its site-packages; cfn-lint's resource specifications ship inside its package) and the pinned
  requirements file it is installed from.

Change any of these and the key changes, so a cached result is never stale; it can only be
missing. A run that did not judge every template it was given (a template checkov could not
parse, say) is an error and is never cached. Checks that span templates (access paths, residency, our own checks) are cheap and are
never cached: they re-run on every gate.

The cache lives in build/gate-cache/ (gitignored, removed by `make clean`). Set
TRUSTBASE_GATE_CACHE to another directory, or to `off` to run every tool on every template.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "build" / "gate-cache"
ENV = "TRUSTBASE_GATE_CACHE"


def cache_dir() -> Path | None:
    """The cache directory, or None when the cache is off."""
    value = os.environ.get(ENV, "")
    if value.lower() == "off":
        return None
    return Path(value) if value else DEFAULT_DIR


@dataclass(frozen=True)
class Tool:
    """One external tool as the gate runs it."""

    name: str
    args: tuple[str, ...]
    pins: Path  # the requirements file its virtualenv is installed from
    site_packages: Path  # where that virtualenv's distributions are installed
    config_files: tuple[str, ...] = ()  # file names the tool reads its configuration from

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(self.name.encode() + b"\0")
        h.update(json.dumps(self.args).encode() + b"\0")
        h.update(self.pins.read_bytes() + b"\0")
        installed = (
            sorted(p.name for p in self.site_packages.glob("*.dist-info")) if self.site_packages.is_dir() else []
        )
        h.update(json.dumps(installed).encode() + b"\0")
        for folder in dict.fromkeys((Path.cwd(), ROOT, Path.home())):
            for name in self.config_files:
                path = folder / name
                if path.is_file():
                    h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        return h.hexdigest()


def template_key(tool_fingerprint: str, template: Path) -> str:
    h = hashlib.sha256()
    h.update(tool_fingerprint.encode() + b"\0")
    h.update(template.name.encode() + b"\0")
    h.update(template.read_bytes())
    return h.hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


def run_cached(
    tool: Tool,
    templates: Sequence[Path],
    run: Callable[[list[Path]], dict[str, list[Any]]],
    stats: CacheStats | None = None,
) -> dict[str, list[Any]]:
    """Findings per template name: cached ones read back, the rest from ONE run of `run` over every
    template without a cached result. `run` returns JSON-serializable findings per template name
    and must name every template it was given (an empty list when it found nothing)."""
    directory = cache_dir()
    if directory is None:
        if stats is not None:
            stats.misses += len(templates)
        return _complete(tool, templates, run(list(templates)))
    tool_dir = directory / tool.name
    fingerprint = tool.fingerprint()
    keys = {t: template_key(fingerprint, t) for t in templates}
    found: dict[str, list[Any]] = {}
    missing: list[Path] = []
    for t, key in keys.items():
        entry = tool_dir / f"{key}.json"
        try:
            found[t.name] = json.loads(entry.read_text())
        except (OSError, ValueError):  # absent, or unreadable after a crash: judge the template again
            missing.append(t)
    if stats is not None:
        stats.hits += len(templates) - len(missing)
        stats.misses += len(missing)
    if missing:
        fresh = _complete(tool, missing, run(missing))
        tool_dir.mkdir(parents=True, exist_ok=True)
        for t in missing:
            entry = tool_dir / f"{keys[t]}.json"
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(fresh[t.name]))
            tmp.replace(entry)  # atomic: a concurrent gate never reads half a result
            found[t.name] = fresh[t.name]
    return found


def _complete(tool: Tool, templates: Sequence[Path], found: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """`found`, when it judged every template; an error (never a cached or passing result) otherwise."""
    unnamed = [t.name for t in templates if t.name not in found]
    if unnamed:
        raise RuntimeError(f"{tool.name} returned no result for {unnamed}: a partial run is neither cached nor passed")
    return found
