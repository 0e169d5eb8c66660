"""Helpers for policy and runtime tests: small runnable images built with the store API, signed statements.

The runnable image is one zstd layer holding Debian's ``busybox-static`` (/bin/busybox, installed
by scripts/services.d/30-busybox.sh) and ``/bin/sh -> busybox``: it runs in Docker and under
bubblewrap with no mirror. Layers with hostile entries are written the same way.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from vial.attest.referrers import attach_bundle
from vial.attest.signing.keys import SigningKey, generate, public_pem
from vial.attest.signing.sign import KeySigner
from vial.attest.statements.statement import SLSA_PROVENANCE_V1, Statement, Subject
from vial.digest import HashingWriter
from vial.oci import (
    ANNOTATION_TITLE,
    ANNOTATION_VERSION,
    MEDIA_TYPE_CONFIG,
    MEDIA_TYPE_LAYER_ZSTD,
    Descriptor,
    ImageConfig,
    Manifest,
)
from vial.store import Image, Store

BUSYBOX = Path("/bin/busybox")
BUILDER_ID = "https://vial.dev/builder/local/v1"


@dataclass(frozen=True)
class Entry:
    """One tar entry: ``kind`` is file, dir, symlink, hardlink, chr, or zeros (a file of ``size`` zero bytes)."""

    name: str
    kind: str = "file"
    data: bytes = b""
    link: str = ""
    mode: int = 0o644
    size: int = 0
    source: Path | None = None


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n

    def readable(self) -> bool:
        return True


def _write_tar(entries: Iterable[Entry], sink: BinaryIO) -> None:
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mode, info.mtime, info.uid, info.gid = entry.mode, 0, 0, 0
            handle: BinaryIO | None = None
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif entry.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry.link
            elif entry.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, entry.link
            elif entry.kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            elif entry.kind == "zeros":
                info.size = entry.size
                handle = io.BufferedReader(_Zeros(entry.size), 1 << 20)  # type: ignore[assignment]
            elif entry.source is not None:
                info.size = entry.source.stat().st_size
                handle = open(entry.source, "rb")  # noqa: SIM115
            else:
                info.size = len(entry.data)
                handle = io.BytesIO(entry.data)
            archive.addfile(info, handle)
            if handle is not None:
                handle.close()


def put_layer(store: Store, entries: Iterable[Entry]) -> tuple[Descriptor, str]:
    """A zstd layer in the store; returns its descriptor and diff_id (streamed: memory stays flat)."""
    with store.blob_writer() as blob:
        compressor = zstandard.ZstdCompressor(level=3).stream_writer(blob, closefd=False)  # type: ignore[arg-type]
        tar_hash = HashingWriter(compressor)  # type: ignore[arg-type]
        _write_tar(entries, tar_hash)  # type: ignore[arg-type]
        compressor.flush(zstandard.FLUSH_FRAME)
        size = blob.size
        digest = blob.commit()
    return Descriptor(MEDIA_TYPE_LAYER_ZSTD, digest, size), tar_hash.digest


def busybox_entries() -> list[Entry]:
    return [
        Entry("bin", "dir", mode=0o755),
        Entry("bin/busybox", "file", source=BUSYBOX, mode=0o755),
        Entry("bin/sh", "symlink", link="busybox", mode=0o777),
        Entry("etc", "dir", mode=0o755),
        Entry("etc/motd", "file", data=b"verified\n"),
    ]


def put_image(
    store: Store,
    layers: list[tuple[Descriptor, str]],
    name: str | None = None,
    cmd: tuple[str, ...] = ("sh", "-c", "cat /etc/motd"),
    env: tuple[str, ...] = ("PATH=/bin",),
    version: str = "1.0.0",
    diff_ids: tuple[str, ...] | None = None,
) -> Image:
    config = ImageConfig(
        diff_ids=diff_ids if diff_ids is not None else tuple(d for _, d in layers), env=env, cmd=cmd, workdir="/"
    )
    raw = config.to_bytes()
    config_digest = store.put_bytes(raw)
    project = (name or "demo:").split(":", 1)[0]
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_CONFIG, config_digest, len(raw)),
        layers=tuple(d for d, _ in layers),
        annotations={ANNOTATION_TITLE: project, ANNOTATION_VERSION: version},
    )
    descriptor = store.put_image(manifest)
    if name:
        store.tag(name, descriptor)
    return store.image(descriptor.digest)


def provenance(
    project: str,
    version: str,
    dependencies: list[dict[str, Any]] | None = None,
    builder: str = BUILDER_ID,
    finished: datetime | None = None,
) -> dict[str, Any]:
    finished = finished or datetime.now(UTC)
    if dependencies is None:
        dependencies = [
            {
                "name": "busybox-static",
                "uri": "pkg:deb/debian/busybox-static@1:1.35.0-4",
                "digest": {"sha256": "ab" * 32},
            }
        ]
    return {
        "buildDefinition": {
            "buildType": "https://vial.dev/build/v1",
            "externalParameters": {"project": {"name": project, "version": version}},
            "resolvedDependencies": dependencies,
        },
        "runDetails": {"builder": {"id": builder}, "metadata": {"finishedOn": finished.strftime("%Y-%m-%dT%H:%M:%SZ")}},
    }


def sign(
    store: Store,
    image: Image | Descriptor,
    predicate_type: str,
    predicate: dict[str, Any],
    key: SigningKey,
    subject_digest: str | None = None,
) -> bytes:
    """Sign a statement about ``subject_digest`` (default: the image) and store it as a referrer of ``image``."""
    descriptor = image.descriptor if isinstance(image, Image) else image
    statement = Statement((Subject("image", subject_digest or descriptor.digest),), predicate_type, predicate)
    bundle = KeySigner(key).sign(statement)
    attach_bundle(store, descriptor, bundle, predicate_type, f"key {key.hint}")
    return bundle


def sign_provenance(
    store: Store, image: Image, key: SigningKey, project: str = "demo", version: str = "1.0.0", **kwargs: Any
) -> bytes:
    return sign(store, image, SLSA_PROVENANCE_V1, provenance(project, version, **kwargs), key)


def sbom(components: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}


def write_key(directory: Path, name: str, key: SigningKey | None = None) -> tuple[SigningKey, Path]:
    key = key or generate()
    path = directory / f"{name}.pub"
    path.write_bytes(public_pem(key.public))
    return key, path


def write_policy(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def docker_creates(client: Any, label: str, since: float) -> list[dict[str, Any]]:
    """Container create events carrying the label ``dev.vial.test=<label>`` since ``since``."""
    # The engine records a create event before its create call returns, so "until now" sees them all
    # (a float timestamp: no waiting for the next whole second).
    events = client.events(
        since=int(since) - 1,
        until=f"{time.time():.6f}",
        decode=True,
        filters={"type": "container", "event": "create", "label": f"dev.vial.test={label}"},
    )
    return list(events)
