"""Verify Sigstore bundles holding in-toto attestations (and, keyless, plain blob signatures).

Each check that fails raises ``VerificationError`` naming it; the checks, in order:

1. the bundle parses (JSON, Sigstore bundle schema) and holds a DSSE envelope;
2. the payload type is in-toto's (``application/vnd.in-toto+json``);
3. the signature: with a key, over PAE(type, payload) with exactly one signature; keyless, by
   sigstore-python's ``Verifier`` (certificate chain to the trusted root at the logged time,
   transparency-log inclusion, signed timestamps, identity = certificate SAN + OIDC issuer);
4. the payload is an in-toto Statement v1 whose subjects include the expected digest;
5. its predicate type, when one is required.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vial.attest.errors import AttestationError, VerificationError
from vial.attest.signing.bundle import ParsedBundle, parse_bundle
from vial.attest.signing.keys import PublicKey, key_hint, verify_signature
from vial.attest.statements.statement import PAYLOAD_TYPE, Statement, parse_statement

if TYPE_CHECKING:  # sigstore is imported when a keyless bundle is checked, not with this module
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity, VerificationPolicy

Instance = Literal["production", "staging"]


@dataclass(frozen=True)
class Verified:
    statement: Statement
    signer: str  # "key <hint>" or "<identity> (<issuer>)"


def _load(raw: bytes, origin: str) -> tuple[ParsedBundle, bytes, str]:
    bundle = parse_bundle(raw, origin)
    if bundle.envelope is None:
        raise VerificationError(f"{origin}: holds a message signature, not a DSSE attestation")
    envelope = bundle.envelope
    if envelope.payload_type != PAYLOAD_TYPE:
        raise VerificationError(f"{origin}: payload type is {envelope.payload_type!r}, expected {PAYLOAD_TYPE!r}")
    return bundle, envelope.payload, envelope.payload_type


def check_statement(payload: bytes, subject_digest: str, predicate_type: str | None, origin: str) -> Statement:
    try:
        statement = parse_statement(payload)
    except (AttestationError, ValueError) as exc:
        raise VerificationError(f"{origin}: signed payload is not a valid in-toto statement: {exc}") from None
    if subject_digest not in statement.subject_digests():
        found = ", ".join(sorted(statement.subject_digests()))
        raise VerificationError(f"{origin}: attests subject {found}, not {subject_digest}")
    if predicate_type is not None and statement.predicate_type != predicate_type:
        raise VerificationError(
            f"{origin}: predicate type is {statement.predicate_type!r}, expected {predicate_type!r}"
        )
    return statement


def verify_with_key(
    raw: bytes, public: PublicKey, subject_digest: str, predicate_type: str | None = None, origin: str = "bundle"
) -> Verified:
    """Verify a key-signed bundle (vial's or cosign's) offline."""
    bundle, payload, _ = _load(raw, origin)
    if bundle.keyless:
        raise VerificationError(f"{origin}: is signed keyless (a certificate); verify with --identity and --issuer")
    envelope = bundle.envelope
    assert envelope is not None
    if len(envelope.signatures) != 1:
        raise VerificationError(
            f"{origin}: DSSE envelope has {len(envelope.signatures)} signatures, expected exactly 1"
        )
    signature, _ = envelope.signatures[0]
    if not verify_signature(public, signature, envelope.pae()):
        hint = key_hint(public)
        if bundle.key_hint and bundle.key_hint != hint:
            raise VerificationError(
                f"{origin}: signature does not verify: signed by key {bundle.key_hint}, not by the given key {hint}"
            )
        raise VerificationError(
            f"{origin}: signature does not verify with the given key (payload or signature altered)"
        )
    statement = check_statement(payload, subject_digest, predicate_type, origin)
    return Verified(statement, f"key {key_hint(public)}")


def trusted_root(
    instance: Instance = "production", trust_config: Path | None = None, trusted_root_file: Path | None = None
) -> TrustedRoot:
    """The Sigstore trusted root, offline: an explicit file, a ClientTrustConfig, or the one sigstore ships."""
    from sigstore.models import ClientTrustConfig, TrustedRoot

    try:
        if trusted_root_file is not None:
            return TrustedRoot.from_file(str(trusted_root_file))
        if trust_config is not None:
            return ClientTrustConfig.from_json(Path(trust_config).read_text(encoding="utf-8")).trusted_root
        return _shipped_root(instance)
    except FileNotFoundError as exc:
        raise VerificationError(f"{exc.filename}: no such file") from None
    except Exception as exc:  # noqa: BLE001 - sigstore raises many types for bad trust material
        raise VerificationError(f"could not load the Sigstore trusted root: {_one_line(exc)}") from None


@functools.lru_cache(maxsize=2)
def _shipped_root(instance: Instance) -> TrustedRoot:
    """The trusted root of Sigstore's public instances, from the TUF cache or sigstore's copy (no network)."""
    from sigstore.models import ClientTrustConfig

    config = (
        ClientTrustConfig.staging(offline=True) if instance == "staging" else ClientTrustConfig.production(offline=True)
    )
    return config.trusted_root


def _verifier(instance: Instance, trust_config: Path | None, trusted_root_file: Path | None) -> Verifier:
    from sigstore.verify import Verifier

    return Verifier(trusted_root=trusted_root(instance, trust_config, trusted_root_file))


def _sigstore_bundle(raw: bytes, origin: str) -> Bundle:
    from sigstore.models import Bundle, InvalidBundle

    parse_bundle(raw, origin)  # the same clear messages for a truncated or malformed file
    try:
        return Bundle.from_json(raw)
    except InvalidBundle as exc:
        raise VerificationError(f"{origin}: invalid keyless bundle: {_one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001
        raise VerificationError(f"{origin}: invalid keyless bundle: {_one_line(exc)}") from None


def _policy(identity: str, issuer: str) -> Identity:
    from sigstore.verify import policy

    if not identity or not issuer:
        raise VerificationError("keyless verification needs both an identity (certificate SAN) and an OIDC issuer")
    return policy.Identity(identity=identity, issuer=issuer)


def verify_keyless(
    raw: bytes,
    identity: str,
    issuer: str,
    subject_digest: str,
    predicate_type: str | None = None,
    instance: Instance = "production",
    trust_config: Path | None = None,
    trusted_root_file: Path | None = None,
    origin: str = "bundle",
) -> Verified:
    """Verify a keyless (Fulcio certificate) DSSE bundle offline against a trusted root."""
    bundle, _, _ = _load(raw, origin)
    if not bundle.keyless:
        raise VerificationError(f"{origin}: is signed with a key (hint {bundle.key_hint}); verify with --key")
    statement = verify_dsse_keyless(
        raw,
        _policy(identity, issuer),
        subject_digest,
        predicate_type,
        instance,
        trust_config,
        trusted_root_file,
        origin,
    )
    return Verified(statement, f"{identity} ({issuer})")


def verify_dsse_keyless(
    raw: bytes,
    identity_policy: VerificationPolicy,
    subject_digest: str,
    predicate_type: str | None = None,
    instance: Instance = "production",
    trust_config: Path | None = None,
    trusted_root_file: Path | None = None,
    origin: str = "bundle",
) -> Statement:
    """Checks 3-5 for a keyless DSSE bundle: sigstore-python's ``Verifier`` with ``identity_policy``
    (any sigstore ``VerificationPolicy``), then the payload type and the statement."""
    from cryptography.x509 import ExtensionNotFound
    from sigstore.errors import VerificationError as SigstoreVerificationError

    sigstore_bundle = _sigstore_bundle(raw, origin)
    verifier = _verifier(instance, trust_config, trusted_root_file)
    try:
        payload_type, payload = verifier.verify_dsse(sigstore_bundle, identity_policy)
    except (SigstoreVerificationError, ValueError, ExtensionNotFound) as exc:  # a malformed certificate, too
        raise VerificationError(f"{origin}: {_one_line(exc)}") from None
    if payload_type != PAYLOAD_TYPE:  # already checked on the envelope; sigstore leaves it to callers
        raise VerificationError(f"{origin}: payload type is {payload_type!r}, expected {PAYLOAD_TYPE!r}")
    return check_statement(payload, subject_digest, predicate_type, origin)


def verify_blob_keyless(
    data: bytes,
    raw: bytes,
    identity: str,
    issuer: str,
    instance: Instance = "production",
    trust_config: Path | None = None,
    trusted_root_file: Path | None = None,
    origin: str = "bundle",
) -> str:
    """Verify a keyless message-signature bundle over ``data`` (e.g. a PyPI wheel's ``.sigstore``)."""
    from cryptography.x509 import ExtensionNotFound
    from sigstore.errors import VerificationError as SigstoreVerificationError

    bundle = parse_bundle(raw, origin)
    if bundle.envelope is not None:
        raise VerificationError(f"{origin}: holds a DSSE attestation, not a signature over a file")
    sigstore_bundle = _sigstore_bundle(raw, origin)
    verifier = _verifier(instance, trust_config, trusted_root_file)
    try:
        verifier.verify_artifact(data, sigstore_bundle, _policy(identity, issuer))
    except (SigstoreVerificationError, ValueError, ExtensionNotFound) as exc:  # a malformed certificate, too
        raise VerificationError(f"{origin}: {_one_line(exc)}") from None
    return f"{identity} ({issuer})"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
