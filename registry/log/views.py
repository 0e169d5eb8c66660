"""The JSON shapes of checkpoints and proven releases, as ``vial publish/log/show --json`` print them."""

from __future__ import annotations

import base64
from typing import Any

from vial.registry.log.releases import Head, ProvenRelease


def b64(data: bytes) -> str:
    """Standard base64, as text."""
    return base64.b64encode(data).decode()


def head_json(head: Head) -> dict[str, Any]:
    """A signed checkpoint: ``origin``, ``size``, ``root_hash``, ``signers``, ``note``."""
    return {
        "origin": head.checkpoint.origin,
        "size": head.size,
        "root_hash": b64(head.checkpoint.root),
        "signers": list(head.signers),
        "note": head.raw.decode(),
    }


def proven_json(proven: ProvenRelease) -> dict[str, Any]:
    """A release with its leaf hash and inclusion proof (``verified`` is always true: it was checked)."""
    return {
        "index": proven.logged.index,
        "release": proven.logged.release.to_json(),
        "leaf_hash": b64(proven.logged.leaf_hash),
        "inclusion_proof": [b64(h) for h in proven.proof],
        "verified": True,
    }
