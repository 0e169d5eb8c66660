"""Content digests in OCI form (``sha256:<hex>``), computed by streaming."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO, Protocol

from vial.errors import IntegrityError

CHUNK_SIZE = 1 << 20
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class Readable(Protocol):
    """All that a streaming consumer needs of its source: a file, a ``VerifyingReader``, a decompressor."""

    def read(self, size: int = -1, /) -> bytes: ...


def is_digest(value: str) -> bool:
    return bool(_DIGEST_RE.match(value))


def check_digest(value: str, what: str = "digest") -> str:
    """Return ``value`` if it is a well-formed sha256 digest, else raise naming ``what``."""
    if not is_digest(value):
        raise IntegrityError(f"{what}: not a sha256 digest: {value!r}")
    return value


def hex_of(digest: str) -> str:
    return check_digest(digest).split(":", 1)[1]


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO) -> tuple[str, int]:
    """Digest and size of everything left in ``stream``, read in chunks (memory stays flat)."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
        size += len(chunk)
    return "sha256:" + hasher.hexdigest(), size


def sha256_file(path: Path) -> tuple[str, int]:
    with open(path, "rb") as handle:
        return sha256_stream(handle)


class HashingWriter:
    """A write-only file wrapper that digests and counts what passes through it."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hasher.update(data)
        self.size += len(data)
        self._sink.write(data)
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self._hasher.hexdigest()


class VerifyingReader:
    """Read-only wrapper that checks, at end of stream, that the bytes had the expected digest.

    The check fires when the stream is exhausted; callers that must not act on unverified bytes
    read to the end (or call ``verify``) before using anything they read.
    """

    def __init__(self, source: BinaryIO, expected: str, what: str) -> None:
        self._source = source
        self._expected = check_digest(expected, what)
        self._what = what
        self._hasher = hashlib.sha256()
        self.size = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if data:
            self._hasher.update(data)
            self.size += len(data)
        elif not self._done:
            self._done = True
            self._check()
        return data

    def _check(self) -> None:
        actual = "sha256:" + self._hasher.hexdigest()
        if actual != self._expected:
            raise IntegrityError(f"{self._what}: content has digest {actual}, expected {self._expected}")

    def verify(self) -> None:
        """Drain the rest of the stream and check the digest."""
        while self.read(CHUNK_SIZE):
            pass

    def close(self) -> None:
        self._source.close()
