"""``vial share``, ``follow``, ``get``: a release log shared over IPFS and IPNS, followed with no server."""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

import click

from vial.cli import cli
from vial.cli.output import Output, emit_json, json_option
from vial.errors import ServiceError
from vial.home import default_home
from vial.registry.ipfs.kubo import ENV_API
from vial.registry.ipfs.unixfs import DEFAULT_PROFILE, PROFILES
from vial.registry.log.releases import ORIGIN_ENV, split_ref
from vial.store import Store

if TYPE_CHECKING:
    from vial.registry.ipfs.ipns import IpnsClient

node_option = click.option(
    "--node",
    "node",
    metavar="URL",
    help=f"Kubo RPC API address, e.g. http://127.0.0.1:5001 (default: ${ENV_API}).",
)


def _client(node: str | None, what: str) -> IpnsClient:
    from vial.registry.ipfs.ipns import IpnsClient

    url = node or os.environ.get(ENV_API)
    if not url:
        raise ServiceError(f"no IPFS node to {what}: pass --node URL or set ${ENV_API}")
    return IpnsClient(url)


@cli.command("share")
@click.option(
    "--log",
    "origin",
    envvar=ORIGIN_ENV,
    default=None,
    metavar="ORIGIN",
    help="Which log (default: $VIAL_LOG, else vial.local/releases).",
)
@node_option
@click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default=DEFAULT_PROFILE,
    show_default=True,
    help="UnixFS import profile.",
)
@json_option
@click.pass_obj
def share_cmd(out: Output, origin: str | None, node: str | None, profile: str, as_json: bool) -> None:
    """Pin the release log to an IPFS node and publish it under the log's IPNS name."""
    from vial.registry.log.follow import share

    with _client(node, "share the log on") as client:
        result = share(default_home(), origin, client, profile)
    if as_json:
        emit_json(
            {
                "origin": result.origin,
                "name": result.name,
                "cid": str(result.cid),
                "size": result.size,
                "key": result.key,
                "key_created": result.key_created,
                "node": result.node,
            }
        )
    else:
        out.status(f"shared log {result.origin} ({result.size} records) as /ipfs/{result.cid}")
        click.echo(result.name)


@cli.command("follow")
@click.argument("ipns_name", metavar="IPNS-NAME", required=False)
@node_option
@click.option(
    "--key", "key", default=None, metavar="VKEY", help="The log's verifier key (instead of trust on first use)."
)
@click.option("--list", "list_", is_flag=True, help="List the logs this VIAL_HOME follows.")
@json_option
@click.pass_obj
def follow_cmd(
    out: Output, ipns_name: str | None, node: str | None, key: str | None, list_: bool, as_json: bool
) -> None:
    """Fetch the log an IPNS name points to, verify it, and follow it (refusing rollback and forks)."""
    from vial.registry.log.follow import Follows, follow

    if list_ or not ipns_name:
        records = Follows(default_home()).all()
        if as_json:
            emit_json({"follows": [vars(r) for r in records]})
        else:
            for r in records:
                click.echo(f"{r.origin}\t{r.ipns}\t{r.size}\t{r.cid}")
        return
    with _client(node, "resolve the name with") as client:
        result = follow(default_home(), ipns_name, client, key)
    if as_json:
        emit_json(
            {
                "name": result.ipns,
                "origin": result.origin,
                "cid": str(result.cid),
                "size": result.size,
                "root_hash": base64.b64encode(result.root).decode(),
                "trusted_before": result.trusted_before,
                "verifier": result.verifier,
                "key_source": result.key_source,
            }
        )
    else:
        seen = "first use" if result.trusted_before is None else f"was {result.trusted_before}"
        out.status(f"log {result.origin}: {result.size} records ({seen}; key: {result.key_source})")
        click.echo(result.origin)


@cli.command("get")
@click.argument("name_version", metavar="NAME:VERSION")
@node_option
@click.option("--log", "origin", default=None, metavar="ORIGIN", help="Which followed log (default: search them all).")
@json_option
@click.pass_obj
def get_cmd(out: Output, name_version: str, node: str | None, origin: str | None, as_json: bool) -> None:
    """Pull a published NAME:VERSION by the CID its log records (proof and digest checked), tag it."""
    from vial.registry.log.follow import get_release

    name, version = split_ref(name_version)
    with _client(node, f"pull {name_version} from") as client:
        result = get_release(Store(), client, name, version, origin)
    if as_json:
        emit_json(
            {
                "ref": result.ref,
                "cid": str(result.cid),
                "manifest": result.manifest,
                "origin": result.origin,
                "index": result.index,
            }
        )
    else:
        out.status(f"pulled {result.ref} from /ipfs/{result.cid} (log {result.origin}, record {result.index})")
        click.echo(result.manifest)
