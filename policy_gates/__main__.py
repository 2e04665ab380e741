from __future__ import annotations

import sys
from pathlib import Path

from policy_gates import evaluate


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    result = evaluate(outdir)
    print(result.report())
    print("policy gates:", "PASS" if result.ok else "FAIL")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
