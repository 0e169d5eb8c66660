"""IPFS commands: ``vial cid``, ``vial export --car``, ``vial import``, ``vial pin`` (``vial pull CID`` is in pull_cmds)."""

from __future__ import annotations

from pathlib import Path

import click

from vial.cli import cli
from vial.cli.options import json_option, node_option, profile_option
from vial.cli.output import Output, emit_json
from vial.registry.ipfs.images import export_car, image_cid, import_car
from vial.registry.ipfs.pinsvc import ENV_SERVICE, ENV_TOKEN
from vial.registry.ipfs.unixfs import Importer
from vial.store import Store

attestations_option = click.option(
    "--attestations",
    is_flag=True,
    help="Publish the image's attestations (its OCI referrers) in the layout too (another CID).",
)


@cli.command("cid")
@click.argument("target", metavar="PATH")
@profile_option()
@click.option("--hidden", is_flag=True, help="Include entries whose names start with a dot.")
@click.option(
    "--image",
    "is_image",
    is_flag=True,
    help="PATH is an image reference in the store: print the CID of its OCI layout.",
)
@attestations_option
@json_option
def cid_cmd(target: str, profile: str, hidden: bool, is_image: bool, attestations: bool, as_json: bool) -> None:
    """Print the IPFS CID of PATH (file or directory), computed locally, like `ipfs add --only-hash -Q`.

    With --image, PATH names an image in the store and the CID is that of the OCI layout
    `vial pin` would publish.
    """
    if is_image:
        cid, digest = image_cid(Store(), target, profile, attestations)
        if as_json:
            emit_json({"cid": str(cid), "profile": profile, "image": target, "manifest": digest})
        else:
            click.echo(str(cid))
        return
    with Importer(profile, hidden=hidden) as importer:
        node = importer.add_path(Path(target))
    if as_json:
        emit_json({"cid": str(node.cid), "profile": profile, "path": target, "size": node.tsize})
    else:
        click.echo(str(node.cid))


@cli.command("export")
@click.argument("ref")
@click.option(
    "--car",
    "car",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the image as a CAR v1 file.",
)
@profile_option()
@attestations_option
@json_option
@click.pass_obj
def export_cmd(out: Output, ref: str, car: Path, profile: str, attestations: bool, as_json: bool) -> None:
    """Export image REF's OCI layout as a UnixFS DAG in a CAR file."""
    cid, digest = export_car(Store(), ref, car, profile, attestations)
    if as_json:
        emit_json({"cid": str(cid), "manifest": digest, "car": str(car), "profile": profile})
    else:
        out.status(f"wrote {car} ({digest})")
        click.echo(str(cid))


@cli.command("import")
@click.argument("car", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def import_cmd(out: Output, car: Path, as_json: bool) -> None:
    """Import an image from a CAR file: every block and every OCI digest is checked first."""
    result = import_car(Store(), car)
    if as_json:
        emit_json({"cid": str(result.cid), "manifest": result.manifest, "ref": result.ref})
    else:
        out.status(f"imported {result.ref or result.manifest} from {car}")
        click.echo(result.manifest)


@cli.command("pin")
@click.argument("ref")
@node_option()
@attestations_option
@profile_option()
@click.option(
    "--service",
    "service_url",
    metavar="URL",
    help=f"Also ask this IPFS Pinning Service API to pin it (default: ${ENV_SERVICE}; token in ${ENV_TOKEN}).",
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the remote pin is pinned.")
@click.option(
    "--via",
    type=click.Choice(["add", "car"]),
    default="add",
    show_default=True,
    help="add: the node builds the DAG (its CID must equal vial's); car: send vial's blocks (dag import).",
)
@json_option
@click.pass_obj
def pin_cmd(
    out: Output,
    ref: str,
    node: str | None,
    attestations: bool,
    profile: str,
    service_url: str | None,
    wait: bool,
    via: str,
    as_json: bool,
) -> None:
    """Pin image REF to IPFS and print its CID.

    With a node (--node or $VIAL_IPFS_API) the OCI layout is added to Kubo with the profile's
    parameters and pinned, refused if Kubo's CID differs from vial's. With no node, a CAR is
    written under the store (cars/<cid>.car) and the CID is recorded. With a pinning service,
    the service is then asked to pin the CID, fetching it from the node.
    """
    from vial.api import pin

    result = pin(
        ref,
        node=node,
        attestations=attestations,
        profile=profile,
        service=service_url,
        wait=wait,
        via=via,  # type: ignore[arg-type]
        log=out.status,
    )
    if as_json:
        emit_json(result.to_json())
    else:
        out.status(f"pinned {result.manifest} " + (f"on {result.node}" if result.node else f"as {result.car}"))
        if result.remote is not None:
            out.status(f"remote pin {result.remote.requestid}: {result.remote.status}")
        click.echo(result.cid)
