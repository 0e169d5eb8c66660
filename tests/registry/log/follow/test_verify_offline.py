"""What ``follow`` checks in a fetched log copy, without any node: each tampering is refused with
one line and leaves the follower's trusted checkpoint unchanged."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from vial.errors import IntegrityError
from vial.registry.log.follow import _verify_fetched, snapshot_log
from vial.registry.log.note import Verifier
from vial.registry.log.releases import LogConsistencyError, Release, ReleaseLog

ORIGIN = "example.org/lab-a/releases"


def _releases(start: int, count: int, tag: str = "") -> list[Release]:
    return [
        Release(
            name="demo",
            version=f"{i}",
            manifest_digest="sha256:" + hashlib.sha256(f"{tag}{i}".encode()).hexdigest(),
            published="2026-01-01T00:00:00Z",
        )
        for i in range(start, start + count)
    ]


@pytest.fixture()
def shared(tmp_path: Path) -> tuple[ReleaseLog, Path]:
    """A's log with 5 releases, and a snapshot of it as ``share`` sends it."""
    log = ReleaseLog(tmp_path / "a", ORIGIN)
    log.append_releases(_releases(0, 5))
    snapshot_log(log, tmp_path / "shared")
    return log, tmp_path / "shared"


def _verify(tmp_path: Path, copy: Path, verifier: Verifier, follower: str = "b") -> int | None:
    scratch = tmp_path / f"scratch-{len(list(tmp_path.iterdir()))}"
    return _verify_fetched(ReleaseLog(tmp_path / follower, ORIGIN), copy, verifier, scratch, "log")[1]


def test_untouched_copy_verifies(shared: tuple[ReleaseLog, Path], tmp_path: Path) -> None:
    log, copy = shared
    assert _verify(tmp_path, copy, log.ensure_key()) is None


Tamper = Callable[[Path], None]


def _flip_record(copy: Path) -> None:
    lines = (copy / "records").read_bytes().split(b"\n")
    record = bytearray(lines[3])
    at = record.index(b'"manifest_digest":"sha256:') + len(b'"manifest_digest":"sha256:')
    record[at] = ord("0") if record[at] != ord("0") else ord("1")  # altered after signing, still well-formed
    lines[3] = bytes(record)
    (copy / "records").write_bytes(b"\n".join(lines))


def _flip_hash(copy: Path) -> None:
    data = bytearray((copy / "hashes").read_bytes())
    data[40] ^= 0xFF
    (copy / "hashes").write_bytes(bytes(data))


def _extra_bytes(copy: Path) -> None:
    with open(copy / "records", "ab") as handle:
        handle.write(b'{"half a record"')


def _bad_offset(copy: Path) -> None:
    data = bytearray((copy / "records.idx").read_bytes())
    data[15] ^= 0x01  # record 1 ends one byte off; the last offset is still right
    (copy / "records.idx").write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_flip_record, "do not hash to the signed root"),
        (_flip_hash, "stored hash"),
        (_extra_bytes, "past its 5 records"),
        (_bad_offset, "wrong offset for record 1"),
    ],
)
def test_tampered_copy_is_refused(
    shared: tuple[ReleaseLog, Path], tmp_path: Path, tamper: Tamper, expected: str
) -> None:
    log, copy = shared
    tamper(copy)
    with pytest.raises(IntegrityError, match=expected) as caught:
        _verify(tmp_path, copy, log.ensure_key())
    assert "\n" not in str(caught.value)


def test_rollback_and_fork_against_trusted_checkpoint(shared: tuple[ReleaseLog, Path], tmp_path: Path) -> None:
    log, copy = shared
    verifier = log.ensure_key()
    older = tmp_path / "older"
    shutil.copytree(copy, older)
    # B trusts A's log at 7 records.
    log.append_releases(_releases(5, 2))
    snapshot_log(log, tmp_path / "newer")
    follower = ReleaseLog(tmp_path / "b", ORIGIN)
    follower.trust.put(ORIGIN, verifier, log.head().raw)
    with pytest.raises(LogConsistencyError, match="rollback"):
        _verify(tmp_path, older, verifier)
    assert _verify(tmp_path, tmp_path / "newer", verifier) == 7
    # A fork: the same 5 first records, then 2 others, signed with A's key.
    fork = ReleaseLog(tmp_path / "fork", ORIGIN)
    fork.key_path.parent.mkdir(parents=True)
    shutil.copy(log.key_path, fork.key_path)
    fork.append_releases(_releases(0, 5) + _releases(5, 2, tag="other"))
    snapshot_log(fork, tmp_path / "forked")
    with pytest.raises(LogConsistencyError, match="not consistent"):
        _verify(tmp_path, tmp_path / "forked", verifier)
    assert follower.trust.get(ORIGIN).checkpoint == log.head().raw  # type: ignore[union-attr]
