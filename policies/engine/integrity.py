"""End-to-end integrity of an image: every blob rehashed, every layer's diff_id and entries checked.

The manifest and config are read through the store's verifying reads. Each layer blob is rehashed
on every check. Decompressing the layers to check diff_ids and tar entries is done once per
(manifest digest, limits) and remembered in the store's cache (``cache/verified-layers/``): these are facts
about bytes named by their sha256, so they cannot go stale: layers whose compressed bytes rehash to
the digests the manifest names decompress to the same tars. ``full=True`` ignores the cache.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from vial.digest import hex_of, sha256_bytes
from vial.errors import IntegrityError
from vial.fsutil import atomic_write_bytes
from vial.oci import LAYER_MEDIA_TYPES, MEDIA_TYPE_CONFIG, canonical_json
from vial.policies.engine.layers import DEFAULT_LIMITS, Limits, ScanState, iter_layer
from vial.store import Image, Store

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


@dataclass(frozen=True)
class IntegrityReport:
    digest: str
    config_digest: str
    blobs: int
    bytes_hashed: int
    layers_decompressed: int  # layers checked in full this time (the others from the cache)


def _cache_path(store: Store, manifest_digest: str, limits: Limits) -> Path:
    key = sha256_bytes(canonical_json({"manifest": manifest_digest, "limits": asdict(limits), "v": 1}))
    return store.cache_dir / "verified-layers" / hex_of(key)


def check_image(
    store: Store, image: Image, limits: Limits = DEFAULT_LIMITS, full: bool = False, use_cache: bool = True
) -> IntegrityReport:
    """Raise ``IntegrityError`` / ``UnsafeLayerError`` unless every byte of ``image`` checks out."""
    manifest = image.manifest
    raw = store.read_blob(image.digest, f"manifest {image.digest}")
    if image.descriptor.size and len(raw) != image.descriptor.size:
        raise IntegrityError(f"manifest {image.digest}: {len(raw)} bytes, its descriptor says {image.descriptor.size}")
    if manifest.config.media_type not in (MEDIA_TYPE_CONFIG, DOCKER_CONFIG):
        raise IntegrityError(f"manifest {image.digest}: config media type {manifest.config.media_type!r}")
    config_raw = store.read_blob(manifest.config.digest, f"config {manifest.config.digest}")
    if len(config_raw) != manifest.config.size:
        raise IntegrityError(
            f"config {manifest.config.digest}: {len(config_raw)} bytes, the manifest says {manifest.config.size}"
        )
    if len(image.config.diff_ids) != len(manifest.layers):
        raise IntegrityError(
            f"image {image.digest}: {len(manifest.layers)} layers but {len(image.config.diff_ids)} diff_ids in its config"
        )
    hashed = len(raw) + len(config_raw)
    decompressed = 0
    state = ScanState()
    # Cross-layer checks (an entry through a lower layer's symlink) need the layers scanned together,
    # in order: the cache entry is for the whole image (its manifest digest pins every layer digest
    # and, through the config digest, every diff_id).
    cache_file = _cache_path(store, image.digest, limits)
    cached = use_cache and not full and cache_file.is_file()
    for layer, diff_id in zip(manifest.layers, image.config.diff_ids, strict=True):
        if layer.media_type not in LAYER_MEDIA_TYPES:
            raise IntegrityError(f"layer {layer.digest}: unsupported media type {layer.media_type!r}")
        if cached:
            size = store.verify_blob(layer.digest, f"layer {layer.digest}")
            if size != layer.size:
                raise IntegrityError(f"layer {layer.digest}: {size} bytes, the manifest says {layer.size}")
            hashed += size
        else:
            facts = iter_layer(store, layer, diff_id, state, limits)
            hashed += facts.compressed_size
            decompressed += 1
    if use_cache and not cached:
        with contextlib.suppress(OSError):  # a read-only store: the next check is a full one again
            atomic_write_bytes(cache_file, json.dumps({"image": image.digest, "limits": asdict(limits)}).encode())
    return IntegrityReport(image.digest, manifest.config.digest, 2 + len(manifest.layers), hashed, decompressed)
