"""A publisher process for the crash and concurrency tests (run as ``python -m log_publisher``).

    python -m log_publisher HOME NAME PREFIX COUNT [wait|go] [SALT]

Publishes COUNT new images as NAME:PREFIX.0, NAME:PREFIX.1, ... into the store and log at HOME,
printing ``ready`` once set up and ``published NAME:VERSION DIGEST`` after each release is
committed (or ``conflict NAME:VERSION`` when the version was taken). With ``wait`` it starts only
after reading a line on stdin, so several publishers can be started together. SALT, if given, is
mixed into each image's content (racing publishers of one version with different content).
"""

from __future__ import annotations

import sys
from pathlib import Path

from vial.oci import MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
from vial.registry.log.releases import ReleaseConflictError, ReleaseLog
from vial.store import Store


def main() -> None:
    home, name, prefix, count = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = Store(home)
    log = ReleaseLog(home)
    print("ready", flush=True)
    if len(sys.argv) > 5 and sys.argv[5] == "wait":
        sys.stdin.readline()
    salt = sys.argv[6] if len(sys.argv) > 6 else ""
    for i in range(count):
        content = f"{name} {prefix} {i} {salt}".encode()
        layer = store.put_bytes(content)
        config = ImageConfig(diff_ids=(layer,)).to_bytes()
        manifest = Manifest(
            config=Descriptor(MEDIA_TYPE_CONFIG, store.put_bytes(config), len(config)),
            layers=(Descriptor(MEDIA_TYPE_LAYER_TAR, layer, len(content)),),
        )
        digest = store.put_image(manifest).digest
        version = f"{prefix}.{i}"
        try:
            log.publish(store, digest, name, version)
        except ReleaseConflictError:
            print(f"conflict {name}:{version}", flush=True)
            continue
        print(f"published {name}:{version} {digest}", flush=True)


if __name__ == "__main__":
    main()
