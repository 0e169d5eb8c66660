"""Merkle tree math for an append-only log, as in RFC 9162 (Certificate Transparency v2), section 2.1.

Pure functions, no I/O. Hashes are SHA-256: a leaf is ``H(0x00 || data)``, an inner node
``H(0x01 || left || right)``. Proofs are RFC 9162 inclusion and consistency proofs (lists of 32-byte
hashes, in the order RFC 9162 defines).

Hashes are stored densely in the order of Crosby and Wallach, section 3.3 (the same order as Go's
``golang.org/x/mod/sumdb/tlog``): record ``n`` appends its leaf hash followed by the hash of every
complete subtree it closes, so a log of ``n`` records stores just under ``2n`` hashes and any
proof reads ``O(log n)`` of them. ``HashReader`` abstracts that storage: it is given stored-hash
indexes and returns their hashes.

Proof generation follows RFC 9162's recursive definitions (PATH, SUBPROOF); verification follows
RFC 9162's iterative algorithms (2.1.3.2, 2.1.4.2), a separate derivation, so each checks the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from vial.errors import IntegrityError

HASH_SIZE = 32

# Given stored-hash indexes, return their hashes (same order).
HashReader = Callable[[Sequence[int]], list[bytes]]


class ProofError(IntegrityError):
    """A Merkle proof did not verify, or a log's hashes are missing or malformed."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def empty_root() -> bytes:
    """The root of the empty tree: the hash of the empty string (RFC 9162, 2.1.1)."""
    return hashlib.sha256(b"").digest()


# -- dense storage order -------------------------------------------------------------------------


def stored_hash_index(level: int, n: int) -> int:
    """Where the ``n``th hash at ``level`` (level 0 = leaves) sits in dense storage."""
    for _ in range(level):
        n = 2 * n + 1
    index = 0
    while n > 0:
        index += n
        n >>= 1
    return index + level


def stored_hash_count(n: int) -> int:
    """How many hashes a log of ``n`` records stores."""
    if n == 0:
        return 0
    count = stored_hash_index(0, n - 1) + 1
    i = n - 1
    while i & 1:
        count += 1
        i >>= 1
    return count


def _trailing_ones(n: int) -> int:
    count = 0
    while n & 1:
        count += 1
        n >>= 1
    return count


def stored_hashes_for_leaf(n: int, leaf: bytes, read: HashReader) -> list[bytes]:
    """The hashes record ``n`` appends, starting at ``stored_hash_index(0, n)``: its leaf hash, then
    the root of each complete subtree it closes. Reads at most ``log2 n`` earlier hashes."""
    closed = _trailing_ones(n)
    if closed == 0:
        return [leaf]
    # The left siblings of the subtrees closed by leaf n, from the highest level to level 0.
    indexes = [stored_hash_index(level, (n >> level) - 1) for level in range(closed - 1, -1, -1)]
    siblings = read(indexes)
    _check_hashes(siblings, len(indexes))
    hashes = [leaf]
    current = leaf
    for level in range(closed):
        current = node_hash(siblings[closed - 1 - level], current)
        hashes.append(current)
    return hashes


# -- subtree hashes from storage ------------------------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_complete(lo: int, hi: int) -> bool:
    size = hi - lo
    return size > 0 and size & (size - 1) == 0 and lo % size == 0


class _Reader:
    """Collects the stored hashes a computation needs, reads them in one batch, then serves them."""

    def __init__(self, read: HashReader) -> None:
        self._read = read
        self._cache: dict[int, bytes] = {}

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for ``lo < hi``; complete aligned subtrees are read, others combined."""
        if _is_complete(lo, hi):
            level = (hi - lo).bit_length() - 1
            return self._get(stored_hash_index(level, lo >> level))
        k = _largest_power_of_two_below(hi - lo)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def prefetch(self, ranges: list[tuple[int, int]]) -> None:
        needed: list[int] = []
        for lo, hi in ranges:
            _collect(lo, hi, needed)
        missing = sorted({i for i in needed if i not in self._cache})
        if missing:
            hashes = self._read(missing)
            _check_hashes(hashes, len(missing))
            self._cache.update(zip(missing, hashes, strict=True))

    def _get(self, index: int) -> bytes:
        if index not in self._cache:
            hashes = self._read([index])
            _check_hashes(hashes, 1)
            self._cache[index] = hashes[0]
        return self._cache[index]


def _collect(lo: int, hi: int, out: list[int]) -> None:
    if _is_complete(lo, hi):
        level = (hi - lo).bit_length() - 1
        out.append(stored_hash_index(level, lo >> level))
        return
    k = _largest_power_of_two_below(hi - lo)
    _collect(lo, lo + k, out)
    _collect(lo + k, hi, out)


def _check_hashes(hashes: Sequence[bytes], expected: int) -> None:
    if len(hashes) != expected or any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError(f"log storage returned {len(hashes)} hashes, expected {expected} of {HASH_SIZE} bytes")


def tree_hash(size: int, read: HashReader) -> bytes:
    """The root hash of the first ``size`` records."""
    if size == 0:
        return empty_root()
    reader = _Reader(read)
    reader.prefetch([(0, size)])
    return reader.subtree(0, size)


# -- proofs (RFC 9162, 2.1.3.1 and 2.1.4.1) ------------------------------------------------------


def _path_ranges(m: int, lo: int, hi: int, out: list[tuple[int, int]]) -> None:
    """The subtrees of PATH(m, D[lo:hi]), in proof order."""
    if hi - lo <= 1:
        return
    k = _largest_power_of_two_below(hi - lo)
    if m < lo + k:
        _path_ranges(m, lo, lo + k, out)
        out.append((lo + k, hi))
    else:
        _path_ranges(m, lo + k, hi, out)
        out.append((lo, lo + k))


def _subproof_ranges(m: int, lo: int, hi: int, whole: bool, out: list[tuple[int, int]]) -> None:
    """The subtrees of SUBPROOF(m, D[lo:hi], b), in proof order (``m`` counts from ``lo``)."""
    if m == hi - lo:
        if not whole:
            out.append((lo, hi))
        return
    k = _largest_power_of_two_below(hi - lo)
    if m <= k:
        _subproof_ranges(m, lo, lo + k, whole, out)
        out.append((lo + k, hi))
    else:
        _subproof_ranges(m - k, lo + k, hi, False, out)
        out.append((lo, lo + k))


def _hashes_of(ranges: list[tuple[int, int]], read: HashReader) -> list[bytes]:
    reader = _Reader(read)
    reader.prefetch(ranges)
    return [reader.subtree(lo, hi) for lo, hi in ranges]


def inclusion_proof(index: int, size: int, read: HashReader) -> list[bytes]:
    """Proof that record ``index`` is in the tree of ``size`` records."""
    if not 0 <= index < size:
        raise ProofError(f"record {index} is not in a tree of {size} records")
    ranges: list[tuple[int, int]] = []
    _path_ranges(index, 0, size, ranges)
    return _hashes_of(ranges, read)


def consistency_proof(old_size: int, new_size: int, read: HashReader) -> list[bytes]:
    """Proof that the tree of ``old_size`` records is a prefix of the tree of ``new_size`` records."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from {old_size} to {new_size} records")
    if old_size == 0 or old_size == new_size:
        return []
    ranges: list[tuple[int, int]] = []
    _subproof_ranges(old_size, 0, new_size, True, ranges)
    return _hashes_of(ranges, read)


# -- verification (RFC 9162, 2.1.3.2 and 2.1.4.2) ------------------------------------------------


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ``ProofError`` unless ``proof`` shows ``leaf`` is record ``index`` of the tree ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: record {index} is not in a tree of {size} records")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            raise ProofError(f"inclusion proof for record {index} of {size}: malformed proof")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof for record {index} of {size}: too short")
    if r != root:
        raise ProofError(f"inclusion proof for record {index} of {size}: root hash does not match")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Raise ``ProofError`` unless ``proof`` shows tree ``old_root`` is a prefix of tree ``new_root``."""
    what = f"consistency proof from {old_size} to {new_size} records"
    if not 0 <= old_size <= new_size:
        raise ProofError(f"{what}: the new tree is smaller (rollback)")
    if old_size == new_size:
        if proof:
            raise ProofError(f"{what}: expected an empty proof")
        if old_root != new_root:
            raise ProofError(f"{what}: same size, different root hashes (fork)")
        return
    if old_size == 0:
        if proof:
            raise ProofError(f"{what}: expected an empty proof")
        return
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError(f"{what}: malformed proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    if not path:
        raise ProofError(f"{what}: empty proof")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"{what}: too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"{what}: too short")
    if fr != old_root:
        raise ProofError(f"{what}: old root hash does not match (fork or rewritten history)")
    if sr != new_root:
        raise ProofError(f"{what}: new root hash does not match (fork or rewritten history)")


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, computed in full (O(n)); for audits that rehash a whole log."""
    if not leaves:
        return empty_root()
    # Combine complete subtrees left to right, as a stack of (size, hash).
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        size, h = 1, leaf
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            h = node_hash(left, h)
            size += left_size
        stack.append((size, h))
    size, h = stack.pop()
    while stack:
        _, left = stack.pop()
        h = node_hash(left, h)
    return h
