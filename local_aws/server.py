"""The local AWS: moto's server with our patches, on 127.0.0.1 only, over HTTPS only.

    python -m local_aws.server --port 5055 --cert cert.pem --key key.pem
    python -m local_aws.server --port 5055 --port 5056 --port 5057 --cert cert.pem --key key.pem

HTTPS matters: our buckets refuse requests without TLS, and the emulator enforces that.

With several ports, one process imports moto and our patches and loads AWS's managed policies once,
then forks one server per port: separate processes with separate state (one per region for
`make local`), without paying that start-up on every one of them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_aws.server")
    parser.add_argument("--port", type=int, action="append", required=True, help="repeat for one server per port")
    parser.add_argument("--cert", required=True, help="PEM certificate for 127.0.0.1 (local_aws.tls makes one)")
    parser.add_argument("--key", required=True, help="PEM private key of --cert")
    args = parser.parse_args(argv)
    # IAM roles in our templates attach AWS managed policies (e.g. AWS Config's): moto only
    # knows them when asked to load them.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from local_aws import patches
    from local_aws.patches import s3

    patches.apply()
    s3.TLS_ONLY = True
    from moto.server import main as moto_main

    def serve(port: int) -> None:
        moto_main(["-H", "127.0.0.1", "-p", str(port), "--ssl-cert", args.cert, "--ssl-key", args.key])

    if len(args.port) == 1:
        serve(args.port[0])
        return
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    _ = iam_backends[DEFAULT_ACCOUNT_ID]["global"]  # builds the backend: loads the managed policies once
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[int] = []
    for port in args.port:
        pid = os.fork()
        if pid == 0:  # the child: a server of its own, with a copy of what was loaded
            _child(port, parent, serve)
        children.append(pid)

    def stop(signum: int, frame: FrameType | None) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _exit_with(os.getppid(), lambda: stop(signal.SIGTERM, None))  # the caller is gone: stop the servers
    # The first server to end (a crash, a port taken, or the SIGTERM above) ends them all: the caller
    # sees this process exit at once instead of waiting for an endpoint that will never answer.
    status = 0
    while children:
        pid, code = os.wait()
        if pid in children:
            children.remove(pid)  # reaped: never signalled again (its pid may be reused)
            status = status or os.waitstatus_to_exitcode(code)
            stop(signal.SIGTERM, None)
    sys.exit(1 if status > 0 else 0)


def _child(port: int, parent: int, serve: Callable[[int], None]) -> None:
    """A forked server: reseeded, watching its parent, and never returning into the parent's code."""
    from moto.moto_api._internal import mock_random

    mock_random.seed()  # forked copies would otherwise hand out the same IDs in every region
    _exit_with(parent, lambda: None)
    try:
        serve(port)
    except BaseException:  # a port taken, a crash: say so, and exit non-zero
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)


def _exit_with(parent: int, before: Callable[[], None]) -> None:
    """End this process (after `before`) when `parent` is no longer its parent, even if it was
    killed outright: no emulator outlives the run that started it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        before()
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    main()
