"""CAR reading and writing: every block checked, headers strict, CAR v2 payloads accepted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.registry.ipfs.images import layer_tar, make_image
from vial.errors import IntegrityError
from vial.registry.ipfs.car import BlockFile, CarReader, CarWriter, encode_header, load_car
from vial.registry.ipfs.cid import CID, RAW, varint
from vial.registry.ipfs.images import export_car, import_car
from vial.store import Store

PRAGMA_V2 = bytes.fromhex("0aa16776657273696f6e02")


def _car(blocks: list[bytes], root: CID | None = None) -> bytes:
    out = io.BytesIO()
    writer = CarWriter(out, 1)
    cids = [CID.of(b, RAW) for b in blocks]
    for cid, block in zip(cids, blocks, strict=True):
        writer.put(cid, block)
    writer.finish(root or cids[-1])
    return out.getvalue()


def test_writer_dedupes_and_reader_round_trips() -> None:
    data = _car([b"a", b"b", b"a"])
    reader = CarReader(io.BytesIO(data))
    assert reader.roots == [CID.of(b"a", RAW)]
    assert [block for _, block in reader.blocks()] == [b"a", b"b"]


def test_car_v2_payload_is_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    digest = make_image(store, "demo:1.0", [layer_tar({"f": b"v2\n"})]).digest
    v1 = tmp_path / "v1.car"
    cid, _ = export_car(store, "demo:1.0", v1)
    payload = v1.read_bytes()
    offset = len(PRAGMA_V2) + 40 + 13  # some padding before the payload
    header = bytes(16) + offset.to_bytes(8, "little") + len(payload).to_bytes(8, "little") + bytes(8)
    v2 = tmp_path / "v2.car"
    v2.write_bytes(PRAGMA_V2 + header + bytes(13) + payload + b"index bytes are ignored")
    result = import_car(Store(tmp_path / "clean"), v2, expected=cid)
    assert result.manifest == digest


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty file"),
        (varint(5) + b"\xa1\x61x\x01\x00", "header is not valid dag-cbor|not a CAR"),
        (bytes.fromhex("0aa16776657273696f6e03"), "header version 3"),
        (encode_header(CID.of(b"x", RAW))[:-3], "truncated"),
    ],
)
def test_bad_headers(data: bytes, match: str) -> None:
    with pytest.raises(IntegrityError, match=match):
        CarReader(io.BytesIO(data))


def test_two_roots_are_refused() -> None:
    a, b = CID.of(b"a", RAW), CID.of(b"b", RAW)
    body = b"\xa2\x65roots\x82" + b"".join(b"\xd8\x2a\x58\x25\x00" + c.to_bytes() for c in (a, b)) + b"\x67version\x01"
    with pytest.raises(IntegrityError, match="2 roots, expected one"), BlockFile() as blocks:
        load_car(io.BytesIO(varint(len(body)) + body), blocks)


def test_unsupported_multihash_in_a_section() -> None:
    block = b"hello"
    sha3_cid = b"\x01\x55\x16\x20" + bytes(32)  # CIDv1 raw with a sha3-256 multihash
    data = encode_header(CID.of(block, RAW)) + varint(len(sha3_cid) + len(block)) + sha3_cid + block
    with pytest.raises(IntegrityError, match="unsupported multihash 0x16"):
        list(CarReader(io.BytesIO(data)).blocks())


def test_oversized_section_is_refused() -> None:
    data = encode_header(CID.of(b"x", RAW)) + varint(64 << 20)
    with pytest.raises(IntegrityError, match=r"section 0 length .* out of range"):
        list(CarReader(io.BytesIO(data)).blocks())
