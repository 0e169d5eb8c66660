"""Fixtures for vial.attest: an image in a store with a realistic build record (no builder needed)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from vial.buildinfo import BuildRecord, LayerRecord, write_record
from vial.lockfile import DebianPackage, Lock, LockedFile, LockInputs, PythonWheel
from vial.oci import ANNOTATION_LICENSES, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
from vial.store import Store


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


DEBS = [
    ("libc6", "2.36-9+deb12u10", "pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb"),
    ("python3.11-minimal", "3.11.2-6+deb12u6", "pool/main/p/python3.11/python3.11-minimal_3.11.2-6+deb12u6_amd64.deb"),
    ("libssl3", "3.0.17-1~deb12u2", "pool/main/o/openssl/libssl3_3.0.17-1~deb12u2_amd64.deb"),
    ("tzdata", "2025b-0+deb12u1", "pool/main/t/tzdata/tzdata_2025b-0+deb12u1_all.deb"),
    ("libgcc-s1", "12.2.0-14+deb12u1", "pool/main/g/gcc-12/libgcc-s1_12.2.0-14+deb12u1_amd64.deb"),
]
WHEELS = [
    ("numpy", "2.3.1", "numpy-2.3.1-cp311-cp311-manylinux_2_28_x86_64.whl"),
    ("rfc8785", "0.1.2", "rfc8785-0.1.2-py3-none-any.whl"),
    ("typing_extensions", "4.14.1", "typing_extensions-4.14.1-py3-none-any.whl"),
]


def realistic_lock() -> Lock:
    return Lock(
        inputs=LockInputs(
            base="debian:bookworm",
            variant="essential",
            mirror="http://deb.debian.org/debian",
            system_packages=["python3.11-minimal", "libssl3"],
            python_requirements=["numpy==2.3.1", "rfc8785"],
            python_version="3.11",
            python_platform="manylinux_2_28_x86_64",
        ),
        snapshot="20250701T000000Z",
        debian=[
            DebianPackage(
                name=n,
                version=v,
                architecture="all" if n == "tzdata" else "amd64",
                sha256=_h(f),
                size=1000 + i,
                filename=f,
            )
            for i, (n, v, f) in enumerate(DEBS)
        ],
        python=[
            PythonWheel(
                name=n,
                version=v,
                wheel=w,
                sha256=_h(w),
                size=2000 + i,
                url=f"https://files.pythonhosted.org/packages/xx/{w}",
            )
            for i, (n, v, w) in enumerate(WHEELS)
        ],
        files=[
            LockedFile(path="analysis.py", kind="code", sha256=_h("analysis.py"), size=812),
            LockedFile(path="run.sh", kind="code", sha256=_h("run.sh"), size=90, executable=True),
            LockedFile(path="data/measurements.csv", kind="data", sha256=_h("measurements.csv"), size=123456),
        ],
    )


@dataclass(frozen=True)
class BuiltImage:
    store: Store
    descriptor: Descriptor
    record: BuildRecord
    name: str

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    @property
    def manifest_path(self) -> Path:
        return self.store.blob_path(self.digest)


def make_image(store: Store, name: str = "demo:1.0", payload: bytes = b"layer-bytes") -> BuiltImage:
    layer = store.put_bytes(payload)
    config = ImageConfig(diff_ids=(layer,)).to_bytes()
    config_digest = store.put_bytes(config)
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_CONFIG, config_digest, len(config)),
        layers=(Descriptor(MEDIA_TYPE_LAYER_TAR, layer, len(payload)),),
        annotations={ANNOTATION_LICENSES: "MIT"},
    )
    descriptor = store.put_image(manifest)
    store.tag(name, descriptor)
    project, version = name.split(":", 1)
    record = BuildRecord(
        manifest_digest=descriptor.digest,
        config_digest=config_digest,
        project_name=project,
        project_version=version,
        spec_digest="sha256:" + _h("vial.toml"),
        lock_digest="sha256:" + _h("vial.lock"),
        source_date_epoch=1735689600,
        builder_version="0.1.0",
        started_on="2026-11-21T09:00:00Z",
        finished_on="2026-11-21T09:03:12Z",
        source_repository="https://github.com/example/demo",
        source_revision="4f0c1b8e2d6a9c3b7e1f5a2d8c4b6e0f9a1d3c5b",
        layers=(LayerRecord("files:code", layer, layer, len(payload), "sha256:" + _h("inputs")),),
        lock=json.loads(realistic_lock().model_dump_json()),
    )
    write_record(store.root, record)
    return BuiltImage(store, descriptor, record, name)


@pytest.fixture()
def built(tmp_path: Path) -> BuiltImage:
    return make_image(Store(tmp_path / "store"))


@pytest.fixture(scope="session")
def cosign(service_missing) -> str:  # type: ignore[no-untyped-def]
    """The cosign binary built from its Go module by scripts/services.d/40-cosign.sh."""
    gopath = os.environ.get("GOPATH", "/root/go")
    found = shutil.which("cosign") or (
        str(Path(gopath) / "bin" / "cosign") if (Path(gopath) / "bin" / "cosign").is_file() else None
    )
    if not found:
        service_missing("cosign is not installed (run scripts/services.sh)")
    return str(found)


@pytest.fixture()
def image_factory():  # type: ignore[no-untyped-def]
    """``make_image(store, name, payload)``: more images for tests that need two."""
    return make_image
