"""``vial pull`` (and ``vial get``): one command for the three sources an image comes from.

* ``oci://HOST/REPOSITORY[:TAG][@sha256:…]``: from an OCI registry;
* a CID (``ipfs://``, ``/ipfs/``, ``cid:``, or anything else without a ``:``): from an IPFS node;
* ``NAME:VERSION`` (anything else): a release of a followed (or the local) log, by the CID it records,
  its proof and manifest digest checked (also ``vial get``).

Which is which is decided by the library (``vial.api.pull``); this module prints the result.
"""

from __future__ import annotations

import click

from vial.api import IpfsPullResult, PullResult, RegistryPullResult
from vial.cli import cli
from vial.cli.options import insecure_option, json_option, log_option, node_option
from vial.cli.output import Output, emit_json


def _report(out: Output, result: PullResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_json())
        return
    if isinstance(result, RegistryPullResult):
        out.status(
            f"pulled {result.reference} as {result.name} ({result.downloaded} blobs verified, "
            f"{len(result.referrers)} attestations)"
        )
    elif isinstance(result, IpfsPullResult):
        out.status(f"pulled {result.ref or result.manifest}")
    else:
        out.status(f"pulled {result.ref} from /ipfs/{result.cid} (log {result.origin}, record {result.index})")
    click.echo(result.digest)


@cli.command("pull")
@click.argument("source", metavar="oci://HOST/REPO[:TAG] | CID | NAME:VERSION")
@node_option(help="IPFS: Kubo RPC API address (default: $VIAL_IPFS_API).")
@insecure_option
@click.option("--name", help="Registry: name it NAME:VERSION in the store (default REPOSITORY:TAG).")
@click.option("--no-attestations", is_flag=True, help="Registry: pull the image only, not its attestations.")
@log_option(help="NAME:VERSION: which followed log.", from_env=False)
@json_option
@click.pass_obj
def pull(
    out: Output,
    source: str,
    node: str | None,
    insecure: bool | None,
    name: str | None,
    no_attestations: bool,
    origin: str | None,
    as_json: bool,
) -> None:
    """Pull an image from a registry, from IPFS by CID, or as a published NAME:VERSION; verify it all."""
    from vial.api import pull as pull_image

    result = pull_image(
        source,
        node=node,
        insecure=insecure,
        name=name,
        attestations=not no_attestations,
        origin=origin,
        log=out.status,
    )
    _report(out, result, as_json)


@cli.command("get")
@click.argument("name_version", metavar="NAME:VERSION")
@node_option()
@log_option(help="Which followed log (default: search them all).", from_env=False)
@json_option
@click.pass_obj
def get(out: Output, name_version: str, node: str | None, origin: str | None, as_json: bool) -> None:
    """Pull a published NAME:VERSION by the CID its log records (proof and digest checked), tag it."""
    from vial.api import pull as pull_image
    from vial.registry.log.releases import split_ref

    split_ref(name_version)  # NAME:VERSION only (no registry reference, no CID)
    _report(out, pull_image(name_version, node=node, origin=origin, log=out.status), as_json)
