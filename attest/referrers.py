"""Attestations stored with their image as OCI referrers (image-spec v1.1), inside the store layout.

Each Sigstore bundle is one blob, wrapped in an artifact manifest whose ``subject`` is the image
manifest and whose ``artifactType`` is the bundle media type (the shape cosign uses for OCI 1.1
bundles); the manifest is listed in ``index.json`` (unnamed), so a layout copy carries it and the
referrers of an image are found from the index alone, with no registry API.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vial.attest.bundle import BUNDLE_V03
from vial.attest.errors import AttestationError
from vial.registry.store import Store

from vial.digest import is_digest
from vial.errors import NotFoundError
from vial.fsutil import atomic_write_bytes
from vial.oci import ANNOTATION_CREATED, MEDIA_TYPE_EMPTY, MEDIA_TYPE_MANIFEST, Descriptor, Manifest

ANNOTATION_PREDICATE_TYPE = "dev.sigstore.bundle.predicateType"
ANNOTATION_CONTENT = "dev.sigstore.bundle.content"
ANNOTATION_SIGNER = "dev.vial.attestation.signer"
EMPTY_JSON = b"{}"


@dataclass(frozen=True)
class Referrer:
    descriptor: Descriptor  # the artifact manifest, as listed in index.json
    manifest: Manifest

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    @property
    def predicate_type(self) -> str:
        return self.manifest.annotations.get(ANNOTATION_PREDICATE_TYPE, "")

    @property
    def signer(self) -> str:
        return self.manifest.annotations.get(ANNOTATION_SIGNER, "")

    @property
    def created(self) -> str:
        return self.manifest.annotations.get(ANNOTATION_CREATED, "")

    @property
    def bundle(self) -> Descriptor:
        return self.manifest.layers[0]


def attach_bundle(
    store: Store, subject: Descriptor, bundle: bytes, predicate_type: str, signer: str = "", created: str | None = None
) -> Referrer:
    """Store ``bundle`` as a referrer of the image ``subject``; returns the new referrer."""
    if not store.has_blob(subject.digest):
        raise NotFoundError(f"image {subject.digest} is not in the store")
    bundle_digest = store.put_bytes(bundle)
    empty_digest = store.put_bytes(EMPTY_JSON)
    annotations = {
        ANNOTATION_PREDICATE_TYPE: predicate_type,
        ANNOTATION_CONTENT: "dsse-envelope",
        ANNOTATION_CREATED: created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if signer:
        annotations[ANNOTATION_SIGNER] = signer
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_EMPTY, empty_digest, len(EMPTY_JSON)),
        layers=(Descriptor(BUNDLE_V03, bundle_digest, len(bundle)),),
        annotations=annotations,
        subject=Descriptor(MEDIA_TYPE_MANIFEST, subject.digest, subject.size),
        artifact_type=BUNDLE_V03,
    )
    raw = manifest.to_bytes()
    digest = store.put_bytes(raw)
    descriptor = Descriptor(MEDIA_TYPE_MANIFEST, digest, len(raw), dict(annotations), BUNDLE_V03)
    store.add_to_index(descriptor)
    return Referrer(descriptor, manifest)


def list_referrers(store: Store, subject_digest: str, predicate_type: str | None = None) -> list[Referrer]:
    """Every attestation of the image ``subject_digest`` listed in the store, oldest first."""
    found: list[Referrer] = []
    for entry in store.index().manifests:
        if entry.artifact_type != BUNDLE_V03 or not is_digest(entry.digest):
            continue
        manifest = Manifest.from_bytes(store.read_blob(entry.digest, f"referrer {entry.digest}"))
        if manifest.subject is None or manifest.subject.digest != subject_digest or not manifest.layers:
            continue
        referrer = Referrer(entry, manifest)
        if predicate_type is None or referrer.predicate_type == predicate_type:
            found.append(referrer)
    found.sort(key=lambda r: r.created)
    return found


def read_bundle(store: Store, referrer: Referrer) -> bytes:
    layer = referrer.bundle
    if layer.media_type != BUNDLE_V03:
        raise AttestationError(f"referrer {referrer.digest}: layer is {layer.media_type}, not a Sigstore bundle")
    return store.read_blob(layer.digest, f"bundle {layer.digest}")


def export_layout_with_referrers(store: Store, ref: str, dest: Path) -> list[Referrer]:
    """``Store.export_layout`` plus the image's attestations, listed in the exported index.json.

    The layout is assembled beside ``dest`` and renamed into place whole.
    """
    image_digest = store.resolve(ref).digest
    referrers = list_referrers(store, image_digest)
    extra: list[Descriptor] = []
    for referrer in referrers:
        extra += [referrer.descriptor, referrer.manifest.config, referrer.bundle]
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise NotFoundError(f"{dest}: exists and is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-export-", dir=dest.parent))
    try:
        inner = staging / "layout"
        store.export_layout(ref, inner, extra=extra)
        index_path = inner / "index.json"
        index = json.loads(index_path.read_bytes())
        index["manifests"] += [r.descriptor.to_json() for r in referrers]
        atomic_write_bytes(index_path, json.dumps(index, sort_keys=True, separators=(",", ":")).encode())
        if dest.exists():
            dest.rmdir()
        os.replace(inner, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return referrers


def export_archive_with_referrers(store: Store, ref: str, dest: Path) -> list[Referrer]:
    """``Store.export_archive`` plus the image's attestations: a tar of the layout above, written atomically."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-export-", dir=dest.parent))
    try:
        layout = staging / "layout"
        referrers = export_layout_with_referrers(store, ref, layout)
        archive_path = staging / "archive.tar"
        with tarfile.open(archive_path, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path in [layout / "oci-layout", layout / "index.json", *sorted((layout / "blobs" / "sha256").iterdir())]:
                info = archive.gettarinfo(str(path), arcname=str(path.relative_to(layout)))
                info.mode, info.uid, info.gid, info.uname, info.gname, info.mtime = 0o444, 0, 0, "", "", 0
                with open(path, "rb") as handle:
                    archive.addfile(info, handle)
        with open(archive_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(archive_path, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return referrers
