"""OCI JSON: image manifests, image indexes, image configs."""

from __future__ import annotations

import contextlib

from vial.errors import VialError
from vial.oci import ImageConfig, Index, Manifest


def test_one_input(data: bytes) -> None:
    for parse in (Manifest.from_bytes, Index.from_bytes, ImageConfig.from_bytes):
        with contextlib.suppress(VialError):
            parse(data)
