"""Runbooks as executable documents: `runbooks/*.md` parsed into marked shell blocks, local ones run in CI.

A fenced block's info string says where it runs: ```` ```sh local ```` (the local stack; CI runs it),
```` ```sh local verify ```` (a local block whose exit status proves the runbook worked) or
```` ```sh aws ```` (AWS stacks only; never run here). runbooks/README.md explains the conventions.
"""

from idpkit.runbooks.commands import CommandProblem, check_command, commands_in_code, idpkit_commands
from idpkit.runbooks.executor import RunResult, StepFailure, run_local_blocks
from idpkit.runbooks.markdown import Block, MarkdownError, Runbook, parse_runbook

__all__ = [
    "Block",
    "CommandProblem",
    "MarkdownError",
    "RunResult",
    "Runbook",
    "StepFailure",
    "check_command",
    "commands_in_code",
    "idpkit_commands",
    "parse_runbook",
    "run_local_blocks",
]
