"""Small OCI images made with the store API, for IPFS tests."""

from __future__ import annotations

import hashlib
import io
import tarfile

from vial.oci import MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
from vial.store import Store


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_image(store: Store, name: str = "demo:1.0", layers: list[bytes] | None = None) -> Descriptor:
    """An image with the given layer tars (default: one small layer), tagged ``name``."""
    if layers is None:
        layers = [layer_tar({"hello.txt": b"hello from vial\n", "data/blob.bin": hashlib.sha256(b"x").digest() * 5000})]
    descriptors = []
    for layer in layers:
        digest = store.put_bytes(layer)
        descriptors.append(Descriptor(MEDIA_TYPE_LAYER_TAR, digest, len(layer)))
    config = ImageConfig(diff_ids=tuple(d.digest for d in descriptors)).to_bytes()
    config_digest = store.put_bytes(config)
    manifest = Manifest(config=Descriptor(MEDIA_TYPE_CONFIG, config_digest, len(config)), layers=tuple(descriptors))
    descriptor = store.put_image(manifest)
    store.tag(name, descriptor)
    return descriptor


BUSYBOX = "/bin/busybox"


def busybox_image(store: Store, name: str = "busybox:1") -> Descriptor:
    """A runnable single-layer image: Debian's static busybox as /bin/busybox, /bin/sh linking to it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in ("bin",):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            archive.addfile(info)
        with open(BUSYBOX, "rb") as handle:
            data = handle.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("bin/sh")
        link.type = tarfile.SYMTYPE
        link.linkname = "busybox"
        archive.addfile(link)
    layer = buf.getvalue()
    digest = store.put_bytes(layer)
    config = ImageConfig(diff_ids=(digest,), entrypoint=("/bin/busybox",), cmd=("echo", "hello from vial")).to_bytes()
    config_digest = store.put_bytes(config)
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_CONFIG, config_digest, len(config)),
        layers=(Descriptor(MEDIA_TYPE_LAYER_TAR, digest, len(layer)),),
    )
    descriptor = store.put_image(manifest)
    store.tag(name, descriptor)
    return descriptor
