"""Lock and build: a project directory to a ``vial.lock``, then to a reproducible image in the store."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vial.api._common import Log, logger_for, store_or_default
from vial.builders.image import BuildResult as BuildResult
from vial.store import Store


@dataclass(frozen=True)
class LockResult:
    """What ``lock`` wrote: the lock file and how many inputs of each kind it pins."""

    lock: Path
    debian: int
    python: int
    files: int

    def to_json(self) -> dict[str, Any]:
        """``{"lock", "debian", "python", "files"}``, as ``vial lock --json`` prints it."""
        return {"lock": str(self.lock), "debian": self.debian, "python": self.python, "files": self.files}


def lock(
    project_dir: Path | str = ".",
    *,
    upgrade: bool = False,
    store: Store | None = None,
    log: Log | None = None,
) -> LockResult:
    """Resolve every input of the project in ``project_dir`` to a content hash and write its ``vial.lock``.

    ``upgrade=True`` resolves every package again, even if the spec did not change.

    >>> import vial
    >>> result = vial.lock("examples/longley-ols")
    >>> result.lock
    PosixPath('examples/longley-ols/vial.lock')
    """
    from vial.builders.lock.locking import lock_project, read_project

    store = store_or_default(store)
    state = read_project(Path(project_dir), store)
    result = lock_project(state, store, upgrade=upgrade, log=log or logger_for("lock"))
    return LockResult(state.lock_path, len(result.debian), len(result.python), len(result.files))


def build(
    project_dir: Path | str = ".",
    *,
    locked: bool = False,
    output: Path | str | None = None,
    store: Store | None = None,
    log: Log | None = None,
) -> BuildResult:
    """Build the project in ``project_dir`` into a bit-for-bit reproducible OCI image in ``store``.

    ``locked=True`` refuses a ``vial.lock`` that no longer matches the project (else a stale or
    missing lock is written first). ``output`` also exports the image: a directory (OCI layout) or
    ``FILE.tar`` (OCI archive).

    >>> import vial
    >>> built = vial.build("examples/longley-ols", locked=True)
    >>> built.name, built.digest
    ('longley-ols:1.0.0', 'sha256:...')
    """
    from vial.builders.image import build_project

    store = store_or_default(store)
    result = build_project(Path(project_dir), store, locked=locked, log=log or logger_for("build"))
    target = Path(output) if output is not None else None
    if target is not None:
        if target.suffix == ".tar":
            store.export_archive(result.digest, target)
        else:
            store.export_layout(result.digest, target)
    return dataclasses.replace(result, output=target)
