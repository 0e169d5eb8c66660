"""DSSE envelopes and the in-toto statements they carry."""

from __future__ import annotations

import contextlib

from vial.attest.signing.dsse import parse_envelope
from vial.attest.statements.statement import parse_statement
from vial.errors import VialError


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(VialError):
        parse_envelope(data)
    with contextlib.suppress(VialError):
        parse_statement(data)
