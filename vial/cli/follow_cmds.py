"""``vial share`` and ``follow`` (``vial get`` is in pull_cmds): a release log shared over IPFS and IPNS, followed with no server."""

from __future__ import annotations

import base64

import click

from vial.cli import cli
from vial.cli.options import json_option, log_option, node_option, profile_option
from vial.cli.output import Output, emit_json
from vial.home import default_home
from vial.registry.log.node import ipns_client


@cli.command("share")
@log_option(help="Which log (default: $VIAL_LOG, else vial.local/releases).")
@node_option()
@profile_option(help="UnixFS import profile.")
@json_option
@click.pass_obj
def share_cmd(out: Output, origin: str | None, node: str | None, profile: str, as_json: bool) -> None:
    """Pin the release log to an IPFS node and publish it under the log's IPNS name."""
    from vial.registry.log.follow import share

    with ipns_client(node, "share the log on") as client:
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
@node_option()
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
    with ipns_client(node, "resolve the name with") as client:
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
