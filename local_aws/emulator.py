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
def running_emulator(*, port: int | None = None, log: Path | None = None, timeout: float = 60) -> Iterator[str]:
    """Yield the HTTPS endpoint of a fresh emulator, which boto3 in this process trusts
    (AWS_CA_BUNDLE) while it runs; the server is stopped on exit, whatever happens."""
    with running_emulators(1, ports=[port] if port else None, log=log, timeout=timeout) as endpoints:
        yield endpoints[0]


@contextmanager
def running_emulators(
    n: int, *, ports: list[int] | None = None, log: Path | None = None, timeout: float = 60
) -> Iterator[list[str]]:
    """Yield the HTTPS endpoints of n fresh emulators that share nothing (one process forks a server
    per port: local_aws/server.py). boto3 in this process trusts their certificate while they run;
    they are stopped on exit, whatever happens."""
    ports = ports or free_ports(n)
    with tempfile.TemporaryDirectory(prefix="trustbase-local-") as tmp:
        cert, key = write_server_certificate(Path(tmp))
        log_file = open(log or Path(tmp) / "emulator.log", "w")  # noqa: SIM115  (closed below)
        port_args = [a for p in ports for a in ("--port", str(p))]
        proc = subprocess.Popen(
            [sys.executable, "-m", "local_aws.server", *port_args, "--cert", str(cert), "--key", str(key)],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        endpoints = [f"https://127.0.0.1:{p}" for p in ports]
        try:
            deadline = time.monotonic() + timeout
            for endpoint in endpoints:
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"the emulator exited with {proc.returncode}; see {log_file.name}")
                    try:
                        requests.get(f"{endpoint}/moto-api/", verify=str(cert), timeout=2)
                        break
                    except requests.RequestException:
                        if time.monotonic() > deadline:
                            raise RuntimeError(
                                f"the emulator did not answer on {endpoint} in {timeout:.0f} s"
                            ) from None
                        time.sleep(0.1)
                print(f"[local] emulator (moto, patched) on {endpoint}, pid {proc.pid}", flush=True)
            with trusting(cert):
                yield endpoints
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log_file.close()
            print("[local] emulator stopped", flush=True)
