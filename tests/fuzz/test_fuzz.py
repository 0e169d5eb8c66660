"""Every fuzz harness, briefly: its seed corpus replayed, then a bounded number of seeded random mutations.

Only ``VialError`` may escape a parser; anything else fails the test with the input saved under
``tests/fuzz/findings/<target>/``. Long, coverage-guided runs are ``bench/fuzz.py`` (atheris/libFuzzer).
The budget: ``MUTATIONS`` inputs or ``SECONDS`` per target, whichever ends first (about 60 s in all).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import random
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from vial.errors import VialError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in HERE.glob("fuzz_*.py"))
MUTATIONS = 400
SECONDS = 4.0
TOKENS = [
    b'"',
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"NaN",
    b"Infinity",
    b"-1",
    b"1e999",
    b"9" * 400,
    b'"\\ud800"',
    b"\x00",
    b"\xff",
    b"\n",
    b"\r\n",
    b"\xe2\x80\x94",
    b"=",
    b"[[",
    b"'",
    b'"""',
    b"\\",
    b"\x80" * 8,
    b" " * 64,
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        pos = rng.randint(0, len(buf))
        if choice == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif choice == 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif choice == 2 and buf:
            del buf[pos : pos + rng.randint(1, 16)]
        elif choice == 3 and buf:  # duplicate a slice (keys, sections)
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 64)]
        elif choice == 4:
            buf = buf[:pos]
        elif choice == 5 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        else:
            buf[pos:pos] = rng.choice(TOKENS) * rng.randint(1, 2000)
    return bytes(buf)


def seeds(target: str) -> list[bytes]:
    directory = HERE / "corpus" / target
    found = [p.read_bytes() for p in sorted(directory.iterdir())] if directory.is_dir() else []
    regressions = HERE / "regressions" / target
    if regressions.is_dir():
        found += [p.read_bytes() for p in sorted(regressions.iterdir()) if p.suffix == ".bin"]
    return found or [b""]


def run_one(target: str, data: bytes) -> None:
    module = importlib.import_module(f"fuzz_{target}")
    try:
        module.test_one_input(data)
    except VialError:  # the harness lets these through already; a parser raising one directly is fine
        pass
    except Exception as exc:  # noqa: BLE001 - a finding: anything but a VialError
        saved = HERE / "findings" / target / (hashlib.sha256(data).hexdigest()[:16] + ".bin")
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(data)
        detail = "".join(traceback.format_exception(exc)[-3:])
        pytest.fail(f"fuzz_{target}: {type(exc).__name__} on input saved as {saved}\n{detail}", pytrace=False)


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target(target: str) -> None:
    corpus = seeds(target)
    assert (HERE / "corpus" / target).is_dir(), f"no seed corpus for {target} (run tests/fuzz/make_corpus.py)"
    for data in corpus:
        run_one(target, data)
    rng = random.Random(f"vial-fuzz-{target}")
    deadline = time.monotonic() + SECONDS
    for _ in range(MUTATIONS):
        if time.monotonic() > deadline:
            break
        run_one(target, mutate(rng.choice(corpus), rng))


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_under_atheris(target: str, tmp_path: Path) -> None:
    """The same harness, coverage-guided by atheris/libFuzzer for a bounded number of runs (CI's short run;
    ``bench/fuzz.py`` runs each long). Any exception other than a VialError is a finding and fails."""
    corpus = tmp_path / "corpus"
    shutil.copytree(HERE / "corpus" / target, corpus)
    findings = tmp_path / "findings"
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "atheris_main.py"),
            target,
            "-runs=20000",
            "-max_total_time=8",
            "-max_len=65536",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "VIAL_FUZZ_FINDINGS": str(findings)},
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    saved = sorted((findings / target).glob("*.txt")) if (findings / target).is_dir() else []
    assert not saved, f"fuzz_{target}: {saved[0].read_text()[:2000]}"
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Done " in proc.stderr, proc.stderr[-2000:]  # libFuzzer ran to its bound, it did not die
