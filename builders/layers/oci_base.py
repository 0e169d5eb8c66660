"""The ``oci`` builder: an existing OCI image layout as the base, pinned by manifest digest.

Every blob is copied into the store and checked against its digest; the base's layers are used
as they are (they are already content-addressed), and its config's env, cmd and workdir become
the defaults under the project's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vial.errors import IntegrityError, NotFoundError
from vial.oci import LAYER_MEDIA_TYPES, Descriptor, ImageConfig, Manifest
from vial.store import Store


@dataclass(frozen=True)
class BaseImage:
    layers: tuple[Descriptor, ...]
    diff_ids: tuple[str, ...]
    config: ImageConfig


def import_base(store: Store, layout: Path, digest: str) -> BaseImage:
    """Copy the image ``digest`` from the OCI layout at ``layout`` into ``store``, verified."""
    layout = Path(layout)
    if not (layout / "oci-layout").is_file():
        raise NotFoundError(f"{layout}: not an OCI image layout (no oci-layout file)")
    source = Store.__new__(Store)  # read-only view: do not create anything inside the user's layout
    source.root = layout
    source.blobs_dir = layout / "blobs" / "sha256"
    if not source.has_blob(digest):
        raise NotFoundError(f"{layout}: has no manifest {digest}")
    store.put_file(source.blob_path(digest), expected=digest)
    manifest = Manifest.from_bytes(store.read_blob(digest, f"{layout} manifest {digest}"))
    for descriptor in (manifest.config, *manifest.layers):
        path = source.blob_path(descriptor.digest)
        if not path.is_file():
            raise NotFoundError(f"{layout}: blob {descriptor.digest} is missing")
        store.put_file(path, expected=descriptor.digest)
    image = store.image(digest)  # re-read: config now present and verified
    for layer in image.manifest.layers:
        if layer.media_type not in LAYER_MEDIA_TYPES:
            raise IntegrityError(f"base {digest}: layer {layer.digest} has unsupported media type {layer.media_type}")
    return BaseImage(image.manifest.layers, image.config.diff_ids, image.config)
