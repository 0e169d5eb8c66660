"""The ``python`` builder: hash-locked wheels installed for the image's interpreter and platform.

Lock: uv resolves the requirements for the image's Python version and platform (not the host's)
into a PEP 751 ``pylock.toml``, wheels only; vial records each wheel's name, URL and sha256.

Build: every wheel is fetched into the store and checked against its sha256, then installed with
``installer`` into a staging prefix as the image's interpreter will see it: no .pyc files, no
INSTALLER/REQUESTED/direct_url.json, console-script shebangs pointing at the image's interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from vial.builders.layers.tarball import LayerBlob, entries_from_directory, write_layer
from vial.builders.lock.fetch import fetch_locked
from vial.errors import ResolveError
from vial.lockfile import DebianPackage, PythonWheel
from vial.progress import progress_logger
from vial.store import Store

_progress = progress_logger(__name__)

ARCH_TO_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}


def installer_version() -> str:
    from importlib.metadata import version

    return f"installer-{version('installer')}"


def target_from_debian(locked: list[DebianPackage], architecture: str) -> tuple[str, str]:
    """The Python minor version and manylinux platform of a Debian root filesystem's lock."""
    by_name = {p.name: p for p in locked}
    python = next((by_name[n] for n in ("python3", "python3-minimal") if n in by_name), None)
    if python is None:
        raise ResolveError("[python] requirements need a Python interpreter: add python3 to [system] packages")
    match = re.match(r"^(?:\d+:)?(3\.\d+)", python.version)
    libc = by_name.get("libc6")
    libc_match = re.match(r"^(?:\d+:)?2\.(\d+)", libc.version) if libc else None
    if not match or not libc_match:
        raise ResolveError("cannot tell the image's Python or glibc version from the lock")
    machine = ARCH_TO_MACHINE[architecture]
    return match.group(1), f"manylinux_2_{libc_match.group(1)}_{machine}"


def uv_binary() -> str:
    import uv

    return uv.find_uv_bin()


def resolve(requirements: list[str], python_version: str, platform: str, work: Path) -> list[PythonWheel]:
    """Resolve ``requirements`` for the target into one wheel per distribution, with sha256."""
    if not requirements:
        return []
    requirements_in = work / "requirements.in"
    requirements_in.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    output = work / "pylock.toml"
    # uv spells the target "x86_64-manylinux_2_36"; we keep "manylinux_2_36_x86_64" (the wheel tag).
    uv_platform = _uv_platform(platform)
    command = [
        uv_binary(),
        "pip",
        "compile",
        str(requirements_in),
        "--python-version",
        python_version,
        "--python-platform",
        uv_platform,
        "--only-binary",
        ":all:",
        "--format",
        "pylock.toml",
        "--output-file",
        str(output),
        "--no-header",
        "--quiet",
        "--no-progress",
    ]
    process = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"})
    if process.returncode != 0:
        raise ResolveError(f"cannot resolve [python] requirements: {_uv_reason(process.stderr)}")
    lock = tomllib.loads(output.read_text(encoding="utf-8"))
    wheels: list[PythonWheel] = []
    for package in lock.get("packages", []):
        candidates = package.get("wheels") or []
        if not candidates:
            raise ResolveError(
                f"{package['name']} {package.get('version')}: no wheel for {platform} / Python {python_version}"
            )
        wheel = candidates[0]
        url = wheel["url"]
        wheels.append(
            PythonWheel(
                name=package["name"],
                version=str(package["version"]),
                wheel=unquote(Path(urlparse(url).path).name),
                sha256=wheel["hashes"]["sha256"],
                size=wheel.get("size"),
                url=url,
            )
        )
    return sorted(wheels, key=lambda w: w.name)


def _uv_platform(platform: str) -> str:
    match = re.match(r"^(manylinux_\d+_\d+)_(x86_64|aarch64)$", platform)
    if not match:
        raise ResolveError(f"[python] platform {platform!r}: expected e.g. manylinux_2_36_x86_64")
    return f"{match.group(2)}-{match.group(1)}"


def _uv_reason(stderr: str) -> str:
    text = " ".join(line.strip(" ×╰─▶│") for line in stderr.splitlines() if line.strip())
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^error: ", "", text)
    text = re.sub(r"No solution found when resolving dependencies:? (cause: )?", "", text)
    return text or "uv failed without a message"


def site_packages(python_version: str, explicit: str | None) -> str:
    # Debian's interpreter searches /usr/local/lib/python3.X/dist-packages for local installs.
    return explicit or f"/usr/local/lib/python{python_version}/dist-packages"


def build_layer(
    store: Store,
    wheels: list[PythonWheel],
    python_version: str,
    interpreter: str,
    site: str,
    source_date_epoch: int,
    log: Callable[[str], None] = _progress,
) -> LayerBlob:
    import installer
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    for wheel in wheels:
        fetch_locked(store, [wheel.url], wheel.sha256, wheel.wheel)
    with tempfile.TemporaryDirectory(prefix="vial-python-", dir=store.tmp_dir) as tmp:
        staging = Path(tmp) / "root"
        prefix = "/usr/local"
        scheme = {
            "purelib": site,
            "platlib": site,
            "headers": f"{prefix}/include/python{python_version}",
            "scripts": f"{prefix}/bin",
            "data": prefix,
        }
        log(f"installing {len(wheels)} wheels for Python {python_version}")
        for wheel in wheels:
            digest = f"sha256:{wheel.sha256}"
            store.verify_blob(digest, wheel.wheel)
            # installer wants the wheel's real file name to read its name and version.
            staged = Path(tmp) / wheel.wheel
            if not staged.exists():
                os.link(store.blob_path(digest), staged)
            destination = SchemeDictionaryDestination(
                {key: str(staging) + value for key, value in scheme.items()},
                interpreter=interpreter,
                script_kind="posix",
                bytecode_optimization_levels=(),
            )
            with WheelFile.open(staged) as source:
                # No additional metadata: no INSTALLER file, so nothing names the host's tools.
                installer.install(source, destination, additional_metadata={})
        log("packing the Python layer")
        return write_layer(store, entries_from_directory(staging), source_date_epoch)
