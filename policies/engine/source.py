"""Where an image to verify comes from: REF resolution through a registry of resolvers.

Built in, tried in order: an OCI image layout directory, a tar archive of one (``vial export`` /
``export_archive_with_referrers``), then the local store (``name:version``, ``name``, a digest or a
unique prefix). Another source (e.g. an IPFS CID) plugs in with ``register_resolver``: a resolver
returns ``None`` when REF is not its kind, else a ``Source``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vial.digest import CHUNK_SIZE
from vial.errors import IntegrityError, NotFoundError
from vial.store import Image, Store

_BLOB_NAME = re.compile(r"^blobs/sha256/[0-9a-f]{64}$")
MAX_ARCHIVE_MEMBERS = 100_000


class LayoutStore(Store):
    """An existing OCI image layout read in place: nothing is created or written in it."""

    def _ensure(self) -> None:
        if not (self.root / "oci-layout").is_file() or not (self.root / "index.json").is_file():
            raise NotFoundError(f"{self.root}: not an OCI image layout (no oci-layout or index.json)")


@dataclass
class Source:
    store: Store
    ref: str  # what to look up in ``store``
    label: str  # how to name it to the user
    kind: str  # "store", "layout", "archive", or a plugged-in resolver's name
    writable: bool  # whether verify may cache facts and attach a VSA here

    def image(self) -> Image:
        return self.store.image(self.ref)


Resolver = Callable[[str, Path], "Source | None"]
_RESOLVERS: list[tuple[str, Resolver]] = []


def register_resolver(name: str, resolver: Resolver, first: bool = True) -> None:
    """Add a resolver (``resolver(ref, workdir) -> Source | None``); ``workdir`` is removed afterwards."""
    entry = (name, resolver)
    _RESOLVERS.insert(0, entry) if first else _RESOLVERS.append(entry)


def _only_image_ref(store: Store) -> str:
    index = store.index()
    images = [m for m in index.manifests if m.artifact_type is None]
    if len(images) != 1:
        raise NotFoundError(f"{store.root}: holds {len(images)} images; name one as PATH@sha256:... or PATH:name")
    return images[0].digest


def _split_path_ref(ref: str) -> tuple[str, str | None]:
    """``PATH@sha256:...`` or ``PATH`` (the layout's only image)."""
    if "@sha256:" in ref:
        path, digest = ref.rsplit("@", 1)
        return path, digest
    return ref, None


def _layout_resolver(ref: str, workdir: Path) -> Source | None:
    path, digest = _split_path_ref(ref)
    if not Path(path).is_dir() or not (Path(path) / "oci-layout").is_file():
        return None
    store = LayoutStore(path)
    return Source(store, digest or _only_image_ref(store), ref, "layout", writable=False)


def _archive_resolver(ref: str, workdir: Path) -> Source | None:
    path, digest = _split_path_ref(ref)
    if not Path(path).is_file() or not tarfile.is_tarfile(path):
        return None
    root = workdir / "layout"
    extract_layout_archive(Path(path), root)
    store = LayoutStore(root)
    return Source(store, digest or _only_image_ref(store), ref, "archive", writable=False)


def extract_layout_archive(archive: Path, root: Path) -> None:
    """Extract a tar of an OCI layout: only ``oci-layout``, ``index.json`` and ``blobs/sha256/<hex>``
    regular files are accepted (blobs are rehashed later, on every read)."""
    (root / "blobs" / "sha256").mkdir(parents=True)
    count = 0
    with tarfile.open(archive, mode="r|*") as tar:
        for member in tar:
            count += 1
            if count > MAX_ARCHIVE_MEMBERS:
                raise IntegrityError(f"{archive}: more than {MAX_ARCHIVE_MEMBERS} entries")
            name = member.name[2:] if member.name.startswith("./") else member.name
            if member.isdir() and name.rstrip("/") in ("", "blobs", "blobs/sha256"):
                continue
            if not member.isreg() or not (name in ("oci-layout", "index.json") or _BLOB_NAME.match(name)):
                raise IntegrityError(f"{archive}: unexpected entry {member.name!r} in an OCI layout archive")
            source = tar.extractfile(member)
            assert source is not None
            with open(root / name, "wb") as out:
                while chunk := source.read(CHUNK_SIZE):
                    out.write(chunk)


def _store_resolver(ref: str, workdir: Path) -> Source | None:
    store = Store()
    return Source(store, ref, ref, "store", writable=True)


def _ipfs_resolver(ref: str, workdir: Path) -> Source | None:
    """``ipfs://CID``, ``/ipfs/CID``, ``cid:CID`` or a bare image CID: fetched and fully checked into a
    temporary store under ``workdir`` (from $VIAL_IPFS_API, or the CAR ``vial pin`` left), see docs/ipfs.md."""
    from vial.registry.ipfs.images import resolve_cid_ref

    found = resolve_cid_ref(ref, workdir)
    if found is None:
        return None
    store, digest = found
    return Source(store, digest, ref, "ipfs", writable=False)


register_resolver("store", _store_resolver, first=False)
register_resolver("archive", _archive_resolver)
register_resolver("layout", _layout_resolver)
register_resolver("ipfs", _ipfs_resolver)


@contextlib.contextmanager
def open_source(ref: str, store: Store | None = None) -> Iterator[Source]:
    """Resolve REF; temporary files (an extracted archive) are removed on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="vial-source-"))
    try:
        for name, resolver in _RESOLVERS:
            if name == "store" and store is not None:
                yield Source(store, ref, ref, "store", writable=True)
                return
            found = resolver(ref, workdir)
            if found is not None:
                yield found
                return
        raise NotFoundError(f"{ref}: not an image reference, OCI layout or archive")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
