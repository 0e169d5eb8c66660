"""The IPFS node the shared-log commands talk to (IPNS names, DAG export): given, or ``$VIAL_IPFS_API``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vial.errors import ServiceError
from vial.registry.ipfs.kubo import ENV_API

if TYPE_CHECKING:
    from vial.registry.ipfs.ipns import IpnsClient


def ipns_client(node: str | None, what: str) -> IpnsClient:
    """A client for the node at ``node`` (else ``$VIAL_IPFS_API``); ``what`` completes "no IPFS node to ..."."""
    from vial.registry.ipfs.ipns import IpnsClient

    url = node or os.environ.get(ENV_API)
    if not url:
        raise ServiceError(f"no IPFS node to {what}: pass --node URL or set ${ENV_API}")
    return IpnsClient(url)
