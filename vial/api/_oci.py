"""Push and pull: images and their attestations to and from OCI registries (``oci://HOST/REPO``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vial.api._common import Log, logger_for, store_or_default
from vial.errors import VialError
from vial.store import Store


@dataclass(frozen=True)
class PushResult:
    """Where ``push`` put the image (``reference``: ``oci://HOST/REPO@sha256:...``) and what it sent."""

    reference: str
    digest: str
    uploaded: int  # blobs sent
    skipped: int  # blobs the registry already had
    mounted: int  # blobs mounted from another repository
    referrers: tuple[str, ...]  # attestation manifests pushed
    referrers_mode: str

    def to_json(self) -> dict[str, Any]:
        """``reference``, ``digest``, ``uploaded``, ``skipped``, ``mounted``, ``referrers``, ``referrers_mode``."""
        return {
            "reference": self.reference,
            "digest": self.digest,
            "uploaded": self.uploaded,
            "skipped": self.skipped,
            "mounted": self.mounted,
            "referrers": list(self.referrers),
            "referrers_mode": self.referrers_mode,
        }


@dataclass(frozen=True)
class RegistryPullResult:
    """What ``pull`` fetched from a registry, every blob's size and digest checked."""

    reference: str  # oci://HOST/REPO@sha256:...
    digest: str
    name: str  # the name set in the store
    downloaded: int
    present: int  # blobs the store already had
    referrers: tuple[str, ...]
    referrers_mode: str

    @property
    def manifest(self) -> str:
        """The manifest digest (the same as ``digest``)."""
        return self.digest

    def to_json(self) -> dict[str, Any]:
        """``reference``, ``digest``, ``name``, ``downloaded``, ``present``, ``referrers``, ``referrers_mode``."""
        return {
            "reference": self.reference,
            "digest": self.digest,
            "name": self.name,
            "downloaded": self.downloaded,
            "present": self.present,
            "referrers": list(self.referrers),
            "referrers_mode": self.referrers_mode,
        }


def push(
    ref: str,
    target: str,
    *,
    insecure: bool | None = None,
    attestations: bool = True,
    chunk_size: int | None = None,
    mount_from: str | None = None,
    store: Store | None = None,
    log: Log | None = None,
) -> PushResult:
    """Push image ``ref`` and its attestations (OCI 1.1 referrers) to ``target``, ``oci://HOST/REPO[:TAG]``.

    Plain HTTP only for loopback hosts or ``insecure=True``; credentials from
    ``$VIAL_REGISTRY_USERNAME``/``$VIAL_REGISTRY_PASSWORD`` or Docker's ``config.json``.

    >>> import vial
    >>> vial.push("longley-ols:1.0.0", "oci://registry.example/lab/longley:1.0.0").reference
    'oci://registry.example/lab/longley@sha256:...'
    """
    from vial.registry.oci.distribution import push as push_image
    from vial.registry.oci.reference import parse_reference

    destination = parse_reference(target)
    result = push_image(
        store_or_default(store),
        ref,
        destination,
        insecure=insecure,
        attestations=attestations,
        chunk_size=chunk_size,
        mount_from=mount_from,
        log=log or logger_for("push"),
    )
    return PushResult(
        str(result.target),
        result.digest,
        result.uploaded,
        result.skipped,
        result.mounted,
        tuple(result.referrers),
        result.referrers_mode,
    )


def pull_registry(
    source: str,
    *,
    insecure: bool | None = None,
    name: str | None = None,
    attestations: bool = True,
    store: Store | None = None,
    log: Log | None = None,
) -> RegistryPullResult:
    """Pull ``oci://HOST/REPO[:TAG][@sha256:...]`` and its attestations into the store (``pull`` for registries).

    ``name`` (``NAME:VERSION``) names it in the store; default ``REPOSITORY:TAG`` or ``REPOSITORY:sha256-HEX``.
    """
    from vial.registry.oci.distribution import pull as pull_image
    from vial.registry.oci.reference import parse_reference

    origin = parse_reference(source)  # anything but oci://... is refused here with one line
    if name is not None and (":" not in name or name.startswith(":") or name.endswith(":")):
        raise VialError(f"--name {name!r}: expected NAME:VERSION")
    result = pull_image(
        store_or_default(store),
        origin,
        name=name,
        insecure=insecure,
        attestations=attestations,
        log=log or logger_for("pull"),
    )
    return RegistryPullResult(
        str(result.source),
        result.digest,
        result.name,
        result.downloaded,
        result.present,
        tuple(result.referrers),
        result.referrers_mode,
    )
