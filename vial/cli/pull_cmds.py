"""``vial pull``: one command for the three sources an image comes from.

* ``oci://HOST/REPOSITORY[:TAG][@sha256:…]``: from an OCI registry (``dist_cmds``);
* a CID (``ipfs://``, ``/ipfs/``, ``cid:``, or anything else without a ``:``): from an IPFS node
  (``ipfs_cmds``);
* ``NAME:VERSION`` (anything else): a release of a followed (or the local) log, by the CID it records, its proof
  and manifest digest checked (``vial get``, ``vial.registry.log.follow.get_release``).

Both other modules define a ``pull`` of their own; this module imports them first and then
registers itself, so this one is the ``pull`` the group knows whichever module was loaded first.
"""

from __future__ import annotations

import click

import vial.cli.dist_cmds as dist_cmds
import vial.cli.follow_cmds as follow_cmds
import vial.cli.ipfs_cmds as ipfs_cmds
from vial.cli import cli
from vial.cli.output import json_option
from vial.errors import VialError


@cli.command("pull")
@click.argument("source", metavar="oci://HOST/REPO[:TAG] | CID | NAME:VERSION")
@click.option("--node", metavar="URL", help="IPFS: Kubo RPC API address (default: $VIAL_IPFS_API).")
@dist_cmds.insecure_option
@click.option("--name", help="Registry: name it NAME:VERSION in the store (default REPOSITORY:TAG).")
@click.option("--no-attestations", is_flag=True, help="Registry: pull the image only, not its attestations.")
@click.option("--log", "origin", default=None, metavar="ORIGIN", help="NAME:VERSION: which followed log.")
@json_option
@click.pass_context
def pull(
    ctx: click.Context,
    source: str,
    node: str | None,
    insecure: bool | None,
    name: str | None,
    no_attestations: bool,
    origin: str | None,
    as_json: bool,
) -> None:
    """Pull an image from a registry, from IPFS by CID, or as a published NAME:VERSION; verify it all."""
    from vial.registry.ipfs.images import CID_REF_PREFIXES, parse_cid_ref

    def refuse(option: str, given: object, kind: str) -> None:
        if given:
            raise VialError(f"{option} does not apply to {kind} {source}")

    if source.startswith("oci://"):
        refuse("--node", node, "registry reference")
        refuse("--log", origin, "registry reference")
        ctx.invoke(
            dist_cmds.pull,
            source=source,
            insecure=insecure,
            name=name,
            no_attestations=no_attestations,
            as_json=as_json,
        )
        return
    if "/" in source and not source.startswith(CID_REF_PREFIXES):
        # Project names have no "/": this is a registry reference without its scheme.
        raise VialError(f"{source}: not an oci:// reference (did you mean oci://{source}?)")
    for option, given in (("--insecure", insecure), ("--name", name), ("--no-attestations", no_attestations)):
        refuse(option, given, "IPFS source")
    if source.startswith(CID_REF_PREFIXES) or ":" not in source:
        # A CID (prefixed, or bare: then the IPFS pull says what is wrong with it, if anything).
        refuse("--log", origin, "CID")
        cid = parse_cid_ref(source) if source.startswith(CID_REF_PREFIXES) else None
        ctx.invoke(ipfs_cmds.pull_cmd, cid=str(cid) if cid else source, node=node, as_json=as_json)
        return
    ctx.invoke(follow_cmds.get_cmd, name_version=source, node=node, origin=origin, as_json=as_json)
