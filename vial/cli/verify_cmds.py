"""``vial verify`` (integrity, signatures, policy; optional signed VSA) and ``vial trust`` (trusted signers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vial.cli import cli
from vial.cli.output import Output, emit_json, json_option


def load_policy_or_default(policy_file: Path | None):  # type: ignore[no-untyped-def]
    from vial.policies.model.policy import load_policy
    from vial.policies.model.trust import default_policy

    return load_policy(policy_file) if policy_file is not None else default_policy()


def print_report(result: Any) -> None:
    click.echo(f"image   {result.digest or '?'}  ({result.ref}, {result.source})")
    if result.project:
        click.echo(f"project {result.project} {result.version or ''}".rstrip())
    click.echo(f"policy  {result.policy.name}: {result.policy.origin} ({result.policy.digest})")
    for attestation in result.attestations:
        who = ", ".join(attestation.signers) if attestation.signers else attestation.reason
        click.echo(f"  attestation {attestation.predicate_type}: {attestation.status}: {who}")
    for rule in result.rules:
        click.echo(f"  {'PASS' if rule.passed else 'FAIL'}  {rule.name}: {rule.detail}")
    click.echo("VERIFIED" if result.verified else "NOT VERIFIED")


@cli.command()
@click.argument("ref")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Policy file (YAML, docs/policy.md); default: provenance signed by a signer in `vial trust list`.",
)
@click.option(
    "--full", is_flag=True, help="Decompress and check every layer even if this image's layers were checked before."
)
@click.option(
    "--vsa",
    "vsa_key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sign a SLSA Verification Summary Attestation of the result with this private key.",
)
@click.option(
    "--vsa-output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the signed VSA bundle here (default: stored as a referrer when REF is in the store).",
)
@json_option
@click.pass_obj
def verify(
    out: Output,
    ref: str,
    policy_file: Path | None,
    full: bool,
    vsa_key: Path | None,
    vsa_output: Path | None,
    as_json: bool,
) -> None:
    """Verify image REF: every blob, every attestation, then the policy. Exit 0 only if all rules pass.

    REF is a store reference (name:version, name, digest), an OCI layout directory or a tar archive
    of one (PATH, or PATH@sha256:... when it holds several images).
    """
    from vial.policies.engine.source import open_source
    from vial.policies.engine.verify import verify_source

    with open_source(ref) as source:
        source.store.resolve(source.ref)  # an unknown REF is reported before any policy problem
        policy = load_policy_or_default(policy_file)
        signer = None
        if vsa_key is not None:
            from vial.attest.signing.keys import load_private_key
            from vial.attest.signing.sign import KeySigner
            from vial.cli.attest_cmds import _password

            signer = KeySigner(load_private_key(vsa_key, _password()))
        result = verify_source(source, policy, full=full)
        vsa_info = None
        if signer is not None:
            vsa_info = _sign_vsa(out, source, result, signer, vsa_output)
    if as_json:
        data = result.to_json()
        if vsa_info:
            data["vsa"] = vsa_info
        emit_json(data)
    else:
        print_report(result)
    sys.exit(0 if result.verified else 2)


def _sign_vsa(out: Output, source: Any, result: Any, signer: Any, output: Path | None) -> dict[str, Any]:
    from vial.attest.referrers import attach_bundle
    from vial.fsutil import atomic_write_bytes
    from vial.policies.engine.vsa import vsa_statement

    statement = vsa_statement(result, result.ref)
    bundle = signer.sign(statement)
    info: dict[str, Any] = {"predicate_type": statement.predicate_type, "signer": f"key {signer.key.hint}"}
    if output is not None:
        atomic_write_bytes(output, bundle)
        info["bundle"] = str(output)
    if source.writable and result.digest:
        referrer = attach_bundle(
            source.store, source.store.resolve(source.ref), bundle, statement.predicate_type, f"key {signer.key.hint}"
        )
        info["referrer"] = referrer.digest
    if output is None and not source.writable:
        raise click.UsageError("REF is not in the store: give --vsa-output FILE for the VSA")
    out.status(f"signed a VSA ({statement.predicate['verificationResult']}) for {result.digest}")
    return info


@cli.group()
def trust() -> None:
    """Signers trusted by default (when a command gets no --policy), kept in $VIAL_HOME/trust/."""


@trust.command("add-key")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="A name for this signer (default: the file's stem).")
def trust_add_key(public_key: Path, name: str | None) -> None:
    """Trust a public key (PEM) to sign provenance."""
    from vial.policies.model import trust as trust_lib

    added, fingerprint = trust_lib.add_key(public_key, name)
    click.echo(f"trusted {added}: key {fingerprint}")


@trust.command("add-identity")
@click.option("--issuer", required=True, help="OIDC issuer URL, e.g. https://token.actions.githubusercontent.com")
@click.option("--san", help="The exact certificate identity (e-mail or workflow URI).")
@click.option("--san-regex", help="Or a regular expression the whole identity must match.")
@click.option("--name", help="A name for this signer.")
@click.option(
    "--trusted-root",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A private Sigstore trusted_root.json (default: Sigstore's public instance).",
)
def trust_add_identity(
    issuer: str, san: str | None, san_regex: str | None, name: str | None, trusted_root: Path | None
) -> None:
    """Trust a Sigstore keyless identity (certificate SAN and OIDC issuer)."""
    from vial.policies.model import trust as trust_lib

    added = trust_lib.add_identity(issuer, san, san_regex, name, trusted_root)
    click.echo(f"trusted {added}: {san or '/' + str(san_regex) + '/'} from {issuer}")


@trust.command("remove")
@click.argument("name")
def trust_remove(name: str) -> None:
    """Stop trusting a signer."""
    from vial.policies.model import trust as trust_lib

    trust_lib.remove(name)
    click.echo(f"removed {name}")


@trust.command("list")
@json_option
def trust_list(as_json: bool) -> None:
    """List trusted signers."""
    from vial.policies.model import trust as trust_lib

    signers = trust_lib.listed()
    if as_json:
        emit_json({"signers": signers})
        return
    for name, entry in sorted(signers.items()):
        if "key" in entry:
            click.echo(f"{name}\tkey {entry.get('fingerprint', '')}")
        else:
            click.echo(
                f"{name}\t{entry.get('san') or '/' + str(entry.get('san_regex')) + '/'} from {entry.get('issuer')}"
            )
