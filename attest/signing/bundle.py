"""Sigstore bundles (v0.3) holding a DSSE envelope: written for key signatures, read for both kinds.

A key-signed bundle carries the public-key hint as cosign writes it (``verificationMaterial.publicKey
.hint``) and no transparency-log entry (vial signs offline; see docs/attest.md). Parsing goes
through ``sigstore_models`` (the Sigstore protobuf-specs as pydantic models), which accepts both
key and certificate bundles; ``sigstore.models.Bundle`` accepts only the latter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError
from sigstore_models.bundle.v1 import Bundle as BundleModel

from vial import strictjson
from vial.attest.errors import VerificationError
from vial.attest.signing.dsse import Envelope, check_envelope_json
from vial.attest.signing.keys import SigningKey
from vial.oci import MEDIA_TYPE_SIGSTORE_BUNDLE

BUNDLE_V03 = MEDIA_TYPE_SIGSTORE_BUNDLE
MAX_BUNDLE = 16 << 20


@dataclass(frozen=True)
class ParsedBundle:
    media_type: str
    envelope: Envelope | None  # None: a message signature (a blob signature, not an attestation)
    key_hint: str | None  # set for public-key bundles
    keyless: bool  # the bundle carries a signing certificate
    tlog_entries: int
    raw: bytes


def key_bundle(envelope: Envelope, key: SigningKey) -> bytes:
    """A v0.3 bundle for a key-signed DSSE envelope, as cosign ``attest-blob --new-bundle-format`` writes it."""
    data = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": key.hint}, "tlogEntries": []},
        "dsseEnvelope": envelope.to_json(),
    }
    raw = json.dumps(data, sort_keys=True).encode()
    parse_bundle(raw)  # what we write, we can read: fail here rather than at verification
    return raw


def parse_bundle(raw: bytes, origin: str = "bundle") -> ParsedBundle:
    if len(raw) > MAX_BUNDLE:
        raise VerificationError(f"{origin}: {len(raw)} bytes, more than a bundle may hold")
    # Strictly first (duplicate keys, lone surrogates, huge numbers, deep nesting): sigstore-models and
    # sigstore read the same bytes afterwards, and must not be able to read them differently.
    data = strictjson.loads(raw, origin, error=VerificationError)
    if not isinstance(data, dict):
        raise VerificationError(f"{origin}: not a Sigstore bundle (not a JSON object)")
    material = data.get("verificationMaterial")
    if isinstance(material, dict) and "tlogEntries" not in material:
        # proto3 JSON omits empty repeated fields (cosign does so for key bundles without a log
        # entry); sigstore_models requires the field, so restore its default (docs/decisions.md).
        data["verificationMaterial"] = {**material, "tlogEntries": []}
    try:
        model = BundleModel.from_json(json.dumps(data))
    except ValueError as exc:  # pydantic's ValidationError, and base64 or enum values it refuses
        if not isinstance(exc, ValidationError):
            raise VerificationError(f"{origin}: not a Sigstore bundle: {' '.join(str(exc).split())}") from None
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "bundle"
        raise VerificationError(f"{origin}: not a Sigstore bundle: {where}: {error['msg']}") from None
    material = model.verification_material
    envelope = None
    if model.dsse_envelope is not None:
        check_envelope_json(data.get("dsseEnvelope"), f"{origin}: dsseEnvelope")
        dsse = model.dsse_envelope
        envelope = Envelope(
            payload=dsse.payload,
            payload_type=dsse.payload_type,
            signatures=tuple((s.sig, s.keyid or "") for s in dsse.signatures),
        )
    return ParsedBundle(
        media_type=model.media_type,
        envelope=envelope,
        key_hint=material.public_key.hint if material.public_key is not None else None,
        keyless=material.public_key is None,
        tlog_entries=len(material.tlog_entries),
        raw=raw,
    )
