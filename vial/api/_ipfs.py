"""Pin and pull by CID: images to and from IPFS, every block and every OCI digest checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vial.api._common import Log, logger_for, store_or_default
from vial.errors import ServiceError
from vial.store import Store


@dataclass(frozen=True)
class PinResult:
    """The image's CID and where it is pinned: a Kubo node, or a CAR under the store (and a pinning service)."""

    cid: str
    manifest: str
    profile: str
    car: Path | None = None
    node: str | None = None
    remote: Any = None  # the pinning service's status (vial.registry.ipfs.pinsvc), if one was asked

    def to_json(self) -> dict[str, Any]:
        """``cid``, ``manifest``, ``profile``, ``car``, ``node``, ``remote``, as ``vial pin --json``."""
        return {
            "cid": self.cid,
            "manifest": self.manifest,
            "profile": self.profile,
            "car": str(self.car) if self.car else None,
            "node": self.node,
            "remote": self.remote.to_json() if self.remote else None,
        }


@dataclass(frozen=True)
class IpfsPullResult:
    """The image ``pull`` fetched by CID: the CID, its manifest digest, and its name in the store (if any)."""

    cid: str
    manifest: str
    ref: str | None

    @property
    def digest(self) -> str:
        """The manifest digest (the same as ``manifest``)."""
        return self.manifest

    def to_json(self) -> dict[str, Any]:
        """``{"cid", "manifest", "ref"}``, as ``vial pull CID --json``."""
        return {"cid": self.cid, "manifest": self.manifest, "ref": self.ref}


def pin(
    ref: str,
    *,
    node: str | None = None,
    attestations: bool = False,
    profile: str | None = None,
    service: str | None = None,
    wait: bool = True,
    via: Literal["add", "car"] = "add",
    store: Store | None = None,
    log: Log | None = None,
) -> PinResult:
    """Pin image ``ref`` to IPFS; its CID is computed by vial (IPIP-499 ``profile``).

    With a Kubo node (``node`` or ``$VIAL_IPFS_API``) the OCI layout is added and pinned, refused if
    Kubo's CID differs from vial's (``via="car"`` sends vial's own blocks instead). With no node, a
    CAR is written under the store. With a pinning ``service`` (or ``$VIAL_PINNING_SERVICE``), it is
    then asked to pin the CID (``wait`` for it). ``attestations=True`` publishes the referrers too.

    >>> import vial
    >>> vial.pin("longley-ols:1.0.0", node="http://127.0.0.1:5001").cid
    'bafybei...'
    """
    from vial.registry.ipfs.images import pin as pin_image
    from vial.registry.ipfs.kubo import ENV_API, client_from_env
    from vial.registry.ipfs.pinsvc import service_from_env
    from vial.registry.ipfs.unixfs import DEFAULT_PROFILE

    report = log or logger_for("pin")
    store = store_or_default(store)
    client = client_from_env(node)
    remote_service = service_from_env(service)
    if remote_service is not None and client is None:
        raise ServiceError("remote pinning needs a node that serves the content: pass --node URL or set $" + ENV_API)
    remote = None
    try:
        result = pin_image(store, ref, client, profile or DEFAULT_PROFILE, method=via, attestations=attestations)
        if remote_service is not None and client is not None:
            origins = [a for a in client.id().get("Addresses") or [] if "/p2p/" in a]
            report(f"asking {remote_service.endpoint} to pin {result.cid}")
            remote = remote_service.add(result.cid, name=ref, origins=origins, meta={"manifest": result.manifest})
            if wait:
                remote = remote_service.wait(remote.requestid)
    finally:
        if client is not None:
            client.close()
        if remote_service is not None:
            remote_service.close()
    return PinResult(str(result.cid), result.manifest, result.profile, result.car, result.node, remote)


def pull_cid(cid: str, *, node: str | None = None, store: Store | None = None) -> IpfsPullResult:
    """Fetch the image under ``cid`` (bare, ``ipfs://``, ``/ipfs/`` or ``cid:``) from an IPFS node
    (``node`` or ``$VIAL_IPFS_API``), check every block and OCI digest, add it to the store."""
    from vial.registry.ipfs.cid import CID
    from vial.registry.ipfs.images import CID_REF_PREFIXES, parse_cid_ref
    from vial.registry.ipfs.images import pull as pull_image
    from vial.registry.ipfs.kubo import ENV_API, client_from_env

    root = parse_cid_ref(cid) if cid.startswith(CID_REF_PREFIXES) else CID.parse(cid)
    if root is None:  # a prefixed REF parses or raises
        raise ServiceError(f"{cid}: not a CID")
    client = client_from_env(node)
    if client is None:
        raise ServiceError(f"no IPFS node to pull {cid} from: pass --node URL or set ${ENV_API}")
    try:
        result = pull_image(store_or_default(store), client, root)
    finally:
        client.close()
    return IpfsPullResult(str(result.cid), result.manifest, result.ref)
