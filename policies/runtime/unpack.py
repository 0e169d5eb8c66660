"""Unpack an image's layers into a root filesystem, safely, applying OCI whiteouts.

Every entry passes ``vial.policies.engine.layers.check_member`` first (no absolute paths, no ``..``, no
symlink or hardlink leaving the root, no devices, bounded sizes). On top of that, every path is
resolved inside the root component by component, never following a symlink out of it
(``secure_join``), and files are created with ``O_NOFOLLOW | O_EXCL`` after removing what was there.
set-uid/set-gid bits are dropped. Whiteouts: ``.wh.NAME`` removes NAME from lower layers;
``.wh..wh..opq`` empties its directory of everything lower layers put there.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import tarfile
from pathlib import Path

from vial.digest import CHUNK_SIZE
from vial.policies.engine.layers import (
    DEFAULT_LIMITS,
    OPAQUE_WHITEOUT,
    WHITEOUT_PREFIX,
    Limits,
    ScanState,
    UnsafeLayerError,
    iter_layer,
)
from vial.store import Image, Store

MAX_SYMLINK_HOPS = 40


def secure_join(root: Path, relative: str, follow_last: bool = False) -> Path:
    """``root/relative`` with every symlink on the way resolved as if ``root`` were ``/``.

    The result is always inside ``root``. The last component is followed only with ``follow_last``.
    """
    root = Path(root)
    pending = [p for p in relative.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        is_last = not pending
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            resolved.append(part)
            continue
        if stat.S_ISLNK(info.st_mode) and (not is_last or follow_last):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise UnsafeLayerError(f"{relative}: too many levels of symbolic links")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def _remove(path: Path) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


class _LayerWriter:
    def __init__(self, root: Path, chown: bool) -> None:
        self.root = root
        self.chown = chown
        self.written: set[str] = set()
        self.dir_times: list[tuple[Path, int]] = []

    def __call__(self, member: tarfile.TarInfo, name: str, archive: tarfile.TarFile) -> None:
        if not name:
            return
        base = posixpath.basename(name)
        parent_rel = posixpath.dirname(name)
        parent = secure_join(self.root, parent_rel, follow_last=True)
        if base == OPAQUE_WHITEOUT:
            self._opaque(parent_rel, parent)
            return
        if base.startswith(WHITEOUT_PREFIX):
            _remove(parent / base[len(WHITEOUT_PREFIX) :])
            return
        parent.mkdir(parents=True, exist_ok=True)
        target = parent / base
        self.written.add(name)
        mode = member.mode & 0o1777  # no set-uid / set-gid
        if member.isdir():
            self._directory(member, target, mode)
        else:
            _remove(target)
            self._non_directory(member, name, target, mode, archive)
        if self.chown and not member.islnk():
            try:
                os.lchown(target, member.uid, member.gid)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EINVAL):
                    raise
        if not member.isdir() and not member.islnk():
            os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)

    def _directory(self, member: tarfile.TarInfo, target: Path, mode: int) -> None:
        try:
            info = os.lstat(target)
            if not stat.S_ISDIR(info.st_mode):
                os.unlink(target)
                os.mkdir(target, 0o700)
        except FileNotFoundError:
            os.mkdir(target, 0o700)
        os.chmod(target, mode | 0o700 if os.geteuid() != 0 else mode)
        self.dir_times.append((target, int(member.mtime)))

    def _non_directory(
        self, member: tarfile.TarInfo, name: str, target: Path, mode: int, archive: tarfile.TarFile
    ) -> None:
        """Create a file, symlink, hardlink or FIFO at ``target`` (where nothing is now)."""
        if member.isreg():
            source = archive.extractfile(member)
            assert source is not None
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK_SIZE):
                    out.write(chunk)
            os.chmod(target, mode)
        elif member.issym():
            os.symlink(member.linkname, target)
        elif member.islnk():
            self._hardlink(member, name, target)
        elif member.isfifo():
            os.mkfifo(target, mode)

    def _hardlink(self, member: tarfile.TarInfo, name: str, target: Path) -> None:
        linked = secure_join(self.root, member.linkname)
        try:
            info = os.lstat(linked)
        except FileNotFoundError:
            raise UnsafeLayerError(f"hardlink {name!r} -> {member.linkname!r}: target does not exist") from None
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeLayerError(f"hardlink {name!r} -> {member.linkname!r}: target is not a regular file")
        os.link(linked, target, follow_symlinks=False)

    def _opaque(self, parent_rel: str, parent: Path) -> None:
        """Remove whatever lower layers put in ``parent`` (entries this layer wrote stay)."""
        if not parent.is_dir() or parent.is_symlink():
            return
        prefix = parent_rel + "/" if parent_rel else ""
        for dirpath, dirnames, filenames in os.walk(parent, topdown=False):
            rel_dir = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            rel_dir = "" if rel_dir == "." else rel_dir
            for entry in filenames + dirnames:
                rel = f"{rel_dir}/{entry}" if rel_dir else entry
                if not rel.startswith(prefix) or rel in self.written:
                    continue
                path = Path(dirpath) / entry
                if os.path.isdir(path) and not os.path.islink(path):
                    if not any(w.startswith(rel + "/") for w in self.written):
                        shutil.rmtree(path)
                else:
                    os.unlink(path)

    def finish(self) -> None:
        for path, mtime in reversed(self.dir_times):
            os.utime(path, (mtime, mtime), follow_symlinks=False)


def unpack_image(store: Store, image: Image, root: Path, limits: Limits = DEFAULT_LIMITS) -> Path:
    """Unpack every layer of ``image`` (lowest first) into the empty directory ``root``.

    On any failure the partial tree is removed and the error raised: nothing half-checked is left.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise UnsafeLayerError(f"{root}: not empty; vial unpacks only into an empty directory")
    state = ScanState()
    try:
        for layer, diff_id in zip(image.manifest.layers, image.config.diff_ids, strict=True):
            writer = _LayerWriter(root, chown=os.geteuid() == 0)
            iter_layer(store, layer, diff_id, state, limits, on_member=writer)
            writer.finish()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root
