"""Benchmark: ``vial verify`` on a 1 GiB image against sha256 of the same bytes, same run.

    .venv/bin/python bench/verify.py [--size-mib 1024] [--layers 4] [--runs 3] [--keep DIR]

Builds a throwaway store holding one image of ``--layers`` zstd layers of incompressible data
(``--size-mib`` in all), signs its provenance with a fresh key, and times, medians of ``--runs``:

* ``sha256``: hashlib over every blob of the image (manifest, config, layers), streamed: the floor;
* ``verify (warm)``: ``verify_source`` as ``vial verify`` runs it on an image checked before
  (every blob rehashed; the layers' diff_ids and tar entries remembered by manifest digest);
* ``verify --full``: the first check of an image: every blob rehashed, every layer decompressed,
  its diff_id rehashed and every tar entry checked;
* signatures + policy: the part of ``verify`` after integrity (target < 100 ms).

The page cache is warmed first, so every figure is CPU-bound on the same bytes. Not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from policyhelpers import Entry, put_image, put_layer, sign_provenance, write_key, write_policy  # noqa: E402

from vial.digest import CHUNK_SIZE  # noqa: E402
from vial.policies.engine.source import Source  # noqa: E402
from vial.policies.engine.verify import verify_source  # noqa: E402
from vial.policies.model.policy import load_policy  # noqa: E402
from vial.store import Store  # noqa: E402


def sha256_blobs(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                hasher.update(chunk)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Work in this directory and keep it.")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="vial-bench-verify-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        store = Store(work / "store")
        per_layer = args.size_mib // args.layers
        layers = []
        print(f"building a {args.size_mib} MiB image ({args.layers} layers of random data)...", file=sys.stderr)
        for i in range(args.layers):
            data = work / f"data{i}"
            with open(data, "wb") as out:
                for _ in range(per_layer):
                    out.write(os.urandom(1 << 20))
            layers.append(put_layer(store, [Entry("data", "dir", mode=0o755), Entry(f"data/blob{i}", source=data)]))
            data.unlink()
        image = put_image(store, layers, name="bench:1.0.0")
        key, public = write_key(work, "ci")
        sign_provenance(store, image, key, project="bench")
        policy = load_policy(
            write_policy(
                work / "policy.yaml",
                f"""
version: 1
signers: {{ci: {{key: {public}}}}}
require: [{{predicate: provenance, signers: [ci]}}]
provenance: {{pinned_dependencies: true, builder_ids: ["https://vial.dev/builder/local/v1"]}}
max_age: 1d
""",
            )
        )
        source = Source(store, "bench:1.0.0", "bench:1.0.0", "store", writable=True)
        blobs = [store.blob_path(d.digest) for d in store.image_blobs(image)]
        total = sum(p.stat().st_size for p in blobs)
        sha256_blobs(blobs)  # warm the page cache

        def timed(full: bool) -> tuple[float, float]:
            started = time.perf_counter()
            result = verify_source(source, policy, full=full, record=False)
            elapsed = time.perf_counter() - started
            assert result.verified, result.failures()
            return elapsed, result.seconds["signatures"] + result.seconds["policy"]

        verify_source(source, policy, record=False)  # the first check fills the cache
        sha, warm, full, crypto = [], [], [], []
        for _ in range(args.runs):
            sha.append(sha256_blobs(blobs))
            elapsed, rest = timed(full=False)
            warm.append(elapsed)
            crypto.append(rest)
            full.append(timed(full=True)[0])
        sha_m, warm_m, full_m = statistics.median(sha), statistics.median(warm), statistics.median(full)
        print(f"image: {total / (1 << 20):.0f} MiB in {len(blobs)} blobs; medians of {args.runs} runs")
        print(f"sha256 of the same bytes     {sha_m:7.3f} s   ({total / sha_m / (1 << 20):.0f} MiB/s)")
        print(f"vial verify (warm)           {warm_m:7.3f} s   {warm_m / sha_m:5.2f}x sha256   (target <= 1.2x)")
        print(f"vial verify --full (first)   {full_m:7.3f} s   {full_m / sha_m:5.2f}x sha256")
        print(f"signatures + policy          {statistics.median(crypto) * 1000:7.1f} ms  (target < 100 ms)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
