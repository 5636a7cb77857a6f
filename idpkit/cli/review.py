"""`idpkit review`: the security review report of a stack, offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from idpkit.cli.options import stack_option
from idpkit.console import stderr
from idpkit.errors import ExitCode

FORMATS = ("html", "md")


@click.command()
@stack_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="html",
    show_default=True,
    help="Markdown (for diffs and pull requests) or a self-contained HTML page (for auditors).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (default: standard output).")  # fmt: skip
def review(stack: str, output_format: str, out: Path | None) -> None:
    """Write the security review of the stack: every security setting with its value, the rule that
    enforces it, the requirements it satisfies and the smoke checks that prove them; exceptions;
    environments side by side; the latest smoke run. Runs offline.

    Exit 0 only on PASS. 1 on FAIL (a rule finding not waived, an exception expired, a smoke test
    failed) and on INCOMPLETE (no smoke run recorded, tests skipped or not run, a setting no smoke check
    proves); the report says which, and is written either way.
    """
    # Imported here: the review pulls in Pulumi (for the offline AWS graph), which hosts that only
    # rotate keys or run smoke checks do not install.
    from idpkit.review import render_html, render_md  # noqa: PLC0415
    from idpkit.review.collect import collect  # noqa: PLC0415
    from idpkit.review.model import Verdict  # noqa: PLC0415
    from idpkit.review.summary import summarize  # noqa: PLC0415
    from idpkit.review.traceability import trace  # noqa: PLC0415

    result = collect(stack)
    verdict = summarize(result, trace(result)).verdict
    text = (render_html if output_format == "html" else render_md).render(result)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
        stderr.print(f"review of {stack} written to {out}", highlight=False)
    if verdict is Verdict.FAIL:
        stderr.print(f"[bold red]FAIL:[/bold red] the {stack} stack does not meet its rules (see the report)")
    elif verdict is Verdict.INCOMPLETE:
        stderr.print(
            f"[bold yellow]INCOMPLETE:[/bold yellow] not everything is proven on the {stack} stack (see the report)"
        )
    sys.exit(ExitCode.OK if verdict is Verdict.PASS else ExitCode.ERROR)
