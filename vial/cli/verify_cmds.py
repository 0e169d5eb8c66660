"""``vial verify`` (integrity, signatures, policy; optional signed VSA) and ``vial trust`` (trusted signers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vial.cli import cli
from vial.cli.options import json_option, prompt_password
from vial.cli.output import Output, emit_json


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
    from vial.api import VsaOutputNeeded
    from vial.api import verify as verify_image

    try:
        report = verify_image(
            ref,
            policy=policy_file,
            full=full,
            vsa_key=vsa_key,
            password=prompt_password,
            vsa_output=vsa_output,
            log=out.status,
        )
    except VsaOutputNeeded as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        emit_json(report.to_json())
    else:
        print_report(report.result)
    sys.exit(0 if report.verified else 2)


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
