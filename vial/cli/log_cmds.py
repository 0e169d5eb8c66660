"""``vial publish``, ``log``, ``show``, ``diff``, ``verify-release``, ``log-key``, ``log-trust``, ``log-verify``:
permanent versions recorded in a signed, append-only transparency log."""

from __future__ import annotations

from typing import Any

import click

from vial import strictjson
from vial.builders.diff import VersionDiff, diff_images, load_side
from vial.cli import cli
from vial.cli.options import json_option, log_option
from vial.cli.output import Output, emit_json
from vial.errors import VialError
from vial.registry.log.releases import (
    ReleaseLog,
    check_release_name,
    split_ref,
    verify_release_bundle,
)
from vial.registry.log.views import b64, head_json, proven_json
from vial.store import Store


def _short(digest: str) -> str:
    return digest[:19]


@cli.command()
@click.argument("ref")
@click.argument("name_version", metavar="NAME:VERSION")
@click.option("--cid", default=None, help="The image's IPFS CID, if it has one.")
@click.option(
    "--attestation",
    "attestations",
    multiple=True,
    metavar="DIGEST",
    help="An attestation's digest (repeatable); the image's attestations in the store are recorded anyway.",
)
@click.option("--no-discover", is_flag=True, help="Record only --attestation digests, not the image's store referrers.")
@log_option()
@json_option
@click.pass_obj
def publish(
    out: Output,
    ref: str,
    name_version: str,
    cid: str | None,
    attestations: tuple[str, ...],
    no_discover: bool,
    origin: str | None,
    as_json: bool,
) -> None:
    """Record image REF as NAME:VERSION, permanently, in the release log.

    The release names the image's manifest digest, its CID (--cid), its attestations (OCI referrers
    in the store, plus --attestation), the release of NAME before it, and the time."""
    from vial.api import publish as publish_image

    result = publish_image(
        ref,
        name_version,
        cid=cid,
        attestations=attestations,
        discover_attestations=not no_discover,
        origin=origin,
    )
    release = result.logged.release
    if as_json:
        emit_json(result.to_json())
    elif result.created:
        click.echo(
            f"published {release.ref} {release.manifest_digest} "
            f"(log {result.origin}, record {result.logged.index}, tree size {result.head.size})"
        )
    else:
        click.echo(
            f"{release.ref} is already published as {release.manifest_digest} "
            f"(record {result.logged.index}); nothing to do"
        )


@cli.command("log")
@click.argument("name")
@log_option()
@json_option
def log_history(name: str, origin: str | None, as_json: bool) -> None:
    """Every published version of NAME, oldest first, each proven to be in the signed log."""
    check_release_name(name)
    log = ReleaseLog(origin=origin)
    head, releases = log.history(name)
    if as_json:
        emit_json({"name": name, "checkpoint": head_json(head), "releases": [proven_json(p) for p in releases]})
        return
    if not releases:
        raise VialError(f"{name}: nothing published in log {log.origin}")
    rows = [("VERSION", "DIGEST", "CID", "PUBLISHED", "SIGNER", "RECORD")]
    for proven in releases:
        r = proven.logged.release
        rows.append(
            (r.version, _short(r.manifest_digest), r.cid or "-", r.published, r.signer, str(proven.logged.index))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    click.echo(
        f"log {log.origin}: {head.size} records, root {b64(head.checkpoint.root)}, "
        f"signed by {', '.join(head.signers)}; {len(releases)} inclusion proofs verified"
    )


@cli.command()
@click.argument("name_version", metavar="NAME:VERSION")
@log_option()
@json_option
def show(name_version: str, origin: str | None, as_json: bool) -> None:
    """One published version, with its inclusion proof checked against the signed checkpoint."""
    name, version = split_ref(name_version)
    proven = ReleaseLog(origin=origin).show(name, version)
    if as_json:
        emit_json({**proven_json(proven), "checkpoint": head_json(proven.head)})
        return
    r = proven.logged.release
    lines = [
        ("release", r.ref),
        ("manifest", r.manifest_digest),
        ("cid", r.cid or "-"),
        ("attestations", ", ".join(r.attestations) or "-"),
        ("previous", f"{r.previous.version} ({r.previous.manifest_digest})" if r.previous else "-"),
        ("published", r.published),
        ("signer", r.signer),
        ("log", f"{proven.head.checkpoint.origin}, record {proven.logged.index} of {proven.head.size}"),
        ("root", b64(proven.head.checkpoint.root)),
        ("inclusion", f"verified ({len(proven.proof)} hashes)"),
    ]
    for key, value in lines:
        click.echo(f"{key + ':':<14}{value}")


def _resolve(log: ReleaseLog, store: Store, ref: str) -> tuple[str, str]:
    """A published NAME:VERSION (proven in the log), else any store reference; returns (digest, label)."""
    if ":" in ref and not ref.startswith("sha256:"):
        try:
            name, version = split_ref(ref)
        except VialError:
            name = version = ""
        if name:
            head = log.head()
            logged = log.find(head, name, version)
            if logged is not None:
                log.prove(head, logged.index)
                return logged.release.manifest_digest, ref
    return store.resolve(ref).digest, ref


def _print_diff(diff: VersionDiff) -> None:
    click.echo(f"--- {diff.a.label} {diff.a.digest}")
    click.echo(f"+++ {diff.b.label} {diff.b.digest}")
    if diff.identical:
        click.echo("identical images")
        return
    for note in diff.notes:
        click.echo(f"note: {note}")
    for change in diff.base:
        click.echo(f"base {change.field}: {change.old} -> {change.new}")
    for label, changes in (("debian", diff.debian), ("python", diff.python), ("env", diff.env)):
        for c in changes:
            if c.change == "added":
                click.echo(f"{label} + {c.name} {c.new}")
            elif c.change == "removed":
                click.echo(f"{label} - {c.name} {c.old}")
            else:
                click.echo(f"{label} ~ {c.name} {c.old} -> {c.new} ({c.change})")
    for f in diff.files:
        if f.change == "added":
            click.echo(f"file + {f.path} ({f.new_size} bytes)")
        elif f.change == "removed":
            click.echo(f"file - {f.path} ({f.old_size} bytes)")
        else:
            click.echo(f"file ~ {f.path} ({f.old_size} -> {f.new_size} bytes)")
    for v in diff.config:
        click.echo(f"{v.field}: {v.old} -> {v.new}")


@cli.command()
@click.argument("a")
@click.argument("b")
@log_option()
@json_option
def diff(a: str, b: str, origin: str | None, as_json: bool) -> None:
    """What changed from A to B (published versions or store references): base, packages, files, env, cmd."""
    store = Store()
    log = ReleaseLog(origin=origin)
    digest_a, label_a = _resolve(log, store, a)
    digest_b, label_b = _resolve(log, store, b)
    result = diff_images(load_side(store, digest_a, label_a), load_side(store, digest_b, label_b))
    if as_json:
        emit_json(result.to_json())
    else:
        _print_diff(result)


@cli.command("verify-release")
@click.argument("bundle", type=click.File("r"))
@click.option("--key", "verifier_key", required=True, metavar="VKEY", help="The log's verifier key (vial log-key).")
@json_option
def verify_release(bundle: Any, verifier_key: str, as_json: bool) -> None:
    """Check offline that BUNDLE (what `vial show --json` printed; - for stdin) is in the log signed by VKEY."""
    data = strictjson.loads(bundle.read(), bundle.name)
    proven = verify_release_bundle(data, verifier_key)
    release = proven.logged.release
    if as_json:
        emit_json({**proven_json(proven), "checkpoint": head_json(proven.head)})
    else:
        click.echo(
            f"verified: {release.ref} {release.manifest_digest} is record {proven.logged.index} of "
            f"{proven.head.size} in log {proven.head.checkpoint.origin}, signed by {', '.join(proven.head.signers)}"
        )


@cli.command("log-trust")
@click.argument("verifier_key", metavar="VKEY")
@log_option()
def log_trust(verifier_key: str, origin: str | None) -> None:
    """Trust VKEY (from the log's owner, `vial log-key`) for the log, before first reading it."""
    log = ReleaseLog(origin=origin)
    verifier = log.trust_key(verifier_key)
    click.echo(f"log {log.origin}: trusting {verifier.to_key()}")


@cli.command("log-key")
@log_option()
@json_option
def log_key(origin: str | None, as_json: bool) -> None:
    """The log's verifier key (note format name+hash+key), to give to those who check it."""
    log = ReleaseLog(origin=origin)
    verifier = log.ensure_key()
    if as_json:
        emit_json({"origin": log.origin, "verifier_key": verifier.to_key(), "key_hash": f"{verifier.key_hash:08x}"})
    else:
        click.echo(verifier.to_key())


@cli.command("log-verify")
@log_option()
@json_option
def log_verify(origin: str | None, as_json: bool) -> None:
    """Rehash the whole log and check it against its signed checkpoint and the one this client trusts."""
    report = ReleaseLog(origin=origin).audit()
    if as_json:
        emit_json(
            {
                "origin": report.origin,
                "size": report.size,
                "root_hash": b64(report.root),
                "names": report.names,
                "trusted_before": report.trusted_before,
                "ok": True,
            }
        )
    else:
        trust = (
            "first use: checkpoint now trusted"
            if report.trusted_before is None
            else f"consistent with the checkpoint trusted before (size {report.trusted_before})"
        )
        click.echo(f"log {report.origin}: {report.size} records verified, root {b64(report.root)}; {trust}")


if __name__ == "__main__":  # ``python -m vial.cli.log_cmds``: these commands alone
    cli.main(prog_name="vial")
