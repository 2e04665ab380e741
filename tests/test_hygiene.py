"""Source hygiene the formatter cannot enforce by itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked_python_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if line]


def test_nothing_opts_out_of_the_formatter() -> None:
    """ruff format is the one layout: no line or block is exempt from it."""
    files = tracked_python_files()
    assert len(files) > 150, "git ls-files found too few files to judge"
    markers = ("fmt" + ": skip", "fmt" + ": off")  # split so this file does not match itself
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(m in line for m in markers)
    ]
    assert found == []
