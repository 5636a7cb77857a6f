"""The runbook parser and command checker on small documents: the guarantees the runbook tests rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from idpkit.cli import cli
from idpkit.runbooks import MarkdownError, check_command, idpkit_commands, parse_runbook

DOCUMENT = """# Title

## Steps

1. First.

   ```sh local
   X=1
   ```

2. Second.

   ```sh aws
   pulumi up --stack "$STACK"  # idpkit realm nonsense in a comment is ignored
   ```

## Verify

Run `idpkit realm plan --stack NAME` afterwards.

```sh local verify
idpkit realm plan --stack "$STACK" | jq .
```
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "runbook.md"
    path.write_text(text)
    return path


def test_blocks_keep_order_marks_section_and_step(tmp_path: Path) -> None:
    runbook = parse_runbook(_write(tmp_path, DOCUMENT))
    assert [(b.section, b.step, sorted(b.marks)) for b in runbook.blocks] == [
        ("Steps", "1", ["local"]),
        ("Steps", "2", ["aws"]),
        ("Verify", None, ["local", "verify"]),
    ]
    assert [b.code for b in runbook.local_blocks] == ["X=1\n", 'idpkit realm plan --stack "$STACK" | jq .\n']


@pytest.mark.parametrize(
    ("fence", "message"),
    [("```sh", "exactly one"), ("```sh local aws", "exactly one"), ("```sh aws verify", "local blocks only"),
     ("```sh lokal", "unknown mark")],
)  # fmt: skip
def test_a_shell_block_must_say_where_it_runs(tmp_path: Path, fence: str, message: str) -> None:
    with pytest.raises(MarkdownError, match=message):
        parse_runbook(_write(tmp_path, f"# T\n\n{fence}\necho hi\n```\n"))


def test_commands_come_from_blocks_and_inline_code_not_comments(tmp_path: Path) -> None:
    commands = idpkit_commands(parse_runbook(_write(tmp_path, DOCUMENT)))
    assert commands == ['idpkit realm plan --stack "$STACK"', "idpkit realm plan --stack NAME"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("idpkit realm plan --stack local --json", None),
     ("idpkit local logs keycloak -n 50", None),
     ("idpkit local status --stack local", "no option --stack"),
     ("idpkit realm frobnicate", "no command 'frobnicate'"),
     ("idpkit nonexistent status", "no command 'nonexistent'")],
)  # fmt: skip
def test_commands_resolve_against_the_real_command_line(text: str, problem: str | None) -> None:
    found = check_command(cli, text)
    if problem is None:
        assert found is None, f"{text!r}: {found}"
    else:
        assert found is not None and problem in found.message, f"{text!r}: expected {problem!r}, got {found}"
