"""Deterministic test data, byte for byte as Kubo's test suite makes it (for the IPIP-499 vectors).

Bytes: the ChaCha20 key stream with key sha256(seed) and an all-zero nonce (counter from 0).
Names: ``AlphabetEasy[byte % 39]`` over that stream, one name after another.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import ChaCha20

ALPHABET_EASY = "abcdefghijklmnopqrstuvwxyz01234567890-_"


class DeterministicReader:
    """A file-like reader of ``size`` pseudo-random bytes derived from ``seed``."""

    def __init__(self, size: int, seed: str) -> None:
        key = hashlib.sha256(seed.encode()).digest()
        self._enc = Cipher(ChaCha20(key, b"\x00" * 16), mode=None).encryptor()
        self.remaining = size

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self.remaining:
            n = self.remaining
        self.remaining -= n
        return self._enc.update(bytes(n)) if n else b""


def write_file(path: Path, size: int, seed: str, chunk: int = 8 << 20) -> Path:
    reader = DeterministicReader(size, seed)
    with open(path, "wb") as out:
        while data := reader.read(chunk):
            out.write(data)
    return path


def names(count: int, name_len: int, last_len: int, seed: str) -> Iterator[str]:
    reader = DeterministicReader(1 << 20, seed)
    for i in range(count):
        length = last_len if i == count - 1 else name_len
        yield "".join(ALPHABET_EASY[b % len(ALPHABET_EASY)] for b in reader.read(length))


def make_names_dir(path: Path, count: int, name_len: int, last_len: int, seed: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in names(count, name_len, last_len, seed):
        (path / name).write_bytes(b"x")
    return path


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))
