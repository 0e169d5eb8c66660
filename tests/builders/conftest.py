"""Fixtures for building the examples for real (mmdebstrap, the Debian mirror's packages, Docker)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from buildhelpers import Built, build_example


@pytest.fixture(scope="session")
def debian_tools(service_missing: Callable[[str], None]) -> None:
    for tool in ("mmdebstrap", "apt-ftparchive"):
        if shutil.which(tool) is None:
            service_missing(f"{tool} is not installed (run scripts/services.sh)")


@pytest.fixture(scope="session")
def download_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One download cache for the session: stores differ, fetched inputs are shared (and rechecked)."""
    shared = os.environ.get("VIAL_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("vial-cache")


@pytest.fixture(scope="session")
def built_examples(
    tmp_path_factory: pytest.TempPathFactory, debian_tools: None, download_cache: Path
) -> dict[str, Built]:
    """Each example built once, from a copy, in its own store (condition A)."""
    out = {}
    for name in ("longley-ols", "mtcars-lm"):
        root = tmp_path_factory.mktemp(f"{name}-a")
        out[name] = build_example(
            name, root, download_cache, seed=1, mtime=time.time(), umask=0o022, tz="UTC", lang="C.UTF-8"
        )
    return out


@pytest.fixture(scope="session")
def docker_engine(service_missing: Callable[[str], None]) -> None:
    try:
        import docker

        docker.DockerClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")).ping()
    except Exception as exc:  # noqa: BLE001
        service_missing(f"no Docker engine: {exc}")
