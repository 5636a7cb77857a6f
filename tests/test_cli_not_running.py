"""Every command that acts on a running stack says so when the stack is not up: exit 3 and a hint, before it
does anything, never a traceback. The commands come from the command tree itself, so a new one is covered."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from idpkit.cli import cli
from idpkit.errors import ExitCode

OFFLINE = {
    "review": "writes the report from the last recorded runs; offline by design",
    "certs": "issues and revokes client certificates from files in the state directory",
}
"""Commands (or groups) that take --stack but do not need the stack running, and why."""


def _stack_commands(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            child = command.get_command(context, name)
            if child is not None:
                yield from _stack_commands(child, (*path, name))
    elif any(isinstance(p, click.Option) and "--stack" in p.opts for p in command.params):
        yield path, command


def _accepts_local(command: click.Command) -> bool:
    stack = next(p for p in command.params if isinstance(p, click.Option) and "--stack" in p.opts)
    return not isinstance(stack.type, click.Choice) or "local" in stack.type.choices


ONLINE = [
    (path, command) for path, command in _stack_commands(cli, ()) if path[0] not in OFFLINE and _accepts_local(command)
]
COMMANDS = [pytest.param(path, command, id=" ".join(path)) for path, command in ONLINE]


def test_the_command_tree_yields_the_stack_commands() -> None:
    names = {" ".join(path) for path, _command in ONLINE}
    assert {"outputs", "realm apply", "smoke", "keys rotate"} <= names, f"command tree walk found only {names}"


@pytest.mark.parametrize(("path", "command"), COMMANDS)
def test_command_on_a_stack_not_up_exits_3_with_a_hint(
    path: tuple[str, ...], command: click.Command, tmp_path: Path
) -> None:
    confirm = ["--yes"] if any(isinstance(p, click.Option) and "--yes" in p.opts for p in command.params) else []
    completed = subprocess.run(
        [sys.executable, "-m", "idpkit", *path, "--stack", "local", *confirm],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "IDPKIT_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert "Traceback" not in output, f"idpkit {' '.join(path)}: a traceback reached the user:\n{output[-2000:]}"
    assert completed.returncode == ExitCode.NOT_RUNNING, (
        f"idpkit {' '.join(path)} on a stack that is not up exited {completed.returncode}, not "
        f"{ExitCode.NOT_RUNNING}:\n{output[-2000:]}"
    )
    assert "hint: run `idpkit local up` first" in output, f"idpkit {' '.join(path)}: no hint given:\n{output[-2000:]}"
