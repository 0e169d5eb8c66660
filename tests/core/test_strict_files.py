"""Spec and lock files that are malformed at the level of bytes or syntax: one line naming the file,
a ``VialError`` (never a ``ValueError`` or ``RecursionError`` escaping as an internal error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vial.errors import LockError, SpecError
from vial.lockfile import Lock, read_lock
from vial.spec import load_spec, parse_spec

VARIANTS = [
    (b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested"),
    (b"a = " + b"[" * 500 + b"]" * 500 + b"\n", "nested"),
    (b"a = " + b"{b = " * 2000 + b"1" + b"}" * 2000 + b"\n", "nested"),
    (b"a = " + b"9" * 5000 + b"\n", "digit"),
    (b'a = "caf\xe9"\n', "not UTF-8"),
    (b"\xff\xfe[project]\n", "not UTF-8"),
    (b'a = "\\ud800"\n', ""),
    (b"a = nan\nb = [1,\n", ""),
]


@pytest.mark.parametrize(("raw", "reason"), VARIANTS)
def test_malformed_lock_is_one_line(tmp_path: Path, raw: bytes, reason: str) -> None:
    path = tmp_path / "vial.lock"
    path.write_bytes(raw)
    with pytest.raises(LockError) as info:
        read_lock(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert reason in message or (reason in ("digit",) and "digits" in message), message


@pytest.mark.parametrize(("raw", "reason"), VARIANTS)
def test_malformed_spec_is_one_line(tmp_path: Path, raw: bytes, reason: str) -> None:
    (tmp_path / "vial.toml").write_bytes(raw)
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    message = str(info.value)
    assert message.startswith(str(tmp_path / "vial.toml")) and "\n" not in message, message
    assert reason in message or (reason == "digit" and "digits" in message), message


def test_text_parsers_name_the_file() -> None:
    with pytest.raises(SpecError, match=r"^vial.toml: nested"):
        parse_spec("a = " + "[" * 1000 + "]" * 1000)
    with pytest.raises(LockError, match=r"^vial.lock: nested"):
        Lock.from_toml("a = " + "[" * 1000 + "]" * 1000)
    with pytest.raises(LockError, match=r"^vial.lock: "):
        Lock.from_toml("a = " + "1" * 5000)
