"""Release records and offline proofs with malformed values: IntegrityError with one line, never a
bare OverflowError / TypeError (an ``Infinity`` index, a ``true`` index, lone surrogates, wrong types)."""

from __future__ import annotations

import json

import pytest

from vial.errors import IntegrityError
from vial.registry.log import merkle
from vial.registry.log.note import Checkpoint, Signer
from vial.registry.log.releases import Release, verify_release_bundle

SIGNER = Signer.from_seed("example.com/log", bytes(range(32)))
RELEASE = Release(
    name="demo",
    version="1.0.0",
    manifest_digest="sha256:" + "cd" * 32,
    published="2025-01-01T00:00:00Z",
    signer="example.com/log",
    cid=None,
    attestations=(),
    previous=None,
)


def _proof() -> dict:  # type: ignore[type-arg]
    raw = RELEASE.to_bytes()
    note = Checkpoint("example.com/log", 1, merkle.leaf_hash(raw)).sign(SIGNER)
    return {"release": json.loads(raw), "index": 0, "inclusion_proof": [], "checkpoint": {"note": note.decode()}}


def test_the_untouched_proof_verifies() -> None:
    assert verify_release_bundle(_proof(), SIGNER.verifier().to_key()).logged.release == RELEASE


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p.update(index=float("inf")),
        lambda p: p.update(index=True),
        lambda p: p.update(index="0"),
        lambda p: p.update(inclusion_proof="AAAA"),
        lambda p: p.update(inclusion_proof=[1]),
        lambda p: p.update(checkpoint={"note": 5}),
        lambda p: p.update(checkpoint=[]),
        lambda p: p.update(release=[]),
        lambda p: p["release"].update(name="\ud800"),
        lambda p: p["release"].update(version=1),
        lambda p: p["release"].update(previous={"version": "0.9", "index": float("inf"), "manifest_digest": "x"}),
    ],
)
def test_malformed_proof_is_one_line(edit) -> None:  # type: ignore[no-untyped-def]
    proof = _proof()
    edit(proof)
    with pytest.raises(IntegrityError) as info:
        verify_release_bundle(proof, SIGNER.verifier().to_key())
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (lambda t: t.replace('"1.0.0"', '"\\ud800"'), "lone surrogate"),
        (lambda t: t.replace('"name":"demo"', '"name":"demo","name":"evil"'), "duplicate key 'name'"),
        (
            lambda t: t.replace('"previous":null', '"previous":{"index":Infinity,"manifest_digest":"x","version":"1"}'),
            "non-finite",
        ),
        (
            lambda t: t.replace('"previous":null', '"previous":{"index":true,"manifest_digest":"x","version":"1"}'),
            "'index'",
        ),
        (lambda t: t.replace('"version":"1.0.0"', '"version":100'), "'version'"),
        (lambda t: t.replace('"cid":null', '"cid":' + "9" * 400), "400 digits"),
        (lambda t: "[" * 100_000, "nested"),
    ],
)
def test_malformed_record_is_one_line(text, reason: str) -> None:  # type: ignore[no-untyped-def]
    raw = text(RELEASE.to_bytes().decode()).encode()
    with pytest.raises(IntegrityError, match=reason) as info:
        Release.from_bytes(raw)
    assert "\n" not in str(info.value)
