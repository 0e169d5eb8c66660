"""Helpers for tests that build the examples for real (mmdebstrap, Debian packages, Docker)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
VIAL = str(Path(sys.executable).parent / "vial")


@dataclass(frozen=True)
class Built:
    project: Path
    home: Path
    digest: str
    layers: list[str]
    result: dict


def run_vial(
    args: list[str],
    home: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    umask: int | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "VIAL_HOME": str(home), **(env or {})}
    process = subprocess.run(
        [VIAL, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
        check=False,
    )
    if check and process.returncode != 0:
        raise AssertionError(f"vial {' '.join(args)} failed ({process.returncode}):\n{process.stderr}")
    return process


def copy_project(source: Path, target: Path, shuffle_seed: int, mtime: float) -> Path:
    """Copy a project, creating its files in a shuffled order and stamping them with ``mtime``."""
    files = [p for p in source.rglob("*") if p.is_file()]
    random.Random(shuffle_seed).shuffle(files)
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        os.utime(destination, (mtime, mtime))
    return target


def build_example(
    name: str, root: Path, cache: Path, *, seed: int, mtime: float, umask: int, tz: str, lang: str
) -> Built:
    project = copy_project(EXAMPLES / name, root / "project", seed, mtime)
    home = root / "home"
    env = {"TZ": tz, "LANG": lang, "LC_ALL": lang, "VIAL_CACHE": str(cache)}
    env.pop("SOURCE_DATE_EPOCH", None)
    process = run_vial(["-q", "build", "--locked", "--json", str(project)], home, env=env, umask=umask)
    result = json.loads(process.stdout)
    return Built(project, home, result["digest"], result["layers"], result)
