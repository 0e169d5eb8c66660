"""What a build really did, recorded beside the image so that provenance can be written from it.

``vial build`` writes one ``BuildRecord`` per image (JSON, under ``records/builds/`` in the store);
``vial.attest`` turns it, with the lock it names, into SLSA provenance and an SBOM.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vial.errors import NotFoundError
from vial.fsutil import atomic_write_bytes
from vial.lockfile import Lock

BUILD_TYPE = "https://vial.dev/build/oci-image/v1"
BUILDER_ID = "https://vial.dev/builder/local/v1"


@dataclass(frozen=True)
class LayerRecord:
    builder: str  # "debian", "python", "files:code", "files:data", "oci"
    digest: str  # the compressed blob's digest (in the manifest)
    diff_id: str  # the uncompressed tar's digest (in the config)
    size: int
    inputs_digest: str  # the layer cache key: hash of everything the layer is a function of
    media_type: str = "application/vnd.oci.image.layer.v1.tar+zstd"


@dataclass(frozen=True)
class BuildRecord:
    manifest_digest: str
    config_digest: str
    project_name: str
    project_version: str
    spec_digest: str  # sha256 of vial.toml's bytes
    lock_digest: str  # sha256 of vial.lock's bytes
    source_date_epoch: int
    builder_version: str
    started_on: str  # RFC 3339, UTC
    finished_on: str
    source_repository: str | None = None
    source_revision: str | None = None
    layers: tuple[LayerRecord, ...] = ()
    lock: dict[str, Any] = field(default_factory=dict)  # the lock as resolved, for provenance
    builder_id: str = BUILDER_ID
    build_type: str = BUILD_TYPE

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=1).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> BuildRecord:
        data = json.loads(raw)
        data["layers"] = tuple(LayerRecord(**layer) for layer in data.get("layers", ()))
        return cls(**data)

    def locked(self) -> Lock:
        return Lock.model_validate(self.lock)


def record_path(store_root: Path, manifest_digest: str) -> Path:
    return Path(store_root) / "records" / "builds" / (manifest_digest.split(":", 1)[1] + ".json")


def write_record(store_root: Path, record: BuildRecord) -> Path:
    path = record_path(store_root, record.manifest_digest)
    atomic_write_bytes(path, record.to_bytes())
    return path


def read_record(store_root: Path, manifest_digest: str) -> BuildRecord:
    path = record_path(store_root, manifest_digest)
    try:
        return BuildRecord.from_bytes(path.read_bytes())
    except FileNotFoundError:
        raise NotFoundError(f"no build record for {manifest_digest} in {store_root} (was it built here?)") from None
