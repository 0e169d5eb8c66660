"""What changed between two images: base, Debian and Python packages, files, env and command.

Packages and files come from each image's build record (its lock); an image without a record
(built elsewhere, or imported) is compared on its OCI config alone, and the diff says so.
The comparison (``diff_images``) is pure; ``load_side`` reads what it needs from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debian.debian_support import Version as DebianVersion
from packaging.version import InvalidVersion, Version

from vial.buildinfo import read_record
from vial.errors import NotFoundError
from vial.lockfile import Lock
from vial.oci import ImageConfig
from vial.store import Store


@dataclass(frozen=True)
class Side:
    """One image as diffed: its config and, when the store has one, its lock."""

    label: str
    digest: str
    config: ImageConfig
    lock: Lock | None


@dataclass(frozen=True)
class PackageChange:
    name: str
    change: str  # added, removed, upgraded, downgraded, changed
    old: str | None = None
    new: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "change": self.change, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class FileChange:
    path: str
    change: str  # added, removed, changed
    old_size: int | None = None
    new_size: int | None = None
    old_sha256: str | None = None
    new_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": self.change,
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_sha256": self.old_sha256,
            "new_sha256": self.new_sha256,
        }


@dataclass(frozen=True)
class ValueChange:
    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class VersionDiff:
    a: Side
    b: Side
    base: tuple[ValueChange, ...] = ()
    debian: tuple[PackageChange, ...] = ()
    python: tuple[PackageChange, ...] = ()
    files: tuple[FileChange, ...] = ()
    env: tuple[PackageChange, ...] = ()
    config: tuple[ValueChange, ...] = ()  # cmd, entrypoint, workdir, labels, layers
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def identical(self) -> bool:
        return self.a.digest == self.b.digest

    def to_json(self) -> dict[str, Any]:
        return {
            "a": {"ref": self.a.label, "digest": self.a.digest, "build_record": self.a.lock is not None},
            "b": {"ref": self.b.label, "digest": self.b.digest, "build_record": self.b.lock is not None},
            "identical": self.identical,
            "base": [c.to_json() for c in self.base],
            "debian": [c.to_json() for c in self.debian],
            "python": [c.to_json() for c in self.python],
            "files": [c.to_json() for c in self.files],
            "env": [c.to_json() for c in self.env],
            "config": [c.to_json() for c in self.config],
            "notes": list(self.notes),
        }


def load_side(store: Store, digest: str, label: str) -> Side:
    image = store.image(digest)
    try:
        lock: Lock | None = read_record(Path(store.root), image.digest).locked()
    except NotFoundError:
        lock = None
    return Side(label, image.digest, image.config, lock)


def _compare_debian(old: str, new: str) -> int:
    a, b = DebianVersion(old), DebianVersion(new)
    return (a > b) - (a < b)


def _compare_python(old: str, new: str) -> int:
    try:
        a, b = Version(old), Version(new)
    except InvalidVersion:
        return 0
    return (a > b) - (a < b)


def _package_changes(old: dict[str, str], new: dict[str, str], compare: Any) -> tuple[PackageChange, ...]:
    changes = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            changes.append(PackageChange(name, "added", None, after))
        elif after is None:
            changes.append(PackageChange(name, "removed", before, None))
        else:
            order = compare(before, after)
            kind = "upgraded" if order < 0 else "downgraded" if order > 0 else "changed"
            changes.append(PackageChange(name, kind, before, after))
    return tuple(changes)


def _env(config: ImageConfig) -> dict[str, str]:
    out = {}
    for item in config.env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _lock_base(lock: Lock) -> dict[str, Any]:
    return {
        "base": lock.inputs.base,
        "variant": lock.inputs.variant,
        "snapshot": lock.snapshot,
        "oci_base": lock.oci_base.digest if lock.oci_base else None,
        "architecture": lock.inputs.architecture,
        "python_version": lock.inputs.python_version,
    }


def _file_changes(a: Lock, b: Lock) -> list[FileChange]:
    old_files = {f.path: f for f in a.files}
    new_files = {f.path: f for f in b.files}
    files: list[FileChange] = []
    for path in sorted(old_files.keys() | new_files.keys()):
        before, after = old_files.get(path), new_files.get(path)
        if before is None and after is not None:
            files.append(FileChange(path, "added", None, after.size, None, after.sha256))
        elif after is None and before is not None:
            files.append(FileChange(path, "removed", before.size, None, before.sha256, None))
        elif (
            before is not None
            and after is not None
            and (before.sha256 != after.sha256 or before.executable != after.executable)
        ):
            files.append(FileChange(path, "changed", before.size, after.size, before.sha256, after.sha256))
    return files


def _config_changes(a: ImageConfig, b: ImageConfig) -> list[ValueChange]:
    config = []
    for name in ("cmd", "entrypoint", "workdir", "labels", "architecture", "os"):
        old, new = getattr(a, name), getattr(b, name)
        if old != new:
            config.append(ValueChange(name, _plain(old), _plain(new)))
    if a.diff_ids != b.diff_ids:
        shared = len(set(a.diff_ids) & set(b.diff_ids))
        config.append(ValueChange("layers", f"{len(a.diff_ids)} layers", f"{len(b.diff_ids)} layers, {shared} shared"))
    return config


def diff_images(a: Side, b: Side) -> VersionDiff:
    notes = []
    base: tuple[ValueChange, ...] = ()
    debian: tuple[PackageChange, ...] = ()
    python: tuple[PackageChange, ...] = ()
    files: list[FileChange] = []
    if a.lock is not None and b.lock is not None:
        old_base, new_base = _lock_base(a.lock), _lock_base(b.lock)
        base = tuple(ValueChange(k, old_base[k], new_base[k]) for k in old_base if old_base[k] != new_base[k])
        debian = _package_changes(
            {p.name: p.version for p in a.lock.debian}, {p.name: p.version for p in b.lock.debian}, _compare_debian
        )
        python = _package_changes(
            {p.name: p.version for p in a.lock.python}, {p.name: p.version for p in b.lock.python}, _compare_python
        )
        files = _file_changes(a.lock, b.lock)
    else:
        missing = [side.label for side in (a, b) if side.lock is None]
        notes.append(
            f"no build record for {' and '.join(missing)}: base, packages and files not compared (config only)"
        )
    env = _package_changes(_env(a.config), _env(b.config), lambda x, y: 0)
    config = _config_changes(a.config, b.config)
    return VersionDiff(a, b, base, debian, python, tuple(files), env, tuple(config), tuple(notes))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value
