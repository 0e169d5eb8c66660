"""Key signing and verification, and every tamper a bundle may suffer, each rejected with its reason."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from vial.attest.errors import KeyFileError, VerificationError
from vial.attest.signing import keys
from vial.attest.signing.bundle import key_bundle, parse_bundle
from vial.attest.signing.sign import KeySigner, sign_envelope
from vial.attest.signing.verify import verify_with_key
from vial.attest.statements.provenance import provenance_statement
from vial.attest.statements.sbom import sbom_statement
from vial.attest.statements.statement import CYCLONEDX_BOM, PAYLOAD_TYPE, SLSA_PROVENANCE_V1
from vial.store import Store


@pytest.fixture(scope="module")
def key() -> keys.SigningKey:
    return keys.generate("ecdsa-p256")


def _signed(built, key) -> bytes:  # type: ignore[no-untyped-def]
    return KeySigner(key).sign(provenance_statement(built.record, built.name))


def _edit(raw: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    data = json.loads(raw)
    change(data)
    return json.dumps(data).encode()


def _edit_statement(raw: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    def apply(data):  # type: ignore[no-untyped-def]
        envelope = data["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"]))
        change(statement)
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    return _edit(raw, apply)


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ed25519"])
def test_key_signed_bundle_verifies(built, kind: str) -> None:
    key = keys.generate(kind)  # type: ignore[arg-type]
    raw = _signed(built, key)
    bundle = parse_bundle(raw)
    assert bundle.media_type == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle.key_hint == key.hint and not bundle.keyless and bundle.tlog_entries == 0
    assert bundle.envelope is not None and bundle.envelope.payload_type == PAYLOAD_TYPE
    verified = verify_with_key(raw, key.public, built.digest, SLSA_PROVENANCE_V1)
    assert verified.statement.predicate_type == SLSA_PROVENANCE_V1
    assert verified.signer == f"key {key.hint}"


def test_tamper_changed_subject_digest(built, key) -> None:
    raw = _edit_statement(_signed(built, key), lambda s: s["subject"][0]["digest"].update(sha256="0" * 64))
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify_with_key(raw, key.public, built.digest)


def test_tamper_changed_predicate(built, key) -> None:
    def change(statement):  # type: ignore[no-untyped-def]
        deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
        deps[3]["digest"]["sha256"] = "f" * 64  # a .deb swapped for another

    raw = _edit_statement(_signed(built, key), change)
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify_with_key(raw, key.public, built.digest)


def test_tamper_swapped_signature(built, key) -> None:
    good = _signed(built, key)
    other = KeySigner(key).sign(sbom_statement(built.record))  # same key, another statement
    signature = json.loads(other)["dsseEnvelope"]["signatures"]
    raw = _edit(good, lambda d: d["dsseEnvelope"].update(signatures=signature))
    with pytest.raises(VerificationError, match="signature does not verify with the given key"):
        verify_with_key(raw, key.public, built.digest)


def test_tamper_wrong_key(built, key) -> None:
    other = keys.generate()
    with pytest.raises(
        VerificationError, match=re.escape(f"signed by key {key.hint}, not by the given key {other.hint}")
    ):
        verify_with_key(_signed(built, key), other.public, built.digest)


def test_tamper_truncated_bundle(built, key) -> None:
    raw = _signed(built, key)
    with pytest.raises(VerificationError, match="not valid JSON"):
        verify_with_key(raw[: len(raw) // 2], key.public, built.digest)


def test_tamper_wrong_payload_type(built, key) -> None:
    raw = _edit(_signed(built, key), lambda d: d["dsseEnvelope"].update(payloadType="application/json"))
    with pytest.raises(VerificationError, match="payload type is 'application/json'"):
        verify_with_key(raw, key.public, built.digest)
    # Even validly signed under another payload type, it is not an attestation.
    statement = provenance_statement(built.record).to_bytes()
    signed_other = key_bundle(sign_envelope(statement, key, payload_type="text/plain"), key)
    with pytest.raises(VerificationError, match="payload type is 'text/plain'"):
        verify_with_key(signed_other, key.public, built.digest)


def test_tamper_attestation_for_another_image(built, key, tmp_path: Path, image_factory) -> None:
    other = image_factory(Store(tmp_path / "other"), "other:2.0", payload=b"other-layer")
    raw = KeySigner(key).sign(provenance_statement(other.record))
    with pytest.raises(VerificationError, match=f"attests subject {other.digest}, not {built.digest}"):
        verify_with_key(raw, key.public, built.digest)


def test_wrong_predicate_type_and_extra_signature(built, key) -> None:
    raw = _signed(built, key)
    with pytest.raises(
        VerificationError, match=re.escape("predicate type is 'https://slsa.dev/provenance/v1', expected")
    ):
        verify_with_key(raw, key.public, built.digest, CYCLONEDX_BOM)
    doubled = _edit(raw, lambda d: d["dsseEnvelope"].update(signatures=d["dsseEnvelope"]["signatures"] * 2))
    with pytest.raises(VerificationError, match="2 signatures, expected exactly 1"):
        verify_with_key(doubled, key.public, built.digest)


def test_not_a_bundle(built, key) -> None:
    with pytest.raises(VerificationError, match="not a Sigstore bundle"):
        verify_with_key(b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}', key.public, built.digest)


# -- key files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ed25519"])
def test_keypair_roundtrip_encrypted(tmp_path: Path, kind: str) -> None:
    key = keys.generate(kind)  # type: ignore[arg-type]
    private, public = tmp_path / "k.key", tmp_path / "k.pub"
    keys.write_keypair(key, b"s3cret", private, public)
    assert private.read_text().startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert private.stat().st_mode & 0o777 == 0o600
    assert keys.load_private_key(private, b"s3cret").hint == key.hint
    assert keys.key_hint(keys.load_public_key(public)) == key.hint
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        keys.load_private_key(private, b"nope")
    with pytest.raises(KeyFileError, match="exists"):
        keys.write_keypair(key, b"s3cret", private, public)


def test_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="no such key file"):
        keys.load_private_key(tmp_path / "absent.key", b"x")
    (tmp_path / "bad.pub").write_text("hello")
    with pytest.raises(KeyFileError, match="not a PEM file"):
        keys.load_public_key(tmp_path / "bad.pub")
    private = tmp_path / "k.key"
    keys.write_keypair(keys.generate(), b"pw", private, tmp_path / "k.pub")
    with pytest.raises(KeyFileError, match="is not a PUBLIC KEY"):
        keys.load_public_key(private)
    text = private.read_text()
    (tmp_path / "cut.key").write_text(text[: len(text) // 2])
    with pytest.raises(KeyFileError, match="truncated PEM"):
        keys.load_private_key(tmp_path / "cut.key", b"pw")


def test_standard_pkcs8_encrypted_key_is_read(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = keys.generate()
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    (tmp_path / "p8.key").write_bytes(pem)
    assert keys.load_private_key(tmp_path / "p8.key", b"pw").hint == key.hint
