"""IPFS commands: ``vial cid``, ``vial export --car``, ``vial import``, ``vial pin``, ``vial pull``."""

from __future__ import annotations

from pathlib import Path

import click

from vial.cli import cli
from vial.cli.output import Output, emit_json, json_option
from vial.errors import ServiceError
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.images import CID_REF_PREFIXES, export_car, image_cid, import_car, parse_cid_ref, pin, pull
from vial.registry.ipfs.kubo import ENV_API, KuboClient, client_from_env
from vial.registry.ipfs.pinsvc import ENV_SERVICE, ENV_TOKEN, service_from_env
from vial.registry.ipfs.unixfs import DEFAULT_PROFILE, PROFILES, Importer
from vial.store import Store

profile_option = click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default=DEFAULT_PROFILE,
    show_default=True,
    help="UnixFS import profile (IPIP-499).",
)
attestations_option = click.option(
    "--attestations",
    is_flag=True,
    help="Publish the image's attestations (its OCI referrers) in the layout too (another CID).",
)
node_option = click.option(
    "--node",
    "node",
    metavar="URL",
    help=f"Kubo RPC API address, e.g. http://127.0.0.1:5001 (default: ${ENV_API}).",
)


@cli.command("cid")
@click.argument("target", metavar="PATH")
@profile_option
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
@profile_option
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
@node_option
@attestations_option
@profile_option
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
    store = Store()
    client = client_from_env(node)
    service = service_from_env(service_url)
    if service is not None and client is None:
        raise ServiceError("remote pinning needs a node that serves the content: pass --node URL or set $" + ENV_API)
    remote = None
    try:
        result = pin(store, ref, client, profile, method=via, attestations=attestations)  # type: ignore[arg-type]
        if service is not None and client is not None:
            origins = [a for a in client.id().get("Addresses") or [] if "/p2p/" in a]
            out.status(f"asking {service.endpoint} to pin {result.cid}")
            remote = service.add(result.cid, name=ref, origins=origins, meta={"manifest": result.manifest})
            if wait:
                remote = service.wait(remote.requestid)
    finally:
        if client is not None:
            client.close()
        if service is not None:
            service.close()
    if as_json:
        emit_json(
            {
                "cid": str(result.cid),
                "manifest": result.manifest,
                "profile": result.profile,
                "car": str(result.car) if result.car else None,
                "node": result.node,
                "remote": remote.to_json() if remote else None,
            }
        )
    else:
        out.status(f"pinned {result.manifest} " + (f"on {result.node}" if result.node else f"as {result.car}"))
        if remote is not None:
            out.status(f"remote pin {remote.requestid}: {remote.status}")
        click.echo(str(result.cid))


@cli.command("pull")
@click.argument("cid")
@node_option
@json_option
@click.pass_obj
def pull_cmd(out: Output, cid: str, node: str | None, as_json: bool) -> None:
    """Fetch image CID from an IPFS node, check every block and OCI digest, add it to the store."""
    root = parse_cid_ref(cid) if cid.startswith(CID_REF_PREFIXES) else CID.parse(cid)
    assert root is not None  # a prefixed REF parses or raises
    client: KuboClient | None = client_from_env(node)
    if client is None:
        raise ServiceError(f"no IPFS node to pull {cid} from: pass --node URL or set ${ENV_API}")
    try:
        result = pull(Store(), client, root)
    finally:
        client.close()
    if as_json:
        emit_json({"cid": str(result.cid), "manifest": result.manifest, "ref": result.ref})
    else:
        out.status(f"pulled {result.ref or result.manifest}")
        click.echo(result.manifest)
