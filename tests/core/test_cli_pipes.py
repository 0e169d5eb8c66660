"""The CLI stops quietly when its reader goes away (`vial ... | head`), as cat does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vial.oci import ANNOTATION_REF_NAME, MEDIA_TYPE_MANIFEST, Descriptor, Index
from vial.store import Store

VIAL = str(Path(sys.executable).parent / "vial")


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    digest = store.put_bytes(b"{}")
    entries = tuple(
        Descriptor(MEDIA_TYPE_MANIFEST, digest, 2, {ANNOTATION_REF_NAME: f"name-{i:05d}:1.0"}) for i in range(3000)
    )
    (tmp_path / "home" / "index.json").write_bytes(Index(entries).to_bytes())
    process = subprocess.Popen(
        [VIAL, "images"],
        env={**os.environ, "VIAL_HOME": str(tmp_path / "home")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes away, as `head -1` does
    stderr = process.stderr.read()
    assert process.wait() == 141
    assert first.startswith(b"name-00000:1.0")
    assert stderr == b""
