"""Run an image without a daemon: vial unpacks the verified layers itself, bubblewrap isolates.

The root filesystem is unpacked by ``vial.policies.runtime.unpack`` (rehashing every blob and diff_id again
while writing, refusing unsafe entries) into a fresh temporary directory, mounted read-only as
``/`` inside new namespaces (user, mount, pid, ipc, uts, cgroup, and network unless ``--network``),
with every capability dropped, ``/proc``, a minimal ``/dev``, a tmpfs ``/tmp``, inputs read-only,
outputs read-write. The environment is exactly the image's plus ``-e`` values.

Limits: memory via ``RLIMIT_AS`` (address space, an upper bound on memory); bubblewrap has no
cgroups, so CPU and pids limits are refused rather than silently ignored (use the Docker runtime).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from vial.errors import ServiceError, VialError
from vial.policies.engine.layers import DEFAULT_LIMITS, Limits
from vial.policies.runtime.docker import RunOptions
from vial.policies.runtime.unpack import secure_join, unpack_image
from vial.progress import progress_logger
from vial.store import Image, Store

_progress = progress_logger(__name__)

_MEMORY = re.compile(r"^\s*(\d+)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def bwrap_path() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise ServiceError("bubblewrap (bwrap) is not installed: apt install bubblewrap, or use --runtime docker")
    return found


def available() -> bool:
    return shutil.which("bwrap") is not None


def parse_memory(value: str) -> int:
    match = _MEMORY.match(value)
    if not match:
        raise VialError(f"--memory {value!r}: expected a size like 512m or 2g")
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]


def _argv(image: Image, options: RunOptions) -> list[str]:
    config = image.config
    command = list(options.command) if options.command else list(config.cmd)
    argv = list(config.entrypoint) + command
    if not argv:
        raise VialError(f"image {image.digest} has no command: give one after --")
    return argv


def _env(image: Image, options: RunOptions) -> dict[str, str]:
    env: dict[str, str] = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
    for item in image.config.env:
        key, _, value = item.partition("=")
        env[key] = value
    env.update(options.env)
    return env


def bwrap_command(root: Path, image: Image, options: RunOptions) -> list[str]:
    args = [
        bwrap_path(),
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "vial",
    ]
    if options.network:
        args.append("--share-net")
    args += [
        "--ro-bind" if options.read_only_root else "--bind",
        str(root),
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    if options.outputs is not None:
        args += ["--bind", str(Path(options.outputs).resolve()), "/outputs"]
    for host, target in options.inputs:
        args += ["--ro-bind", str(Path(host).resolve()), target]
    args += ["--chdir", image.config.workdir or "/", "--clearenv"]
    for key, value in sorted(_env(image, options).items()):
        args += ["--setenv", key, value]
    # execvp inside bwrap searches bwrap's own PATH: resolve the program in the image's PATH ourselves.
    argv = _argv(image, options)
    program = argv[0]
    if "/" not in program:
        for directory in _env(image, options).get("PATH", "").split(":"):
            if directory and os.access(secure_join(root, f"{directory}/{program}", follow_last=True), os.X_OK):
                program = f"{directory.rstrip('/')}/{program}"
                break
        else:
            raise VialError(f"{program}: not found in the image's PATH")
    return [*args, "--", program, *argv[1:]]


def _mountpoints(root: Path, options: RunOptions) -> None:
    targets = ["/proc", "/dev", "/tmp"]
    if options.outputs is not None:
        targets.append("/outputs")
    for host, target in options.inputs:
        if not target.startswith("/"):
            raise VialError(f"--input {host}:{target}: the container path must be absolute")
        targets.append(target)
    for target in targets:
        path = secure_join(root, target, follow_last=True)
        source = next((Path(h) for h, t in options.inputs if t == target), None)
        if source is not None and source.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)
        else:
            path.mkdir(parents=True, exist_ok=True)


def run_image(
    store: Store,
    image: Image,
    options: RunOptions,
    log: Callable[[str], None] = _progress,
    limits: Limits = DEFAULT_LIMITS,
) -> int:
    """Unpack and run ``image`` under bubblewrap; returns the command's exit code."""
    if options.cpus:
        raise VialError("--cpus needs cgroups, which the bwrap runtime does not use: drop it or use --runtime docker")
    if options.pids_limit:
        raise VialError(
            "--pids-limit needs cgroups, which the bwrap runtime does not use: drop it or use --runtime docker"
        )
    memory = parse_memory(options.memory) if options.memory else None
    bwrap_path()
    if options.outputs is not None:
        Path(options.outputs).mkdir(parents=True, exist_ok=True)
    for host, _ in options.inputs:
        if not Path(host).exists():
            raise VialError(f"--input {host}: no such file or directory")
    workdir = Path(tempfile.mkdtemp(prefix="vial-rootfs-"))
    try:
        root = workdir / "rootfs"
        log("unpacking the verified layers")
        unpack_image(store, image, root, limits)
        _mountpoints(root, options)
        command = bwrap_command(root, image, options)

        def limit() -> None:
            if memory is not None:
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        log("running under bubblewrap")
        process = subprocess.Popen(command, preexec_fn=limit, stdin=subprocess.DEVNULL)
        try:
            code = process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGTERM)
            process.wait()
            raise
        return 128 - code if code < 0 else code
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
