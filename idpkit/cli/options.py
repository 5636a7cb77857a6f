"""Options shared by every command."""

from __future__ import annotations

import click

stack_option = click.option(
    "--stack",
    "stack",
    default="local",
    show_default=True,
    metavar="NAME",
    help="Stack to act on: `local`, or an AWS stack (dev, staging, prod) deployed with Pulumi.",
)
json_option = click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON only.")
