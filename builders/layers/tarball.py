"""Deterministic layer tars, compressed deterministically, streamed into the store.

A layer is a pure function of its entries and ``SOURCE_DATE_EPOCH``:

- entries sorted by path components (parents before children), bytewise;
- every mtime = SOURCE_DATE_EPOCH (an integer, so no pax ``mtime`` record), no atime/ctime;
- uid/gid numeric 0 (uname/gname empty), unless a source tar says otherwise (Debian root
  filesystems keep their ownership, e.g. setgid ``shadow`` files);
- hardlinks: the first path of a group (in sorted order) holds the content, the others link to it;
- sockets, devices and FIFOs are dropped (a container runtime provides /dev);
- POSIX pax format, whose headers appear only for long or non-ASCII names.

Compression is zstd at a fixed level through the pinned ``zstandard`` package (docs/decisions.md).
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast

import zstandard

from vial.digest import CHUNK_SIZE, HashingWriter, VerifyingReader
from vial.errors import BuildError
from vial.oci import MEDIA_TYPE_LAYER_ZSTD
from vial.store import Store

ZSTD_LEVEL = 3
# The compressed bytes depend on the zstd library version: it is part of every layer cache key.
COMPRESSOR_ID = f"zstd-{zstandard.ZSTD_VERSION}-level{ZSTD_LEVEL}".replace("(", "").replace(")", "").replace(", ", ".")

REGULAR, DIRECTORY, SYMLINK, HARDLINK = "file", "dir", "symlink", "hardlink"


@dataclass
class Entry:
    """One path in a layer. ``opener`` yields the content of a regular file."""

    path: str  # relative POSIX path, no leading "/" or "./"
    kind: str
    mode: int
    size: int = 0
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    opener: Callable[[], BinaryIO | VerifyingReader] | None = None
    link_key: tuple[int, int] | None = None  # (device, inode) to find hardlink groups
    pax: dict[str, str] = field(default_factory=dict)

    def sort_key(self) -> tuple[bytes, ...]:
        return tuple(part.encode("utf-8", "surrogateescape") for part in self.path.split("/"))


@dataclass(frozen=True)
class LayerBlob:
    digest: str  # sha256 of the compressed blob
    diff_id: str  # sha256 of the tar
    size: int
    media_type: str = MEDIA_TYPE_LAYER_ZSTD


def clean_path(raw: str) -> str:
    """Normalize a member path: relative, no '.', and refuse '..' (a layer never escapes its root)."""
    path = PurePosixPath(raw.lstrip("/"))
    parts = [part for part in path.parts if part not in ("", ".")]
    if ".." in parts:
        raise BuildError(f"layer entry {raw!r}: '..' is not allowed in a path")
    return "/".join(parts)


def entries_from_directory(root: Path, prefix: str = "", normalize_modes: bool = True) -> list[Entry]:
    """Every path below ``root`` (not ``root`` itself), placed under ``prefix`` in the layer.

    With ``normalize_modes`` permissions become 0755 for directories and executables and 0644 for
    other files, so the umask and checkout of the machine that builds do not leak into the layer.
    """
    entries: list[Entry] = []
    prefix = clean_path(prefix)
    if prefix:  # the prefix's own directories, so that the layer never relies on implicit ones
        entries.extend(parent_directories([f"{prefix}/-"]))
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [*dirnames, *sorted(filenames)]:
            full = Path(dirpath) / name
            relative = full.relative_to(root).as_posix()
            entry = entry_from_path(full, clean_path(f"{prefix}/{relative}"), normalize_modes)
            if entry is not None:
                entries.append(entry)
    return entries


def entry_from_path(full: Path, layer_path: str, normalize_modes: bool = True) -> Entry | None:
    info = full.lstat()
    if stat.S_ISLNK(info.st_mode):
        return Entry(layer_path, SYMLINK, 0o777, linkname=os.readlink(full))
    if stat.S_ISDIR(info.st_mode):
        mode = 0o755 if normalize_modes else stat.S_IMODE(info.st_mode)
        return Entry(layer_path, DIRECTORY, mode)
    if stat.S_ISREG(info.st_mode):
        mode = (0o755 if info.st_mode & 0o111 else 0o644) if normalize_modes else stat.S_IMODE(info.st_mode)
        link_key = (info.st_dev, info.st_ino) if info.st_nlink > 1 else None
        return Entry(layer_path, REGULAR, mode, size=info.st_size, opener=lambda: open(full, "rb"), link_key=link_key)
    return None  # sockets, devices, FIFOs: never in a layer


def parent_directories(paths: Iterable[str], mode: int = 0o755) -> list[Entry]:
    """Directory entries for every parent of ``paths`` (so a layer never relies on implicit dirs)."""
    seen: set[str] = set()
    out: list[Entry] = []
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            parent = "/".join(parts[:depth])
            if parent not in seen:
                seen.add(parent)
                out.append(Entry(parent, DIRECTORY, mode))
    return out


def entries_from_tar(archive: tarfile.TarFile) -> list[Entry]:
    """Entries of an existing (seekable) tar, e.g. mmdebstrap's output; ownership and modes kept."""
    entries: list[Entry] = []
    groups: dict[str, tuple[int, int]] = {}
    for member in archive.getmembers():
        path = clean_path(member.name)
        if not path:
            continue
        common: dict[str, Any] = {"mode": stat.S_IMODE(member.mode), "uid": member.uid, "gid": member.gid}
        if member.isdir():
            entries.append(Entry(path, DIRECTORY, **common))
        elif member.issym():
            entries.append(Entry(path, SYMLINK, linkname=member.linkname, **common))
        elif member.islnk():
            target = clean_path(member.linkname)
            key = groups.setdefault(target, (0, len(groups) + 1))
            entries.append(Entry(path, HARDLINK, linkname=target, link_key=key, **common))
        elif member.isreg():
            key = groups.setdefault(path, (0, len(groups) + 1))
            entries.append(
                Entry(
                    path,
                    REGULAR,
                    size=member.size,
                    opener=_member_opener(archive, member),
                    link_key=key,
                    **common,
                )
            )
        # devices, FIFOs: dropped
    return _resolve_tar_hardlinks(entries)


def _member_opener(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], BinaryIO]:
    # extractfile is None only for members without content; this is called for regular files only.
    return lambda: cast(BinaryIO, archive.extractfile(member))


def _resolve_tar_hardlinks(entries: list[Entry]) -> list[Entry]:
    """Re-point hardlink groups so that the first path in sorted order is the one with content."""
    by_key: dict[tuple[int, int], list[Entry]] = {}
    for entry in entries:
        if entry.link_key is not None:
            by_key.setdefault(entry.link_key, []).append(entry)
    for group in by_key.values():
        if len(group) < 2:
            for entry in group:
                entry.link_key = None
            continue
        holder = next(e for e in group if e.kind == REGULAR)
        first = min(group, key=Entry.sort_key)
        if first is not holder:
            first.kind, first.size, first.opener, first.linkname = REGULAR, holder.size, holder.opener, ""
        for entry in group:
            if entry is not first:
                entry.kind, entry.linkname, entry.opener, entry.size = HARDLINK, first.path, None, 0
            entry.link_key = None
    return entries


def _mark_directory_hardlinks(entries: list[Entry]) -> None:
    """For directory sources: later paths of an inode group become hardlinks to the first."""
    first_of: dict[tuple[int, int], Entry] = {}
    for entry in entries:
        if entry.link_key is None or entry.kind != REGULAR:
            continue
        holder = first_of.get(entry.link_key)
        if holder is None:
            first_of[entry.link_key] = entry
        else:
            entry.kind, entry.linkname, entry.opener, entry.size = HARDLINK, holder.path, None, 0


def ordered(entries: Iterable[Entry]) -> list[Entry]:
    """Sorted, de-duplicated (a later entry for the same path wins), hardlinks resolved."""
    by_path: dict[str, Entry] = {}
    for entry in entries:
        by_path[entry.path] = entry
    result = sorted(by_path.values(), key=Entry.sort_key)
    _mark_directory_hardlinks(result)
    return result


def _tarinfo(entry: Entry, source_date_epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.path + ("/" if entry.kind == DIRECTORY else ""))
    info.mtime = int(source_date_epoch)
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    if entry.pax:
        info.pax_headers = dict(entry.pax)
    if entry.kind == DIRECTORY:
        info.type = tarfile.DIRTYPE
    elif entry.kind == SYMLINK:
        info.type, info.linkname = tarfile.SYMTYPE, entry.linkname
    elif entry.kind == HARDLINK:
        info.type, info.linkname = tarfile.LNKTYPE, entry.linkname
    else:
        info.type, info.size = tarfile.REGTYPE, entry.size
    return info


class _SizeCheckingReader:
    """Fails the build if a file changed size while being packed (the layer would be wrong)."""

    def __init__(self, source: BinaryIO | VerifyingReader, expected: int, path: str) -> None:
        self._source, self._left, self._path = source, expected, path

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(min(size, self._left) if size >= 0 else self._left)
        self._left -= len(data)
        if not data and self._left > 0:
            raise BuildError(f"{self._path}: file changed while it was being packed")
        if self._left == 0 and self._source.read(1):
            # Reading past the end also lets a verifying source check its digest at EOF.
            raise BuildError(f"{self._path}: file changed while it was being packed")
        return data


def write_tar(entries: Iterable[Entry], sink: BinaryIO, source_date_epoch: int) -> None:
    """Write ``entries`` (already ``ordered``) as a deterministic tar stream to ``sink``."""
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8") as archive:
        for entry in entries:
            info = _tarinfo(entry, source_date_epoch)
            if entry.kind == REGULAR:
                assert entry.opener is not None
                source = entry.opener()
                try:
                    archive.addfile(info, _SizeCheckingReader(source, entry.size, entry.path))
                finally:
                    source.close()
            else:
                archive.addfile(info)


def write_layer(store: Store, entries: Iterable[Entry], source_date_epoch: int) -> LayerBlob:
    """Pack ``entries`` into a zstd-compressed layer blob in ``store``: tar -> sha256 -> zstd -> sha256."""
    items = ordered(entries)
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=False, write_content_size=False)
    with store.blob_writer() as blob:
        with compressor.stream_writer(blob, closefd=False, write_size=CHUNK_SIZE) as compressed:  # type: ignore[arg-type]
            tar_hash = HashingWriter(compressed)
            write_tar(items, tar_hash, source_date_epoch)  # type: ignore[arg-type]
        size = blob.size
        digest = blob.commit()
    return LayerBlob(digest=digest, diff_id=tar_hash.digest, size=size)


def iter_layer_tar(store: Store, digest: str) -> Iterator[bytes]:
    """The uncompressed tar of a zstd layer blob, streamed (the blob's digest is checked at its end)."""
    reader = store.open_blob(digest)
    try:
        decompressor = zstandard.ZstdDecompressor()
        with decompressor.stream_reader(reader, read_size=CHUNK_SIZE, closefd=False) as stream:  # type: ignore[arg-type]
            while chunk := stream.read(CHUNK_SIZE):
                yield chunk
        reader.verify()
    finally:
        reader.close()
