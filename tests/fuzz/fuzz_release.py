"""Release records, offline release proofs, and Merkle inclusion and consistency proof verification."""

from __future__ import annotations

import contextlib

import atheris

from vial import strictjson
from vial.errors import VialError
from vial.registry.log import merkle
from vial.registry.log.note import Signer
from vial.registry.log.releases import Release, verify_release_bundle

VERIFIER_KEY = Signer.from_seed("example.com/log", bytes(range(32))).verifier().to_key()


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(VialError):
        Release.from_bytes(data)
    with contextlib.suppress(VialError):
        verify_release_bundle(strictjson.loads(data, "release proof"), VERIFIER_KEY)
    fdp = atheris.FuzzedDataProvider(data)
    index, size = fdp.ConsumeIntInRange(-2, 1 << 40), fdp.ConsumeIntInRange(-2, 1 << 40)
    leaf, root = fdp.ConsumeBytes(32), fdp.ConsumeBytes(32)
    proof = [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40)) for _ in range(fdp.ConsumeIntInRange(0, 70))]
    with contextlib.suppress(VialError):
        merkle.verify_inclusion(index, size, leaf, proof, root)
    with contextlib.suppress(VialError):
        merkle.verify_consistency(index, size, leaf, root, proof)
