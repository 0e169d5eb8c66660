"""Materialize a UnixFS directory DAG from verified blocks onto disk (the reverse of the importer).

Every block handed in has already been checked against its CID; this walker additionally checks
the structure: the root is a dag-pb directory, names are single path components, file sizes agree
with their nodes, and every block in the set is reachable from the root (an extra block is an
error, so a CAR carries exactly one DAG). Symlinks and other node types are refused: an OCI layout
has none, and a pulled tree never writes outside its destination.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from vial.errors import IntegrityError
from vial.registry.car import BlockFile
from vial.registry.cid import CID, DAG_PB, RAW
from vial.registry.dagpb import T_DIRECTORY, T_FILE, T_HAMT_SHARD, T_RAW, UnixFSData, decode_node, decode_unixfs

MAX_DEPTH = 64


class Materializer:
    """Writes the directory at ``root`` into ``dest``; records each file's sha256 on the way."""

    def __init__(self, blocks: BlockFile, what: str = "DAG") -> None:
        self._blocks = blocks
        self._what = what
        self._used: set[bytes] = set()
        self.file_digests: dict[Path, tuple[str, int]] = {}

    def _get(self, cid: CID) -> bytes:
        self._used.add(cid.to_bytes())
        return self._blocks.get(cid)

    def _pb(self, cid: CID) -> tuple[list, UnixFSData]:
        node = decode_node(self._get(cid), f"{self._what}: block {cid}")
        return node.links, decode_unixfs(node.data, f"{self._what}: block {cid}")

    def run(self, root: CID, dest: Path) -> None:
        if root.codec != DAG_PB:
            raise IntegrityError(f"{self._what}: root {root} has codec {root.codec_name}, expected a dag-pb UnixFS directory")
        links, data = self._pb(root)
        if data.type not in (T_DIRECTORY, T_HAMT_SHARD):
            raise IntegrityError(f"{self._what}: root {root} is not a UnixFS directory (type {data.type})")
        dest.mkdir(parents=True, exist_ok=True)
        self._directory(root, links, data, dest, 0)
        unused = set(self._blocks.cids()) - self._used
        if unused:
            raise IntegrityError(f"{self._what}: {len(unused)} block(s) not reachable from root {root}")

    def _entries(self, cid: CID, links: list, data: UnixFSData, depth: int) -> Iterator[tuple[bytes, CID]]:
        if data.type == T_DIRECTORY:
            for link in links:
                yield link.name, link.cid
            return
        if data.fanout != 256 or data.hash_type != 0x22:
            raise IntegrityError(f"{self._what}: HAMT shard {cid} has fanout {data.fanout}, hash 0x{data.hash_type or 0:x}")
        for link in links:
            if len(link.name) < 2:
                raise IntegrityError(f"{self._what}: HAMT shard {cid} has a link without a slot prefix")
            if len(link.name) > 2:
                yield link.name[2:], link.cid
            else:
                if depth > MAX_DEPTH or link.cid.codec != DAG_PB:
                    raise IntegrityError(f"{self._what}: HAMT shard {cid} has a bad child {link.cid}")
                sub_links, sub_data = self._pb(link.cid)
                if sub_data.type != T_HAMT_SHARD:
                    raise IntegrityError(f"{self._what}: HAMT shard {cid} links to a non-shard {link.cid}")
                yield from self._entries(link.cid, sub_links, sub_data, depth + 1)

    def _directory(self, cid: CID, links: list, data: UnixFSData, dest: Path, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise IntegrityError(f"{self._what}: directories nested deeper than {MAX_DEPTH}")
        seen: set[bytes] = set()
        for name, child in self._entries(cid, links, data, depth):
            if not name or name in (b".", b"..") or b"/" in name or b"\x00" in name:
                raise IntegrityError(f"{self._what}: directory {cid} has an invalid entry name {name!r}")
            if name in seen:
                raise IntegrityError(f"{self._what}: directory {cid} names {name!r} twice")
            seen.add(name)
            target = dest / name.decode("utf-8", "surrogateescape")
            if child.codec == RAW:
                self._write_file(child, target)
                continue
            child_links, child_data = self._pb(child)
            if child_data.type in (T_DIRECTORY, T_HAMT_SHARD):
                target.mkdir()
                self._directory(child, child_links, child_data, target, depth + 1)
            elif child_data.type in (T_FILE, T_RAW):
                self._write_file(child, target)
            else:
                raise IntegrityError(f"{self._what}: {target.name}: UnixFS type {child_data.type} is not allowed here")

    def _write_file(self, cid: CID, target: Path) -> None:
        hasher = hashlib.sha256()
        with open(target, "xb") as out:
            size = self._file_content(cid, out, hasher, 0)
        self.file_digests[target] = ("sha256:" + hasher.hexdigest(), size)

    def _file_content(self, cid: CID, out: BinaryIO, hasher: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise IntegrityError(f"{self._what}: file DAG deeper than {MAX_DEPTH}")
        if cid.codec == RAW:
            block = self._get(cid)
            out.write(block)
            hasher.update(block)
            return len(block)
        links, data = self._pb(cid)
        if data.type not in (T_FILE, T_RAW):
            raise IntegrityError(f"{self._what}: block {cid} inside a file is not file data")
        written = 0
        if data.data:
            out.write(data.data)
            hasher.update(data.data)
            written += len(data.data)
        if data.blocksizes and len(data.blocksizes) != len(links):
            raise IntegrityError(f"{self._what}: file node {cid} has {len(links)} links but {len(data.blocksizes)} block sizes")
        for i, link in enumerate(links):
            got = self._file_content(link.cid, out, hasher, depth + 1)
            if data.blocksizes and got != data.blocksizes[i]:
                raise IntegrityError(f"{self._what}: file node {cid}: child {i} has {got} bytes, node says {data.blocksizes[i]}")
            written += got
        if data.filesize is not None and written != data.filesize:
            raise IntegrityError(f"{self._what}: file node {cid}: {written} bytes, node says {data.filesize}")
        return written
