"""The local AWS: moto's server with our patches, on 127.0.0.1 only, over HTTPS only.

    python -m local_aws.server --port 5055 --cert cert.pem --key key.pem

HTTPS matters: our buckets refuse requests without TLS, and the emulator enforces that.
"""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_aws.server")
    parser.add_argument("--port", type=int, required=True)
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

    moto_main(["-H", "127.0.0.1", "-p", str(args.port), "--ssl-cert", args.cert, "--ssl-key", args.key])


if __name__ == "__main__":
    main()
