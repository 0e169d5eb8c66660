"""Run one harness under atheris/libFuzzer: ``python tests/fuzz/atheris_main.py TARGET [libFuzzer args...]``.

The harness modules (``fuzz_<target>.py``) let only ``VialError`` pass. Here anything else is a
finding: its input is saved under ``$VIAL_FUZZ_FINDINGS/<target>/`` (default ``tests/fuzz/findings``)
with the traceback beside it, once per distinct (exception type, raising line), and fuzzing goes on,
so one run reports every distinct finding. At exit, ``findings: N`` is printed on stderr.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/tests/fuzz/" not in f.filename] or frames
    last = own[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"


def recording(target: str, one: Callable[[bytes], None], findings: Path) -> Callable[[bytes], None]:
    seen: set[str] = set()

    def run(data: bytes) -> None:
        try:
            one(data)
        except Exception as exc:  # noqa: BLE001 - a finding: anything but a VialError
            signature = _signature(exc)
            if signature in seen:
                return
            seen.add(signature)
            findings.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(data).hexdigest()[:16]
            (findings / f"{name}.bin").write_bytes(data)
            (findings / f"{name}.txt").write_text(signature + "\n\n" + "".join(traceback.format_exception(exc)))
            print(f"finding in {target}: {signature} ({findings / name}.bin)", file=sys.stderr, flush=True)

    atexit.register(lambda: print(f"findings: {len(seen)}", file=sys.stderr, flush=True))
    return run


def main() -> None:
    target, args = sys.argv[1], sys.argv[2:]
    sys.path.insert(0, str(HERE))
    with atheris.instrument_imports(include=["vial"]):
        module = importlib.import_module(f"fuzz_{target}")
    findings = Path(os.environ.get("VIAL_FUZZ_FINDINGS", HERE / "findings")) / target
    atheris.Setup([sys.argv[0], *args], recording(target, module.test_one_input, findings))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
