"""``vial lock``: resolve every input of a project to a content hash and write ``vial.lock``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vial.builders.layers import debian, python
from vial.builders.layers.files import HashCache, SelectedFile, lock_files, select_files
from vial.errors import LockError
from vial.lockfile import (
    DebianPackage,
    Lock,
    LockedFile,
    LockInputs,
    OciBase,
    PythonWheel,
    read_lock,
    stale_reasons,
    write_lock,
)
from vial.progress import progress_logger
from vial.spec import LOCK_FILE, Spec, load_spec, python_requirements
from vial.store import Store

_progress = progress_logger(__name__)


@dataclass(frozen=True)
class ProjectState:
    """A project as it is on disk now: spec, the inputs a lock is resolved from, its files."""

    directory: Path
    spec: Spec
    inputs: LockInputs
    files: list[LockedFile]
    selected: list[SelectedFile]

    @property
    def lock_path(self) -> Path:
        return self.directory / LOCK_FILE


def read_project(project_dir: Path, store: Store) -> ProjectState:
    project_dir = Path(project_dir).resolve()
    spec = load_spec(project_dir)
    inputs = LockInputs(
        base=spec.base.image,
        variant=spec.base.variant if spec.base.kind == "debian" else "",
        mirror=spec.base.mirror if spec.base.kind == "debian" else "",
        architecture=spec.base.architecture,
        system_packages=list(spec.system.packages),
        python_requirements=python_requirements(spec, project_dir),
        python_version=spec.python.version or "",
        python_platform=spec.python.platform or "",
    )
    selected = select_files(spec, project_dir)
    files = lock_files(selected, HashCache(store.cache_dir / "file-hashes.json"))
    return ProjectState(project_dir, spec, inputs, files, selected)


def python_target(spec: Spec, lock_debian: list[DebianPackage], architecture: str) -> tuple[str, str]:
    """The Python version and wheel platform the image's packages are resolved for."""
    if spec.python.version and spec.python.platform:
        return spec.python.version, spec.python.platform
    if spec.base.kind == "debian":
        version, platform = python.target_from_debian(lock_debian, architecture)
        return spec.python.version or version, spec.python.platform or platform
    machine = python.ARCH_TO_MACHINE[architecture]
    return spec.python.version or "3.11", spec.python.platform or f"manylinux_2_28_{machine}"


def lock_project(
    state: ProjectState, store: Store, upgrade: bool = False, log: Callable[[str], None] = _progress
) -> Lock:
    """Write ``vial.lock`` for ``state``; packages are re-resolved only if their inputs changed."""
    previous = read_lock(state.lock_path)
    inputs_same = previous is not None and previous.inputs == state.inputs and not upgrade
    if previous is not None and inputs_same:
        lock = previous.model_copy(update={"files": state.files})
    else:
        lock = _resolve(state, store, log)
    write_lock(state.lock_path, lock)
    return lock


def _resolve(state: ProjectState, store: Store, log: Callable[[str], None]) -> Lock:
    spec = state.spec
    debian_packages: list[DebianPackage] = []
    snapshot = None
    oci_base = None
    with tempfile.TemporaryDirectory(prefix="vial-lock-", dir=store.tmp_dir) as tmp:
        work = Path(tmp)
        if spec.base.kind == "debian":
            snapshot = debian.snapshot_now()
            debian_packages = debian.resolve(spec.base, spec.system.packages, work, log)
            debian.store_debs(store, work, debian_packages)
        else:
            oci_base = OciBase(path=spec.base.oci_path, digest=spec.base.oci_digest)
        wheels: list[PythonWheel] = []
        if state.inputs.python_requirements:
            version, platform = python_target(spec, debian_packages, spec.base.architecture)
            log(f"resolving Python requirements for Python {version} on {platform}")
            wheels = python.resolve(state.inputs.python_requirements, version, platform, work)
    return Lock(
        inputs=state.inputs,
        snapshot=snapshot,
        oci_base=oci_base,
        debian=debian_packages,
        python=wheels,
        files=state.files,
    )


def check_lock(state: ProjectState) -> Lock:
    """The lock, if it matches the project exactly; else a ``LockError`` naming what changed."""
    lock = read_lock(state.lock_path)
    if lock is None:
        raise LockError(f"{state.lock_path}: no lock file (run `vial lock`)")
    reasons = stale_reasons(lock, state.inputs, state.files)
    if reasons:
        raise LockError(f"{state.lock_path} is stale: {'; '.join(reasons)} (run `vial lock`)")
    return lock
