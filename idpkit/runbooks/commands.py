"""Find every `idpkit …` command a runbook names and check it against the real command line.

A runbook that names a command or an option the kit does not have fails the engineer at the worst
moment; walking the click group catches it in CI instead.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import click

from idpkit.runbooks.markdown import Runbook

# `idpkit` as a command word: not part of `idpkit-admin`, `idpkit/…` or `idpkit.cli`.
_INVOCATION = re.compile(r"(?<![\w./-])idpkit(?![\w./-])(?P<rest>[^|;&)<>#`\n]*)")
_INLINE_CODE = re.compile(r"`(?P<code>idpkit\s[^`]+)`")


@dataclass(frozen=True)
class CommandProblem:
    """Why `text` does not resolve to a real command, or names an option the command lacks."""

    text: str
    message: str
    missing_group: str | None
    """The top-level group that does not exist (`keys`), when that is the whole problem."""


def idpkit_commands(runbook: Runbook) -> list[str]:
    """Every `idpkit …` invocation in the runbook's shell blocks and inline code, in order, deduplicated."""
    found = [text for block in runbook.blocks for text in commands_in_code(block.code)]
    found += [match["code"].strip() for match in _INLINE_CODE.finditer(runbook.prose)]
    return list(dict.fromkeys(found))


def commands_in_code(code: str) -> list[str]:
    """The `idpkit …` invocations in shell code, each cut at the first pipe, redirection or comment."""
    return [
        f"idpkit{match['rest']}".strip()
        for line in code.replace("\\\n", " ").splitlines()
        for match in _INVOCATION.finditer(line.split(" #")[0])
    ]


def check_command(root: click.Group, text: str) -> CommandProblem | None:
    """None when `text` (`idpkit realm plan --stack "$STACK"`) names a real command with real options."""
    words = _words(text)[1:]
    command: click.Command = root
    path = ["idpkit"]
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        child = command.get_command(click.Context(command), words[0])
        if child is None:
            missing = words[0] if command is root else None
            return CommandProblem(text, f"`{' '.join(path)}` has no command {words[0]!r}", missing)
        command, path = child, [*path, words[0]]
        words = words[1:]
    known = {name for param in command.params for name in (*param.opts, *param.secondary_opts)} | {"-h", "--help"}
    unknown = [word.split("=")[0] for word in words if word.startswith("-") and word.split("=")[0] not in known]
    if unknown:
        return CommandProblem(text, f"`{' '.join(path)}` has no option {', '.join(unknown)}", None)
    return None


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote cut at `$(…)`: option names are still plain words
        return text.split()
