"""Read a UnixFS directory DAG back from verified blocks (the reverse of the importer).

Every block handed in has already been checked against its CID; this reader additionally checks
the structure: the root is a dag-pb directory (basic or HAMT), names are single path components
and unique, file sizes agree with their nodes, and no file grows past the size its caller allows
(a small DAG that repeats a block cannot turn into an endless file). Symlinks and other node
types are refused: an OCI layout has none. ``unused()`` reports blocks nothing has read, so that
a CAR carries exactly one DAG.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from vial.errors import IntegrityError
from vial.registry.ipfs.car import BlockFile
from vial.registry.ipfs.cid import CID, DAG_PB, RAW
from vial.registry.ipfs.dagpb import (
    T_DIRECTORY,
    T_FILE,
    T_HAMT_SHARD,
    T_RAW,
    Link,
    UnixFSData,
    decode_node,
    decode_unixfs,
)

MAX_DEPTH = 64


@dataclass(frozen=True)
class WrittenFile:
    digest: str
    size: int


class UnixFSReader:
    """Walks directories and reads files of the DAGs in ``blocks``."""

    def __init__(self, blocks: BlockFile, what: str = "DAG") -> None:
        self._blocks = blocks
        self._what = what
        self._used: set[bytes] = set()

    def _get(self, cid: CID) -> bytes:
        self._used.add(cid.to_bytes())
        return self._blocks.get(cid)

    def _pb(self, cid: CID) -> tuple[list[Link], UnixFSData]:
        node = decode_node(self._get(cid), f"{self._what}: block {cid}")
        return node.links, decode_unixfs(node.data, f"{self._what}: block {cid}")

    def unused(self) -> int:
        return len(set(self._blocks.cids()) - self._used)

    # -- directories ---------------------------------------------------------------------------

    def files(self, root: CID) -> dict[str, CID]:
        """Every file under the directory ``root``, by relative path (``a/b/c``)."""
        if root.codec != DAG_PB:
            raise IntegrityError(
                f"{self._what}: root {root} has codec {root.codec_name}, expected a dag-pb UnixFS directory"
            )
        links, data = self._pb(root)
        if data.type not in (T_DIRECTORY, T_HAMT_SHARD):
            raise IntegrityError(f"{self._what}: root {root} is not a UnixFS directory (type {data.type})")
        found: dict[str, CID] = {}
        self._walk(root, links, data, "", found, 0)
        return found

    def _walk(
        self, cid: CID, links: list[Link], data: UnixFSData, prefix: str, found: dict[str, CID], depth: int
    ) -> None:
        if depth > MAX_DEPTH:
            raise IntegrityError(f"{self._what}: directories nested deeper than {MAX_DEPTH}")
        seen: set[bytes] = set()
        for name, child in self._entries(cid, links, data, 0):
            if not name or name in (b".", b"..") or b"/" in name or b"\x00" in name:
                raise IntegrityError(f"{self._what}: directory {cid} has an invalid entry name {name!r}")
            if name in seen:
                raise IntegrityError(f"{self._what}: directory {cid} names {name!r} twice")
            seen.add(name)
            path = prefix + name.decode("utf-8", "surrogateescape")
            if child.codec == RAW:
                found[path] = child
                continue
            child_links, child_data = self._pb(child)
            if child_data.type in (T_DIRECTORY, T_HAMT_SHARD):
                self._walk(child, child_links, child_data, path + "/", found, depth + 1)
            elif child_data.type in (T_FILE, T_RAW):
                self._used.discard(child.to_bytes())  # counted when the file is read
                found[path] = child
            else:
                raise IntegrityError(f"{self._what}: {path}: UnixFS type {child_data.type} is not allowed here")

    def _entries(self, cid: CID, links: list[Link], data: UnixFSData, depth: int) -> Iterator[tuple[bytes, CID]]:
        if data.type == T_DIRECTORY:
            for link in links:
                yield link.name, link.cid
            return
        if data.fanout != 256 or data.hash_type != 0x22:
            raise IntegrityError(
                f"{self._what}: HAMT shard {cid} has fanout {data.fanout}, hash 0x{data.hash_type or 0:x}"
            )
        for link in links:
            if len(link.name) < 2:
                raise IntegrityError(f"{self._what}: HAMT shard {cid} has a link without a slot prefix")
            if len(link.name) > 2:
                yield link.name[2:], link.cid
                continue
            if depth >= 8 or link.cid.codec != DAG_PB:
                raise IntegrityError(f"{self._what}: HAMT shard {cid} has a bad child {link.cid}")
            sub_links, sub_data = self._pb(link.cid)
            if sub_data.type != T_HAMT_SHARD:
                raise IntegrityError(f"{self._what}: HAMT shard {cid} links to a non-shard {link.cid}")
            yield from self._entries(link.cid, sub_links, sub_data, depth + 1)

    # -- files ---------------------------------------------------------------------------------

    def write_file(self, cid: CID, out: BinaryIO, limit: int, what: str) -> WrittenFile:
        """Write the file at ``cid`` into ``out``, refusing more than ``limit`` bytes."""
        hasher = hashlib.sha256()
        size = self._content(cid, out, hasher, [0, limit], what, 0)
        return WrittenFile("sha256:" + hasher.hexdigest(), size)

    def read_file(self, cid: CID, limit: int, what: str) -> bytes:
        buf = io.BytesIO()
        self.write_file(cid, buf, limit, what)
        return buf.getvalue()

    def _emit(self, data: bytes, out: BinaryIO, hasher: Any, budget: list[int], what: str) -> None:
        budget[0] += len(data)
        if budget[0] > budget[1]:
            raise IntegrityError(f"{self._what}: {what} is larger than the {budget[1]} bytes expected")
        out.write(data)
        hasher.update(data)

    def _content(self, cid: CID, out: BinaryIO, hasher: Any, budget: list[int], what: str, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise IntegrityError(f"{self._what}: {what}: file DAG deeper than {MAX_DEPTH}")
        if cid.codec == RAW:
            block = self._get(cid)
            self._emit(block, out, hasher, budget, what)
            return len(block)
        links, data = self._pb(cid)
        if data.type not in (T_FILE, T_RAW):
            raise IntegrityError(f"{self._what}: {what}: block {cid} inside a file is not file data")
        written = 0
        if data.data:
            self._emit(data.data, out, hasher, budget, what)
            written += len(data.data)
        if data.blocksizes and len(data.blocksizes) != len(links):
            raise IntegrityError(
                f"{self._what}: {what}: node {cid} has {len(links)} links but {len(data.blocksizes)} block sizes"
            )
        for i, link in enumerate(links):
            got = self._content(link.cid, out, hasher, budget, what, depth + 1)
            if data.blocksizes and got != data.blocksizes[i]:
                raise IntegrityError(
                    f"{self._what}: {what}: node {cid}: child {i} has {got} bytes, node says {data.blocksizes[i]}"
                )
            written += got
        if data.filesize is not None and written != data.filesize:
            raise IntegrityError(f"{self._what}: {what}: node {cid}: {written} bytes, node says {data.filesize}")
        return written


def write_file_to(reader: UnixFSReader, cid: CID, target: Path, limit: int, what: str) -> WrittenFile:
    """Write a file from the DAG to a new path (never over an existing one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        return reader.write_file(cid, out, limit, what)
