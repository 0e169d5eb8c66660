"""Safe unpacking: OCI whiteouts and opaque directories applied, hostile entries refused, nothing left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from policyhelpers import Entry, put_image, put_layer

from vial.errors import IntegrityError
from vial.policies.engine.layers import Limits, UnsafeLayerError, symlink_escapes
from vial.policies.runtime.unpack import secure_join, unpack_image
from vial.store import Store


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def _unpack(store: Store, tmp_path: Path, *layers: list[Entry], limits: Limits | None = None) -> Path:
    image = put_image(store, [put_layer(store, entries) for entries in layers])
    root = tmp_path / "rootfs"
    return unpack_image(store, image, root, limits or Limits())


def test_whiteouts_and_opaque_directories(store: Store, tmp_path: Path) -> None:
    lower = [
        Entry("a", "dir", mode=0o755),
        Entry("a/keep", data=b"keep"),
        Entry("a/gone", data=b"gone"),
        Entry("a/gone-dir", "dir", mode=0o755),
        Entry("a/gone-dir/f", data=b"f"),
        Entry("o", "dir", mode=0o755),
        Entry("o/old", data=b"old"),
        Entry("o/sub", "dir", mode=0o755),
        Entry("o/sub/old", data=b"old"),
        Entry("link", "symlink", link="a/keep"),
        Entry("hard", "hardlink", link="a/keep"),
    ]
    upper = [
        Entry("a/.wh.gone", data=b""),
        Entry("a/.wh.gone-dir", data=b""),
        Entry("o", "dir", mode=0o755),
        Entry("o/new", data=b"new"),
        Entry("o/.wh..wh..opq", data=b""),
        Entry("o/sub", "dir", mode=0o755),
        Entry("o/sub/new", data=b"new"),
        Entry("a/keep", data=b"replaced"),
    ]
    root = _unpack(store, tmp_path, lower, upper)
    assert sorted(os.listdir(root / "a")) == ["keep"]
    assert (root / "a" / "keep").read_bytes() == b"replaced"
    assert sorted(os.listdir(root / "o")) == ["new", "sub"]
    assert sorted(os.listdir(root / "o" / "sub")) == ["new"]
    assert os.readlink(root / "link") == "a/keep"
    assert (root / "hard").read_bytes() == b"keep"  # linked to the lower layer's file, then replaced by a new inode
    assert not any(name.startswith(".wh.") for _, dirs, files in os.walk(root) for name in dirs + files)


def test_setuid_bits_are_dropped(store: Store, tmp_path: Path) -> None:
    root = _unpack(store, tmp_path, [Entry("suid", data=b"x", mode=0o4755)])
    assert (root / "suid").stat().st_mode & 0o7777 == 0o755


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([Entry("../escape", data=b"x")], "path traversal"),
        ([Entry("a/../../escape", data=b"x")], "path traversal"),
        ([Entry("/abs", data=b"x")], "absolute path"),
        ([Entry("l", "symlink", link="../outside")], "escapes the root"),
        ([Entry("d", "dir"), Entry("d/l", "symlink", link="../../outside")], "escapes the root"),
        ([Entry("l", "symlink", link="/"), Entry("l/etc/passwd", data=b"x")], "goes through the symlink"),
        ([Entry("h", "hardlink", link="../outside")], "hardlink"),
        ([Entry("h", "hardlink", link="/etc/passwd")], "hardlink"),
        ([Entry("null", "chr")], "device node"),
        ([Entry("z", "zeros", size=64 << 20)], "decompression bomb"),
        ([Entry("a/.wh..", data=b"")], "path traversal|malformed whiteout"),
    ],
)
def test_hostile_entries_are_refused_and_nothing_is_left(
    store: Store, tmp_path: Path, entries: list[Entry], reason: str
) -> None:
    with pytest.raises(UnsafeLayerError, match=reason):
        _unpack(store, tmp_path, [Entry("ok", data=b"ok")], entries)
    assert not (tmp_path / "rootfs").exists()
    assert not (tmp_path / "outside").exists() and not (tmp_path / "escape").exists()


def test_symlink_from_a_lower_layer_is_not_followed(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UnsafeLayerError, match="goes through the symlink 'etc'"):
        _unpack(store, tmp_path, [Entry("etc", "symlink", link="/tmp")], [Entry("etc/passwd", data=b"x")])


def test_a_whiteout_removes_a_symlink_so_a_directory_can_replace_it(store: Store, tmp_path: Path) -> None:
    root = _unpack(
        store,
        tmp_path,
        [Entry("etc", "symlink", link="x")],
        [Entry(".wh.etc", data=b""), Entry("etc", "dir", mode=0o755), Entry("etc/passwd", data=b"x")],
    )
    assert (root / "etc" / "passwd").read_bytes() == b"x" and not (root / "etc").is_symlink()


def test_size_limit_and_wrong_diff_id(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UnsafeLayerError, match="expands past 1000 bytes"):
        _unpack(store, tmp_path, [Entry("f", data=b"x" * 5000)], limits=Limits(max_layer_bytes=1000))
    layer = put_layer(store, [Entry("f", data=b"x")])
    image = put_image(store, [layer], diff_ids=("sha256:" + "1" * 64,))
    with pytest.raises(IntegrityError, match="diff_id"):
        unpack_image(store, image, tmp_path / "rootfs2")


def test_secure_join_never_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    os.symlink("/", root / "d" / "up")
    os.symlink("../../../..", root / "d" / "rel")
    assert secure_join(root, "d/up/etc", follow_last=True) == root / "etc"
    assert secure_join(root, "d/rel/etc") == root / "etc"
    assert secure_join(root, "../../x") == root / "x"
    assert symlink_escapes("a/b", "../c") is False
    assert symlink_escapes("a/b", "../../c") is True
    assert symlink_escapes("a", "/etc/../../x") is True
