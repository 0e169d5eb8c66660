"""Push images with their attestations to an OCI registry, and pull them back into the store.

Push: the image's config and layers (HEAD first, skipped if present; else streamed up), the
manifest under the tag, then each attestation (an artifact manifest whose ``subject`` is the image)
with its blobs. A registry that answers a referrer upload without ``OCI-Subject`` has no referrers
API: vial then adds the referrers to the index tagged ``sha256-<hex>`` (the OCI 1.1 tag-schema
fallback), which is what clients such as cosign read from such registries.

Pull: the manifest (by digest, or by tag then resolved to its digest), config and layers, then the
attestations listed by the referrers API or the fallback tag. Every blob is streamed into a
temporary file in the store and checked against its descriptor's size and digest; only when
*everything* has been downloaded and checked are the blobs renamed into place, the referrers listed
and the name set. A failure leaves the store as it was (blobs it already had stay).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from vial.digest import hex_of, sha256_bytes
from vial.errors import IntegrityError, VialError
from vial.oci import (
    ANNOTATION_PREDICATE_TYPE,
    MEDIA_TYPE_INDEX,
    MEDIA_TYPE_MANIFEST,
    MEDIA_TYPE_SIGSTORE_BUNDLE,
    Descriptor,
    ImageConfig,
    Manifest,
)
from vial.registry.oci.client import (
    MEDIA_TYPE_DOCKER_LIST,
    MEDIA_TYPE_DOCKER_MANIFEST,
    RegistryClient,
)
from vial.registry.oci.reference import RegistryRef
from vial.store import MAX_JSON_BLOB, BlobWriter, Referrer, Store

Log = Callable[[str], None]
ReferrersMode = Literal["api", "tag", "none"]


class DistributionError(VialError):
    """A push or pull cannot proceed (unsupported manifest, nothing to push under, ...)."""


@dataclass(frozen=True)
class PushResult:
    target: RegistryRef  # with the manifest digest
    digest: str
    uploaded: int  # blobs sent
    skipped: int  # blobs the registry already had
    referrers: tuple[str, ...]  # attestation manifests pushed
    referrers_mode: ReferrersMode
    mounted: int = 0  # blobs mounted from another repository (mount_from)


@dataclass(frozen=True)
class PullResult:
    source: RegistryRef  # with the manifest digest
    digest: str
    name: str  # the name set in the store
    downloaded: int  # blobs fetched and verified
    present: int  # blobs the store already had
    referrers: tuple[str, ...]
    referrers_mode: ReferrersMode


def _quiet(_: str) -> None:
    pass


# -- push ---------------------------------------------------------------------------------------


def push(
    store: Store,
    ref: str,
    target: RegistryRef,
    *,
    insecure: bool | None = None,
    attestations: bool = True,
    chunk_size: int | None = None,
    mount_from: str | None = None,
    client: RegistryClient | None = None,
    log: Log = _quiet,
) -> PushResult:
    """Push the image ``ref`` of ``store`` (and its attestations) to ``target``.

    ``mount_from``: another repository of the same registry that may hold the blobs already; they are
    mounted from there (no upload) where the registry allows it.
    """
    image = store.image(ref)
    if target.digest and target.digest != image.digest:
        raise DistributionError(f"{target}: the digest given is not that of {ref} ({image.digest})")
    referrers = _attestations(store, image.digest) if attestations else []
    owned = client is None
    client = client or RegistryClient(target, insecure=insecure)
    counts = {"uploaded": 0, "skipped": 0, "mounted": 0}
    try:
        client.ping()
        for descriptor in [image.manifest.config, *image.manifest.layers]:
            _push_blob(store, client, descriptor, counts, chunk_size, log, mount_from)
        raw = store.read_blob(image.digest, f"manifest {image.digest}")
        digest, _ = client.put_manifest(target.tag or image.digest, raw, image.descriptor.media_type)
        log(f"pushed manifest {digest}" + (f" as {target.tag}" if target.tag else ""))
        mode: ReferrersMode = "none"
        pushed: list[Descriptor] = []
        for referrer in referrers:
            for descriptor in [referrer.manifest.config, *referrer.manifest.layers]:
                _push_blob(store, client, descriptor, counts, None, log, mount_from)
            raw = store.read_blob(referrer.digest, f"referrer {referrer.digest}")
            _, subject = client.put_manifest(referrer.digest, raw, MEDIA_TYPE_MANIFEST)
            mode = "api" if subject == image.digest else "tag"
            pushed.append(_referrer_descriptor(referrer.digest, len(raw), referrer.manifest))
            log(f"pushed attestation {referrer.annotation(ANNOTATION_PREDICATE_TYPE)} ({referrer.digest})")
        if pushed and mode == "tag" and client.add_fallback_referrers(image.digest, pushed):
            log(f"updated the referrers index at tag sha256-{hex_of(image.digest)[:12]}... (no referrers API)")
    finally:
        if owned:
            client.close()
    return PushResult(
        target.with_digest(image.digest),
        image.digest,
        counts["uploaded"],
        counts["skipped"],
        tuple(d.digest for d in pushed),
        mode,
        counts["mounted"],
    )


def _attestations(store: Store, digest: str) -> list[Referrer]:
    """The image's Sigstore-bundle referrers in the store, oldest first (as ``vial.attest`` lists them)."""
    found = [r for r in store.referrers(digest, MEDIA_TYPE_SIGSTORE_BUNDLE) if r.manifest.layers]
    return sorted(found, key=lambda r: r.created)


def _push_blob(
    store: Store,
    client: RegistryClient,
    descriptor: Descriptor,
    counts: dict[str, int],
    chunk_size: int | None,
    log: Log,
    mount_from: str | None = None,
) -> None:
    existing = client.blob_size(descriptor.digest)
    if existing is not None and existing in (descriptor.size, -1):
        counts["skipped"] += 1
        return
    if mount_from and client.mount_blob(descriptor.digest, mount_from):
        counts["mounted"] += 1
        log(f"mounted {descriptor.digest} from {mount_from}")
        return
    if not store.has_blob(descriptor.digest):
        raise DistributionError(f"blob {descriptor.digest} is not in the store ({store.root}): cannot push it")
    client.upload_blob(descriptor.digest, descriptor.size, lambda: store.open_blob(descriptor.digest), chunk_size)
    counts["uploaded"] += 1
    log(f"uploaded {descriptor.digest} ({descriptor.size} bytes)")


def _referrer_descriptor(digest: str, size: int, manifest: Manifest) -> Descriptor:
    """A referrers-index entry: the manifest's artifactType (else its config's type) and annotations."""
    artifact_type = manifest.artifact_type or manifest.config.media_type
    return Descriptor(MEDIA_TYPE_MANIFEST, digest, size, dict(manifest.annotations), artifact_type)


# -- pull ---------------------------------------------------------------------------------------


@dataclass
class _Staged:
    """Blobs downloaded into temporaries and checked, waiting to be committed together."""

    store: Store
    stack: contextlib.ExitStack
    writers: dict[str, BlobWriter] = field(default_factory=dict)
    present: int = 0

    def wanted(self, digest: str) -> bool:
        if digest in self.writers:
            return False
        if self.store.has_blob(digest):
            self.present += 1
            return False
        return True

    def add_bytes(self, digest: str, data: bytes, what: str) -> None:
        if not self.wanted(digest):
            return
        writer = self.stack.enter_context(self.store.blob_writer())
        writer.write(data)
        self._check(writer, Descriptor("", digest, len(data)), what)
        self.writers[digest] = writer

    def download(self, client: RegistryClient, descriptor: Descriptor, what: str) -> None:
        if not self.wanted(descriptor.digest):
            return
        writer = self.stack.enter_context(self.store.blob_writer())
        with client.open_blob(descriptor.digest) as chunks:
            for chunk in chunks:
                if writer.size + len(chunk) > descriptor.size:
                    raise IntegrityError(
                        f"{what} {descriptor.digest}: the registry sent more than the "
                        f"{descriptor.size} bytes its descriptor gives"
                    )
                writer.write(chunk)
        self._check(writer, descriptor, what)
        self.writers[descriptor.digest] = writer

    @staticmethod
    def _check(writer: BlobWriter, descriptor: Descriptor, what: str) -> None:
        if writer.size != descriptor.size:
            raise IntegrityError(
                f"{what} {descriptor.digest}: {writer.size} bytes received, its descriptor gives {descriptor.size}"
            )
        if writer.digest != descriptor.digest:
            raise IntegrityError(f"{what} {descriptor.digest}: content has digest {writer.digest}")

    def commit(self) -> int:
        for digest, writer in self.writers.items():
            writer.commit(expected=digest)
        return len(self.writers)


def pull(
    store: Store,
    source: RegistryRef,
    *,
    name: str | None = None,
    insecure: bool | None = None,
    attestations: bool = True,
    client: RegistryClient | None = None,
    log: Log = _quiet,
) -> PullResult:
    """Pull ``source`` (by digest, or by tag resolved to a digest) into ``store``; name it ``name``."""
    owned = client is None
    client = client or RegistryClient(source, insecure=insecure)
    try:
        raw, media_type, digest = client.get_manifest(source.reference)
        if source.digest and digest != source.digest:  # get_manifest checks this already; never trust one place
            raise IntegrityError(f"{source}: manifest has digest {digest}")
        manifest = _image_manifest(raw, media_type, source)
        resolved = source.with_digest(digest)
        if not source.digest:
            log(f"{source.tag} is {digest}")
        with contextlib.ExitStack() as stack:
            staged = _Staged(store, stack)
            config_raw = _small_blob(client, manifest.config, "config")
            config = ImageConfig.from_bytes(config_raw, f"config {manifest.config.digest}")
            if len(config.diff_ids) != len(manifest.layers):
                raise IntegrityError(f"{resolved}: {len(manifest.layers)} layers but {len(config.diff_ids)} diff_ids")
            staged.add_bytes(manifest.config.digest, config_raw, "config")
            for layer in manifest.layers:
                staged.download(client, layer, "layer")
                log(f"checked layer {layer.digest} ({layer.size} bytes)")
            referrers: list[Descriptor] = []
            mode: ReferrersMode = "none"
            if attestations:
                referrers, mode = _stage_referrers(client, staged, digest, log)
            staged.add_bytes(digest, raw, "manifest")
            downloaded = staged.commit()
        for descriptor in referrers:
            store.add_to_index(descriptor)
        target_name = name or default_name(resolved)
        store.tag(target_name, store.resolve(digest))
    finally:
        if owned:
            client.close()
    log(f"pulled {digest} as {target_name}")
    return PullResult(
        resolved,
        digest,
        target_name,
        downloaded,
        staged.present,
        tuple(d.digest for d in referrers),
        mode if referrers else "none",
    )


def default_name(ref: RegistryRef) -> str:
    """The store name for a pulled image: ``REPOSITORY:TAG``, or ``REPOSITORY:sha256-<hex>`` by digest."""
    version = ref.tag or ("sha256-" + hex_of(ref.digest or ""))
    return f"{ref.repository}:{version}"


def _image_manifest(raw: bytes, media_type: str, source: RegistryRef) -> Manifest:
    if media_type in (MEDIA_TYPE_INDEX, MEDIA_TYPE_DOCKER_LIST):
        raise DistributionError(
            f"{source} is an image index (several platforms); pull one platform's manifest by digest"
        )
    if media_type == MEDIA_TYPE_DOCKER_MANIFEST:
        raise DistributionError(f"{source} is a Docker v2 manifest; vial's store holds OCI image manifests only")
    manifest = Manifest.from_bytes(raw, f"manifest of {source}")
    if manifest.subject is not None or manifest.artifact_type:
        raise DistributionError(f"{source} is an artifact (artifactType {manifest.artifact_type}), not an image")
    return manifest


def _small_blob(client: RegistryClient, descriptor: Descriptor, what: str) -> bytes:
    if descriptor.size > MAX_JSON_BLOB:
        raise IntegrityError(
            f"{what} {descriptor.digest}: {descriptor.size} bytes, more than the {MAX_JSON_BLOB} allowed"
        )
    data = bytearray()
    with client.open_blob(descriptor.digest) as chunks:
        for chunk in chunks:
            data += chunk
            if len(data) > descriptor.size:
                raise IntegrityError(
                    f"{what} {descriptor.digest}: the registry sent more than the "
                    f"{descriptor.size} bytes its descriptor gives"
                )
    if len(data) != descriptor.size or sha256_bytes(bytes(data)) != descriptor.digest:
        raise IntegrityError(
            f"{what} {descriptor.digest}: content has digest {sha256_bytes(bytes(data))} ({len(data)} bytes)"
        )
    return bytes(data)


def _stage_referrers(
    client: RegistryClient, staged: _Staged, subject: str, log: Log
) -> tuple[list[Descriptor], ReferrersMode]:
    index, mode = client.referrers(subject)
    found: list[Descriptor] = []
    for entry in index.manifests:
        if entry.media_type != MEDIA_TYPE_MANIFEST or entry.artifact_type != MEDIA_TYPE_SIGSTORE_BUNDLE:
            continue  # vial keeps Sigstore bundles (attestations); other artifacts stay in the registry
        raw, _, digest = client.get_manifest(entry.digest, accept=MEDIA_TYPE_MANIFEST)
        manifest = Manifest.from_bytes(raw, f"referrer {digest}")
        if manifest.subject is None or manifest.subject.digest != subject:
            raise IntegrityError(
                f"referrer {digest} listed for {subject} has subject "
                f"{manifest.subject.digest if manifest.subject else 'none'}"
            )
        for descriptor in [manifest.config, *manifest.layers]:
            staged.download(client, descriptor, "attestation blob")
        staged.add_bytes(digest, raw, "referrer")
        found.append(_referrer_descriptor(digest, len(raw), manifest))
        log(f"checked attestation {manifest.annotations.get(ANNOTATION_PREDICATE_TYPE, '')} ({digest})")
    return found, mode
