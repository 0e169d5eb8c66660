"""CID throughput: vial vs ``ipfs add --only-hash`` vs raw single-core sha256, same file, same run.

    .venv/bin/python bench/cid.py [--size-mib 1024] [--profile unixfs-v1-2025] [--file PATH]

Makes a random file in a temporary directory (unless --file), reads it once to warm the page
cache, then times each contender on it (best of --repeat runs) and prints MB/s and ratios.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vial.registry.ipfs.unixfs import Importer

MIB = 1 << 20


def make_file(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(left, 16 * MIB)
            out.write(os.urandom(n))
            left -= n


def raw_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(MIB):
            hasher.update(chunk)
    return hasher.hexdigest()


def vial_cid(path: Path, profile: str) -> str:
    with Importer(profile) as importer:
        return str(importer.add_file(path).cid)


def kubo_cid(path: Path, profile: str, repo: Path, binary: str) -> str:
    env = {**os.environ, "IPFS_PATH": str(repo)}
    out = subprocess.run([binary, "add", "--only-hash", "-Q", str(path)], env=env, capture_output=True, check=True)
    return out.stdout.decode().strip()


def best(fn, repeat: int) -> tuple[float, str]:
    times = []
    result = ""
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--profile", default="unixfs-v1-2025")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    binary = shutil.which("ipfs") or str(Path(os.environ.get("GOPATH", "/root/go")) / "bin" / "ipfs")
    with tempfile.TemporaryDirectory(prefix="vial-bench-") as work:
        path = args.file or Path(work) / "data.bin"
        if args.file is None:
            make_file(path, args.size_mib * MIB)
        size = path.stat().st_size
        raw_sha256(path)  # warm the page cache
        results: dict[str, float] = {}
        t, _ = best(lambda: raw_sha256(path), args.repeat)
        results["sha256 (hashlib, 1 core)"] = t
        t, cid = best(lambda: vial_cid(path, args.profile), args.repeat)
        results[f"vial cid ({args.profile})"] = t
        kubo_ok = Path(binary).is_file()
        if kubo_ok:
            repo = Path(work) / "repo"
            subprocess.run(
                [binary, "init", f"--profile=test,{args.profile}"],
                env={**os.environ, "IPFS_PATH": str(repo)},
                capture_output=True,
                check=True,
            )
            t, kcid = best(lambda: kubo_cid(path, args.profile, repo, binary), args.repeat)
            results["ipfs add --only-hash"] = t
            if kcid != cid:
                print(f"MISMATCH: kubo {kcid} vial {cid}", file=sys.stderr)
                return 1
        print(f"file: {size / MIB:.0f} MiB, cores: {os.cpu_count()}, CID {cid}")
        for name, seconds in results.items():
            print(f"  {name:32s} {seconds:7.3f} s  {size / seconds / 1e6:8.1f} MB/s")
        vial_t = results[f"vial cid ({args.profile})"]
        print(f"  vial / raw sha256 throughput: {results['sha256 (hashlib, 1 core)'] / vial_t:.2f}x")
        if kubo_ok:
            print(f"  vial / kubo throughput:       {results['ipfs add --only-hash'] / vial_t:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
