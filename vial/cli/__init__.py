"""The ``vial`` command line: a thin layer over the library (each command lives in its own module).

Every command reports failure as one line on stderr (``vial: error: ...``) and a non-zero exit;
``--json`` prints one JSON object on stdout wherever the output is data.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from vial import __version__
from vial.cli.output import Output, fail
from vial.errors import VialError


class VialGroup(click.Group):
    """A click group that turns every expected error into one line, and any other into one line too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VialError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if os.environ.get("VIAL_DEBUG"):
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (set VIAL_DEBUG=1 for a traceback)", 70)


@click.group(cls=VialGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="vial")
@click.option("-q", "--quiet", is_flag=True, help="No progress output; errors only.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool) -> None:
    """vial: turn a research project into a permanent, versionable, attested container."""
    ctx.obj = Output(quiet=quiet)


def _register() -> None:
    # Import command modules for their side effect of adding commands to ``cli``.
    from vial.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    _register()
    cli.main(args=argv, prog_name="vial")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
