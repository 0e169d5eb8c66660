"""The ``vial`` command line: a thin layer over the library (each command lives in its own module).

Every command reports failure as one line on stderr (``vial: error: ...``) and a non-zero exit;
``--json`` prints one JSON object on stdout wherever the output is data.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from vial.cli.output import Output, fail
from vial.errors import VialError
from vial.version import __version__


def _import_command_module(module: str) -> None:
    importlib.import_module(f"vial.cli.{module}")


def _import_all_commands() -> None:
    from vial.cli.commands import COMMAND_MODULES

    for module in sorted(set(COMMAND_MODULES.values())):
        _import_command_module(module)


class VialGroup(click.Group):
    """A click group that loads command modules lazily and turns every error into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        _import_all_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from vial.cli.commands import COMMAND_MODULES

        if cmd_name not in self.commands:
            module = COMMAND_MODULES.get(cmd_name)
            if module:
                _import_command_module(module)
            else:
                _import_all_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VialError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            # The reader went away (`vial ... | head`): stop quietly, as cat does, with SIGPIPE's status.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
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


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="vial")


if __name__ == "__main__":  # pragma: no cover
    main()
