"""Facts about a project directory that are not in its spec: git origin, revision, and time."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vial.spec import Spec

# SOURCE_DATE_EPOCH when neither the environment, the spec nor git gives one (docs/spec.md).
DEFAULT_SOURCE_DATE_EPOCH = 0


@dataclass(frozen=True)
class SourceInfo:
    repository: str | None
    revision: str | None
    commit_time: int | None


def _git(project_dir: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(project_dir), *args], capture_output=True, text=True, check=False, timeout=10
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def source_info(spec: Spec, project_dir: Path) -> SourceInfo:
    if _git(project_dir, "rev-parse", "--is-inside-work-tree") != "true":
        return SourceInfo(spec.project.source, None, None)
    repository = spec.project.source or _git(project_dir, "remote", "get-url", "origin")
    revision = _git(project_dir, "rev-parse", "HEAD")
    commit_time = _git(project_dir, "log", "-1", "--format=%ct", "--", ".")
    return SourceInfo(repository, revision, int(commit_time) if commit_time else None)


def source_date_epoch(spec: Spec, source: SourceInfo) -> int:
    """SOURCE_DATE_EPOCH from the environment, else the spec, else the last commit, else 0."""
    explicit = os.environ.get("SOURCE_DATE_EPOCH")
    if explicit and explicit.isdigit():
        return int(explicit)
    if spec.build.source_date_epoch is not None:
        return spec.build.source_date_epoch
    if source.commit_time is not None:
        return source.commit_time
    return DEFAULT_SOURCE_DATE_EPOCH
