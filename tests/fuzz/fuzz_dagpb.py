"""dag-pb nodes and UnixFS data, and a UnixFS walk over a CAR's blocks."""

from __future__ import annotations

import contextlib
import io

from vial.errors import VialError
from vial.registry.ipfs.car import BlockFile, load_car
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.dagpb import decode_node, decode_unixfs
from vial.registry.ipfs.unixfs_read import UnixFSReader


def test_one_input(data: bytes) -> None:
    try:
        node = decode_node(data)
        decode_unixfs(node.data)
    except VialError:
        pass
    with contextlib.suppress(VialError):
        decode_unixfs(data)
    if data[:1] in (b"\x3a", b"\x38", b"\x0a", b"\x11"):  # plausibly a CAR: walk it as UnixFS
        try:
            with BlockFile() as blocks:
                root = load_car(io.BytesIO(data), blocks)
                reader = UnixFSReader(blocks)
                _walk(reader, root)
        except VialError:
            pass


def _walk(reader: UnixFSReader, root: CID) -> None:
    for path, cid in sorted(reader.files(root).items())[:16]:
        reader.read_file(cid, 1 << 20, path)
