"""The kit's error type and the exit codes every command shares."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes with one meaning across all commands (scripts and schedulers rely on them)."""

    OK = 0
    ERROR = 1
    """The command failed; nothing it reports can be trusted."""
    CHANGES_PENDING = 2
    """`plan`/`drift`: the live state differs from the code."""
    NOT_RUNNING = 3
    """`status`: the stack is not up (or not healthy)."""
    USAGE = 64
    """Bad command-line usage (EX_USAGE); kept apart from 2, which means "changes pending"."""


class IdpkitError(Exception):
    """A failure the user can act on: printed as one clear message, never as a stack trace."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: ExitCode = ExitCode.ERROR):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
