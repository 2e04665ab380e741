"""The verify report: one row per check of one resource, each with exactly one status.

- PASS: read from the service API and the judge holds.
- FAIL: the judge does not hold, the resource is missing, or it could not be read.
- PATCHED: the judge holds, but only for a value our emulator patch wrote (the row names the
  patch). It proves the patch, not AWS. Only in the local emulator.
- NOT_EMULATED: the emulator cannot create or show this (the row says why). Only in the local
  emulator.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

PASS, FAIL, PATCHED, NOT_EMULATED = "PASS", "FAIL", "PATCHED", "NOT_EMULATED"
STATUSES = (PASS, FAIL, PATCHED, NOT_EMULATED)
_ORDER = {FAIL: 0, NOT_EMULATED: 1, PATCHED: 2, PASS: 3}


@dataclass
class Row:
    stack: str
    resource: str  # logical ID
    type: str
    physical: str
    check: str  # stable ID, e.g. "s3.encryption"
    what: str
    status: str
    detail: str = ""


@dataclass
class Report:
    region: str
    account: str
    target: str  # "live account" or "local emulator (moto 5.2.5, patched)"
    started_at: str
    finished_at: str = ""
    complete: bool = False
    progress: str = ""
    stacks: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    @property
    def result(self) -> str:
        if any(r.status == FAIL for r in self.rows):
            return FAIL
        return PASS if self.complete else "INCOMPLETE"

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.rows if r.status == s) for s in STATUSES}

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "result": self.result, "counts": self.counts()}, indent=2) + "\n"

    def to_markdown(self) -> str:
        c = self.counts()
        lines = [
            f"# verify {self.region}: **{self.result}**",
            "",
            f"Observed in account {self.account} ({self.target}), {self.started_at} to {self.finished_at or '...'}"
            f"{'' if self.complete else f' (in progress: {self.progress})'}.",
            "",
            f"{len(self.rows)} checks over {len(self.stacks)} stacks: {c[PASS]} PASS, {c[FAIL]} FAIL, "
            f"{c[PATCHED]} PATCHED, {c[NOT_EMULATED]} NOT_EMULATED.",
            "",
            "PASS = read from the service API and compliant; FAIL = not compliant, missing or unreadable; "
            "PATCHED = compliant only through a value the emulator patch wrote (proves the patch, not AWS); "
            "NOT_EMULATED = the emulator cannot show it.",
            "",
            "| status | stack | resource | type | check | what | detail |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in sorted(self.rows, key=lambda r: (_ORDER[r.status], r.stack, r.resource, r.check)):
            detail = r.detail.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.status} | {r.stack} | {r.resource} | {r.type} | {r.check} | {r.what} | {detail} |")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path, stem: str) -> tuple[Path, Path]:
        """Write <stem>.md and <stem>.json atomically (a reader never sees half a report)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for suffix, text in ((".md", self.to_markdown()), (".json", self.to_json())):
            path = out_dir / f"{stem}{suffix}"
            tmp = path.with_suffix(suffix + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
            paths.append(path)
        return paths[0], paths[1]

    @classmethod
    def from_json(cls, text: str) -> Report:
        data = json.loads(text)
        rows = [Row(**r) for r in data.pop("rows", [])]
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "rows": rows})
