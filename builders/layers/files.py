"""The ``files`` builder: a project's code and data files, each kind in a layer of its own.

Code and data are separate layers so that changing a data file changes only the data layer.
Files are selected by the spec's glob patterns, relative to the project directory, and placed
under the image's working directory with normalized modes (0644, or 0755 if executable).
"""

from __future__ import annotations

import functools
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vial.builders.layers.tarball import REGULAR, Entry, clean_path, parent_directories
from vial.digest import VerifyingReader, sha256_file
from vial.errors import SpecError
from vial.fsutil import atomic_write_text
from vial.lockfile import LockedFile
from vial.spec import LOCK_FILE, SPEC_FILE, Spec

# Never packed as code or data: vial's own files and version-control internals.
EXCLUDED_NAMES = {SPEC_FILE, LOCK_FILE, ".git", ".hg", ".svn", "__pycache__", ".vial"}


@dataclass(frozen=True)
class SelectedFile:
    path: str  # relative POSIX path in the project
    source: Path
    kind: Literal["code", "data"]


def select_files(spec: Spec, project_dir: Path) -> list[SelectedFile]:
    """Files named by ``[files] code`` and ``data`` patterns; a pattern that matches nothing is an error."""
    project_dir = Path(project_dir).resolve()
    chosen: dict[str, SelectedFile] = {}
    kinds: tuple[tuple[Literal["code", "data"], list[str]], ...] = (
        ("code", spec.files.code),
        ("data", spec.files.data),
    )
    for kind, patterns in kinds:
        for pattern in patterns:
            if os.path.isabs(pattern) or ".." in Path(pattern).parts:
                raise SpecError(f"{SPEC_FILE}: [files] {kind}: {pattern!r} must be relative and inside the project")
            matches = sorted(project_dir.glob(pattern)) if _is_glob(pattern) else [project_dir / pattern]
            found = False
            for match in matches:
                for path in _walk(match):
                    relative = path.relative_to(project_dir).as_posix()
                    if relative in chosen and chosen[relative].kind != kind:
                        raise SpecError(f"{SPEC_FILE}: [files]: {relative} is listed as both code and data")
                    chosen[relative] = SelectedFile(relative, path, kind)
                    found = True
            if not found:
                raise SpecError(f"{SPEC_FILE}: [files] {kind}: {pattern!r} matches no file in {project_dir}")
    return [chosen[key] for key in sorted(chosen)]


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _walk(path: Path) -> list[Path]:
    if any(part in EXCLUDED_NAMES for part in path.parts[-1:]):
        return []
    try:
        info = path.lstat()
    except FileNotFoundError:
        return []
    if stat.S_ISDIR(info.st_mode):
        out: list[Path] = []
        for child in sorted(path.iterdir()):
            out.extend(_walk(child))
        return out
    if stat.S_ISREG(info.st_mode):
        return [path]
    if stat.S_ISLNK(info.st_mode):
        raise SpecError(f"{path}: symbolic links are not packed as code or data (copy the file instead)")
    return []


class HashCache:
    """sha256 of files remembered by (size, mtime, inode), as git's index does, for fast warm builds."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._entries: dict[str, list[Any]] = {}
        self._dirty = False
        try:
            self._entries = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            self._entries = {}

    def sha256(self, file: Path) -> tuple[str, int]:
        info = file.stat()
        key = str(file.resolve())
        stamp = [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]
        cached = self._entries.get(key)
        if cached and cached[:4] == stamp:
            return cached[4], info.st_size
        digest, size = sha256_file(file)
        self._entries[key] = [*stamp, digest.split(":", 1)[1]]
        self._dirty = True
        return digest.split(":", 1)[1], size

    def save(self) -> None:
        if self._dirty:
            atomic_write_text(self._path, json.dumps(self._entries))
            self._dirty = False


def lock_files(selected: list[SelectedFile], cache: HashCache) -> list[LockedFile]:
    out = []
    for item in selected:
        sha, size = cache.sha256(item.source)
        executable = bool(item.source.stat().st_mode & 0o111)
        out.append(LockedFile(path=item.path, kind=item.kind, sha256=sha, size=size, executable=executable))
    cache.save()
    return out


def file_entries(selected: list[SelectedFile], locked: list[LockedFile], workdir: str) -> list[Entry]:
    """Layer entries for one kind of file; each file is checked against its locked hash as it is read."""
    by_path = {f.path: f for f in locked}
    entries: list[Entry] = []
    for item in selected:
        record = by_path[item.path]
        target = clean_path(f"{workdir}/{item.path}")
        entries.append(
            Entry(
                target,
                REGULAR,
                0o755 if record.executable else 0o644,
                size=record.size,
                opener=functools.partial(_verified_open, item.source, record),
            )
        )
    return parent_directories([e.path for e in entries]) + entries


def _verified_open(path: Path, record: LockedFile) -> VerifyingReader:
    return VerifyingReader(open(path, "rb"), f"sha256:{record.sha256}", str(path))
