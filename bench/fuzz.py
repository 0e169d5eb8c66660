"""Fuzz every target long, with atheris/libFuzzer (coverage-guided), and print a table.

    .venv/bin/python bench/fuzz.py [--seconds 60] [TARGET ...]

Each target runs in its own subprocess (``tests/fuzz/atheris_main.py``) for ``--seconds``, starting
from a copy of its seed corpus (``tests/fuzz/corpus/<target>``); findings (any exception but a
``VialError``, one per distinct exception type and raising line) are saved under
``tests/fuzz/findings/<target>/``. Not a test: a finding becomes a regression test first, then a fix.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "tests" / "fuzz"


def targets() -> list[str]:
    return sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))


def run(target: str, seconds: int, findings: Path) -> tuple[int, float, int, str]:
    with tempfile.TemporaryDirectory(prefix=f"vial-fuzz-{target}-") as tmp:
        corpus = Path(tmp) / "corpus"
        seeds = FUZZ / "corpus" / target
        shutil.copytree(seeds, corpus) if seeds.is_dir() else corpus.mkdir()
        env = {**os.environ, "VIAL_FUZZ_FINDINGS": str(findings)}
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                str(FUZZ / "atheris_main.py"),
                target,
                f"-max_total_time={seconds}",
                "-print_final_stats=1",
                "-max_len=65536",
                "-rss_limit_mb=2048",
                f"-artifact_prefix={tmp}/",
                str(corpus),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            check=False,
        )
        elapsed = time.monotonic() - started
    found = re.search(r"stat::number_of_executed_units:\s*(\d+)", proc.stderr)
    executions = int(found.group(1)) if found else 0
    directory = findings / target
    count = len(list(directory.glob("*.bin"))) if directory.is_dir() else 0
    note = (
        ""
        if proc.returncode == 0
        else f"exit {proc.returncode}: " + (proc.stderr.strip().splitlines() or [""])[-1][:60]
    )
    return executions, elapsed, count, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target (default 60)")
    parser.add_argument("--findings", type=Path, default=FUZZ / "findings")
    parser.add_argument("targets", nargs="*", default=None)
    args = parser.parse_args()
    chosen = args.targets or targets()
    print(f"{'target':<10} {'executions':>11} {'exec/s':>8} {'findings':>9}  notes", flush=True)
    for target in chosen:
        executions, elapsed, count, note = run(target, args.seconds, args.findings)
        print(f"{target:<10} {executions:>11} {executions / max(elapsed, 1e-9):>8.0f} {count:>9}  {note}", flush=True)


if __name__ == "__main__":
    main()
