"""CAR v1/v2 streams: header, roots, every section's CID and block."""

from __future__ import annotations

import io

from vial.errors import VialError
from vial.registry.ipfs.car import CarReader

MAX_BLOCKS = 64


def test_one_input(data: bytes) -> None:
    try:
        reader = CarReader(io.BytesIO(data))
        for i, _ in enumerate(reader.blocks()):
            if i >= MAX_BLOCKS:
                break
    except VialError:
        pass
