"""The local content-addressed store: an OCI image layout under ``VIAL_HOME``.

Layout::

    oci-layout, index.json      the OCI layout; index.json names images ("name:version")
    blobs/sha256/<hex>          every blob, written once under its own digest
    tmp/                        temporaries, renamed into blobs/ only once complete and fsynced
    cache/                      derived data (layer cache, file-hash cache): safe to delete

Every blob is committed by rename after its digest is known, so a killed writer leaves no partial
blob under a digest name; index.json is replaced atomically under a file lock.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock

from vial.digest import CHUNK_SIZE, HashingWriter, VerifyingReader, hex_of, is_digest
from vial.errors import IntegrityError, NotFoundError
from vial.fsutil import atomic_write_bytes, fsync_dir
from vial.home import default_home
from vial.oci import (
    ANNOTATION_CREATED,
    ANNOTATION_REF_NAME,
    MEDIA_TYPE_MANIFEST,
    OCI_LAYOUT_FILE,
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
)

MAX_JSON_BLOB = 16 << 20  # manifests and configs are small; refuse to load a huge "JSON" blob


@dataclass(frozen=True)
class Image:
    """A manifest with its config, both read back and checked against their digests."""

    descriptor: Descriptor
    manifest: Manifest
    config: ImageConfig

    @property
    def digest(self) -> str:
        return self.descriptor.digest


@dataclass(frozen=True)
class Referrer:
    """An OCI 1.1 referrer listed in the store's index.json: a manifest whose ``subject`` is an image."""

    descriptor: Descriptor  # the referrer manifest, as listed in index.json
    manifest: Manifest

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    @property
    def artifact_type(self) -> str:
        return self.descriptor.artifact_type or ""

    def annotation(self, key: str) -> str:
        """The manifest's annotation ``key``, or ``""``."""
        return self.manifest.annotations.get(key, "")

    @property
    def created(self) -> str:
        return self.annotation(ANNOTATION_CREATED)


class BlobWriter:
    """Streams bytes into a temporary file while digesting them; ``commit`` files it under its digest."""

    def __init__(self, store: Store) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(prefix="blob-", dir=store.tmp_dir)
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hashing = HashingWriter(self._file)

    def write(self, data: bytes) -> int:
        return self._hashing.write(data)

    def flush(self) -> None:
        self._hashing.flush()

    @property
    def size(self) -> int:
        return self._hashing.size

    @property
    def digest(self) -> str:
        return self._hashing.digest

    def commit(self, expected: str | None = None, what: str = "blob") -> str:
        """Move the finished blob into place; if ``expected`` is given and differs, discard it and raise."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = self._hashing.digest
        if expected is not None and digest != expected:
            self._path.unlink(missing_ok=True)
            raise IntegrityError(f"{what}: content has digest {digest}, expected {expected}")
        target = self._store.blob_path(digest)
        if target.exists():
            self._path.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self._path, 0o444)
            os.replace(self._path, target)
            fsync_dir(target.parent)
        return digest

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._path.unlink(missing_ok=True)


class Store:
    """A local OCI image layout used as vial's store."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_home()
        self.blobs_dir = self.root / "blobs" / "sha256"
        self.tmp_dir = self.root / "tmp"
        self.cache_dir = self.root / "cache"
        self._index_path = self.root / "index.json"
        self._lock = FileLock(str(self.root / ".index.lock"))
        self._ensure()

    def _ensure(self) -> None:
        for directory in (self.blobs_dir, self.tmp_dir, self.cache_dir):
            directory.mkdir(parents=True, exist_ok=True)
        layout = self.root / "oci-layout"
        if not layout.exists():
            atomic_write_bytes(layout, OCI_LAYOUT_FILE)
        if not self._index_path.exists():
            atomic_write_bytes(self._index_path, Index().to_bytes())

    # -- blobs -------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        return self.blobs_dir / hex_of(digest)

    def has_blob(self, digest: str) -> bool:
        return is_digest(digest) and self.blob_path(digest).is_file()

    @contextlib.contextmanager
    def blob_writer(self) -> Iterator[BlobWriter]:
        """Yield a writer; the caller commits it. Anything not committed is removed on exit."""
        writer = BlobWriter(self)
        try:
            yield writer
        finally:
            writer.abort()

    def put_stream(self, stream: BinaryIO, expected: str | None = None, what: str = "blob") -> tuple[str, int]:
        with self.blob_writer() as writer:
            while chunk := stream.read(CHUNK_SIZE):
                writer.write(chunk)
            size = writer.size
            return writer.commit(expected, what), size

    def put_bytes(self, data: bytes, expected: str | None = None, what: str = "blob") -> str:
        with self.blob_writer() as writer:
            writer.write(data)
            return writer.commit(expected, what)

    def put_file(self, path: Path, expected: str | None = None) -> tuple[str, int]:
        with open(path, "rb") as handle:
            return self.put_stream(handle, expected, str(path))

    def open_blob(self, digest: str, what: str | None = None) -> VerifyingReader:
        """Open a blob for reading; the reader raises ``IntegrityError`` at EOF if the bytes were altered."""
        path = self.blob_path(digest)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - returned inside the reader, which closes it
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is not in the store ({self.root})") from None
        return VerifyingReader(handle, digest, what or f"blob {digest}")

    def read_blob(self, digest: str, what: str | None = None, max_size: int = MAX_JSON_BLOB) -> bytes:
        """Read a small blob whole and check its digest."""
        path = self.blob_path(digest)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is not in the store ({self.root})") from None
        if size > max_size:
            raise IntegrityError(f"{what or digest}: {size} bytes, more than the {max_size} allowed")
        reader = self.open_blob(digest, what)
        try:
            data = reader.read(size + 1)
            reader.verify()
        finally:
            reader.close()
        return data

    def verify_blob(self, digest: str, what: str | None = None) -> int:
        """Rehash a blob in full; returns its size."""
        reader = self.open_blob(digest, what)
        try:
            reader.verify()
        finally:
            reader.close()
        return reader.size

    # -- images and names --------------------------------------------------------------------

    def index(self) -> Index:
        return Index.from_bytes(self._index_path.read_bytes(), str(self._index_path))

    def put_image(self, manifest: Manifest) -> Descriptor:
        raw = manifest.to_bytes()
        digest = self.put_bytes(raw)
        return Descriptor(MEDIA_TYPE_MANIFEST, digest, len(raw))

    def tag(self, name: str, descriptor: Descriptor) -> None:
        """Point ``name`` (``name:version``) at a manifest, replacing what it named before."""
        if not self.has_blob(descriptor.digest):
            raise NotFoundError(f"cannot name {name}: manifest {descriptor.digest} is not in the store")
        with self._lock:
            current = self.index()
            kept = [m for m in current.manifests if m.annotations.get(ANNOTATION_REF_NAME) != name]
            annotations = dict(descriptor.annotations)
            annotations[ANNOTATION_REF_NAME] = name
            kept.append(descriptor.with_annotations(annotations))
            atomic_write_bytes(self._index_path, Index(tuple(kept)).to_bytes())

    def add_to_index(self, descriptor: Descriptor) -> None:
        """List an unnamed manifest (e.g. an OCI referrer of an image) in index.json, once."""
        if not self.has_blob(descriptor.digest):
            raise NotFoundError(f"cannot list manifest {descriptor.digest}: it is not in the store")
        with self._lock:
            current = self.index()
            if any(m.digest == descriptor.digest for m in current.manifests):
                return
            atomic_write_bytes(self._index_path, Index((*current.manifests, descriptor)).to_bytes())

    def referrers(
        self, subject_digest: str, artifact_type: str | None = None, *, skip_unreadable: bool = False
    ) -> list[Referrer]:
        """The manifests listed in index.json that declare an ``artifactType`` (``artifact_type``, if
        given) and whose ``subject`` is ``subject_digest``, in index order.

        A listed manifest that is missing or unreadable raises, unless ``skip_unreadable``.
        """
        found: list[Referrer] = []
        for entry in self.index().manifests:
            if not entry.artifact_type or (artifact_type is not None and entry.artifact_type != artifact_type):
                continue
            if not is_digest(entry.digest) or entry.digest == subject_digest:
                continue
            if skip_unreadable and not self.has_blob(entry.digest):
                continue
            try:
                manifest = Manifest.from_bytes(self.read_blob(entry.digest, f"referrer {entry.digest}"))
            except IntegrityError:
                if skip_unreadable:
                    continue  # not an image manifest: not a referrer
                raise
            if manifest.subject is not None and manifest.subject.digest == subject_digest:
                found.append(Referrer(entry, manifest))
        return found

    def names(self) -> list[tuple[str, Descriptor]]:
        return [
            (m.annotations[ANNOTATION_REF_NAME], m)
            for m in self.index().manifests
            if ANNOTATION_REF_NAME in m.annotations
        ]

    def resolve(self, ref: str) -> Descriptor:
        """A name (``name:version``, or ``name`` for its newest), a digest, or a unique digest prefix."""
        if is_digest(ref):
            if not self.has_blob(ref):
                raise NotFoundError(f"{ref}: no such image in the store ({self.root})")
            raw = self.read_blob(ref, ref)
            return Descriptor(json.loads(raw).get("mediaType", MEDIA_TYPE_MANIFEST), ref, len(raw))
        named = self.names()
        exact = [d for n, d in named if n == ref]
        if exact:
            return exact[-1]
        newest = [d for n, d in named if n.split(":", 1)[0] == ref]
        if newest:
            return newest[-1]
        prefix = ref.removeprefix("sha256:")
        if len(prefix) >= 6 and all(c in "0123456789abcdef" for c in prefix):
            found = {d.digest for _, d in named if hex_of(d.digest).startswith(prefix)}
            if len(found) == 1:
                return self.resolve(found.pop())
            if len(found) > 1:
                raise NotFoundError(f"{ref}: ambiguous digest prefix")
        raise NotFoundError(f"{ref}: no such image in the store ({self.root})")

    def image(self, ref: str) -> Image:
        descriptor = self.resolve(ref)
        manifest = Manifest.from_bytes(self.read_blob(descriptor.digest, f"manifest {descriptor.digest}"))
        config = ImageConfig.from_bytes(self.read_blob(manifest.config.digest, f"config {manifest.config.digest}"))
        if len(config.diff_ids) != len(manifest.layers):
            raise IntegrityError(
                f"image {descriptor.digest}: {len(manifest.layers)} layers but {len(config.diff_ids)} diff_ids"
            )
        return Image(descriptor, manifest, config)

    # -- export --------------------------------------------------------------------------------

    def image_blobs(self, image: Image) -> list[Descriptor]:
        """Every blob an image needs, manifest first."""
        return [image.descriptor, image.manifest.config, *image.manifest.layers]

    def _export_plan(self, ref: str, with_manifests: Sequence[Descriptor]) -> tuple[Image, bytes, list[Descriptor]]:
        """What an export holds: the image, the index.json listing it (and ``with_manifests``, e.g. its
        referrers), and every blob they need, each once."""
        image = self.image(ref)
        top = image.descriptor.with_annotations(
            {k: v for k, v in image.descriptor.annotations.items() if k == ANNOTATION_REF_NAME}
        )
        blobs = self.image_blobs(image)
        for extra in with_manifests:
            manifest = Manifest.from_bytes(self.read_blob(extra.digest, f"manifest {extra.digest}"))
            blobs += [extra, manifest.config, *manifest.layers]
        unique = list({descriptor.digest: descriptor for descriptor in blobs}.values())
        return image, Index((top, *with_manifests)).to_bytes(), unique

    def export_layout(self, ref: str, dest: Path, with_manifests: Sequence[Descriptor] = ()) -> Image:
        """Write an OCI image layout holding one image (and ``with_manifests``) to ``dest``, atomically."""
        image, index, blobs = self._export_plan(ref, with_manifests)
        dest = Path(dest)
        if dest.exists() and any(dest.iterdir()):
            raise NotFoundError(f"{dest}: exists and is not empty")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-export-", dir=dest.parent))
        try:
            blob_dir = staging / "blobs" / "sha256"
            blob_dir.mkdir(parents=True)
            for descriptor in blobs:
                _copy_verified(self, descriptor.digest, blob_dir / hex_of(descriptor.digest))
            (staging / "oci-layout").write_bytes(OCI_LAYOUT_FILE)
            (staging / "index.json").write_bytes(index)
            if dest.exists():
                dest.rmdir()
            os.replace(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return image

    def export_archive(self, ref: str, dest: Path, with_manifests: Sequence[Descriptor] = ()) -> Image:
        """Write the image as a tar of an OCI layout (an OCI archive), atomically and deterministically."""
        image, index, blobs = self._export_plan(ref, with_manifests)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                with tarfile.open(fileobj=handle, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                    _add_bytes(archive, "oci-layout", OCI_LAYOUT_FILE)
                    _add_bytes(archive, "index.json", index)
                    for descriptor in blobs:
                        info = tarfile.TarInfo(f"blobs/sha256/{hex_of(descriptor.digest)}")
                        info.size = self.blob_path(descriptor.digest).stat().st_size
                        info.mode = 0o444
                        reader = self.open_blob(descriptor.digest)
                        try:
                            archive.addfile(info, reader)
                            reader.verify()
                        finally:
                            reader.close()
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, dest)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return image


def _copy_verified(store: Store, digest: str, target: Path) -> None:
    reader = store.open_blob(digest)
    try:
        with open(target, "wb") as out:
            while chunk := reader.read(CHUNK_SIZE):
                out.write(chunk)
    finally:
        reader.close()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o444
    archive.addfile(info, io.BytesIO(data))
