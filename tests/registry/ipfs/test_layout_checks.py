"""What `vial import`/`vial pull` refuse inside a well-formed DAG: odd layouts and oversized files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.registry.ipfs.images import layer_tar, make_image
from vial.errors import IntegrityError
from vial.fsutil import atomic_writer
from vial.registry.ipfs.car import CarWriter
from vial.registry.ipfs.cid import CID, DAG_PB
from vial.registry.ipfs.dagpb import T_FILE, encode_node, unixfs_data
from vial.registry.ipfs.images import import_car, write_car
from vial.registry.ipfs.unixfs import Importer, Node
from vial.store import Store

MIB = 1 << 20


@pytest.fixture()
def layout(tmp_path: Path) -> tuple[Path, str]:
    store = Store(tmp_path / "source")
    layer = layer_tar({"small.txt": b"small\n"})
    make_image(store, "demo:1.0", [layer])
    out = tmp_path / "layout"
    store.export_layout("demo:1.0", out)
    return out, "sha256:" + hashlib.sha256(layer).hexdigest()


def _import_fails(tmp_path: Path, car: Path, match: str) -> None:
    clean = tmp_path / "clean"
    with pytest.raises(IntegrityError, match=match):
        import_car(Store(clean), car)
    store = Store(clean)
    assert list(store.blobs_dir.iterdir()) == [] and store.names() == []


def test_unexpected_entry_in_layout(tmp_path: Path, layout: tuple[Path, str]) -> None:
    root, _ = layout
    (root / "README").write_text("not part of an OCI layout\n")
    write_car(root, tmp_path / "x.car")
    _import_fails(tmp_path, tmp_path / "x.car", "unexpected entry 'README'")


def test_blob_not_part_of_the_image(tmp_path: Path, layout: tuple[Path, str]) -> None:
    root, _ = layout
    data = b"a stowaway blob\n"
    (root / "blobs" / "sha256" / hashlib.sha256(data).hexdigest()).write_bytes(data)
    write_car(root, tmp_path / "x.car")
    _import_fails(tmp_path, tmp_path / "x.car", "is not part of image")


class _Blocks:
    def __init__(self) -> None:
        self.blocks: dict[bytes, tuple[CID, bytes]] = {}

    def put(self, cid: CID, block: bytes) -> None:
        self.blocks[cid.to_bytes()] = (cid, block)


def test_layer_that_expands_past_its_size_is_refused(tmp_path: Path, layout: tuple[Path, str]) -> None:
    """A 1 MiB block linked 4096 times is a 4 GiB file in a tiny CAR: refused after one block."""
    root, layer_digest = layout
    sink = _Blocks()
    with Importer("unixfs-v1-2025", sink=sink) as importer:
        leaf = importer.add_bytes(b"\0" * MIB)
        count = 4096
        data = unixfs_data(T_FILE, filesize=count * MIB, blocksizes=[MIB] * count)
        block = encode_node([(leaf.cid.to_bytes(), b"", leaf.tsize)] * count, data)
        bomb_cid = CID.of(block, DAG_PB, 1)
        sink.put(bomb_cid, block)
        bomb = Node(bomb_cid, len(block) + count * leaf.tsize)
        blobs = []
        for path in sorted((root / "blobs" / "sha256").iterdir()):
            is_layer = "sha256:" + path.name == layer_digest
            blobs.append((path.name.encode(), bomb if is_layer else importer.add_file(path)))
        sha = importer.directory(blobs)
        top = importer.directory(
            [
                (b"blobs", importer.directory([(b"sha256", sha)])),
                (b"index.json", importer.add_file(root / "index.json")),
                (b"oci-layout", importer.add_file(root / "oci-layout")),
            ]
        )
    car = tmp_path / "bomb.car"
    with atomic_writer(car) as handle:
        writer = CarWriter(handle, 1)
        for cid, data_block in sink.blocks.values():
            writer.put(cid, data_block)
        writer.finish(top.cid)
    assert car.stat().st_size < 2 * MIB
    _import_fails(tmp_path, car, "layer sha256:.* is larger than the .* bytes expected")
