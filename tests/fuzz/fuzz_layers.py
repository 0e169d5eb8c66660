"""Layer tar scanning: the bytes are an uncompressed layer blob in a store, scanned as ``vial verify`` does."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from vial.errors import VialError
from vial.oci import MEDIA_TYPE_LAYER_TAR, Descriptor
from vial.policies.engine.layers import ScanState, iter_layer
from vial.store import Store

_STORE = Store(Path(tempfile.mkdtemp(prefix="vial-fuzz-layers-")))


def test_one_input(data: bytes) -> None:
    digest = _STORE.put_bytes(data)
    try:
        descriptor = Descriptor(MEDIA_TYPE_LAYER_TAR, digest, len(data))
        iter_layer(_STORE, descriptor, "sha256:" + hashlib.sha256(data).hexdigest(), ScanState())
    except VialError:
        pass
    finally:
        _STORE.blob_path(digest).unlink(missing_ok=True)
