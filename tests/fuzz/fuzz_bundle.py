"""Sigstore bundles: parsed, then verified with a key (a fixed test key, a fixed subject)."""

from __future__ import annotations

import contextlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vial.attest.signing import keys
from vial.attest.signing.bundle import parse_bundle
from vial.attest.signing.verify import verify_with_key
from vial.errors import VialError

# A fixed key: the corpus (make_corpus.py) signs with the same seed, so seeds verify all the way.
SEED = bytes(range(32))
KEY = keys.SigningKey(Ed25519PrivateKey.from_private_bytes(SEED))
DIGEST = "sha256:" + "ab" * 32


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(VialError):
        parse_bundle(data)
    with contextlib.suppress(VialError):
        verify_with_key(data, KEY.public, DIGEST)
