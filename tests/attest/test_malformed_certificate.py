"""Malformed certificates in keyless bundles: each is a one-line ``VerificationError``, never a bare
``ValueError`` from cryptography (which the CLI would report as an internal error)."""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vial.attest.errors import VerificationError
from vial.attest.signing.sign import KeylessSigner
from vial.attest.signing.verify import verify_keyless
from vial.attest.statements.provenance import provenance_statement

_spec = importlib.util.spec_from_file_location(
    "vial_keyless_instance_bad_cert", Path(__file__).resolve().parent / "test_keyless_roundtrip.py"
)
assert _spec is not None and _spec.loader is not None
keyless = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(keyless)


@pytest.fixture()
def signed(tmp_path: Path, built) -> Iterator[tuple[bytes, Path]]:  # type: ignore[no-untyped-def]
    sigstore = keyless.PrivateSigstore()
    sigstore.thread.start()
    path = tmp_path / "trust-config.json"
    path.write_text(json.dumps(sigstore.trust_config()))
    try:
        raw = KeylessSigner(path, token=keyless._token()).sign(provenance_statement(built.record, built.name))
        yield raw, path
    finally:
        sigstore.server.shutdown()
        sigstore.server.server_close()
        sigstore.thread.join(timeout=30)


def _no_san_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "no-san")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _with_certificate(raw: bytes, der: bytes | str) -> bytes:
    data = json.loads(raw)
    material = data["verificationMaterial"]
    field = "certificate" if "certificate" in material else "x509CertificateChain"
    value = der if isinstance(der, str) else base64.b64encode(der).decode()
    if field == "certificate":
        material["certificate"] = {"rawBytes": value}
    else:
        material[field]["certificates"][0] = {"rawBytes": value}
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "der",
    [
        b"not a certificate",
        b"\x30\x03\x02\x01\x01",  # DER, but not a certificate
        b"",
        "%%%not base64%%%",
        "no-san",
    ],
)
def test_malformed_certificate_is_one_line(signed, built, der) -> None:  # type: ignore[no-untyped-def]
    raw, trust = signed
    assert verify_keyless(raw, keyless.IDENTITY, keyless.ISSUER, built.digest, trust_config=trust)
    tampered = _with_certificate(raw, _no_san_certificate() if der == "no-san" else der)
    with pytest.raises(VerificationError) as info:
        verify_keyless(tampered, keyless.IDENTITY, keyless.ISSUER, built.digest, trust_config=trust)
    assert "\n" not in str(info.value)
