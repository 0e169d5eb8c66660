"""REF resolution: a resolver plugged in (as an IPFS CID resolver will be) is tried before the store."""

from __future__ import annotations

from pathlib import Path

from vial.policies.engine import source as sources
from vial.policies.engine.source import Source, open_source
from vial.policies.engine.verify import verify_source
from vial.policies.model.policy import load_policy


def test_a_plugged_in_resolver_is_used(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[str, Path]] = []

    def resolve_cid(ref: str, workdir: Path) -> Source | None:
        if not ref.startswith("cid:"):
            return None
        calls.append((ref, workdir))
        return Source(world.store, world.image.digest, ref, "cid", writable=False)

    monkeypatch.setattr(sources, "_RESOLVERS", list(sources._RESOLVERS))
    sources.register_resolver("cid", resolve_cid)
    with open_source("cid:bafyexample") as source:
        result = verify_source(source, load_policy(world.policy))
    assert result.verified and result.digest == world.image.digest and result.source == "cid"
    assert calls and not calls[0][1].exists()  # its working directory is removed afterwards
