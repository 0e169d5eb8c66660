"""Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint)."""

from __future__ import annotations

import contextlib

from vial.errors import VialError
from vial.registry.log.note import Checkpoint, Signer, open_checkpoint, parse_note

SIGNER = Signer.from_seed("example.com/log", bytes(range(32)))
VERIFIER = SIGNER.verifier()


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(VialError):
        parse_note(data)
    with contextlib.suppress(VialError):
        open_checkpoint(data, [VERIFIER])
    with contextlib.suppress(VialError):
        Checkpoint.from_text(data.decode("utf-8", "surrogateescape"))
