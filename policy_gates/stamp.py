"""The mark of an assembly that passed every gate.

`python -m policy_gates <cdk.out> --stamp` writes <cdk.out>/.gated when every gate passes: the
SHA-256 of every file of the assembly (templates, manifest, assets). `make local` and `make report`
use an assembly only while that digest still matches, so a `cdk synth` run by hand after the gates
(another config, say) is never deployed or reported as if it had been judged.

Standalone on purpose (no imports from the project): the Makefile runs it on every `make synth`,
`make local` and `make report` to drop a mark that no longer matches.

    python policy_gates/stamp.py check <cdk.out>       exit 1 unless the mark matches
    python policy_gates/stamp.py drop-stale <cdk.out>  remove a mark that does not match
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

MARK = ".gated"
OWN_FILES = frozenset({MARK, ".synth-env", ".synth-started"})


def digest(outdir: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in outdir.rglob("*") if p.is_file() and p.name not in OWN_FILES):
        h.update(str(path.relative_to(outdir)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def write(outdir: Path) -> None:
    (outdir / MARK).write_text(digest(outdir) + "\n")


def current(outdir: Path) -> bool:
    mark = outdir / MARK
    return mark.is_file() and mark.read_text().strip() == digest(outdir)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("check", "drop-stale"):
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    command, outdir = argv[0], Path(argv[1])
    if current(outdir):
        return 0
    if command == "check":
        print(f"{outdir} changed after it passed the gates (or never did): run `make synth`", file=sys.stderr)
        return 1
    if (outdir / MARK).exists():
        (outdir / MARK).unlink()
        print(f"{outdir} changed after it passed the gates: synthesizing and gating it again", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
