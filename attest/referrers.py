"""Attestations stored with their image as OCI referrers (image-spec v1.1), inside the store layout.

Each Sigstore bundle is one blob, wrapped in an artifact manifest whose ``subject`` is the image
manifest and whose ``artifactType`` is the bundle media type (the shape cosign uses for OCI 1.1
bundles); the manifest is listed in ``index.json`` (unnamed), so a layout copy carries it and the
referrers of an image are found from the index alone, with no registry API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vial.attest.errors import AttestationError
from vial.attest.signing.bundle import BUNDLE_V03
from vial.errors import NotFoundError
from vial.oci import (
    ANNOTATION_CREATED,
    ANNOTATION_PREDICATE_TYPE,
    MEDIA_TYPE_EMPTY,
    MEDIA_TYPE_MANIFEST,
    Descriptor,
    Manifest,
)
from vial.store import Referrer as StoreReferrer
from vial.store import Store

__all__ = ["ANNOTATION_PREDICATE_TYPE", "Referrer", "attach_bundle", "list_referrers", "read_bundle"]

ANNOTATION_CONTENT = "dev.sigstore.bundle.content"
ANNOTATION_SIGNER = "dev.vial.attestation.signer"
EMPTY_JSON = b"{}"


@dataclass(frozen=True)
class Referrer(StoreReferrer):
    """An attestation: a referrer whose one layer is a Sigstore bundle."""

    @property
    def predicate_type(self) -> str:
        return self.annotation(ANNOTATION_PREDICATE_TYPE)

    @property
    def signer(self) -> str:
        return self.annotation(ANNOTATION_SIGNER)

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
        ANNOTATION_CREATED: created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
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
    found = [
        Referrer(r.descriptor, r.manifest)
        for r in store.referrers(subject_digest, BUNDLE_V03)
        if r.manifest.layers and (predicate_type is None or r.annotation(ANNOTATION_PREDICATE_TYPE) == predicate_type)
    ]
    found.sort(key=lambda r: r.created)
    return found


def read_bundle(store: Store, referrer: Referrer) -> bytes:
    layer = referrer.bundle
    if layer.media_type != BUNDLE_V03:
        raise AttestationError(f"referrer {referrer.digest}: layer is {layer.media_type}, not a Sigstore bundle")
    return store.read_blob(layer.digest, f"bundle {layer.digest}")


def export_layout_with_referrers(store: Store, ref: str, dest: Path) -> list[Referrer]:
    """``Store.export_layout`` plus the image's attestations, listed in the exported index.json."""
    referrers = list_referrers(store, store.resolve(ref).digest)
    store.export_layout(ref, dest, with_manifests=[r.descriptor for r in referrers])
    return referrers


def export_archive_with_referrers(store: Store, ref: str, dest: Path) -> list[Referrer]:
    """``Store.export_archive`` plus the image's attestations, listed in the archive's index.json."""
    referrers = list_referrers(store, store.resolve(ref).digest)
    store.export_archive(ref, dest, with_manifests=[r.descriptor for r in referrers])
    return referrers
