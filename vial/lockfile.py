"""``vial.lock``: every input of an image resolved to a content hash.

The lock records what it was resolved *from* (``inputs``) so that a changed spec is detected, and
what it resolved *to* (Debian packages, Python wheels, code and data files, an OCI base), each with
its sha256. ``stale_reasons`` names every difference between a lock and the project as it is now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vial import stricttoml
from vial.errors import LockError
from vial.fsutil import atomic_write_text

LOCK_VERSION = 1
SHA256_HEX = r"^[0-9a-f]{64}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LockInputs(_Model):
    """What the lock was resolved from; any change here makes the lock stale."""

    base: str
    variant: str = ""
    mirror: str = ""
    architecture: str = "amd64"
    system_packages: list[str] = Field(default_factory=list)
    python_requirements: list[str] = Field(default_factory=list)
    python_version: str = ""
    python_platform: str = ""


class DebianPackage(_Model):
    name: str
    version: str
    architecture: str
    sha256: str = Field(pattern=SHA256_HEX)
    size: int
    filename: str  # path in the archive's pool, relative to the mirror root

    @property
    def deb_name(self) -> str:
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.architecture}.deb"


class PythonWheel(_Model):
    name: str
    version: str
    wheel: str
    sha256: str = Field(pattern=SHA256_HEX)
    size: int | None = None
    url: str


class LockedFile(_Model):
    path: str
    kind: Literal["code", "data"]
    sha256: str = Field(pattern=SHA256_HEX)
    size: int
    executable: bool = False


class OciBase(_Model):
    path: str
    digest: str


class Lock(_Model):
    lock_version: int = LOCK_VERSION
    inputs: LockInputs
    snapshot: str | None = None  # the Debian archive's time at lock time (snapshot.debian.org form)
    oci_base: OciBase | None = None
    debian: list[DebianPackage] = Field(default_factory=list)
    python: list[PythonWheel] = Field(default_factory=list)
    files: list[LockedFile] = Field(default_factory=list)

    def to_toml(self) -> str:
        data = self.model_dump(exclude_none=True)
        header = "# vial.lock: written by `vial lock`; every input resolved to a sha256. Do not edit.\n"
        return header + tomli_w.dumps(data)

    @classmethod
    def from_toml(cls, text: str, origin: str = "vial.lock") -> Lock:
        try:
            data = stricttoml.loads(text, origin, LockError, "invalid TOML: ")
        except LockError as exc:
            raise LockError(f"{exc} (run `vial lock` to rewrite it)") from None
        if data.get("lock_version") != LOCK_VERSION:
            raise LockError(
                f"{origin}: lock_version {data.get('lock_version')!r} is not {LOCK_VERSION}; run `vial lock`"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            raise LockError(f"{origin}: {field}: {error['msg']} (run `vial lock` to rewrite it)") from None

    def files_of(self, kind: str) -> list[LockedFile]:
        return [f for f in self.files if f.kind == kind]


def read_lock(path: Path) -> Lock | None:
    try:
        text = stricttoml.decode(Path(path).read_bytes(), str(path), LockError)
    except FileNotFoundError:
        return None
    return Lock.from_toml(text, str(path))


def write_lock(path: Path, lock: Lock) -> None:
    atomic_write_text(Path(path), lock.to_toml())


def stale_reasons(lock: Lock, inputs: LockInputs, files: list[LockedFile]) -> list[str]:
    """Every way the lock differs from the current inputs and files, in words."""
    reasons: list[str] = []
    old, new = lock.inputs, inputs
    for field, label in (
        ("base", "base image"),
        ("variant", "base variant"),
        ("mirror", "Debian mirror"),
        ("architecture", "architecture"),
    ):
        if getattr(old, field) != getattr(new, field):
            reasons.append(f"{label} changed: {getattr(old, field)!r} -> {getattr(new, field)!r}")
    reasons += _list_change("system packages", old.system_packages, new.system_packages)
    reasons += _list_change("Python requirements", old.python_requirements, new.python_requirements)
    if new.python_version and old.python_version != new.python_version:
        reasons.append(f"Python version changed: {old.python_version!r} -> {new.python_version!r}")
    locked = {f.path: f for f in lock.files}
    current = {f.path: f for f in files}
    for path in sorted(current.keys() - locked.keys()):
        reasons.append(f"file added: {path}")
    for path in sorted(locked.keys() - current.keys()):
        reasons.append(f"file removed: {path}")
    for path in sorted(current.keys() & locked.keys()):
        before, after = locked[path], current[path]
        if before.sha256 != after.sha256:
            reasons.append(f"file changed: {path} (sha256 {before.sha256[:12]}… -> {after.sha256[:12]}…)")
        elif before.kind != after.kind:
            reasons.append(f"file moved from {before.kind} to {after.kind}: {path}")
        elif before.executable != after.executable:
            reasons.append(f"file mode changed: {path}")
    return reasons


def _list_change(label: str, old: list[str], new: list[str]) -> list[str]:
    added = [item for item in new if item not in old]
    removed = [item for item in old if item not in new]
    out = []
    if added:
        out.append(f"{label} added: {', '.join(added)}")
    if removed:
        out.append(f"{label} removed: {', '.join(removed)}")
    if not added and not removed and old != new:
        out.append(f"{label} reordered")
    return out
