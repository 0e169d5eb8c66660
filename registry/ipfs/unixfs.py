"""UnixFS v1 import computed by vial: CIDs of files and directory trees without an IPFS node.

The DAG is built the way Kubo/boxo build it, so the CIDs are the ones ``ipfs add`` gives with the
same profile (IPIP-499):

* files: fixed-size chunks, ``balanced`` layout (every leaf at the same depth, nodes filled left to
  right with at most ``max_links`` children), raw leaves or dag-pb ``File`` leaves;
* directories: a basic ``Directory`` node with links sorted by name, switched to a HAMT shard
  (fanout 256, murmur3-x64-64 of the entry name) when its estimated size is above the threshold
  (``block``: the serialized dag-pb node size; ``links``: the sum of name and CID byte lengths);
* symlinks are preserved as ``Symlink`` nodes; hidden entries (names starting with ``.``) are left
  out unless asked for, as ``ipfs add -r`` does.

Files are read as a stream, chunk by chunk; leaves are hashed in a small thread pool (hashlib
releases the GIL), with a bounded number of chunks in flight, so memory stays flat.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

import mmh3

from vial.errors import NotFoundError, VialError
from vial.registry.ipfs.cid import CID, DAG_PB, RAW
from vial.registry.ipfs.dagpb import (
    HAMT_MURMUR3,
    T_DIRECTORY,
    T_FILE,
    T_HAMT_SHARD,
    T_SYMLINK,
    encode_node,
    unixfs_data,
)


class ProfileError(VialError):
    """An unknown UnixFS import profile was asked for."""


@dataclass(frozen=True)
class Profile:
    """The parameters that decide a UnixFS DAG, hence its CID (IPIP-499)."""

    name: str
    cid_version: int
    chunk_size: int
    max_links: int
    raw_leaves: bool
    hamt_fanout: int
    hamt_threshold: int
    hamt_estimation: Literal["block", "links"]

    def kubo_add_params(self) -> dict[str, str]:
        """The ``/api/v0/add`` parameters that make Kubo build the same file DAG."""
        return {
            "cid-version": str(self.cid_version),
            "hash": "sha2-256",
            "chunker": f"size-{self.chunk_size}",
            "raw-leaves": "true" if self.raw_leaves else "false",
            "trickle": "false",
            "max-file-links": str(self.max_links),
            "max-hamt-fanout": str(self.hamt_fanout),
        }


UNIXFS_V1_2025 = Profile("unixfs-v1-2025", 1, 1 << 20, 1024, True, 256, 256 << 10, "block")
UNIXFS_V0_2015 = Profile("unixfs-v0-2015", 0, 256 << 10, 174, False, 256, 256 << 10, "links")
PROFILES = {p.name: p for p in (UNIXFS_V1_2025, UNIXFS_V0_2015)}
DEFAULT_PROFILE = UNIXFS_V1_2025.name


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(f"unknown UnixFS profile {name!r} (known: {', '.join(sorted(PROFILES))})") from None


class BlockSink(Protocol):
    """Receives every block the importer makes (children before parents)."""

    def put(self, cid: CID, block: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class Node:
    """An imported node: its CID, and the cumulative size of its DAG (the ``Tsize`` of a link to it)."""

    cid: CID
    tsize: int


@dataclass(frozen=True, slots=True)
class _FileNode:
    cid: CID
    filesize: int
    tsize: int


HASH_WORKERS = min(2, os.cpu_count() or 1)
_IN_FLIGHT = 8  # chunks being hashed at once, bounds memory to a few chunk sizes


def _read_full(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _hamt_hash(name: bytes) -> bytes:
    # boxo: murmur3 x64-128 with seed 0, first 64-bit half, big-endian
    return mmh3.hash64(name, seed=0, x64arch=True, signed=False)[0].to_bytes(8, "big")


class Importer:
    """Builds UnixFS DAGs for one profile; pass a ``sink`` to receive the blocks (else only CIDs)."""

    def __init__(
        self, profile: Profile | str = DEFAULT_PROFILE, sink: BlockSink | None = None, hidden: bool = False
    ) -> None:
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.sink = sink
        self.hidden = hidden
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> Importer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- blocks --------------------------------------------------------------------------------

    def _emit(self, cid: CID, block: bytes) -> None:
        if self.sink is not None:
            self.sink.put(cid, block)

    def _pb_node(self, links: list[tuple[bytes, bytes, int]], data: bytes | None) -> tuple[CID, bytes]:
        block = encode_node(links, data)
        return CID.of(block, DAG_PB, self.profile.cid_version), block

    # -- files ---------------------------------------------------------------------------------

    def _leaf(self, chunk: bytes) -> tuple[CID, bytes, int, int]:
        if self.profile.raw_leaves:
            return CID.of(chunk, RAW, 1), chunk, len(chunk), len(chunk)
        data = unixfs_data(T_FILE, data=chunk if chunk else None, filesize=len(chunk))
        block = encode_node([], data)
        return CID.of(block, DAG_PB, self.profile.cid_version), block, len(chunk), len(block)

    def add_stream(self, stream: BinaryIO, progress: Callable[[int], None] | None = None) -> Node:
        """Import everything left in ``stream`` as one UnixFS file."""
        builder = _Balanced(self)
        chunk_size = self.profile.chunk_size
        first = _read_full(stream, chunk_size)
        if not first:
            cid, block, _, tsize = self._leaf(b"")
            self._emit(cid, block)
            return Node(cid, tsize)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="vial-hash")
        pending: deque[Future[tuple[CID, bytes, int, int]]] = deque()
        chunk: bytes = first
        while chunk:
            pending.append(self._pool.submit(self._leaf, chunk))
            if len(pending) >= _IN_FLIGHT:
                self._take(pending.popleft(), builder, progress)
            chunk = _read_full(stream, chunk_size)
        while pending:
            self._take(pending.popleft(), builder, progress)
        root = builder.finish()
        return Node(root.cid, root.tsize)

    def _take(
        self, future: Future[tuple[CID, bytes, int, int]], builder: _Balanced, progress: Callable[[int], None] | None
    ) -> None:
        cid, block, filesize, tsize = future.result()
        self._emit(cid, block)
        builder.push(0, _FileNode(cid, filesize, tsize))
        if progress is not None:
            progress(filesize)

    def add_bytes(self, data: bytes) -> Node:
        import io

        return self.add_stream(io.BytesIO(data))

    def add_file(self, path: Path | str, progress: Callable[[int], None] | None = None) -> Node:
        with open(path, "rb") as handle:
            return self.add_stream(handle, progress)

    def _file_node(self, children: list[_FileNode]) -> _FileNode:
        sizes = [c.filesize for c in children]
        data = unixfs_data(T_FILE, filesize=sum(sizes), blocksizes=sizes)
        cid, block = self._pb_node([(c.cid.to_bytes(), b"", c.tsize) for c in children], data)
        self._emit(cid, block)
        return _FileNode(cid, sum(sizes), len(block) + sum(c.tsize for c in children))

    # -- symlinks and directories --------------------------------------------------------------

    def add_symlink(self, target: bytes) -> Node:
        cid, block = self._pb_node([], unixfs_data(T_SYMLINK, data=target))
        self._emit(cid, block)
        return Node(cid, len(block))

    def add_path(self, path: Path | str, progress: Callable[[int], None] | None = None) -> Node:
        """Import a file, a symlink or a directory tree."""
        path = Path(path)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            raise NotFoundError(f"{path}: no such file or directory") from None
        if stat.S_ISLNK(mode):
            return self.add_symlink(os.fsencode(os.readlink(path)))
        if stat.S_ISDIR(mode):
            return self.add_directory(path, progress)
        if stat.S_ISREG(mode):
            return self.add_file(path, progress)
        raise VialError(f"{path}: not a regular file, directory or symlink")

    def add_directory(self, path: Path | str, progress: Callable[[int], None] | None = None) -> Node:
        path = Path(path)
        entries: list[tuple[bytes, Node]] = []
        names = sorted(os.fsencode(n) for n in os.listdir(path))
        for name in names:
            if not self.hidden and name.startswith(b"."):
                continue
            entries.append((name, self.add_path(path / os.fsdecode(name), progress)))
        return self.directory(entries)

    def directory(self, entries: list[tuple[bytes, Node]]) -> Node:
        """A directory node over already imported entries (names as bytes), sharded when large."""
        entries = sorted(entries, key=lambda e: e[0])
        links = [(node.cid.to_bytes(), name, node.tsize) for name, node in entries]
        data = unixfs_data(T_DIRECTORY)
        block = encode_node(links, data)
        if self.profile.hamt_estimation == "block":
            size = len(block)
        else:
            size = sum(len(name) + len(cid) for cid, name, _ in links)
        if size > self.profile.hamt_threshold:
            return self._hamt([(name, node, _hamt_hash(name)) for name, node in entries], 0)
        cid = CID.of(block, DAG_PB, self.profile.cid_version)
        self._emit(cid, block)
        return Node(cid, len(block) + sum(node.tsize for _, node in entries))

    def _hamt(self, entries: list[tuple[bytes, Node, bytes]], depth: int) -> Node:
        fanout = self.profile.hamt_fanout
        if fanout != 256:
            raise ProfileError(f"HAMT fanout {fanout} is not supported (256 only)")
        if depth >= 8:
            raise VialError("HAMT: two directory entry names have the same 64-bit hash")
        buckets: dict[int, list[tuple[bytes, Node, bytes]]] = {}
        for entry in entries:
            buckets.setdefault(entry[2][depth], []).append(entry)
        links: list[tuple[bytes, bytes, int]] = []
        bitfield = 0
        total = 0
        for index in sorted(buckets):
            group = buckets[index]
            bitfield |= 1 << index
            prefix = b"%02X" % index
            if len(group) == 1:
                name, node, _ = group[0]
                links.append((node.cid.to_bytes(), prefix + name, node.tsize))
                total += node.tsize
            else:
                child = self._hamt(group, depth + 1)
                links.append((child.cid.to_bytes(), prefix, child.tsize))
                total += child.tsize
        bits = bitfield.to_bytes(fanout // 8, "big").lstrip(b"\x00")
        data = unixfs_data(T_HAMT_SHARD, data=bits, hash_type=HAMT_MURMUR3, fanout=fanout)
        cid, block = self._pb_node(links, data)
        self._emit(cid, block)
        return Node(cid, len(block) + total)


class _Balanced:
    """The balanced file layout, built as leaves stream in: one list of pending links per level."""

    def __init__(self, importer: Importer) -> None:
        self._importer = importer
        self._max = importer.profile.max_links
        self._levels: list[list[_FileNode]] = [[]]

    def push(self, level: int, item: _FileNode) -> None:
        if level == len(self._levels):
            self._levels.append([])
        pending = self._levels[level]
        if len(pending) == self._max:
            # The level is full: it becomes a node one level up before the new item starts a new one.
            self._levels[level] = []
            self.push(level + 1, self._importer._file_node(pending))
            self._levels[level] = [item]
        else:
            pending.append(item)

    def finish(self) -> _FileNode:
        level = 0
        while True:
            pending = self._levels[level]
            is_top = not any(self._levels[level + 1 :])
            if is_top and len(pending) == 1:
                return pending[0]
            self._levels[level] = []
            self.push(level + 1, self._importer._file_node(pending))
            level += 1
