"""Export an image from the store as a ``docker save``-style archive, for engines that cannot load OCI.

Docker 20.10 loads neither OCI layouts nor zstd layers, so each layer is decompressed into the
archive. Every byte is checked on the way: the compressed blob against its digest, the tar
against its diff_id; an archive is only returned once all checks passed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import zstandard

from vial.digest import CHUNK_SIZE, Readable, hex_of
from vial.errors import IntegrityError
from vial.oci import MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_ZSTD
from vial.store import Image, Store


def _tar_stream(store: Store, media_type: str, digest: str) -> Iterator[bytes]:
    reader = store.open_blob(digest, f"layer {digest}")
    # Both decompressors only read() their source; their stubs ask for a whole file object.
    source = cast(BinaryIO, reader)
    try:
        stream: Readable
        if media_type == MEDIA_TYPE_LAYER_ZSTD:
            stream = zstandard.ZstdDecompressor().stream_reader(source, read_size=CHUNK_SIZE)
        elif media_type == MEDIA_TYPE_LAYER_GZIP:
            stream = gzip.GzipFile(fileobj=source)
        elif media_type == MEDIA_TYPE_LAYER_TAR:
            stream = reader
        else:
            raise IntegrityError(f"layer {digest}: unsupported media type {media_type}")
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk
        reader.verify()  # the compressed bytes' digest, checked once all were read
    finally:
        reader.close()


def write_docker_archive(store: Store, image: Image, directory: Path) -> Path:
    """Write ``image`` as a docker-archive tar in ``directory``; returns its path."""
    archive_path = Path(directory) / "image.docker.tar"
    config_name = f"{hex_of(image.manifest.config.digest)}.json"
    layer_names: list[str] = []
    with tarfile.open(archive_path, "w", format=tarfile.PAX_FORMAT) as archive:
        config_raw = store.read_blob(image.manifest.config.digest, "image config")
        _add_bytes(archive, config_name, config_raw)
        for layer, diff_id in zip(image.manifest.layers, image.config.diff_ids, strict=True):
            fd, tmp = tempfile.mkstemp(prefix="layer-", dir=directory)
            hasher = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in _tar_stream(store, layer.media_type, layer.digest):
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if "sha256:" + hasher.hexdigest() != diff_id:
                raise IntegrityError(
                    f"layer {layer.digest}: uncompressed content is sha256:{hasher.hexdigest()}, config says {diff_id}"
                )
            name = f"{hex_of(diff_id)}/layer.tar"
            info = tarfile.TarInfo(name)
            info.size = size
            with open(tmp, "rb") as handle:
                archive.addfile(info, handle)
            os.unlink(tmp)
            layer_names.append(name)
        manifest = [{"Config": config_name, "RepoTags": None, "Layers": layer_names}]
        _add_bytes(archive, "manifest.json", json.dumps(manifest).encode())
    return archive_path


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
