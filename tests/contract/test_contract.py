"""One source of truth for names that cross layers (`contract`): stacks, drills, migrations and the
lifecycle runtime use it, and nothing outside it retypes one of its strings."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

import contract
from lifecycle.migrate import MIGRATIONS_DIR

REPO = Path(__file__).resolve().parents[2]
# Every layer that creates, finds or uses a cross-layer name (tests and the contract itself excluded).
SCANNED = (
    "app.py",
    "config",
    "constructs_lib",
    "stacks",
    "dr_drill",
    "lifecycle",
    "local_aws",
    "access_paths",
    "policy_gates",
    "posture_checks",
    "compliance_report",
    "access_review",
    "verify",
)

_DB_ROLE = re.compile(r"\btrustbase_(?:app|lifecycle|dr|admin)\b")
_LAYOUT = re.compile(r"(?:^|/)(?:workspaces|visitors|erasure-ledger)/")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def retyped_names(source: str, filename: str = "<source>") -> list[str]:
    """Literal strings (docstrings aside) that retype a name the contract owns."""
    tree = ast.parse(source, filename)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            head = node.values[0] if node.values else None
            builds_name = (
                isinstance(head, ast.Constant)
                and isinstance(head.value, str)
                and head.value.startswith(("trustbase-", "alias/trustbase"))
                and len(node.values) > 1
            )
            if builds_name:
                found.append(f"{filename}:{node.lineno}: f-string builds a resource name: {ast.unparse(node)}")
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        text = node.value
        if text.startswith(contract.PARAMETER_ROOT + "/") or text == contract.PARAMETER_ROOT:
            found.append(f"{filename}:{node.lineno}: SSM link name {text!r} (use contract.Link)")
        if _DB_ROLE.search(text):
            found.append(f"{filename}:{node.lineno}: database role in {text!r} (use contract.*_DB_USER)")
        if _LAYOUT.search(text):
            found.append(f"{filename}:{node.lineno}: S3 layout in {text!r} (use contract's prefixes)")
    return found


def test_the_scanner_finds_retyped_names() -> None:
    planted = '''
"""Docstrings may mention trustbase_app and /trustbase/data/cluster-arn."""
a = "/trustbase/data/cluster-arn"
b = "GRANT SELECT ON x TO trustbase_lifecycle"
c = f"trustbase-{region}-erasure"
d = "workspaces/" + ws
e = bucket + "/erasure-ledger/eu-west-1/x.json"
ok = "trustbase-retention-policy"
'''
    found = retyped_names(planted)
    assert [line.split(":")[1] for line in found] == ["3", "4", "5", "6", "7"], found


def test_no_layer_retypes_a_contract_name() -> None:
    files = []
    for entry in SCANNED:
        path = REPO / entry
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    assert len(files) > 40  # the scan really covers the tree
    found = [hit for f in files for hit in retyped_names(f.read_text(), str(f.relative_to(REPO)))]
    assert found == []


def test_the_migrations_name_only_contract_roles() -> None:
    sql = "\n".join(p.read_text() for p in sorted(MIGRATIONS_DIR.glob("*.sql")))
    named = set(re.findall(r"\btrustbase_[a-z_]+\b", sql))
    assert named == {"trustbase_app", "trustbase_lifecycle", "trustbase_dr"}
    assert named == set(contract.IAM_DB_USERS)
    assert f"CREATE TABLE IF NOT EXISTS {contract.CANARY_TABLE} (" in sql


def test_migrated_database_has_exactly_the_contract_login_roles(pg_server: Any, pg_database: str) -> None:
    conn = pg_server.connect(pg_database, user=pg_server.admin)
    try:
        cur = conn.cursor()
        cur.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname LIKE 'trustbase%'")
        roles = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (contract.CANARY_TABLE,))
        canary = cur.fetchone()[0]
    finally:
        conn.close()
    assert roles == {"trustbase_admin", "trustbase_app", "trustbase_lifecycle", "trustbase_dr"}
    assert roles == set(contract.IAM_DB_USERS) | {contract.MASTER_USERNAME}
    assert canary


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (contract.Link.CLUSTER_ENDPOINT.parameter_name, "/trustbase/data/cluster-endpoint"),
        (contract.stack_name("eu-west-1", "data"), "trustbase-eu-west-1-data"),
        (contract.erasure_state_machine_name("eu-west-1"), "trustbase-eu-west-1-erasure"),
        (contract.dsar_submitter_role_name("eu-west-1"), "trustbase-eu-west-1-dsar-submitter"),
        (contract.user_prefixes("w", "u"), ["workspaces/w/users/u/"]),
        (contract.visitor_prefixes("w", "v"), ["visitors/w/v/"]),
        (contract.workspace_prefixes("w"), ["workspaces/w/", "visitors/w/"]),
        (contract.ledger_object_key("eu-west-1", "r-1"), "erasure-ledger/eu-west-1/r-1.json"),
        (contract.key_alias("objects"), "alias/trustbase/objects"),
        (contract.key_alias("backup", dr_copy_of="eu-west-1"), "alias/trustbase/dr-from-eu-west-1/backup"),
    ],
)
def test_names_are_the_documented_ones(built: Any, expected: Any) -> None:
    """The README documents these names to the app tier and to operators: renaming one is a breaking change."""
    assert built == expected


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("workspaces/11111111-1111-4111-8111-111111111111/", True),
        ("workspaces/11111111-1111-4111-8111-111111111111/users/22222222-2222-4222-8222-222222222222/", True),
        ("visitors/11111111-1111-4111-8111-111111111111/", True),
        ("visitors/11111111-1111-4111-8111-111111111111/22222222-2222-4222-8222-222222222222/", True),
        ("workspaces/", False),
        ("visitors/11111111-1111-4111-8111-111111111111/users/22222222-2222-4222-8222-222222222222/", False),
        ("workspaces/11111111-1111-4111-8111-111111111111", False),
        ("workspaces/../", False),
        ("workspaces/------------------------------------/", False),
    ],
)
def test_only_subject_prefixes_are_erasable(prefix: str, ok: bool) -> None:
    assert bool(contract.SUBJECT_PREFIX.match(prefix)) is ok
