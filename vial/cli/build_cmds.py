"""Commands that make images: init, lock, build, images."""

from __future__ import annotations

from pathlib import Path

import click

from vial.builders.intake.init import init_project
from vial.cli import cli
from vial.cli.options import json_option
from vial.cli.output import Output, emit_json
from vial.errors import VialError
from vial.store import Store

project_argument = click.argument(
    "project_dir", default=".", type=click.Path(file_okay=False, path_type=Path), metavar="[DIR]"
)


@cli.command()
@project_argument
@click.option("--force", is_flag=True, help="Overwrite an existing vial.toml.")
@click.pass_obj
def init(out: Output, project_dir: Path, force: bool) -> None:
    """Write a starter vial.toml in DIR (detects requirements.txt, pyproject.toml, apt.txt)."""
    if not project_dir.is_dir():
        raise VialError(f"{project_dir}: no such directory")
    path = init_project(project_dir, force)
    out.status(f"wrote {path}")


@cli.command()
@project_argument
@click.option("--upgrade", is_flag=True, help="Resolve every package again, even if the spec did not change.")
@json_option
@click.pass_obj
def lock(out: Output, project_dir: Path, upgrade: bool, as_json: bool) -> None:
    """Resolve every input to a content hash and write vial.lock."""
    from vial.api import lock as lock_project

    with out.progress("locking"):
        result = lock_project(project_dir, upgrade=upgrade, log=out.status)
    if as_json:
        emit_json(result.to_json())
    else:
        out.status(f"locked {result.debian} Debian packages, {result.python} wheels, {result.files} files")
        click.echo(str(result.lock))


@cli.command()
@project_argument
@click.option("--locked", is_flag=True, help="Refuse to build if vial.lock does not match the project exactly.")
@click.option(
    "--output",
    "output_path",
    type=click.Path(path_type=Path),
    help="Also export the image: a directory (OCI layout) or FILE.tar (OCI archive).",
)
@json_option
@click.pass_obj
def build(out: Output, project_dir: Path, locked: bool, output_path: Path | None, as_json: bool) -> None:
    """Build DIR into a reproducible OCI image in the store; prints the manifest digest."""
    from vial.api import build as build_project

    with out.progress("building"):
        result = build_project(project_dir, locked=locked, output=output_path, log=out.status)
    if as_json:
        emit_json(result.to_json())
    else:
        rebuilt = ", ".join(result.rebuilt) or "none (all layers cached)"
        out.status(f"built {result.name}: {len(result.layers)} layers, rebuilt {rebuilt}")
        click.echo(result.digest)


@cli.command()
@json_option
def images(as_json: bool) -> None:
    """List the images in the store."""
    store = Store()
    rows = [{"name": name, "digest": d.digest, "size": d.size} for name, d in store.names()]
    if as_json:
        emit_json({"images": rows})
        return
    for row in rows:
        click.echo(f"{row['name']:<40} {row['digest']}")
