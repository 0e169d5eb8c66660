"""vial.lock, as text and as a file."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from vial.errors import VialError
from vial.lockfile import Lock, read_lock

_PATH = Path(tempfile.mkdtemp(prefix="vial-fuzz-lock-")) / "vial.lock"


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(VialError):
        Lock.from_toml(data.decode("utf-8", "replace"))
    _PATH.write_bytes(data)
    with contextlib.suppress(VialError):
        read_lock(_PATH)
