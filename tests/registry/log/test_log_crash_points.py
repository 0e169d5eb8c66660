"""Deterministic crash points inside one append: a torn write to each log file in turn, and a
failure just before the checkpoint is replaced. The log stays valid at its last commit and the next
publisher repairs and extends it. (Random SIGKILLs of real processes: test_log_processes.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vial.oci import Descriptor
from vial.registry.log import storage as logstore
from vial.registry.log.releases import ReleaseLog
from vial.store import Store


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler tidies up after it."""


@pytest.mark.parametrize("torn_file", [0, 1, 2, 3])
def test_torn_append_is_invisible_then_repaired(
    vial_home: Path, store: Store, image: Callable[..., Descriptor], monkeypatch: pytest.MonkeyPatch, torn_file: int
) -> None:
    log = ReleaseLog(vial_home)
    for version in ("1", "2", "3"):
        log.publish(store, image(version.encode()).digest, "demo", version)
    before = log.storage.read_checkpoint()
    real_append = logstore._append
    calls = []

    def torn(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) - 1 == torn_file:
            real_append(path, data[: len(data) // 2])  # half of this file's bytes reach the disk
            raise Crash
        real_append(path, data)

    def no_checkpoint(self: Any, data: bytes) -> None:
        raise Crash

    monkeypatch.setattr(logstore, "_append", torn)
    if torn_file == 3:  # everything appended, the checkpoint never replaced
        monkeypatch.setattr(logstore.LogStorage, "write_checkpoint", no_checkpoint)
    with pytest.raises(Crash):
        log.publish(store, image(b"4").digest, "demo", "4")
    monkeypatch.undo()
    assert log.storage.read_checkpoint() == before
    assert log.audit().size == 3  # readers ignore the torn tail
    assert log.find(log.head(), "demo", "4") is None
    log.publish(store, image(b"4").digest, "demo", "4")
    log.publish(store, image(b"5").digest, "demo", "5")
    assert log.audit().size == 5
    assert [p.logged.release.version for p in log.history("demo")[1]] == ["1", "2", "3", "4", "5"]
