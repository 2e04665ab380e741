"""Small, tested fixes to moto 5.2.5's CloudFormation models, one module per service, applied
inside the local emulator (`python -m local_aws.server`) and, per test, in-process. None changes
what a resource *is*; they read CloudFormation properties moto ignores or crashes on. Pinned:
`apply()` refuses any other moto version, because these reach into moto's internals.

Every patch can be removed again (`remove()`, or the `applied()` context manager): moto's classes
are restored exactly, so patches never leak from one test into another.

A value that exists only because a patch wrote it proves the patch, not AWS: each patch lists the
verify checks it `provides`, and verify reports those rows PATCHED (naming the patch), not PASS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from local_aws.patches import (
    awslambda,
    backup,
    cloudwatch,
    ec2,
    elbv2,
    iam,
    kms,
    logs,
    rds,
    s3,
    sqs,
    ssm,
    stepfunctions,
)
from local_aws.patches.base import Patch, Undo, forget_models, refresh_model_registry

MOTO_VERSION = "5.2.5"

PATCHES: tuple[Patch, ...] = (
    *kms.PATCHES,
    *iam.PATCHES,
    *ssm.PATCHES,
    *rds.PATCHES,
    *logs.PATCHES,
    *ec2.PATCHES,
    *backup.PATCHES,
    *s3.PATCHES,
    *cloudwatch.PATCHES,
    *elbv2.PATCHES,
    *stepfunctions.PATCHES,
    *awslambda.PATCHES,
    *sqs.PATCHES,
)
BY_NAME = {p.name: p for p in PATCHES}

_applied: dict[str, Undo] = {}


def _check_version() -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local_aws.patches targets moto {MOTO_VERSION}, found {moto.__version__}: "
            "re-check each patch against the new moto and update MOTO_VERSION"
        )


def apply(names: Iterable[str] | None = None) -> None:
    """Apply the named patches (default: all). Applying an applied patch does nothing."""
    _check_version()
    for name in names if names is not None else BY_NAME:
        if name in _applied:
            continue
        undo = Undo()
        BY_NAME[name].install(undo)
        _applied[name] = undo
    refresh_model_registry()


def remove(names: Iterable[str] | None = None) -> None:
    """Undo the named patches (default: every applied one), newest first."""
    for name in reversed(list(names if names is not None else _applied)):
        undo = _applied.pop(name, None)
        if undo is not None:
            undo.revert(collect=False)
    forget_models()


def applied_names() -> list[str]:
    return list(_applied)


@contextmanager
def applied(names: Iterable[str] | None = None) -> Iterator[None]:
    """The patches (default: all) for the duration of the block, then moto as it was."""
    chosen = list(names if names is not None else BY_NAME)
    fresh = [n for n in chosen if n not in _applied]
    apply(fresh)
    try:
        yield
    finally:
        remove(fresh)


def patched_types() -> dict[str, Patch]:
    """resource type -> the patch that is its CloudFormation model (creation, ID or attributes)."""
    return {rtype: patch for patch in PATCHES for rtype in patch.types}


def provenance() -> dict[str, Patch]:
    """verify check ID -> the patch whose write is the only source of that value in the emulator."""
    out: dict[str, Patch] = {}
    for patch in PATCHES:
        for check in patch.provides:
            if check in out:
                raise ValueError(f"check {check} is provided by both {out[check].name} and {patch.name}")
            out[check] = patch
    return out


__all__ = [
    "MOTO_VERSION",
    "PATCHES",
    "Patch",
    "applied",
    "applied_names",
    "apply",
    "patched_types",
    "provenance",
    "remove",
]
