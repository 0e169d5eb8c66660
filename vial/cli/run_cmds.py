"""``vial run``: run an image from the store in a container."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vial.cli import cli
from vial.cli.output import Output
from vial.policies.runtime_docker import RunOptions, run_image
from vial.registry.store import Store


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("ref")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--outputs", type=click.Path(file_okay=False, path_type=Path), help="Directory mounted read-write at /outputs.")
@click.option("--network", is_flag=True, help="Give the container the host's network (off by default).")
@click.option("--memory", help="Memory limit, e.g. 2g.")
@click.option("--cpus", type=float, help="CPU limit, e.g. 1.5.")
@click.option("-e", "--env", "env", multiple=True, help="KEY=VALUE set in the container (repeatable).")
@click.pass_obj
def run(
    out: Output,
    ref: str,
    command: tuple[str, ...],
    outputs: Path | None,
    network: bool,
    memory: str | None,
    cpus: float | None,
    env: tuple[str, ...],
) -> None:
    """Run image REF (name[:version] or digest), optionally with a command after --."""
    store = Store()
    image = store.image(ref)
    options = RunOptions(
        command=list(command),
        network=network,
        outputs=outputs,
        env=dict(item.split("=", 1) for item in env if "=" in item),
        memory=memory,
        cpus=cpus,
    )
    code = run_image(store, image, options, log=out.status)
    sys.exit(code)
