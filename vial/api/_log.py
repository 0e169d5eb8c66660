"""Publish and get: permanent releases in the append-only release log, and pulling them back by CID."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vial.api._common import store_or_default
from vial.store import Store

if TYPE_CHECKING:
    from vial.registry.log.releases import Head, LoggedRelease


@dataclass(frozen=True)
class PublishResult:
    """The release ``publish`` recorded (or found already recorded: ``created=False``) and the log's checkpoint."""

    created: bool
    logged: LoggedRelease
    head: Head
    origin: str  # which log

    def to_json(self) -> dict[str, Any]:
        """``{"created", "index", "release", "checkpoint"}``, as ``vial publish --json``."""
        from vial.registry.log.views import head_json

        return {
            "created": self.created,
            "index": self.logged.index,
            "release": self.logged.release.to_json(),
            "checkpoint": head_json(self.head),
        }


@dataclass(frozen=True)
class ReleasePullResult:
    """The release ``pull`` fetched by the CID its log records: tagged ``ref``, its manifest digest checked."""

    ref: str
    cid: str
    manifest: str
    origin: str
    index: int

    @property
    def digest(self) -> str:
        """The manifest digest (the same as ``manifest``)."""
        return self.manifest

    def to_json(self) -> dict[str, Any]:
        """``{"ref", "cid", "manifest", "origin", "index"}``, as ``vial pull NAME:VERSION --json``."""
        return {"ref": self.ref, "cid": self.cid, "manifest": self.manifest, "origin": self.origin, "index": self.index}


def publish(
    ref: str,
    name_version: str,
    *,
    cid: str | None = None,
    attestations: Sequence[str] = (),
    discover_attestations: bool = True,
    origin: str | None = None,
    store: Store | None = None,
) -> PublishResult:
    """Record image ``ref`` as ``name_version`` (``NAME:VERSION``), permanently, in the release log.

    The release names the manifest digest, its IPFS ``cid`` if given, its attestations (the image's
    referrers in the store unless ``discover_attestations=False``, plus ``attestations`` digests),
    the release before it, and the time. Republishing a version with other content is refused;
    with the same content it is a no-op (``created=False``). ``origin`` picks the log (default
    ``$VIAL_LOG``, else ``vial.local/releases``).

    >>> import vial
    >>> vial.publish("longley-ols:1.0.0", "longley-ols:1.0.0", cid="bafybei...").created
    True
    """
    from vial.registry.log.releases import ReleaseLog, split_ref

    name, version = split_ref(name_version)
    log = ReleaseLog(origin=origin)
    result = log.publish(
        store_or_default(store),
        ref,
        name,
        version,
        cid=cid,
        attestations=attestations,
        discover_attestations=discover_attestations,
    )
    return PublishResult(result.created, result.logged, result.head, log.origin)


def pull_release(
    name_version: str, *, node: str | None = None, origin: str | None = None, store: Store | None = None
) -> ReleasePullResult:
    """Pull the published ``NAME:VERSION`` of a followed (or the local) log by the CID it records,
    its inclusion proof and manifest digest checked, and tag it in the store (``vial get``)."""
    from vial.registry.log.follow import get_release
    from vial.registry.log.node import ipns_client
    from vial.registry.log.releases import split_ref

    name, version = split_ref(name_version)
    with ipns_client(node, f"pull {name_version} from") as client:
        result = get_release(store_or_default(store), client, name, version, origin)
    return ReleasePullResult(result.ref, str(result.cid), result.manifest, result.origin, result.index)
