"""dag-pb nodes and the UnixFS ``Data`` message, encoded and decoded by hand.

Two small protobuf messages, written here rather than through a protobuf library, because the bytes
must be exactly those Kubo/boxo write (field order, an empty ``Name`` always present on links,
non-packed ``blocksizes``) and a generic encoder gives no such guarantee; see docs/decisions.md.

PBNode: Links (field 2, repeated, written first), Data (field 1).
PBLink: Hash (1, bytes), Name (2, string), Tsize (3, varint).
UnixFS Data: Type (1), Data (2), filesize (3), blocksizes (4, repeated), hashType (5), fanout (6).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vial.errors import IntegrityError
from vial.registry.ipfs.cid import CID, read_varint, varint

# UnixFS node types
T_RAW = 0
T_DIRECTORY = 1
T_FILE = 2
T_METADATA = 3
T_SYMLINK = 4
T_HAMT_SHARD = 5

HAMT_MURMUR3 = 0x22


@dataclass(frozen=True, slots=True)
class Link:
    cid: CID
    name: bytes
    tsize: int


def encode_link(cid_bytes: bytes, name: bytes, tsize: int) -> bytes:
    inner = b"\x0a" + varint(len(cid_bytes)) + cid_bytes + b"\x12" + varint(len(name)) + name + b"\x18" + varint(tsize)
    return b"\x12" + varint(len(inner)) + inner


def encode_node(links: list[tuple[bytes, bytes, int]], data: bytes | None) -> bytes:
    """Encode a PBNode from (cid bytes, name, tsize) links and optional data."""
    parts = [encode_link(c, n, t) for c, n, t in links]
    if data is not None:
        parts.append(b"\x0a" + varint(len(data)) + data)
    return b"".join(parts)


def unixfs_data(
    type_: int,
    data: bytes | None = None,
    filesize: int | None = None,
    blocksizes: list[int] | None = None,
    hash_type: int | None = None,
    fanout: int | None = None,
) -> bytes:
    out = bytearray(b"\x08" + varint(type_))
    if data is not None:
        out += b"\x12" + varint(len(data)) + data
    if filesize is not None:
        out += b"\x18" + varint(filesize)
    for size in blocksizes or ():
        out += b"\x20" + varint(size)
    if hash_type is not None:
        out += b"\x28" + varint(hash_type)
    if fanout is not None:
        out += b"\x30" + varint(fanout)
    return bytes(out)


@dataclass(slots=True)
class UnixFSData:
    type: int
    data: bytes = b""
    filesize: int | None = None
    blocksizes: list[int] = field(default_factory=list)
    hash_type: int | None = None
    fanout: int | None = None


@dataclass(slots=True)
class PBNode:
    links: list[Link]
    data: bytes | None


def _fields(buf: bytes | memoryview, what: str) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value): the value is an int for wire type 0, bytes for 2."""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos, what)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos, what)
            yield number, wire, value
        elif wire == 2:
            length, pos = read_varint(buf, pos, what)
            if pos + length > end:
                raise IntegrityError(f"{what}: truncated field {number}")
            yield number, wire, bytes(buf[pos : pos + length])
            pos += length
        else:
            raise IntegrityError(f"{what}: unsupported protobuf wire type {wire}")


def decode_node(block: bytes | memoryview, what: str = "dag-pb node") -> PBNode:
    links: list[Link] = []
    data: bytes | None = None
    for number, wire, value in _fields(block, what):
        if number == 2 and wire == 2:
            cid = None
            name = b""
            tsize = 0
            for n2, w2, v2 in _fields(value, what):
                if n2 == 1 and w2 == 2:
                    cid, _ = CID.from_bytes(v2)
                elif n2 == 2 and w2 == 2:
                    name = v2
                elif n2 == 3 and w2 == 0:
                    tsize = v2
                else:
                    raise IntegrityError(f"{what}: unexpected link field {n2}")
            if cid is None:
                raise IntegrityError(f"{what}: link without a hash")
            links.append(Link(cid, name, tsize))
        elif number == 1 and wire == 2:
            data = value
        else:
            raise IntegrityError(f"{what}: unexpected field {number}")
    return PBNode(links, data)


def decode_unixfs(data: bytes | None, what: str = "UnixFS data") -> UnixFSData:
    if data is None:
        raise IntegrityError(f"{what}: dag-pb node has no UnixFS data")
    result = UnixFSData(type=-1)
    for number, wire, value in _fields(data, what):
        if number == 1 and wire == 0:
            result.type = value
        elif number == 2 and wire == 2:
            result.data = value
        elif number == 3 and wire == 0:
            result.filesize = value
        elif number == 4 and wire == 0:
            result.blocksizes.append(value)
        elif number == 4 and wire == 2:  # packed form, accepted on read
            pos = 0
            while pos < len(value):
                size, pos = read_varint(value, pos, what)
                result.blocksizes.append(size)
        elif number == 5 and wire == 0:
            result.hash_type = value
        elif number == 6 and wire == 0:
            result.fanout = value
        elif number in (7, 8):  # mode, mtime: ignored
            continue
        else:
            raise IntegrityError(f"{what}: unexpected field {number}")
    if result.type < 0:
        raise IntegrityError(f"{what}: no type")
    return result
