"""Gate tools started while the synth is still running.

cfn-lint and checkov spend most of a small run importing themselves (about 0.6 s and 2 s here).
`python -m policy_gates <cdk.out> --after <synth command>` starts one process per tool that
imports the tool and then waits; the synth runs meanwhile (it keeps one core busy: Python and
jsii's Node take turns). When the synth is done, each waiting process is handed the exact command
line the gate would have run (or told to exit, when every template's result is cached), so the
findings are the tool's own, produced by the tool's own entry point; only the import happened
earlier. A process is used once.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

# What each tool's console script does, split at the point where it would read its arguments.
_ENTRY = {
    "cfn-lint": (
        "import json, sys\n"
        "import cfnlint.runner\n"
        "argv = json.loads(sys.stdin.readline() or 'null')\n"
        "if argv is None:\n"
        "    sys.exit(0)\n"
        "sys.argv = argv\n"
        "sys.exit(cfnlint.runner.main())\n"
    ),
    "checkov": (
        "import json, sys, warnings\n"
        "from checkov.main import Checkov\n"
        "argv = json.loads(sys.stdin.readline() or 'null')\n"
        "if argv is None:\n"
        "    sys.exit(0)\n"
        "sys.argv = argv\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore', category=SyntaxWarning)\n"
        "    sys.exit(Checkov(argv=argv[1:]).run())\n"
    ),
}

_waiting: dict[str, subprocess.Popen[str]] = {}
# A Prisma Cloud key in the environment would make checkov fetch policies (and, with --skip-download,
# refuse to run): the gate judges with the tools' own rules only.
_PLATFORM_VARIABLES = ("BC_API_KEY", "PRISMA_API_URL", "BC_API_URL")


def tool_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _PLATFORM_VARIABLES}


def start(tools: dict[str, Path]) -> None:
    """Start a waiting process per tool: {tool name: the tool's console script}."""
    for name, script in tools.items():
        python = script.with_name("python")
        _waiting[name] = subprocess.Popen(
            [str(python), "-P", "-c", _ENTRY[name]],  # -P: as the console script, nothing from the cwd
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=tool_env(),
        )


def run(name: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` (the tool's console script and its arguments) in the waiting process for `name`,
    or as a new process when none waits."""
    proc = _waiting.pop(name, None)
    if proc is None or proc.poll() is not None:
        return subprocess.run(argv, capture_output=True, text=True, env=tool_env())
    out, err = proc.communicate(json.dumps(argv) + "\n")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def stop() -> None:
    """Let every process that was not needed exit."""
    while _waiting:
        _, proc = _waiting.popitem()
        if proc.poll() is None:
            proc.communicate("null\n")
