"""Signing statements about images in a store: choose a signer, name the subject, attach the bundle.

What ``vial sign`` and ``vial attest`` do, as library functions (``vial.sign`` and ``vial.attest``
are built on them): a signer from a key file or a keyless Sigstore identity, the subject name of an
image (its ``name:version`` when the reference named one), the build's SLSA provenance and CycloneDX
SBOM statements, and the signed bundle stored as an OCI referrer of the image.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vial.attest.errors import KeyFileError
from vial.errors import VialError
from vial.progress import progress_logger

_progress = progress_logger(__name__)

if TYPE_CHECKING:
    from vial.attest.signing.sign import Signer
    from vial.attest.statements.statement import Statement
    from vial.oci import Descriptor
    from vial.store import Image, Store

PASSWORD_ENV = "VIAL_PASSWORD"

#: A private key's passphrase: the bytes, a string, a function asked only when the key is read, or
#: ``None`` (then ``$VIAL_PASSWORD``).
Password = bytes | str | Callable[[], bytes] | None


def resolve_password(password: Password = None) -> bytes:
    """The passphrase as bytes: ``password`` itself, what it returns, else ``$VIAL_PASSWORD``.

    >>> resolve_password("secret")
    b'secret'
    """
    if callable(password):
        return password()
    if isinstance(password, str):
        return password.encode()
    if password is not None:
        return password
    value = os.environ.get(PASSWORD_ENV)
    if value is None:
        raise KeyFileError(f"the key's passphrase is needed: set {PASSWORD_ENV} (no terminal to prompt on)")
    return value.encode()


def make_signer(
    key: Path | None = None,
    password: Password = None,
    identity_token: str | None = None,
    trust_config: Path | None = None,
    staging: bool = False,
) -> Signer:
    """A signer: with the private ``key`` (cosign format, decrypted with ``password``), else keyless.

    Keyless signing uses Sigstore: ``identity_token`` (else ``$SIGSTORE_ID_TOKEN``, ambient CI
    credentials, or a browser), on the public instance, its staging instance, or the private one
    ``trust_config`` describes.

    >>> signer = make_signer(Path("vial.key"), password=b"secret")  # doctest: +SKIP
    """
    from vial.attest.signing.keys import load_private_key
    from vial.attest.signing.sign import KeylessSigner, KeySigner

    if key is not None:
        if identity_token or trust_config or staging:
            raise VialError(
                "--key signs with a key: drop --identity-token, --trust-config and --staging (keyless options)"
            )
        return KeySigner(load_private_key(Path(key), resolve_password(password)))
    return KeylessSigner(trust_config, staging, identity_token)


def signer_label(signer: Signer) -> str:
    """How a signer is recorded beside its attestations: ``key <hint>`` or ``<identity> (<issuer>)``."""
    from vial.attest.signing.sign import KeySigner

    if isinstance(signer, KeySigner):
        return f"key {signer.key.hint}"
    token = getattr(signer, "_token", None)
    return f"{token.identity} ({token.issuer})" if token is not None else "keyless"


def subject_name(ref: str, store: Store, digest: str) -> str:
    """The statement subject's name: the store name ``ref`` resolved through, else the digest itself."""
    from vial.digest import is_digest

    if not is_digest(ref):
        for name, descriptor in store.names():
            if descriptor.digest == digest:
                return name
    return digest


def build_statements(store: Store, ref: str, image: Image | None = None) -> dict[str, Statement]:
    """The unsigned statements ``vial sign`` signs: ``{"provenance": SLSA v1, "sbom": CycloneDX}``."""
    from vial.attest.statements.provenance import provenance_statement
    from vial.attest.statements.sbom import sbom_statement
    from vial.buildinfo import read_record
    from vial.oci import ANNOTATION_LICENSES

    image = image or store.image(ref)
    record = read_record(store.root, image.digest)
    name = subject_name(ref, store, image.digest)
    return {
        "provenance": provenance_statement(record, name),
        "sbom": sbom_statement(record, image.manifest.annotations.get(ANNOTATION_LICENSES), name=name),
    }


@dataclass(frozen=True)
class Attestation:
    """One signed statement stored as a referrer of an image."""

    predicate_type: str
    referrer: str  # the referrer manifest's digest
    bundle_digest: str
    bundle: Path | None  # where a copy of the bundle was written, if anywhere
    signer: str

    def to_json(self) -> dict[str, Any]:
        """``{"predicate_type", "referrer", "bundle_digest", "bundle", "signer"}``, as ``vial sign --json``."""
        return {
            "predicate_type": self.predicate_type,
            "referrer": self.referrer,
            "bundle_digest": self.bundle_digest,
            "bundle": str(self.bundle) if self.bundle else None,
            "signer": self.signer,
        }


def attach_signed(
    store: Store,
    descriptor: Descriptor,
    statement: Statement,
    bundle: bytes,
    signer: Signer,
    output: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> Attestation:
    """Store a signed ``bundle`` of ``statement`` as a referrer of ``descriptor`` (and copy it to ``output``)."""
    from vial.attest.referrers import attach_bundle
    from vial.fsutil import atomic_write_bytes

    label = signer_label(signer)
    referrer = attach_bundle(store, descriptor, bundle, statement.predicate_type, label)
    if output is not None:
        atomic_write_bytes(output, bundle)
    if log is not None:
        log(f"attested {statement.predicate_type} for {descriptor.digest}")
    return Attestation(statement.predicate_type, referrer.digest, referrer.bundle.digest, output, label)


@dataclass(frozen=True)
class AttestResult:
    """The image ``attest`` made a statement about, and the attestation it stored."""

    image: str
    attestation: Attestation

    def to_json(self) -> dict[str, Any]:
        """``{"image", "predicate_type", "referrer", "bundle_digest", "bundle", "signer"}`` (``vial attest --json``)."""
        return {"image": self.image, **self.attestation.to_json()}


def attest_image(
    ref: str,
    predicate: dict[str, Any] | Path | str,
    predicate_type: str,
    *,
    key: Path | str | None = None,
    password: Password = None,
    identity_token: str | None = None,
    trust_config: Path | str | None = None,
    staging: bool = False,
    output: Path | str | None = None,
    store: Store | None = None,
    log: Callable[[str], None] | None = _progress,
) -> AttestResult:
    """Sign any ``predicate`` (a JSON object, or a file holding one) about image ``ref``; store it as a referrer.

    ``predicate_type`` is a URI. Signing options as for ``sign``; ``output`` also receives the bundle.

    >>> attest_image("demo:1", {"passed": True}, "https://example.org/tests/v1", key=Path("vial.key"))  # doctest: +SKIP
    """
    from vial.attest.errors import AttestationError
    from vial.attest.statements.statement import Statement, Subject

    if not isinstance(predicate, dict):
        path = Path(predicate)
        try:
            predicate = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            raise AttestationError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(predicate, dict):
            raise AttestationError(f"{path}: the predicate must be a JSON object")
    if "://" not in predicate_type:
        raise AttestationError(
            f"--type {predicate_type!r}: a predicate type is a URI, e.g. https://slsa.dev/provenance/v1"
        )
    store = store if store is not None else _default_store()
    descriptor = store.resolve(ref)
    statement = Statement(
        (Subject(subject_name(ref, store, descriptor.digest), descriptor.digest),), predicate_type, predicate
    )
    statement.to_bytes()  # validate before asking for a passphrase or a token
    signer = make_signer(
        Path(key) if key is not None else None,
        password,
        identity_token,
        Path(trust_config) if trust_config is not None else None,
        staging,
    )
    attached = attach_signed(
        store,
        descriptor,
        statement,
        signer.sign(statement),
        signer,
        Path(output) if output is not None else None,
        log,
    )
    return AttestResult(descriptor.digest, attached)


def _default_store() -> Store:
    from vial.store import Store

    return Store()
