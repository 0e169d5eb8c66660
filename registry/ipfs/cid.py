"""Content identifiers (CIDs) for the two codecs vial produces: dag-pb and raw, hashed with sha2-256.

Parsing and printing of CID strings go through ``libipld`` (multibase, CIDv0 base58btc, CIDv1 base32);
the binary form and varints are a few lines here, because the importer builds millions of them and a
byte concatenation is the fastest way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import libipld

from vial.digest import Readable
from vial.errors import IntegrityError

DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
SHA2_256_LEN = 32

CODEC_NAMES = {DAG_PB: "dag-pb", RAW: "raw"}


def varint(value: int) -> bytes:
    """Unsigned LEB128, as used by multiformats and protobuf."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes | memoryview, pos: int, what: str = "varint") -> tuple[int, int]:
    """Decode a varint at ``pos``; returns (value, next position)."""
    value = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise IntegrityError(f"{what}: truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise IntegrityError(f"{what}: varint too long")


def read_varint_stream(stream: Readable, what: str = "varint") -> int | None:
    """Decode a varint from a stream; ``None`` at a clean end of stream (no byte read)."""
    value = 0
    shift = 0
    first = True
    while True:
        byte = stream.read(1)
        if not byte:
            if first:
                return None
            raise IntegrityError(f"{what}: truncated varint")
        first = False
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            raise IntegrityError(f"{what}: varint too long")


@dataclass(frozen=True, slots=True)
class CID:
    """A CID: version 0 or 1, a codec, and a sha2-256 digest."""

    version: int
    codec: int
    digest: bytes

    @classmethod
    def of(cls, block: bytes | memoryview, codec: int, version: int = 1) -> CID:
        return cls(version, codec, hashlib.sha256(block).digest())

    @property
    def multihash(self) -> bytes:
        return bytes((SHA2_256, SHA2_256_LEN)) + self.digest

    def to_bytes(self) -> bytes:
        if self.version == 0:
            return self.multihash
        return b"\x01" + varint(self.codec) + self.multihash

    def __str__(self) -> str:
        return libipld.encode_cid(self.to_bytes())

    @property
    def codec_name(self) -> str:
        return CODEC_NAMES.get(self.codec, hex(self.codec))

    def verify(self, block: bytes | memoryview) -> None:
        """Raise ``IntegrityError`` unless ``block`` hashes to this CID."""
        if hashlib.sha256(block).digest() != self.digest:
            raise IntegrityError(f"block {self}: content does not match its CID")

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse a CID string (``Qm...`` or multibase CIDv1); only sha2-256 dag-pb/raw are accepted."""
        try:
            decoded = libipld.decode_cid(text.strip())
        except Exception:  # noqa: BLE001 - libipld raises plain ValueError-like errors
            raise IntegrityError(f"{text!r}: not a valid CID") from None
        return cls._checked(
            decoded["version"], decoded["codec"], decoded["hash"]["code"], decoded["hash"]["digest"], text
        )

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, pos: int = 0) -> tuple[CID, int]:
        """Decode a binary CID at ``pos``; returns (cid, next position)."""
        if len(data) - pos >= 2 and data[pos] == SHA2_256 and data[pos + 1] == SHA2_256_LEN:
            end = pos + 2 + SHA2_256_LEN
            if end > len(data):
                raise IntegrityError("CID: truncated")
            return cls(0, DAG_PB, bytes(data[pos + 2 : end])), end
        version, pos = read_varint(data, pos, "CID version")
        if version != 1:
            raise IntegrityError(f"CID: unsupported version {version}")
        codec, pos = read_varint(data, pos, "CID codec")
        code, pos = read_varint(data, pos, "CID multihash")
        size, pos = read_varint(data, pos, "CID multihash")
        if pos + size > len(data):
            raise IntegrityError("CID: truncated digest")
        return cls._checked(1, codec, code, bytes(data[pos : pos + size]), "CID"), pos + size

    @classmethod
    def _checked(cls, version: int, codec: int, code: int, digest: bytes, what: str) -> CID:
        if code != SHA2_256 or len(digest) != SHA2_256_LEN:
            raise IntegrityError(f"{what}: unsupported multihash 0x{code:x} (vial accepts sha2-256 only)")
        if codec not in CODEC_NAMES:
            raise IntegrityError(f"{what}: unsupported codec 0x{codec:x} (vial accepts dag-pb and raw)")
        if version == 0 and codec != DAG_PB:
            raise IntegrityError(f"{what}: CIDv0 must be dag-pb")
        return cls(version, codec, digest)
