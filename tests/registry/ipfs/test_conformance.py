"""Conformance: vial's CID equals Kubo's ``ipfs add --only-hash`` for the same input and profile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.registry.ipfs.conftest import KuboNode
from tests.registry.ipfs.detdata import make_names_dir, write_file
from tests.registry.ipfs.images import layer_tar, make_image
from vial.registry.ipfs.images import image_cid
from vial.registry.ipfs.unixfs import Importer
from vial.store import Store

PROFILES = ["unixfs-v1-2025", "unixfs-v0-2015"]
MIB = 1 << 20


def kubo_cid(node: KuboNode, path: Path) -> str:
    args = ["add", "--only-hash", "-Q"]
    if path.is_dir():
        args.append("-r")
    return node.cli(*args, str(path))


def vial_cid(profile: str, path: Path) -> str:
    with Importer(profile) as importer:
        return str(importer.add_path(path).cid)


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Large deterministic files, made once for the module (streamed to disk)."""
    base = tmp_path_factory.mktemp("big")
    return {
        "1024MiB+1": write_file(base / "two-level.bin", 1024 * MIB + 1, "vial-two-level"),
        "300MB": write_file(base / "300mb.bin", 300_000_000, "vial-300mb"),
    }


SMALL_SIZES = {
    "empty": 0,
    "1B": 1,
    "1MiB-1": MIB - 1,
    "1MiB": MIB,
    "1MiB+1": MIB + 1,
    "256KiB+1": 256 * 1024 + 1,
    "45MiB": 45 * MIB,
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("size_name", list(SMALL_SIZES))
def test_file_sizes(kubo_repos: dict[str, KuboNode], tmp_path: Path, profile: str, size_name: str) -> None:
    path = write_file(tmp_path / "f.bin", SMALL_SIZES[size_name], f"size-{size_name}")
    assert vial_cid(profile, path) == kubo_cid(kubo_repos[profile], path)


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("which", ["1024MiB+1", "300MB"])
def test_big_files(kubo_repos: dict[str, KuboNode], big_files: dict[str, Path], profile: str, which: str) -> None:
    path = big_files[which]
    assert vial_cid(profile, path) == kubo_cid(kubo_repos[profile], path)


def _tree(root: Path) -> Path:
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a" / "empty-too").mkdir()
    (root / "ünïcødé-名前").mkdir()
    (root / "ünïcødé-名前" / "файл.txt").write_text("привет\n")
    (root / "ünïcødé-名前" / "🚀.bin").write_bytes(os.urandom(3 * MIB + 17))
    (root / "a" / "b" / "c" / "deep.txt").write_text("deep\n")
    (root / "a" / "x").write_bytes(b"")
    (root / "Z-upper").write_text("sorted bytewise\n")
    (root / "link").symlink_to("a/b/c/deep.txt")
    (root / ".hidden").write_text("left out, as ipfs add -r does by default\n")
    return root


@pytest.mark.parametrize("profile", PROFILES)
def test_nested_unicode_tree(kubo_repos: dict[str, KuboNode], tmp_path: Path, profile: str) -> None:
    root = _tree(tmp_path / "tree")
    assert vial_cid(profile, root) == kubo_cid(kubo_repos[profile], root)


@pytest.mark.parametrize("profile", PROFILES)
def test_empty_directories(kubo_repos: dict[str, KuboNode], tmp_path: Path, profile: str) -> None:
    root = tmp_path / "e"
    (root / "x" / "y").mkdir(parents=True)
    assert vial_cid(profile, root) == kubo_cid(kubo_repos[profile], root)
    assert vial_cid(profile, root / "x" / "y") == kubo_cid(kubo_repos[profile], root / "x" / "y")


@pytest.mark.parametrize("profile", PROFILES)
def test_hamt_directory(kubo_repos: dict[str, KuboNode], tmp_path: Path, profile: str) -> None:
    # 6000 entries with 40-character names: over the threshold for both estimators, so sharded,
    # with collisions deep enough to make sub-shards; one entry is itself a directory.
    root = make_names_dir(tmp_path / "big-dir", 6000, 40, 40, "vial-hamt")
    (root / "sub-dir").mkdir()
    (root / "sub-dir" / "inner").write_text("inside a HAMT\n")
    cid = vial_cid(profile, root)
    assert cid == kubo_cid(kubo_repos[profile], root)


@pytest.mark.parametrize("profile", PROFILES)
def test_oci_layout(kubo_repos: dict[str, KuboNode], tmp_path: Path, profile: str) -> None:
    store = Store(tmp_path / "store")
    make_image(store, "demo:1.0", [layer_tar({"a.txt": b"a" * 5000}), layer_tar({"big.bin": os.urandom(2 * MIB + 5)})])
    layout = tmp_path / "layout"
    store.export_layout("demo:1.0", layout)
    cid, _ = image_cid(store, "demo:1.0", profile)
    assert str(cid) == kubo_cid(kubo_repos[profile], layout)
