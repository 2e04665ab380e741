"""python -m change_review: review what a change would deploy.

On a pull request (no AWS credentials; the base is the target branch's synthesized assembly):

    python -m change_review --base build/base.out --head cdk.out --commits build/commits.txt \\
        --gate-log build/gates.log --gate-status 0 --out-dir reports

In the deploy pipeline (the base is what CloudFormation holds for the region's stacks):

    python -m change_review --deployed --region eu-west-1 --head cdk.out --commits build/commits.txt \\
        --out-dir reports [--expect-digest <digest of the approved plan>]

Writes <out-dir>/change-review[-<region>].md and .json. Exit status: 0 when every stateful
replacement or deletion is named by a `Stateful-Change:` trailer (change_review/stateful.py),
1 when one is not (or, with --expect-digest, when the changes differ from the approved plan),
2 when it cannot judge: an unreadable assembly, a malformed trailer, or deployed templates it may not
read (never taken for "not deployed").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from change_review.assembly import AssemblyError, deployed_templates, load_assembly
from change_review.diff import diff_assemblies
from change_review.render import markdown, record
from change_review.stateful import OverrideError, check, parse_overrides


def digest(review: dict[str, object]) -> str:
    """Identifies the exact changes: the deploy job refuses changes other than the approved plan's."""
    return hashlib.sha256(json.dumps(review["stacks"], sort_keys=True).encode()).hexdigest()


def _boto3_client_for(endpoint_url: str | None) -> Callable[[str], Any]:
    import boto3  # only the pipeline reads an account; a pull request never does

    clients: dict[str, Any] = {}

    def client_for(region: str) -> Any:
        if region not in clients:
            clients[region] = boto3.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
        return clients[region]

    return client_for


def main(argv: list[str] | None = None, *, client_for: Callable[[str], Any] | None = None) -> int:
    """`client_for(region)`: the CloudFormation client of a region for --deployed (tests pass stubs)."""
    parser = argparse.ArgumentParser(prog="python -m change_review", description=__doc__.split("\n\n")[0])
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", type=Path, help="the assembly of the target branch (cdk.out of its synth)")
    base.add_argument("--deployed", action="store_true", help="compare with the stacks deployed for --region")
    parser.add_argument("--head", type=Path, default=Path("cdk.out"), help="the assembly of this change")
    parser.add_argument("--region", help="only the stacks the region's deploy job deploys (required with --deployed)")
    parser.add_argument("--commits", type=Path, help="the commit messages of the change (for overrides)")
    parser.add_argument("--gate-log", type=Path, help="the output of `make synth` (gates) to include")
    parser.add_argument("--gate-status", type=int, help="its exit status (0: the gates passed)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--expect-digest", help="fail unless the changes are exactly the approved plan's")
    parser.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # tests: a local emulator
    args = parser.parse_args(argv)
    if args.deployed and not args.region:
        parser.error("--deployed needs --region <region>: the pipeline reviews one region at a time")
    try:
        head = load_assembly(args.head, region=args.region)
        if args.deployed:
            reader = client_for or _boto3_client_for(args.endpoint_url)
            base_stacks = deployed_templates(reader, head.values())
        else:
            base_stacks = load_assembly(args.base, region=args.region)
        overrides = parse_overrides(args.commits.read_text() if args.commits else "")
    except (AssemblyError, OverrideError) as exc:
        print(f"change_review: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"change_review: cannot read the deployed templates: {exc}", file=sys.stderr)
        return 2
    diffs = diff_assemblies(base_stacks, head)
    verdict = check(diffs, overrides)
    review = record(diffs, verdict)
    review["digest"] = digest(review)
    where = "deployed" if args.deployed else str(args.base)
    title = f"trustbase change review: {args.head} against {where}" + (f" ({args.region})" if args.region else "")
    gate_log = args.gate_log.read_text(errors="replace") if args.gate_log else None
    text = markdown(diffs, verdict, title=title, gate_log=gate_log, gate_ok=args.gate_status == 0)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"change-review-{args.region}" if args.region else "change-review"
    (args.out_dir / f"{stem}.md").write_text(text)
    (args.out_dir / f"{stem}.json").write_text(json.dumps(review, indent=1, sort_keys=True, default=str))
    blocked = ", ".join(f"{k} {c.address}" for c, k in verdict.blocked)
    print(
        f"change review: {review['summary']} -> {args.out_dir / (stem + '.md')}; "
        f"stateful {'OK' if verdict.ok else 'BLOCKED: ' + blocked}"
    )
    if args.expect_digest and args.expect_digest != review["digest"]:
        print(
            "change_review: the changes differ from the approved plan (the stacks changed since it was "
            "reviewed). Fix: re-run the workflow so the new plan is reviewed and approved",
            file=sys.stderr,
        )
        return 1
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
