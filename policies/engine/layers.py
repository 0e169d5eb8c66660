"""Reading layers safely: streamed, rehashed, decompressed under limits, every tar entry checked.

One pass over a layer blob does everything: the compressed bytes are rehashed against the layer
digest, the decompressed bytes against the config's diff_id, the decompressed size and ratio are
bounded (decompression bombs stop early, not at the end), and every tar header is checked before
anything acts on it. ``scan_layers`` only reads; ``vial.policies.runtime.unpack`` extracts with the same
checks plus filesystem-level ones. Nothing holds a whole layer in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import queue
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import zstandard

from vial.digest import CHUNK_SIZE
from vial.errors import IntegrityError, VialError
from vial.oci import MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_ZSTD, Descriptor
from vial.store import Store

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
GiB = 1 << 30
MiB = 1 << 20


class UnsafeLayerError(VialError):
    """A layer holds an entry vial refuses to unpack (escaping path, device, bomb...)."""

    exit_code = 2


@dataclass(frozen=True)
class Limits:
    """Bounds on what a layer may expand to. Defaults fit research images; policies may tighten them."""

    max_layer_bytes: int = 32 * GiB  # decompressed size of one layer
    max_total_bytes: int = 64 * GiB  # decompressed size of all layers
    max_ratio: float = 200.0  # decompressed / compressed, checked once past ratio_floor
    ratio_floor: int = 32 * MiB  # small layers (text compresses well) are never judged by ratio
    max_entries: int = 2_000_000


DEFAULT_LIMITS = Limits()


class BackgroundHasher:
    """sha256 computed on a worker thread (hashlib releases the GIL), so hashing overlaps decompression.

    At most ``depth`` chunks are queued: memory stays bounded by depth x chunk size.
    """

    def __init__(self, depth: int = 8) -> None:
        self._hasher = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()
        self._digest: str | None = None

    def _work(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hasher.update(chunk)

    def update(self, data: bytes) -> None:
        self._queue.put(data)

    def close(self) -> None:
        if self._digest is None:
            self._queue.put(None)
            self._thread.join()
            self._digest = "sha256:" + self._hasher.hexdigest()

    @property
    def digest(self) -> str:
        self.close()
        assert self._digest is not None
        return self._digest


class HashedBlobReader:
    """Reads a blob file, hashing it on a worker thread; ``verify`` checks the digest once all was read."""

    def __init__(self, path: Any, expected: str, what: str) -> None:
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise IntegrityError(f"{what}: blob is missing from the store") from None
        self._expected = expected
        self._what = what
        self._hasher = BackgroundHasher()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size if size is not None and size >= 0 else CHUNK_SIZE)
        if data:
            self._hasher.update(data)
            self.size += len(data)
        return data

    def verify(self) -> None:
        while self.read(CHUNK_SIZE):
            pass
        if self._hasher.digest != self._expected:
            raise IntegrityError(f"{self._what}: content has digest {self._hasher.digest}, expected {self._expected}")

    def close(self) -> None:
        self._hasher.close()
        self._file.close()


class GuardedStream:
    """Decompressed bytes of one layer: hashed (diff_id), counted, and bounded as they are read."""

    def __init__(self, source: BinaryIO, compressed: Any, limits: Limits, what: str, total_before: int) -> None:
        self._source = source
        self._compressed = compressed
        self._limits = limits
        self._what = what
        self._total_before = total_before
        self._hasher = BackgroundHasher()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        data = self._source.read(size)
        if data:
            self._hasher.update(data)
            self.size += len(data)
            self._check()
        return data

    def close(self) -> None:
        self._hasher.close()

    def _check(self) -> None:
        limits = self._limits
        if self.size > limits.max_layer_bytes:
            raise UnsafeLayerError(f"{self._what}: decompression bomb: expands past {limits.max_layer_bytes} bytes")
        if self._total_before + self.size > limits.max_total_bytes:
            raise UnsafeLayerError(
                f"{self._what}: decompression bomb: image expands past {limits.max_total_bytes} bytes"
            )
        if self.size > limits.ratio_floor:
            ratio = self.size / max(self._compressed.size, 1)
            if ratio > limits.max_ratio:
                raise UnsafeLayerError(
                    f"{self._what}: decompression bomb: {self._compressed.size} compressed bytes expand to more than "
                    f"{self.size} (ratio {ratio:.0f} > {limits.max_ratio:g})"
                )

    def drain(self) -> None:
        while self.read(CHUNK_SIZE):
            pass

    @property
    def diff_id(self) -> str:
        return self._hasher.digest


def _decompressor(media_type: str, reader: Any, what: str) -> BinaryIO:
    if media_type == MEDIA_TYPE_LAYER_ZSTD:
        return zstandard.ZstdDecompressor().stream_reader(reader, read_size=CHUNK_SIZE)
    if media_type == MEDIA_TYPE_LAYER_GZIP:
        return gzip.GzipFile(fileobj=reader)  # type: ignore[return-value]
    if media_type == MEDIA_TYPE_LAYER_TAR:
        return cast(BinaryIO, reader)
    raise IntegrityError(f"{what}: unsupported layer media type {media_type!r}")


# -- entry checks ---------------------------------------------------------------------------------


def clean_name(name: str, what: str) -> str:
    """A tar entry name as a relative path with no ``..``; refuse absolute paths and traversal."""
    if "\x00" in name:
        raise UnsafeLayerError(f"{what}: entry name holds a NUL byte")
    if name.startswith("/"):
        raise UnsafeLayerError(f"{what}: absolute path {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayerError(f"{what}: path traversal in {name!r}")
    return "/".join(parts)


def symlink_escapes(path: str, target: str) -> bool:
    """Whether a symlink at ``path`` (relative to the root) pointing at ``target`` climbs above the root.

    An absolute target is read as the container sees it, from the root (chroot semantics).
    """
    base: list[str] = [] if target.startswith("/") else path.split("/")[:-1]
    depth = len(base)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        else:
            depth += 1
    return False


@dataclass
class ScanState:
    """What earlier entries (of this and lower layers) left that later ones must not abuse."""

    symlinks: set[str] = field(default_factory=set)
    entries: int = 0
    total_bytes: int = 0


def _through_symlink(name: str, symlinks: set[str]) -> str | None:
    parts = name.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix in symlinks:
            return prefix
    return None


def _check_type(member: tarfile.TarInfo, name: str, state: ScanState, what: str) -> None:
    """The entry's type: no devices or sparse files, and links that stay inside the root."""
    if member.ischr() or member.isblk():
        raise UnsafeLayerError(f"{what}: device node {name!r}")
    if member.issparse():
        raise UnsafeLayerError(f"{what}: sparse file {name!r} (refused: its size is not its content)")
    if member.issym():
        if symlink_escapes(name, member.linkname):
            raise UnsafeLayerError(f"{what}: symlink {name!r} -> {member.linkname!r} escapes the root")
    elif member.islnk():
        _check_hardlink(member, name, state, what)
    elif not (member.isreg() or member.isdir() or member.isfifo()):
        raise UnsafeLayerError(f"{what}: entry {name!r} has unsupported type {member.type!r}")


def _check_hardlink(member: tarfile.TarInfo, name: str, state: ScanState, what: str) -> None:
    if member.linkname.startswith("/"):
        raise UnsafeLayerError(f"{what}: hardlink {name!r} -> {member.linkname!r} escapes the root (absolute)")
    target = posixpath.normpath(member.linkname)
    if target == ".." or target.startswith("../") or ".." in member.linkname.split("/"):
        raise UnsafeLayerError(f"{what}: hardlink {name!r} -> {member.linkname!r} escapes the root")
    via = _through_symlink(clean_name(member.linkname, what), state.symlinks)
    if via is not None:
        raise UnsafeLayerError(f"{what}: hardlink {name!r} -> {member.linkname!r} goes through a symlink")


def _track_symlinks(member: tarfile.TarInfo, name: str, state: ScanState, what: str) -> None:
    """Update the symlinks later entries must not go through: whiteouts remove, symlinks add."""
    base = posixpath.basename(name)
    if base.startswith(WHITEOUT_PREFIX) and base != OPAQUE_WHITEOUT:
        hidden = base[len(WHITEOUT_PREFIX) :]
        if hidden in ("", ".", "..") or not member.isreg():
            raise UnsafeLayerError(f"{what}: malformed whiteout {name!r}")
        gone = posixpath.join(posixpath.dirname(name), hidden)
        state.symlinks = {s for s in state.symlinks if s != gone and not s.startswith(gone + "/")}
    elif base == OPAQUE_WHITEOUT:
        parent = posixpath.dirname(name)
        state.symlinks = {s for s in state.symlinks if not s.startswith(parent + "/" if parent else "")}
    elif member.issym():
        state.symlinks.add(name)
    else:
        state.symlinks.discard(name)


def check_member(member: tarfile.TarInfo, state: ScanState, what: str) -> str:
    """Check one tar header; returns its clean name. Raises ``UnsafeLayerError`` on anything unsafe."""
    state.entries += 1
    name = clean_name(member.name, what)
    if not name:
        if member.isdir():
            return name
        raise UnsafeLayerError(f"{what}: entry {member.name!r} names the root")
    via = _through_symlink(name, state.symlinks)
    if via is not None:
        raise UnsafeLayerError(f"{what}: entry {name!r} goes through the symlink {via!r} (symlink escape)")
    _check_type(member, name, state, what)
    _track_symlinks(member, name, state, what)
    return name


# -- reading a layer --------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerFacts:
    digest: str
    diff_id: str
    compressed_size: int
    size: int
    entries: int


def iter_layer(
    store: Store,
    layer: Descriptor,
    expected_diff_id: str,
    state: ScanState,
    limits: Limits = DEFAULT_LIMITS,
    on_member: Callable[[tarfile.TarInfo, str, tarfile.TarFile], None] | None = None,
) -> LayerFacts:
    """Stream one layer, check everything, call ``on_member(member, clean_name, tar)`` for each entry.

    Raises before returning if the compressed digest, the diff_id or any entry is wrong. Callers that
    act on entries (``unpack``) must treat what they wrote as untrusted until this returns.
    """
    what = f"layer {layer.digest}"
    if layer.size < 0:
        raise IntegrityError(f"{what}: negative size")
    reader = HashedBlobReader(store.blob_path(layer.digest), layer.digest, what)
    stream = GuardedStream(_decompressor(layer.media_type, reader, what), reader, limits, what, state.total_bytes)
    try:
        try:
            with tarfile.open(fileobj=stream, mode="r|", format=tarfile.PAX_FORMAT, bufsize=CHUNK_SIZE) as archive:  # type: ignore[call-overload]
                for member in archive:
                    if state.entries >= limits.max_entries:
                        raise UnsafeLayerError(f"{what}: more than {limits.max_entries} entries")
                    name = check_member(member, state, what)
                    if on_member is not None:
                        on_member(member, name, archive)
            stream.drain()  # tar padding past the end-of-archive marker is part of the diff_id
        except (tarfile.TarError, zstandard.ZstdError, OSError, EOFError) as exc:
            raise IntegrityError(f"{what}: not a valid {layer.media_type} ({' '.join(str(exc).split())})") from None
        reader.verify()
    finally:
        stream.close()
        reader.close()
    if reader.size != layer.size:
        raise IntegrityError(f"{what}: {reader.size} bytes, the manifest says {layer.size}")
    if stream.diff_id != expected_diff_id:
        raise IntegrityError(
            f"{what}: decompressed content is {stream.diff_id}, the config's diff_id is {expected_diff_id}"
        )
    state.total_bytes += stream.size
    return LayerFacts(layer.digest, stream.diff_id, reader.size, stream.size, state.entries)
