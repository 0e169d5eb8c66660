"""Benchmark of the release log: proof sizes and times as the log grows to 10,000+ releases.

    .venv/bin/python bench/log.py [--max 10000] [--home DIR]

For each tree size (10, 100, 1,000, 10,000 by default) it reports, over random records:
the inclusion proof's length in hashes and bytes, how many stored hashes were read to build it,
and the time to build and to verify it; the consistency proof from half the size; and, at the
largest size, the time of one ``publish`` (which also scans the log for the version) and ``show``.
Results are printed and written to bench/out/log.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from vial.oci import MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
from vial.registry.log import merkle as tlog
from vial.registry.log.releases import Release, ReleaseLog
from vial.store import Store

SAMPLES = 200


def _release(i: int) -> Release:
    digest = "sha256:" + f"{i:064x}"
    return Release(name=f"bench{i % 50}", version=f"1.{i}", manifest_digest=digest, published="2026-01-01T00:00:00Z")


def _measure(log: ReleaseLog, rng: random.Random) -> dict[str, float | int]:
    head = log.head()
    size = head.size
    reads = [0]
    disk = log.storage.hash_reader(size)

    def counting(indexes: Sequence[int]) -> list[bytes]:
        reads[0] += len(indexes)
        return disk(indexes)

    prove_times, verify_times, lengths, read_counts = [], [], [], []
    for _ in range(SAMPLES):
        index = rng.randrange(size)
        leaf = tlog.leaf_hash(log.storage.record(index, size))
        reads[0] = 0
        start = time.perf_counter()
        proof = tlog.inclusion_proof(index, size, counting)
        prove_times.append(time.perf_counter() - start)
        read_counts.append(reads[0])
        start = time.perf_counter()
        tlog.verify_inclusion(index, size, leaf, proof, head.checkpoint.root)
        verify_times.append(time.perf_counter() - start)
        lengths.append(len(proof))
    old = max(1, size // 2 + 1)
    reads[0] = 0
    consistency = tlog.consistency_proof(old, size, counting)
    old_root = tlog.tree_hash(old, disk)
    tlog.verify_consistency(old, size, old_root, head.checkpoint.root, consistency)
    return {
        "size": size,
        "inclusion_hashes_max": max(lengths),
        "inclusion_hashes_mean": round(statistics.mean(lengths), 2),
        "inclusion_bytes_max": max(lengths) * tlog.HASH_SIZE,
        "stored_hashes_read_max": max(read_counts),
        "prove_us_median": round(statistics.median(prove_times) * 1e6, 1),
        "verify_us_median": round(statistics.median(verify_times) * 1e6, 1),
        "consistency_hashes": len(consistency),
        "log2_size": round(size.bit_length() - 1 + (0 if size & (size - 1) == 0 else 1), 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=10_000)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="vial-bench-log-"))
    log = ReleaseLog(home)
    rng = random.Random(1)
    sizes = [s for s in (10, 100, 1_000, 10_000, 100_000) if s <= args.max]
    if args.max not in sizes:
        sizes.append(args.max)
    rows = []
    done = 0
    build_seconds = 0.0
    for size in sizes:
        start = time.perf_counter()
        for chunk in range(done, size, 1000):
            log.append_releases([_release(i) for i in range(chunk, min(size, chunk + 1000))])
        build_seconds += time.perf_counter() - start
        done = size
        rows.append(_measure(log, rng))

    # One real publish and one show at the largest size (both scan the log for NAME:VERSION).
    store = Store(home)
    layer = store.put_bytes(b"bench layer")
    config = ImageConfig(diff_ids=(layer,)).to_bytes()
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_CONFIG, store.put_bytes(config), len(config)),
        layers=(Descriptor(MEDIA_TYPE_LAYER_TAR, layer, 11),),
    )
    digest = store.put_image(manifest).digest
    start = time.perf_counter()
    log.publish(store, digest, "bench-final", "1.0")
    publish_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    proven = log.show("bench-final", "1.0")
    show_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    audit = log.audit()
    audit_ms = (time.perf_counter() - start) * 1e3

    header = ("size", "log2", "incl. hashes (max/mean)", "bytes", "hashes read", "prove µs", "verify µs", "consist.")
    print(" | ".join(header))
    for r in rows:
        print(
            f"{r['size']:>7} | {r['log2_size']:>4.0f} | "
            f"{r['inclusion_hashes_max']:>3} / {r['inclusion_hashes_mean']:<6} | "
            f"{r['inclusion_bytes_max']:>5} | {r['stored_hashes_read_max']:>11} | {r['prove_us_median']:>8} | "
            f"{r['verify_us_median']:>9} | {r['consistency_hashes']:>8}"
        )
    print(
        f"building {done} releases in batches of 1000: {build_seconds:.2f} s; "
        f"publish at {done + 1}: {publish_ms:.1f} ms; show (scan + proof + verify): {show_ms:.1f} ms "
        f"({len(proven.proof)} hashes); full audit (rehash everything): {audit_ms:.0f} ms for {audit.size} records"
    )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "log.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "publish_ms": publish_ms,
                "show_ms": show_ms,
                "audit_ms": audit_ms,
                "build_s": build_seconds,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
