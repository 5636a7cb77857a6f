"""Human-readable output by default, JSON for machines, progress on stderr for long work."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

# No emoji codes: ARNs are full of `:secret:`, `:key:` and the like, which must print as they are.
stdout = Console(emoji=False)
stderr = Console(stderr=True, emoji=False)


class Reporter:
    """Where a command writes: results to stdout (table/text or JSON), progress and notes to stderr."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode

    def note(self, message: str) -> None:
        """A progress note for humans; silent with --json so stdout and stderr stay machine-clean."""
        if not self.json_mode:
            stderr.print(message, highlight=False)

    def result(self, data: Any, render: Callable[[Console], None]) -> None:
        """The command's result: `data` as JSON with --json, else whatever `render` prints."""
        if self.json_mode:
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        else:
            render(stdout)

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """A long step shown with a spinner and its elapsed time."""
        if self.json_mode:
            yield
            return
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=stderr, transient=True
        ) as progress:
            progress.add_task(description, total=None)
            yield
        stderr.print(f"[green]✓[/green] {description}", highlight=False)

    @contextmanager
    def download(self, description: str, total_bytes: int | None) -> Iterator[Callable[[int], None]]:
        """A download with a byte counter; yields a function to report each chunk's size."""
        if self.json_mode:
            yield lambda _size: None
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        ) as progress:
            task = progress.add_task(description, total=total_bytes)
            yield lambda size: progress.advance(task, size)
        stderr.print(f"[green]✓[/green] {description}", highlight=False)
