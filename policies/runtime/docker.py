"""Run an image from the store in a Docker engine, by its config digest.

The engine receives exactly the bytes vial checked in this process (a docker-archive written from
verified blobs), and the container is created from the image ID the engine reports, which must be
the config digest: no tag is looked up that a daemon could substitute.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vial.docker_archive import write_docker_archive
from vial.errors import IntegrityError, ServiceError
from vial.progress import progress_logger
from vial.store import Image, Store

_progress = progress_logger(__name__)

if TYPE_CHECKING:  # the Docker SDK is imported when an engine is needed, not with this module
    from docker import DockerClient

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass
class RunOptions:
    command: list[str] = field(default_factory=list)
    network: bool = False
    outputs: Path | None = None  # mounted read-write at /outputs
    inputs: list[tuple[Path, str]] = field(default_factory=list)  # (host path, container path), read-only
    env: dict[str, str] = field(default_factory=dict)
    read_only_root: bool = True  # /tmp is a tmpfs either way
    memory: str | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    labels: dict[str, str] = field(default_factory=dict)  # set on the container (tests count containers by them)


def docker_client() -> DockerClient:
    import docker

    base_url = os.environ.get("DOCKER_HOST", DEFAULT_SOCKET)
    try:
        client = docker.DockerClient(base_url=base_url, timeout=600)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - the SDK raises several unrelated types for "no engine"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ServiceError(
            f"no Docker engine at {base_url} ({reason}); start one (scripts/services.sh) or set DOCKER_HOST"
        ) from None
    return client


def load_verified(client: DockerClient, store: Store, image: Image, log: Callable[[str], None] = _progress) -> str:
    """Load ``image`` into the engine from verified bytes; returns the engine's image ID (= config digest)."""
    with tempfile.TemporaryDirectory(prefix="vial-run-", dir=store.tmp_dir) as tmp:
        log("verifying and exporting the image for Docker")
        archive = write_docker_archive(store, image, Path(tmp))
        log("loading the image into Docker")
        with open(archive, "rb") as handle:
            loaded = client.images.load(handle)
    ids = {item.id for item in loaded}
    expected = image.manifest.config.digest
    if ids != {expected}:
        raise IntegrityError(f"Docker loaded {sorted(str(i) for i in ids)}, expected exactly the config {expected}")
    return expected


def run_image(store: Store, image: Image, options: RunOptions, log: Callable[[str], None] = _progress) -> int:
    """Run ``image``; streams its output to ours and returns the container's exit code."""
    client = docker_client()
    image_id = load_verified(client, store, image, log)
    volumes: dict[str, dict[str, str]] = {}
    if options.outputs is not None:
        options.outputs.mkdir(parents=True, exist_ok=True)
        volumes[str(options.outputs.resolve())] = {"bind": "/outputs", "mode": "rw"}
    for host, target in options.inputs:
        volumes[str(Path(host).resolve())] = {"bind": target, "mode": "ro"}
    kwargs: dict[str, Any] = {
        "image": image_id,
        "detach": True,
        "network_mode": "host" if options.network else "none",
        "volumes": volumes,
        "environment": options.env or None,
        "read_only": options.read_only_root,
        "tmpfs": {"/tmp": "rw,nosuid,nodev"},
        "labels": {"dev.vial.manifest": image.digest, "dev.vial.config": image_id, **options.labels},
    }
    if options.command:
        kwargs["command"] = options.command
    if options.memory:
        kwargs["mem_limit"] = options.memory
    if options.cpus:
        kwargs["nano_cpus"] = int(options.cpus * 1e9)
    if options.pids_limit:
        kwargs["pids_limit"] = options.pids_limit
    import docker.errors

    try:
        container = client.containers.create(**kwargs)
    except docker.errors.APIError as exc:
        raise ServiceError(f"Docker could not create the container: {exc.explanation or exc}") from None
    try:
        container.start()
        for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        result = container.wait()
        return int(result.get("StatusCode", 1))
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
