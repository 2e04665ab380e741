"""verify: read a deployed region back from its service APIs and judge it with the same
predicates that gate the templates (`posture_checks.predicates`).

    python -m verify --region eu-west-1            # a live account, read-only
    make local                                     # the local emulator (PATCHED, NOT_EMULATED too)

Parts: readonly (a session that can only read), observers (service API -> plain data), judges
(plain data -> findings, via the shared predicates), declared (what the deployed template says,
resolved), engine (walk the stacks, write the report as it goes), report (rows and statuses).
"""

from verify.engine import Emulation, verify_region
from verify.report import FAIL, NOT_EMULATED, PASS, PATCHED, Report, Row

__all__ = ["FAIL", "NOT_EMULATED", "PASS", "PATCHED", "Emulation", "Report", "Row", "verify_region"]
