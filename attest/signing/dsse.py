"""DSSE v1 (https://github.com/secure-systems-lab/dsse): what is signed is PAE(payloadType, payload)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from vial import strictjson
from vial.attest.errors import VerificationError

MAX_ENVELOPE = 16 << 20


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding: ``DSSEv1 <len(type)> <type> <len(body)> <body>``."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


@dataclass(frozen=True)
class Envelope:
    payload: bytes
    payload_type: str
    signatures: tuple[tuple[bytes, str], ...]  # (signature, keyid)

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": base64.b64encode(self.payload).decode(),
            "payloadType": self.payload_type,
            "signatures": [
                {"sig": base64.b64encode(sig).decode(), **({"keyid": keyid} if keyid else {})}
                for sig, keyid in self.signatures
            ],
        }

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)


def check_envelope_json(data: Any, what: str) -> None:
    """Shape checks on a decoded envelope (already strictly parsed: no duplicate keys at any depth)."""
    if not isinstance(data, dict):
        raise VerificationError(f"{what}: not a JSON object")
    for name in ("payload", "payloadType"):
        if not isinstance(data.get(name), str):
            raise VerificationError(f"{what}: field {name!r} is missing or not a string")
    signatures = data.get("signatures")
    if not isinstance(signatures, list) or not all(isinstance(s, dict) for s in signatures):
        raise VerificationError(f"{what}: field 'signatures' is missing or not a list of objects")


def parse_envelope(raw: bytes, origin: str = "envelope") -> Envelope:
    """A bare DSSE envelope (JSON), parsed strictly: duplicate keys, lone surrogates and the like refused."""
    data = strictjson.loads(raw, origin, max_size=MAX_ENVELOPE, error=VerificationError)
    check_envelope_json(data, origin)
    try:
        payload = base64.b64decode(data["payload"], validate=True)
        signatures = tuple(
            (base64.b64decode(str(s.get("sig", "")), validate=True), str(s.get("keyid", "")))
            for s in data["signatures"]
        )
    except (ValueError, binascii.Error):
        raise VerificationError(f"{origin}: payload or signature is not base64") from None
    return Envelope(payload=payload, payload_type=data["payloadType"], signatures=signatures)
