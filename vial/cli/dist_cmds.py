"""``vial push`` and ``vial pull``: images and their attestations to and from OCI registries."""

from __future__ import annotations

import click

from vial.cli import cli
from vial.cli.output import Output, emit_json, json_option

insecure_option = click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Plain HTTP to the registry (automatic for 127.0.0.1 and localhost).",
)


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
    from vial.registry.oci.distribution import push as push_image
    from vial.registry.oci.reference import parse_reference
    from vial.store import Store

    destination = parse_reference(target)
    result = push_image(
        Store(),
        ref,
        destination,
        insecure=insecure,
        attestations=not no_attestations,
        chunk_size=chunk_size,
        mount_from=mount_from,
        log=out.status,
    )
    if as_json:
        emit_json(
            {
                "reference": str(result.target),
                "digest": result.digest,
                "uploaded": result.uploaded,
                "skipped": result.skipped,
                "mounted": result.mounted,
                "referrers": list(result.referrers),
                "referrers_mode": result.referrers_mode,
            }
        )
    else:
        out.status(
            f"pushed {result.uploaded} blobs ({result.skipped} already there, {result.mounted} mounted), "
            f"{len(result.referrers)} attestations"
        )
        click.echo(str(result.target))


@cli.command()
@click.argument("source", metavar="oci://HOST/REPOSITORY[:TAG][@sha256:...]")
@insecure_option
@click.option("--name", help="Name it NAME:VERSION in the store (default REPOSITORY:TAG, or REPOSITORY:sha256-HEX).")
@click.option("--no-attestations", is_flag=True, help="Pull the image only, not its attestations.")
@json_option
@click.pass_obj
def pull(
    out: Output, source: str, insecure: bool | None, name: str | None, no_attestations: bool, as_json: bool
) -> None:
    """Pull an image and its attestations into the store, verifying every digest; print its digest."""
    from vial.registry.oci.distribution import pull as pull_image
    from vial.registry.oci.reference import parse_reference
    from vial.store import Store

    origin = parse_reference(source)  # anything but oci://... is refused here with one line
    if name is not None and (":" not in name or name.startswith(":") or name.endswith(":")):
        from vial.errors import VialError

        raise VialError(f"--name {name!r}: expected NAME:VERSION")
    result = pull_image(Store(), origin, name=name, insecure=insecure, attestations=not no_attestations, log=out.status)
    if as_json:
        emit_json(
            {
                "reference": str(result.source),
                "digest": result.digest,
                "name": result.name,
                "downloaded": result.downloaded,
                "present": result.present,
                "referrers": list(result.referrers),
                "referrers_mode": result.referrers_mode,
            }
        )
    else:
        out.status(
            f"pulled {result.source} as {result.name} ({result.downloaded} blobs verified, "
            f"{len(result.referrers)} attestations)"
        )
        click.echo(result.digest)
