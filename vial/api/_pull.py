"""One ``pull`` for the three places an image comes from: a registry, IPFS by CID, a published release."""

from __future__ import annotations

from vial.api._common import Log
from vial.api._ipfs import IpfsPullResult, pull_cid
from vial.api._log import ReleasePullResult, pull_release
from vial.api._oci import RegistryPullResult, pull_registry
from vial.errors import VialError
from vial.store import Store

PullResult = RegistryPullResult | IpfsPullResult | ReleasePullResult


def pull(
    source: str,
    *,
    node: str | None = None,
    insecure: bool | None = None,
    name: str | None = None,
    attestations: bool = True,
    origin: str | None = None,
    store: Store | None = None,
    log: Log | None = None,
) -> PullResult:
    """Pull an image into the store, verifying it all, from whichever place ``source`` names:

    * ``oci://HOST/REPO[:TAG][@sha256:...]``: a registry (``insecure``, ``name``, ``attestations``
      apply), giving a ``RegistryPullResult``;
    * a CID (``ipfs://``, ``/ipfs/``, ``cid:``, or anything without a ``:``): an IPFS node (``node``
      or ``$VIAL_IPFS_API``), giving an ``IpfsPullResult``;
    * ``NAME:VERSION``: a release of a followed (or the local) log (``origin``), by the CID it
      records, proof and manifest digest checked, giving a ``ReleasePullResult``.

    An option that does not apply to the kind of source is refused (``VialError``). Every result has
    ``digest`` (the manifest digest) and ``to_json()``.

    >>> import vial
    >>> vial.pull("oci://127.0.0.1:5000/lab/longley:1.0.0").digest
    'sha256:...'
    >>> vial.pull("longley-ols:1.0.0", node="http://127.0.0.1:5001").cid
    'bafybei...'
    """
    from vial.registry.ipfs.images import CID_REF_PREFIXES, parse_cid_ref

    def refuse(option: str, given: object, kind: str) -> None:
        if given:
            raise VialError(f"{option} does not apply to {kind} {source}")

    if source.startswith("oci://"):
        refuse("--node", node, "registry reference")
        refuse("--log", origin, "registry reference")
        return pull_registry(source, insecure=insecure, name=name, attestations=attestations, store=store, log=log)
    if "/" in source and not source.startswith(CID_REF_PREFIXES):
        # Project names have no "/": this is a registry reference without its scheme.
        raise VialError(f"{source}: not an oci:// reference (did you mean oci://{source}?)")
    for option, given in (("--insecure", insecure), ("--name", name), ("--no-attestations", not attestations)):
        refuse(option, given, "IPFS source")
    if source.startswith(CID_REF_PREFIXES) or ":" not in source:
        # A CID (prefixed, or bare: then the IPFS pull says what is wrong with it, if anything).
        refuse("--log", origin, "CID")
        cid = parse_cid_ref(source) if source.startswith(CID_REF_PREFIXES) else None
        return pull_cid(str(cid) if cid else source, node=node, store=store)
    return pull_release(source, node=node, origin=origin, store=store)
