"""What the CLI shows: progress on stderr (rich), data on stdout (plain or ``--json``), errors as one line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def fail(message: str, code: int = 1) -> NoReturn:
    # One line, whatever the message holds.
    click.echo(f"vial: error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


class Output:
    """Progress and status for humans on stderr; silent with ``--quiet`` or when stderr is not a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False)

    def status(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message)

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Any]:
        """A progress bar (or spinner without ``total``); yields a callback ``advance(n, description=None)``."""
        if self.quiet:
            yield lambda *args, **kwargs: None
            return
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), DownloadColumn()]
        columns.append(TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(description, total=total)

            def advance(amount: int = 0, description: str | None = None) -> None:
                progress.update(task, advance=amount, description=description or progress.tasks[0].description)

            yield advance


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))
