#!/usr/bin/env python3
"""Build benchmark (not a test): vial against `docker build`, and layer packing against raw sha256.

    .venv/bin/python bench/build.py [--example examples/longley-ols] [--runs 1]

Prints, measured in the same run on the same engine:
- cold build: vial into an empty store (downloads already in the cache) vs `docker build --no-cache`
  of an equivalent Dockerfile: FROM a Debian base of the `essential` set (imported beforehand, as a
  pulled debian:bookworm-slim would be), then `dpkg -i` of the project's other locked .debs, pip
  install of the same wheels, and the code and data: the same local files on both sides, no network;
- warm rebuild, nothing changed: `vial build` vs `docker build` with its cache;
- layer packing throughput (tar + sha256 + zstd + sha256 into the store) vs raw hashlib sha256 of
  the same bytes.
Targets: warm rebuild under 1 s; cold build faster than docker build.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIAL = str(Path(sys.executable).parent / "vial")


def timed(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{out.stderr[-2000:]}")
    return elapsed, out.stdout


def docker_inputs(example: Path, home: Path, digest: str, context: Path) -> None:
    """The same inputs for Docker, from vial's store: an `essential`-only Debian base (what a pulled
    debian:bookworm-slim gives), the project's other locked .debs, the wheels, code and data."""
    sys.path.insert(0, str(REPO))
    from vial.builders.layers.debian import MERGED_USR_HOOK  # the same merged /usr as vial's images
    from vial.buildinfo import read_record
    from vial.store import Store

    store = Store(home)
    lock = read_record(home, digest).locked()
    repo = context / "repo"
    repo.mkdir()
    for package in lock.debian:
        shutil.copyfile(store.blob_path(f"sha256:{package.sha256}"), repo / package.deb_name)
    subprocess.run(
        "apt-ftparchive packages . > Packages && apt-ftparchive -o APT::FTPArchive::Release::Suite=bookworm"
        " release . > Release",
        shell=True,
        cwd=repo,
        check=True,
        capture_output=True,
    )
    listing = context / "essential.txt"
    subprocess.run(
        [
            "mmdebstrap",
            "-q",
            "--variant=essential",
            MERGED_USR_HOOK,
            f"--customize-hook=chroot \"$1\" dpkg-query -W -f='${{Package}}\\n' > {listing}",
            "bookworm",
            str(context / "rootfs.tar"),
            f"deb [trusted=yes] copy://{repo} ./",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "0"},
    )
    essential = set(listing.read_text().split())
    debs = context / "debs"
    debs.mkdir()
    for package in lock.debian:
        if package.name not in essential:
            shutil.copyfile(repo / package.deb_name, debs / package.deb_name)
    shutil.rmtree(repo)
    wheels = context / "wheels"
    wheels.mkdir()
    for wheel in lock.python:
        shutil.copyfile(store.blob_path(f"sha256:{wheel.sha256}"), wheels / wheel.wheel)
    shutil.copytree(example, context / "project", ignore=shutil.ignore_patterns("vial.*", "README.md"))
    (context / "Dockerfile").write_text(
        "FROM vial-bench-base\n"
        "COPY debs /debs\n"
        f"RUN {_dpkg_in_predepends_order(debs)} && rm -rf /debs\n"
        "COPY wheels /wheels\n"
        "RUN python3 -m pip install --no-index --no-compile --no-deps --break-system-packages /wheels/*.whl\n"
        "COPY project /project\n"
        "WORKDIR /project\n"
        'CMD ["python3", "analysis.py"]\n'
    )


def _dpkg_in_predepends_order(debs: Path) -> str:
    """`dpkg -i` runs grouped so that every Pre-Depends is configured before its dependent is unpacked
    (dpkg configures nothing mid-run; apt orders this way, but the slim base has no apt here)."""
    names: dict[str, str] = {}
    predepends: dict[str, set[str]] = {}
    for deb in sorted(debs.glob("*.deb")):
        fields = subprocess.run(
            ["dpkg-deb", "-f", str(deb), "Package", "Pre-Depends"], capture_output=True, text=True, check=True
        ).stdout
        package = fields.split("Package:", 1)[1].split("\n", 1)[0].strip()
        wanted = fields.split("Pre-Depends:", 1)[1] if "Pre-Depends:" in fields else ""
        names[package] = deb.name
        predepends[package] = {alt.split("(")[0].split(":")[0].strip() for alt in wanted.replace("|", ",").split(",")}
    groups: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(names):
        ready = [p for p in names if p not in done and not (predepends[p] & (set(names) - done))]
        if not ready:  # a cycle: let dpkg sort the rest out
            ready = [p for p in names if p not in done]
        groups.append(ready)
        done.update(ready)
    return " && ".join("dpkg -i " + " ".join(f"/debs/{names[p]}" for p in sorted(g)) for g in groups)


def pack_throughput(size_mb: int) -> tuple[float, float]:
    sys.path.insert(0, str(REPO))
    from vial.builders.layers.tarball import entries_from_directory, write_layer
    from vial.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        root.mkdir()
        rng = os.urandom(1 << 20)
        # Half random, half repetitive: like real data, neither all compressible nor none.
        for index in range(size_mb):
            (root / f"f{index:04d}.bin").write_bytes(rng if index % 2 else b"research data " * 74898)
        store = Store(Path(tmp) / "store")
        start = time.perf_counter()
        write_layer(store, entries_from_directory(root), 0)
        pack = size_mb / (time.perf_counter() - start)
        start = time.perf_counter()
        for path in sorted(root.iterdir()):
            hashlib.sha256(path.read_bytes()).digest()
        raw = size_mb / (time.perf_counter() - start)
    return pack, raw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--example", default=str(REPO / "examples" / "longley-ols"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pack-mb", type=int, default=512)
    args = parser.parse_args()
    example = Path(args.example).resolve()
    work = Path(tempfile.mkdtemp(prefix="vial-bench-"))
    env = {**os.environ, "VIAL_HOME": str(work / "prime")}
    # Prime: downloads into the shared cache, and a store to take Docker's inputs from.
    _, out = timed([VIAL, "-q", "build", "--locked", "--json", str(example)], env)
    digest = json.loads(out)["digest"]

    cold_vial = []
    for run in range(args.runs):
        env_run = {**os.environ, "VIAL_HOME": str(work / f"cold-{run}")}
        cold_vial.append(timed([VIAL, "-q", "build", "--locked", str(example)], env_run)[0])
    warm_vial = [timed([VIAL, "-q", "build", "--locked", str(example)], env)[0] for _ in range(max(3, args.runs))]

    context = work / "docker"
    context.mkdir()
    docker_inputs(example, work / "prime", digest, context)
    timed(["docker", "import", str(context / "rootfs.tar"), "vial-bench-base"])
    (context / "rootfs.tar").unlink()
    # pip is not in the image (Debian's essential set): Docker's build runs pip from its wheel.
    pip_wheel = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "pip==26.3", "-d", str(context / "wheels")],
        capture_output=True,
        check=False,
    )
    if pip_wheel.returncode != 0:
        sys.exit("cannot fetch a pip wheel for the Docker side")
    (context / "Dockerfile").write_text(
        (context / "Dockerfile")
        .read_text()
        .replace(
            "RUN python3 -m pip install",
            "RUN python3 /wheels/pip-26.3-py3-none-any.whl/pip install",
        )
    )
    cold_docker = []
    for run in range(args.runs):
        cold_docker.append(
            timed(
                ["docker", "build", "--no-cache", "--network=none", "-q", "-t", f"vial-bench:{run}", "."], cwd=context
            )[0]
        )
    warm_docker = [
        timed(["docker", "build", "--network=none", "-q", "-t", "vial-bench:warm", "."], cwd=context)[0]
        for _ in range(max(3, args.runs))
    ]
    pack, raw = pack_throughput(args.pack_mb)

    cv, cd = statistics.median(cold_vial), statistics.median(cold_docker)
    wv, wd = statistics.median(warm_vial), statistics.median(warm_docker)
    print(f"example: {example.name}")
    print(f"cold build   vial {cv:7.2f} s   docker build --no-cache {cd:7.2f} s   ratio vial/docker {cv / cd:5.2f}")
    print(f"warm rebuild vial {wv:7.2f} s   docker build (cached)   {wd:7.2f} s   ratio vial/docker {wv / wd:5.2f}")
    print(
        f"packing {args.pack_mb} MiB: vial layer {pack:7.1f} MiB/s   raw sha256 {raw:7.1f} MiB/s   ratio {pack / raw:5.2f}"
    )
    print(
        f"targets: warm < 1 s: {'met' if wv < 1 else 'MISSED'}; cold faster than docker: {'met' if cv < cd else 'MISSED'}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
