"""DSSE v1 (https://github.com/secure-systems-lab/dsse): what is signed is PAE(payloadType, payload)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


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
