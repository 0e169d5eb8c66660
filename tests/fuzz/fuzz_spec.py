"""vial.toml, as text (parse_spec) and as a file (load_spec: bytes that may not be UTF-8)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from vial.errors import VialError
from vial.spec import load_spec, parse_spec

_DIR = Path(tempfile.mkdtemp(prefix="vial-fuzz-spec-"))


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(VialError):
        parse_spec(data.decode("utf-8", "replace"))
    (_DIR / "vial.toml").write_bytes(data)
    with contextlib.suppress(VialError):
        load_spec(_DIR)
