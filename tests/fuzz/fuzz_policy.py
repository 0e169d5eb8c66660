"""Policy files (YAML), read as ``vial verify --policy`` reads them."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from vial.errors import VialError
from vial.policies.model.policy import load_policy

_PATH = Path(tempfile.mkdtemp(prefix="vial-fuzz-policy-")) / "policy.yaml"


def test_one_input(data: bytes) -> None:
    _PATH.write_bytes(data)
    with contextlib.suppress(VialError):
        load_policy(_PATH)
