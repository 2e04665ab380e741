"""The Lambda asset of the lifecycle runtime, from pinned inputs only.

- `lifecycle/` (code, migrations and the RDS CA bundle `rds-ca-bundle.pem`, committed data whose
  SHA-256 is pinned below), `contract/` (the cross-layer names the runtime imports) and `elevation/`
  (the elevation broker, which needs only boto3 from the Lambda runtime);
- the pure-Python libraries of `lifecycle/requirements.txt` (exact versions, hash-checked wheels),
  installed by the make step `python -m constructs_lib.lifecycle_asset` into build/lifecycle-vendor/.

Synth only copies and hashes files: no network, no parsing of another package's code.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from aws_cdk import AssetHashType
from aws_cdk import aws_lambda as lambda_

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "lifecycle" / "requirements.txt"
VENDOR = REPO / "build" / "lifecycle-vendor"
CA_BUNDLE = REPO / "lifecycle" / "rds-ca-bundle.pem"
# The Amazon RDS CA certificates (global bundle of the RDS docs, "Using SSL/TLS to encrypt a connection
# to a DB cluster"): to update, replace the file with the new bundle and this checksum with its SHA-256.
CA_BUNDLE_SHA256 = "7dace888be77a3eeb36f43594f249f86b2936b861436686198b340f4ed057d7a"


class AssetError(RuntimeError):
    pass


def check_ca_bundle(path: Path = CA_BUNDLE) -> bytes:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CA_BUNDLE_SHA256:
        raise AssetError(
            f"{path} has SHA-256 {digest}, not the pinned {CA_BUNDLE_SHA256}: "
            "restore it, or update CA_BUNDLE_SHA256 in constructs_lib/lifecycle_asset.py on purpose"
        )
    return data


def _stamp() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def build_vendor(target: Path = VENDOR) -> Path:
    """pip install --require-hashes --only-binary=:all: --no-deps -r lifecycle/requirements.txt into
    `target` (pure-Python wheels: the same files for any Lambda architecture). Skipped when the
    target was built from the same requirements file."""
    stamp = target / ".requirements-sha256"
    if stamp.exists() and stamp.read_text() == _stamp():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lifecycle-vendor-", dir=target.parent))  # same filesystem: rename
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--require-hashes",
            "--only-binary=:all:",
            "--no-deps",
            "--target",
            str(staging),
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    for junk in staging.glob("bin"):
        shutil.rmtree(junk)
    (staging / ".requirements-sha256").write_text(_stamp())
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


@functools.cache
def lifecycle_asset() -> tuple[Path, str]:
    """(directory, content hash), built once per process in a directory named by its content hash
    (concurrent synths never collide); CDK takes the hash as given instead of fingerprinting again."""
    stamp = VENDOR / ".requirements-sha256"
    if not stamp.exists() or stamp.read_text() != _stamp():
        raise AssetError(
            f"{VENDOR.relative_to(REPO)} is missing or older than lifecycle/requirements.txt: "
            "run `make setup` (it runs `python -m constructs_lib.lifecycle_asset`)"
        )
    check_ca_bundle()
    (REPO / "build").mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lifecycle-asset-", dir=REPO / "build"))  # same filesystem: rename
    for package in ("lifecycle", "contract", "elevation"):
        shutil.copytree(
            REPO / package, staging / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt")
        )
    shutil.copytree(VENDOR, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    digest = hashlib.sha256()
    for f in sorted(p for p in staging.rglob("*") if p.is_file()):
        digest.update(f.relative_to(staging).as_posix().encode() + b"\0" + f.read_bytes())
    content_hash = digest.hexdigest()
    final = REPO / "build" / f"lifecycle-{content_hash[:16]}"
    if final.exists():
        shutil.rmtree(staging)
    else:
        final.parent.mkdir(exist_ok=True)
        try:
            staging.rename(final)
        except OSError:  # another synth built the same content first
            shutil.rmtree(staging, ignore_errors=True)
            if not final.exists():
                raise
    return final, content_hash


def lifecycle_code() -> lambda_.Code:
    path, content_hash = lifecycle_asset()
    return lambda_.Code.from_asset(str(path), asset_hash=content_hash, asset_hash_type=AssetHashType.CUSTOM)


if __name__ == "__main__":
    print(f"lifecycle vendor: {build_vendor().relative_to(REPO)}")
