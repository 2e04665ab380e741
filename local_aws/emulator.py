"""Start and stop the local AWS (a subprocess: `python -m local_aws.server`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from local_aws.tls import write_server_certificate

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """n distinct free ports on 127.0.0.1 (held open together while chosen, so emulators started
    side by side never pick the same one)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@contextmanager
def trusting(cert: Path) -> Iterator[None]:
    """boto3 in this process trusts exactly `cert` (AWS_CA_BUNDLE) inside the block."""
    saved = os.environ.get("AWS_CA_BUNDLE")
    os.environ["AWS_CA_BUNDLE"] = str(cert)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AWS_CA_BUNDLE", None)
        else:
            os.environ["AWS_CA_BUNDLE"] = saved


@contextmanager
def emulator_certificate() -> Iterator[tuple[Path, Path]]:
    """A certificate and key for 127.0.0.1, for emulators that run side by side (one CA bundle)."""
    with tempfile.TemporaryDirectory(prefix="trustbase-local-tls-") as tmp:
        yield write_server_certificate(Path(tmp))


@contextmanager
def running_emulator(
    *, port: int | None = None, log: Path | None = None, timeout: float = 60, tls: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """Yield the HTTPS endpoint of a fresh emulator; the server is stopped on exit, whatever happens.
    Without `tls`, it gets a certificate of its own, which boto3 in this process trusts
    (AWS_CA_BUNDLE) while it runs. With `tls` (emulator_certificate(), shared by emulators that run
    side by side), the caller makes boto3 trust it (`trusting`)."""
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="trustbase-local-") as tmp:
        cert, key = tls or write_server_certificate(Path(tmp))
        log_file = open(log or Path(tmp) / "emulator.log", "w")  # noqa: SIM115  (closed below)
        proc = subprocess.Popen(
            [sys.executable, "-m", "local_aws.server", "--port", str(port), "--cert", str(cert), "--key", str(key)],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        endpoint = f"https://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the emulator exited with {proc.returncode}; see {log_file.name}")
                try:
                    requests.get(f"{endpoint}/moto-api/", verify=str(cert), timeout=2)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the emulator did not answer on {endpoint} in {timeout:.0f} s") from None
                    time.sleep(0.2)
            print(f"[local] emulator (moto, patched) on {endpoint}, pid {proc.pid}", flush=True)
            if tls is None:
                with trusting(cert):
                    yield endpoint
            else:
                yield endpoint
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log_file.close()
            print("[local] emulator stopped", flush=True)
