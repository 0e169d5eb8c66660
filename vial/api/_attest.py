"""Sign and attest: signed in-toto statements about an image, stored as its OCI referrers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vial.api._common import Log, logger_for, store_or_default
from vial.attest.imagesign import (
    Attestation,
    Password,
    attach_signed,
    attest_image,
    build_statements,
    make_signer,
)
from vial.store import Store


@dataclass(frozen=True)
class SignResult:
    """The image ``sign`` signed and the attestations it stored (provenance, then SBOM)."""

    image: str  # manifest digest
    attestations: tuple[Attestation, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"image", "attestations": [...]}``, as ``vial sign --json`` prints it."""
        return {"image": self.image, "attestations": [a.to_json() for a in self.attestations]}


def sign(
    ref: str,
    *,
    key: Path | str | None = None,
    password: Password = None,
    identity_token: str | None = None,
    trust_config: Path | str | None = None,
    staging: bool = False,
    output_dir: Path | str | None = None,
    store: Store | None = None,
    log: Log | None = None,
) -> SignResult:
    """Sign image ``ref``'s SLSA provenance and CycloneDX SBOM; store both as referrers of the image.

    With ``key`` (a private key from ``vial keygen`` or cosign; ``password`` bytes, a function
    returning them, or ``None`` for ``$VIAL_PASSWORD``), else keyless through Sigstore
    (``identity_token``, ``trust_config`` for a private instance, ``staging``). Everything is signed
    before anything is stored. ``output_dir`` also receives ``provenance.sigstore.json`` and
    ``sbom.sigstore.json``.

    >>> import vial
    >>> signed = vial.sign("longley-ols:1.0.0", key="vial.key", password=b"secret")
    >>> [a.predicate_type for a in signed.attestations]
    ['https://slsa.dev/provenance/v1', 'https://cyclonedx.org/bom']
    """
    store = store_or_default(store)
    image = store.image(ref)
    statements = build_statements(store, ref, image)
    signer = make_signer(
        Path(key) if key is not None else None,
        password,
        identity_token,
        Path(trust_config) if trust_config is not None else None,
        staging,
    )
    # Sign everything first: a failure (network, passphrase) leaves the store as it was.
    bundles = {label: signer.sign(statement) for label, statement in statements.items()}
    directory = Path(output_dir) if output_dir is not None else None
    report = log or logger_for("sign")
    results = tuple(
        attach_signed(
            store,
            image.descriptor,
            statement,
            bundles[label],
            signer,
            directory / f"{label}.sigstore.json" if directory else None,
            report,
        )
        for label, statement in statements.items()
    )
    return SignResult(image.digest, results)


# The façade's attest is the library's: same signature, defaults (the $VIAL_HOME store, progress to logging).
attest = attest_image
