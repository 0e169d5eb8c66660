"""Deterministic layers: same entries, same bytes, whatever the file system says."""

from __future__ import annotations

import io
import os
import re
import socket
import tarfile
from pathlib import Path

import pytest

from vial.builders.layers.tarball import (
    REGULAR,
    Entry,
    entries_from_directory,
    entries_from_tar,
    iter_layer_tar,
    write_layer,
)
from vial.errors import BuildError
from vial.store import Store


def _tree(root: Path, order: list[str], mtime: float, umask: int) -> None:
    old = os.umask(umask)
    try:
        for name in order:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"content of {name}\n")
            os.utime(path, (mtime, mtime))
        (root / "bin").mkdir(exist_ok=True)
        (root / "bin" / "tool").write_text("#!/bin/sh\n")
        (root / "bin" / "tool").chmod(0o777 & ~umask | 0o100)
    finally:
        os.umask(old)


def _members(store: Store, digest: str) -> list[tarfile.TarInfo]:
    data = b"".join(iter_layer_tar(store, digest))
    return tarfile.open(fileobj=io.BytesIO(data)).getmembers()


def test_layer_bytes_ignore_order_mtime_and_umask(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    names = ["b/2.txt", "a/1.txt", "ünïcode/ß.txt", "a/z/deep.txt", "x" * 150 + ".txt"]
    first, second = tmp_path / "one", tmp_path / "two"
    _tree(first, names, 1_000_000, 0o022)
    _tree(second, list(reversed(names)), 2_000_000_000, 0o077)
    a = write_layer(store, entries_from_directory(first, "project"), 42)
    b = write_layer(store, entries_from_directory(second, "project"), 42)
    assert a == b
    members = _members(store, a.digest)
    names = [m.name for m in members]
    assert names[0] == "project" and "project/a" in names and len(names) == len(set(names))
    for member in members:
        assert member.mtime == 42
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert set(member.pax_headers) <= {"path"}  # only for the long or non-ASCII names
    modes = {m.name: m.mode for m in members}
    assert modes["project/bin/tool"] == 0o755
    assert modes["project/a/1.txt"] == 0o644
    assert write_layer(store, entries_from_directory(first, "project"), 43).digest != a.digest


def test_parents_sort_before_children(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    root = tmp_path / "t"
    for name in ["a-b/x", "a/b/x", "a.b/x"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    names = [m.name for m in _members(store, write_layer(store, entries_from_directory(root), 0).digest)]
    # By path components: "a/b/x" sorts before "a-b" although "-" < "/" as characters.
    assert names == ["a", "a/b", "a/b/x", "a-b", "a-b/x", "a.b", "a.b/x"]


def test_hardlinks_symlinks_and_special_files(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    root = tmp_path / "t"
    root.mkdir()
    (root / "z-original").write_text("shared")
    os.link(root / "z-original", root / "a-link")
    (root / "sym").symlink_to("z-original")
    os.mkfifo(root / "fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock"))
    try:
        members = {m.name: m for m in _members(store, write_layer(store, entries_from_directory(root), 0).digest)}
    finally:
        server.close()
    assert "fifo" not in members and "sock" not in members
    # The first path in sorted order holds the content; the other links to it.
    assert members["a-link"].isreg() and members["a-link"].size == len("shared")
    assert members["z-original"].islnk() and members["z-original"].linkname == "a-link"
    assert members["sym"].issym() and members["sym"].linkname == "z-original"


def test_tar_source_keeps_ownership_and_drops_devices(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, kind in [
            ("./etc/", tarfile.DIRTYPE),
            ("./dev/null", tarfile.CHRTYPE),
            ("./etc/shadow", tarfile.REGTYPE),
        ]:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mtime = 123456
            if name.endswith("shadow"):
                info.gid, info.mode, info.size = 42, 0o640, 3
                archive.addfile(info, io.BytesIO(b"abc"))
            else:
                archive.addfile(info)
    buffer.seek(0)
    store = Store(tmp_path / "store")
    with tarfile.open(fileobj=buffer) as archive:
        layer = write_layer(store, entries_from_tar(archive), 7)
    members = {m.name: m for m in _members(store, layer.digest)}
    assert set(members) == {"etc", "etc/shadow"}
    assert (members["etc/shadow"].gid, members["etc/shadow"].mode, members["etc/shadow"].mtime) == (42, 0o640, 7)


def test_parent_traversal_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("../escape")
        archive.addfile(info, io.BytesIO(b""))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as archive, pytest.raises(BuildError, match=re.escape("'..' is not allowed")):
        entries_from_tar(archive)


def test_file_changing_during_packing_fails_and_leaves_no_blob(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    path = tmp_path / "grows"
    path.write_bytes(b"x" * 100)
    entry = Entry("grows", REGULAR, 0o644, size=50, opener=lambda: open(path, "rb"))  # noqa: SIM115 - write_layer closes it
    with pytest.raises(BuildError, match="changed while it was being packed"):
        write_layer(store, [entry], 0)
    assert list(store.blobs_dir.iterdir()) == []
    assert list(store.tmp_dir.iterdir()) == []
