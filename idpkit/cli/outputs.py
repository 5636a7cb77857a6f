"""`idpkit outputs`: the stack outputs contract."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from idpkit.cli.options import json_option, stack_option
from idpkit.console import Reporter
from idpkit.outputs import load_outputs


@click.command()
@stack_option
@json_option
def outputs(stack: str, json_mode: bool) -> None:
    """Print the stack's outputs (URLs, realm, issuer, CA bundle, admin credentials source)."""
    values = load_outputs(stack).to_dict()

    def render(console: Console) -> None:
        table = Table(title=f"stack {stack}", show_header=False)
        for key, value in values.items():
            table.add_row(key, str(value))
        console.print(table)

    Reporter(json_mode=json_mode).result(values, render)
