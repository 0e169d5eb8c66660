"""``vial keygen``, ``sign``, ``attest``, ``verify-attestation``, ``attestations``, ``provenance``, ``sbom``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vial.cli import cli
from vial.cli.options import F, json_option, prompt_password
from vial.cli.output import Output, emit_json

if TYPE_CHECKING:
    from vial.store import Store


def _store() -> Store:
    from vial.store import Store

    return Store()


signing_options = [
    click.option(
        "--key",
        "key",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Sign with this private key (vial keygen or cosign generate-key-pair); passphrase from $VIAL_PASSWORD.",
    ),
    click.option(
        "--identity-token",
        help="Keyless: an OIDC token (else $SIGSTORE_ID_TOKEN, ambient CI credentials, or a browser).",
    ),
    click.option(
        "--trust-config",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Keyless: a Sigstore ClientTrustConfig JSON for a private instance.",
    ),
    click.option("--staging", is_flag=True, help="Keyless: use Sigstore's staging instance."),
]


def _with(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@cli.command()
@click.option("--type", "kind", type=click.Choice(["ecdsa-p256", "ed25519"]), default="ecdsa-p256", show_default=True)
@click.option(
    "--output-prefix", default="vial", show_default=True, help="Writes PREFIX.key (encrypted) and PREFIX.pub."
)
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@json_option
@click.pass_obj
def keygen(out: Output, kind: str, output_prefix: str, force: bool, as_json: bool) -> None:
    """Write a signing key pair; the private key is encrypted (cosign's format) with a passphrase."""
    from vial.attest.signing import keys

    private_path, public_path = Path(f"{output_prefix}.key"), Path(f"{output_prefix}.pub")
    for path in (private_path, public_path):
        if path.exists() and not force:
            from vial.attest.errors import KeyFileError

            raise KeyFileError(f"{path}: exists (use --force to overwrite)")
    password = prompt_password(confirm=True)
    key = keys.generate(kind)  # type: ignore[arg-type]
    keys.write_keypair(key, password, private_path, public_path, force=force)
    if as_json:
        emit_json({"private_key": str(private_path), "public_key": str(public_path), "type": kind, "hint": key.hint})
    else:
        out.status(f"wrote {private_path} (encrypted) and {public_path}")
        click.echo(public_path)


@cli.command()
@click.argument("ref")
@_with(signing_options)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write provenance.sigstore.json and sbom.sigstore.json here.",
)
@json_option
@click.pass_obj
def sign(
    out: Output,
    ref: str,
    key: Path | None,
    identity_token: str | None,
    trust_config: Path | None,
    staging: bool,
    output_dir: Path | None,
    as_json: bool,
) -> None:
    """Sign the build's SLSA provenance and CycloneDX SBOM; store both as referrers of the image."""
    from vial.api import sign as sign_image

    signed = sign_image(
        ref,
        key=key,
        password=prompt_password,
        identity_token=identity_token,
        trust_config=trust_config,
        staging=staging,
        output_dir=output_dir,
        log=out.status,
    )
    results = [item.to_json() for item in signed.attestations]
    if as_json:
        emit_json(signed.to_json())
    else:
        for item in results:
            click.echo(f"{item['predicate_type']}\t{item['referrer']}\t{item['signer']}")


@cli.command()
@click.argument("ref")
@click.option(
    "--predicate",
    "predicate_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The predicate: a JSON object.",
)
@click.option("--type", "predicate_type", required=True, help="The predicate type URI.")
@_with(signing_options)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the bundle here.")
@json_option
@click.pass_obj
def attest(
    out: Output,
    ref: str,
    predicate_file: Path,
    predicate_type: str,
    key: Path | None,
    identity_token: str | None,
    trust_config: Path | None,
    staging: bool,
    output: Path | None,
    as_json: bool,
) -> None:
    """Sign a predicate about an image (subject: its manifest digest); store it as a referrer."""
    from vial.api import attest as attest_image

    result = attest_image(
        ref,
        predicate_file,
        predicate_type,
        key=key,
        password=prompt_password,
        identity_token=identity_token,
        trust_config=trust_config,
        staging=staging,
        output=output,
        log=out.status,
    )
    if as_json:
        emit_json(result.to_json())
    else:
        item = result.attestation
        click.echo(f"{item.predicate_type}\t{item.referrer}\t{item.signer}")


@cli.command("verify-attestation")
@click.argument("ref")
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A bundle file (repeatable); default: every attestation stored with the image.",
)
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Public key (PEM).")
@click.option("--identity", help="Keyless: the signer's certificate SAN (e-mail or workflow URI).")
@click.option("--issuer", help="Keyless: the OIDC issuer URL.")
@click.option("--type", "predicate_type", help="Require this predicate type.")
@click.option("--staging", is_flag=True, help="Keyless: trust Sigstore's staging root (default: production).")
@click.option(
    "--trust-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Keyless: a ClientTrustConfig JSON (private instance).",
)
@click.option(
    "--trusted-root", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Keyless: a trusted_root.json."
)
@json_option
@click.pass_obj
def verify_attestation(
    out: Output,
    ref: str,
    bundles: tuple[Path, ...],
    key: Path | None,
    identity: str | None,
    issuer: str | None,
    predicate_type: str | None,
    staging: bool,
    trust_config: Path | None,
    trusted_root: Path | None,
    as_json: bool,
) -> None:
    """Verify attestations of an image: signature, signer, subject digest, payload and predicate type."""
    from vial.attest.errors import VerificationError
    from vial.attest.referrers import list_referrers, read_bundle
    from vial.attest.signing.keys import load_public_key
    from vial.attest.signing.verify import verify_keyless, verify_with_key
    from vial.errors import VialError

    if (key is None) == (identity is None and issuer is None):
        raise VialError("give either --key, or --identity and --issuer")
    if key is None and not (identity and issuer):
        raise VialError("keyless verification needs both --identity and --issuer")
    store = _store()
    digest = store.resolve(ref).digest
    items: list[tuple[str, bytes]] = []
    for path in bundles:
        items.append((str(path), path.read_bytes()))
    if not bundles:
        for referrer in list_referrers(store, digest, predicate_type):
            items.append((f"referrer {referrer.digest}", read_bundle(store, referrer)))
        if not items:
            raise VerificationError(
                f"no attestations stored for {digest}" + (f" of type {predicate_type}" if predicate_type else "")
            )
    public = load_public_key(key) if key is not None else None
    results = []
    for origin, raw in items:
        if public is not None:
            verified = verify_with_key(raw, public, digest, predicate_type, origin)
        else:
            verified = verify_keyless(
                raw,
                identity or "",
                issuer or "",
                digest,
                predicate_type,
                "staging" if staging else "production",
                trust_config,
                trusted_root,
                origin,
            )
        results.append(
            {"source": origin, "predicate_type": verified.statement.predicate_type, "signer": verified.signer}
        )
    if as_json:
        emit_json({"image": digest, "verified": results})
    else:
        for item in results:
            click.echo(f"verified\t{item['predicate_type']}\t{item['signer']}\t{item['source']}")


@cli.command()
@click.argument("ref")
@click.option("--type", "predicate_type", help="Only this predicate type.")
@json_option
def attestations(ref: str, predicate_type: str | None, as_json: bool) -> None:
    """List the attestations stored with an image (OCI referrers)."""
    from vial.attest.referrers import list_referrers

    store = _store()
    digest = store.resolve(ref).digest
    found = list_referrers(store, digest, predicate_type)
    rows = [
        {
            "referrer": r.digest,
            "predicate_type": r.predicate_type,
            "signer": r.signer,
            "created": r.created,
            "bundle_digest": r.bundle.digest,
        }
        for r in found
    ]
    if as_json:
        emit_json({"image": digest, "attestations": rows})
    else:
        for row in rows:
            click.echo(f"{row['created']}\t{row['predicate_type']}\t{row['signer']}\t{row['referrer']}")


@cli.command()
@click.argument("ref")
def provenance(ref: str) -> None:
    """Print the (unsigned) SLSA provenance statement of an image, from its build record."""
    from vial.attest.imagesign import subject_name
    from vial.attest.statements.provenance import provenance_statement
    from vial.buildinfo import read_record

    store = _store()
    digest = store.resolve(ref).digest
    statement = provenance_statement(read_record(store.root, digest), subject_name(ref, store, digest))
    emit_json(statement.to_json())


@cli.command()
@click.argument("ref")
def sbom(ref: str) -> None:
    """Print the CycloneDX SBOM (JSON) of an image, from its build record."""
    from vial.attest.imagesign import subject_name
    from vial.attest.statements.sbom import sbom_document
    from vial.buildinfo import read_record
    from vial.oci import ANNOTATION_LICENSES

    store = _store()
    image = store.image(ref)
    emit_json(
        sbom_document(
            read_record(store.root, image.digest),
            image.manifest.annotations.get(ANNOTATION_LICENSES),
            name=subject_name(ref, store, image.digest),
        )
    )
