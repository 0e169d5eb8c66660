"""On-disk storage of one append-only transparency log: records, their Merkle hashes, its checkpoint.

Layout of a log directory (self-contained: it can be copied, exported or served as it is)::

    checkpoint     the latest signed checkpoint (C2SP signed note); replaced atomically, and the
                   commit point of every append: it says how many records the log holds
    records        the records, each followed by a newline, appended in order
    records.idx    for record i, the offset just past its newline (8 bytes, big-endian)
    hashes         the Merkle hashes in dense storage order (32 bytes each, see ``vial.registry.log.merkle``)
    verifier       the log's note verifier key (public), one line
    .lock          held by a writer while it appends

A writer appends records, hashes and offsets, fsyncs them, then replaces ``checkpoint``. A crash
before that rename leaves bytes past the end the checkpoint covers; readers never look past the
checkpoint's size, and the next writer truncates them away (under the lock) before appending.
Records are immutable once covered by a checkpoint, so readers need no lock.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

from filelock import FileLock

from vial.errors import IntegrityError
from vial.fsutil import atomic_write_bytes, clean_temporaries, fsync_dir
from vial.registry.log import merkle as tlog

OFFSET_SIZE = 8
MAX_RECORD_SIZE = 1 << 20
READ_CHUNK = 1 << 20


class LogStorage:
    """The files of one log; every read is bounded by a tree size taken from a checkpoint."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.records_path = self.directory / "records"
        self.index_path = self.directory / "records.idx"
        self.hashes_path = self.directory / "hashes"
        self.checkpoint_path = self.directory / "checkpoint"
        self.verifier_path = self.directory / "verifier"
        self.lock = FileLock(str(self.directory / ".lock"))

    def exists(self) -> bool:
        return self.directory.is_dir()

    def create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    # -- checkpoint and key ---------------------------------------------------------------------

    def read_checkpoint(self) -> bytes | None:
        try:
            return self.checkpoint_path.read_bytes()
        except FileNotFoundError:
            return None

    def write_checkpoint(self, data: bytes) -> None:
        atomic_write_bytes(self.checkpoint_path, data)

    def read_verifier(self) -> str | None:
        try:
            return self.verifier_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def write_verifier(self, vkey: str) -> None:
        atomic_write_bytes(self.verifier_path, (vkey + "\n").encode())

    # -- reading ------------------------------------------------------------------------------

    def _read_at(self, path: Path, offset: int, length: int, what: str) -> bytes:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise IntegrityError(f"log {self.directory}: {path.name} is missing") from None
        try:
            data = os.pread(fd, length, offset)
        finally:
            os.close(fd)
        if len(data) != length:
            raise IntegrityError(f"log {self.directory}: {path.name} is truncated ({what})")
        return data

    def hash_reader(self, size: int) -> tlog.HashReader:
        """A reader of the stored hashes of the first ``size`` records (one open file per batch)."""
        limit = tlog.stored_hash_count(size)

        def read(indexes: Sequence[int]) -> list[bytes]:
            if any(not 0 <= i < limit for i in indexes):
                raise tlog.ProofError(f"log {self.directory}: hash index out of range for {size} records")
            try:
                fd = os.open(self.hashes_path, os.O_RDONLY)
            except FileNotFoundError:
                raise IntegrityError(f"log {self.directory}: hashes file is missing") from None
            try:
                out = [os.pread(fd, tlog.HASH_SIZE, i * tlog.HASH_SIZE) for i in indexes]
            finally:
                os.close(fd)
            if any(len(h) != tlog.HASH_SIZE for h in out):
                raise IntegrityError(f"log {self.directory}: hashes file is truncated")
            return out

        return read

    def _end_offset(self, i: int) -> int:
        if i < 0:
            return 0
        raw = self._read_at(self.index_path, i * OFFSET_SIZE, OFFSET_SIZE, f"offset of record {i}")
        return int.from_bytes(raw, "big")

    def record_end(self, size: int) -> int:
        """Bytes of the records file the first ``size`` records take."""
        return self._end_offset(size - 1)

    def record(self, i: int, size: int) -> bytes:
        """Record ``i`` (0-based) of a log holding ``size`` records."""
        if not 0 <= i < size:
            raise IntegrityError(f"log {self.directory}: no record {i} in {size} records")
        start, end = self._end_offset(i - 1), self._end_offset(i)
        if not 0 <= start < end or end - start > MAX_RECORD_SIZE + 1:
            raise IntegrityError(f"log {self.directory}: bad offsets for record {i}")
        data = self._read_at(self.records_path, start, end - start, f"record {i}")
        if not data.endswith(b"\n"):
            raise IntegrityError(f"log {self.directory}: record {i} is not newline-terminated")
        return data[:-1]

    def records(self, size: int, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """Records ``start`` to ``size - 1`` in order, read sequentially in chunks (memory stays flat)."""
        if size <= start:
            return
        end = self._end_offset(size - 1)
        offset = self._end_offset(start - 1)
        index, pending = start, b""
        try:
            handle = open(self.records_path, "rb")  # noqa: SIM115 - closed below, also if the caller stops early
        except FileNotFoundError:
            raise IntegrityError(f"log {self.directory}: records file is missing") from None
        try:
            handle.seek(offset)
            while offset < end:
                chunk = handle.read(min(READ_CHUNK, end - offset))
                if not chunk:
                    raise IntegrityError(f"log {self.directory}: records file is truncated")
                offset += len(chunk)
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                if len(pending) > MAX_RECORD_SIZE:
                    raise IntegrityError(f"log {self.directory}: record {index} is too long")
                for line in lines:
                    if index >= size:
                        raise IntegrityError(f"log {self.directory}: records file does not match its index")
                    yield index, line
                    index += 1
        finally:
            handle.close()
        if pending or index != size:
            raise IntegrityError(f"log {self.directory}: records file does not match its index")

    # -- writing (caller holds ``self.lock``) ------------------------------------------------------

    def truncate_to(self, size: int) -> None:
        """Drop whatever a crashed writer left past the first ``size`` records; check they are whole."""
        self.create()
        clean_temporaries(self.directory)
        lengths = {
            self.index_path: size * OFFSET_SIZE,
            self.records_path: self._end_offset(size - 1) if size else 0,
            self.hashes_path: tlog.stored_hash_count(size) * tlog.HASH_SIZE,
        }
        for path, length in lengths.items():
            actual = path.stat().st_size if path.exists() else 0
            if actual < length:
                raise IntegrityError(
                    f"log {self.directory}: {path.name} holds {actual} bytes, "
                    f"the checkpoint needs {length} (truncated log)"
                )
            if actual > length:
                with open(path, "r+b") as handle:
                    handle.truncate(length)
                    handle.flush()
                    os.fsync(handle.fileno())

    def append(self, size: int, records: Sequence[bytes]) -> bytes:
        """Append ``records`` after the first ``size`` and return the new root hash.

        Nothing is visible until the caller writes a checkpoint for the new size.
        """
        for data in records:
            if b"\n" in data or len(data) > MAX_RECORD_SIZE:
                raise IntegrityError("log record must be one line of at most 1 MiB")
        offset = self._end_offset(size - 1) if size else 0
        stored: list[bytes] = []
        base = tlog.stored_hash_count(size)
        disk_reader = self.hash_reader(size)

        def read(indexes: Sequence[int]) -> list[bytes]:
            return [stored[i - base] if i >= base else disk_reader([i])[0] for i in indexes]

        offsets = []
        for n, data in enumerate(records, size):
            stored += tlog.stored_hashes_for_leaf(n, tlog.leaf_hash(data), read)
            offset += len(data) + 1
            offsets.append(offset)
        _append(self.records_path, b"".join(data + b"\n" for data in records))
        _append(self.hashes_path, b"".join(stored))
        _append(self.index_path, b"".join(struct.pack(">Q", o) for o in offsets))
        if size == 0:
            fsync_dir(self.directory)  # the files may be new: make their names durable too
        return tlog.tree_hash(size + len(records), self.hash_reader(size + len(records)))


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
