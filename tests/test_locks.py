"""Supply chain: every Python package is installed from a hash-pinned lock that matches the exact
pins people edit, and setup refuses a file whose hash the lock does not list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [("requirements.txt", "requirements.lock"), ("requirements-checkov.txt", "requirements-checkov.lock")]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = PIN.match(line)
        if m:
            out[normalized(m[1])] = m[3]
    return out


def lock_entries(path: Path) -> dict[str, list[str]]:
    """Each locked requirement with its hashes (a requirement spans its continuation lines)."""
    entries: dict[str, list[str]] = {}
    current = ""
    for line in path.read_text().splitlines():
        m = PIN.match(line)
        if m:
            current = normalized(m[1])
            entries[current] = []
        entries.setdefault(current, []).extend(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    entries.pop("", None)
    return entries


@pytest.mark.parametrize(("source", "lock"), PAIRS)
def test_the_lock_pins_exactly_what_the_requirements_pin(source: str, lock: str) -> None:
    wanted, locked = pins(ROOT / source), pins(ROOT / lock)
    assert len(wanted) > 50
    assert locked == wanted, {
        "only in the requirements": sorted(set(wanted) - set(locked)),
        "only in the lock": sorted(set(locked) - set(wanted)),
        "other versions": sorted(k for k in wanted.keys() & locked.keys() if wanted[k] != locked[k]),
    }


@pytest.mark.parametrize("lock", [lock for _, lock in PAIRS] + ["lifecycle/requirements.txt"])
def test_every_locked_requirement_carries_a_hash(lock: str) -> None:
    entries = lock_entries(ROOT / lock)
    assert entries and all(entries.values()), [name for name, hashes in entries.items() if not hashes]
    text = (ROOT / lock).read_text()
    # no index or link of one machine: the hashes are checked against whatever PyPI serves
    assert not re.search(r"^--(extra-)?index-url|^--find-links", text, re.M)


def test_setup_installs_only_from_the_locks_with_hashes_required() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install[^\n]*", makefile)
    from_files = [i for i in installs if " -r " in i]
    assert from_files and all("--require-hashes" in i and ".lock" in i for i in from_files), from_files
    assert "-r requirements.lock" in makefile and "-r requirements-checkov.lock" in makefile
