"""``vial push``: an image and its attestations to an OCI registry (``vial pull`` is in pull_cmds)."""

from __future__ import annotations

import click

from vial.cli import cli
from vial.cli.options import insecure_option, json_option
from vial.cli.output import Output, emit_json


@cli.command()
@click.argument("ref")
@click.argument("target", metavar="oci://HOST/REPOSITORY[:TAG]")
@insecure_option
@click.option("--no-attestations", is_flag=True, help="Push the image only, not its attestations.")
@click.option(
    "--chunk-size", type=click.IntRange(min=1), help="Upload blobs larger than this many bytes in chunks (PATCH)."
)
@click.option("--mount-from", metavar="REPOSITORY", help="Mount blobs from this repository of the same registry.")
@json_option
@click.pass_obj
def push(
    out: Output,
    ref: str,
    target: str,
    insecure: bool | None,
    no_attestations: bool,
    chunk_size: int | None,
    mount_from: str | None,
    as_json: bool,
) -> None:
    """Push image REF and its attestations (as OCI referrers) to a registry; print where it is."""
    from vial.api import push as push_image

    result = push_image(
        ref,
        target,
        insecure=insecure,
        attestations=not no_attestations,
        chunk_size=chunk_size,
        mount_from=mount_from,
        log=out.status,
    )
    if as_json:
        emit_json(result.to_json())
    else:
        out.status(
            f"pushed {result.uploaded} blobs ({result.skipped} already there, {result.mounted} mounted), "
            f"{len(result.referrers)} attestations"
        )
        click.echo(result.reference)
