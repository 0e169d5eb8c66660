"""CAR v1 (Content Addressable aRchive): a writer with one root, and a reader that checks every block.

Writer: the header names the root; blocks follow in the order the importer makes them (children
before parents, each block once), which is deterministic for a given input and profile. The root
is known only at the end, so the header is written with a placeholder of the root's exact length
and patched in place before the file is committed (atomically, by the caller's writer).

Reader: streams sections; every block is hashed and compared with its CID before it is handed
out; a truncated file, an oversized section, an unsupported CID or a mismatching block raises
``IntegrityError`` naming the CAR.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import libipld

from vial.digest import Readable
from vial.errors import IntegrityError
from vial.registry.ipfs.cid import CID, read_varint_stream, varint

MAX_HEADER = 1 << 20
MAX_SECTION = 4 << 20  # blocks from UnixFS import are at most ~1 MiB; IPFS transports cap at 2 MiB


def encode_header(root: CID) -> bytes:
    """dag-cbor ``{"roots": [root], "version": 1}`` with its varint length prefix."""
    link = b"\x00" + root.to_bytes()
    body = b"\xa2\x65roots\x81\xd8\x2a\x58" + bytes((len(link),)) + link + b"\x67version\x01"
    return varint(len(body)) + body


class CarWriter:
    """A block sink writing CAR v1 sections to a seekable binary file; call ``finish(root)`` last."""

    def __init__(self, handle: BinaryIO, cid_version: int) -> None:
        self._handle = handle
        self._start = handle.tell()
        placeholder = CID(cid_version, 0x70, b"\x00" * 32)
        self._header_len = len(encode_header(placeholder))
        handle.write(encode_header(placeholder))
        self._seen: set[bytes] = set()
        self.blocks = 0
        self.size = self._header_len

    def put(self, cid: CID, block: bytes) -> None:
        key = cid.to_bytes()
        if key in self._seen:
            return
        self._seen.add(key)
        section = varint(len(key) + len(block)) + key
        self._handle.write(section)
        self._handle.write(block)
        self.blocks += 1
        self.size += len(section) + len(block)

    def finish(self, root: CID) -> None:
        header = encode_header(root)
        if len(header) != self._header_len:
            raise IntegrityError(f"CAR root {root}: CID version differs from the writer's")
        end = self._handle.tell()
        self._handle.seek(self._start)
        self._handle.write(header)
        self._handle.seek(end)


def _read_exact(stream: Readable, size: int, what: str) -> bytes:
    data = stream.read(size)
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise IntegrityError(f"{what}: truncated (expected {size} bytes, got {len(data)})")
        data += more
    return data


def _skip(stream: Readable, size: int, what: str) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            raise IntegrityError(f"{what}: truncated")
        size -= len(chunk)


class _Limited:
    """At most ``size`` bytes of ``stream`` (the CAR v1 payload inside a CAR v2)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n < 0 else min(n, self._left)
        data = self._stream.read(n)
        self._left -= len(data)
        return data


class CarReader:
    """Reads a CAR v1 stream: ``roots`` after construction, then ``blocks()`` yields verified blocks."""

    def __init__(self, stream: BinaryIO, what: str = "CAR") -> None:
        self._stream: Readable = stream
        self.what = what
        header = self._header()
        if header.get("version") == 2:
            # CAR v2: a fixed 40-byte header after the pragma, then a CAR v1 payload (then an index,
            # which is not needed: every block is read and checked anyway).
            fixed = _read_exact(stream, 40, f"{what}: CAR v2 header")
            data_offset = int.from_bytes(fixed[16:24], "little")
            data_size = int.from_bytes(fixed[24:32], "little")
            consumed = 11 + 40  # the pragma and the fixed header
            if data_offset < consumed:
                raise IntegrityError(f"{what}: CAR v2 data offset {data_offset} is inside its header")
            _skip(stream, data_offset - consumed, f"{what}: CAR v2 padding")
            self._stream = _Limited(stream, data_size)
            header = self._header()
        if header.get("version") != 1:
            raise IntegrityError(f"{what}: not a CAR v1 or v2 (header version {header.get('version')!r})")
        roots = header.get("roots")
        if not isinstance(roots, list) or not roots or not all(isinstance(r, bytes) for r in roots):
            raise IntegrityError(f"{what}: header has no roots")
        self.roots = [self._root(r) for r in roots]

    def _header(self) -> dict[str, Any]:
        what = self.what
        length = read_varint_stream(self._stream, f"{what}: header")
        if length is None:
            raise IntegrityError(f"{what}: empty file, not a CAR")
        if not 0 < length <= MAX_HEADER:
            raise IntegrityError(f"{what}: header length {length} is out of range")
        raw = _read_exact(self._stream, length, f"{what}: header")
        try:
            header = libipld.decode_dag_cbor(raw)
        except Exception:  # noqa: BLE001 - any decoding failure means a bad header
            raise IntegrityError(f"{what}: header is not valid dag-cbor") from None
        if not isinstance(header, dict):
            raise IntegrityError(f"{what}: header is not a map")
        return header

    def _root(self, raw: bytes) -> CID:
        try:
            cid, end = CID.from_bytes(raw)
        except IntegrityError as exc:
            raise IntegrityError(f"{self.what}: root: {exc}") from None
        if end != len(raw):
            raise IntegrityError(f"{self.what}: root CID has trailing bytes")
        return cid

    def blocks(self) -> Iterator[tuple[CID, bytes]]:
        index = 0
        while True:
            length = read_varint_stream(self._stream, f"{self.what}: section {index}")
            if length is None:
                return
            if not 0 < length <= MAX_SECTION:
                raise IntegrityError(f"{self.what}: section {index} length {length} is out of range")
            section = _read_exact(self._stream, length, f"{self.what}: section {index}")
            try:
                cid, start = CID.from_bytes(section)
            except IntegrityError as exc:
                raise IntegrityError(f"{self.what}: section {index}: {exc}") from None
            block = section[start:]
            cid.verify(block)
            yield cid, block
            index += 1


class BlockFile:
    """A temporary block store: verified blocks appended to one file, indexed by CID in memory."""

    def __init__(self, directory: Path | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix=".tmp-blocks-", dir=directory)
        self._path = Path(name)
        self._file = os.fdopen(fd, "w+b")
        self._index: dict[bytes, tuple[int, int]] = {}
        self._end = 0

    def put(self, cid: CID, block: bytes) -> None:
        key = cid.to_bytes()
        if key in self._index:
            return
        self._file.seek(self._end)
        self._file.write(block)
        self._index[key] = (self._end, len(block))
        self._end += len(block)

    def __contains__(self, cid: CID) -> bool:
        return cid.to_bytes() in self._index

    def __len__(self) -> int:
        return len(self._index)

    def cids(self) -> list[bytes]:
        return list(self._index)

    def get(self, cid: CID) -> bytes:
        try:
            offset, length = self._index[cid.to_bytes()]
        except KeyError:
            raise IntegrityError(f"block {cid} is missing from the DAG") from None
        self._file.seek(offset)
        block = self._file.read(length)
        cid.verify(block)  # the temporary file is re-checked on the way out, too
        return block

    def close(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)

    def __enter__(self) -> BlockFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_car(stream: BinaryIO, blocks: BlockFile, what: str = "CAR", expected: CID | None = None) -> CID:
    """Read a single-root CAR into ``blocks``, checking every block; returns the root.

    With ``expected``, a CAR rooted elsewhere is refused before any block is read.
    """
    reader = CarReader(stream, what)
    if len(reader.roots) != 1:
        raise IntegrityError(f"{what}: has {len(reader.roots)} roots, expected one")
    if expected is not None and reader.roots[0] != expected:
        raise IntegrityError(f"{what}: CAR is rooted at {reader.roots[0]}, expected {expected}")
    for cid, block in reader.blocks():
        blocks.put(cid, block)
    return reader.roots[0]
