"""OCI image-spec v1.1 data models and their canonical JSON encoding.

Models are plain data (no I/O). ``canonical_json`` fixes key order and spacing so that the same
model always serializes to the same bytes, hence the same digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vial.digest import check_digest, sha256_bytes
from vial.errors import IntegrityError

MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPE_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TYPE_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MEDIA_TYPE_EMPTY = "application/vnd.oci.empty.v1+json"
MEDIA_TYPE_SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"  # an attestation referrer's artifactType
LAYER_MEDIA_TYPES = (MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_ZSTD)

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_TITLE = "org.opencontainers.image.title"
ANNOTATION_VERSION = "org.opencontainers.image.version"
ANNOTATION_DESCRIPTION = "org.opencontainers.image.description"
ANNOTATION_LICENSES = "org.opencontainers.image.licenses"
ANNOTATION_AUTHORS = "org.opencontainers.image.authors"
ANNOTATION_SOURCE = "org.opencontainers.image.source"
ANNOTATION_REVISION = "org.opencontainers.image.revision"
ANNOTATION_PREDICATE_TYPE = "dev.sigstore.bundle.predicateType"  # on a Sigstore bundle referrer

OCI_LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    platform: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.platform:
            out["platform"] = dict(self.platform)
        return out

    @classmethod
    def from_json(cls, data: Any, what: str = "descriptor") -> Descriptor:
        if not isinstance(data, dict):
            raise IntegrityError(f"{what}: not a JSON object")
        try:
            media_type = str(data["mediaType"])
            digest = check_digest(str(data["digest"]), f"{what}.digest")
            size = data["size"]
        except KeyError as missing:
            raise IntegrityError(f"{what}: missing field {missing}") from None
        if not isinstance(size, int) or size < 0:
            raise IntegrityError(f"{what}.size: not a non-negative integer")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            annotations=dict(data.get("annotations") or {}),
            artifact_type=data.get("artifactType"),
            platform=data.get("platform"),
        )

    def with_annotations(self, annotations: dict[str, str]) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size, annotations, self.artifact_type, self.platform)


@dataclass(frozen=True)
class Manifest:
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_MANIFEST,
            "config": self.config.to_json(),
            "layers": [layer.to_json() for layer in self.layers],
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.subject:
            out["subject"] = self.subject.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @property
    def digest(self) -> str:
        return sha256_bytes(self.to_bytes())

    @classmethod
    def from_bytes(cls, raw: bytes, what: str = "manifest") -> Manifest:
        data = _load_object(raw, what)
        if data.get("mediaType", MEDIA_TYPE_MANIFEST) != MEDIA_TYPE_MANIFEST:
            raise IntegrityError(f"{what}: unsupported mediaType {data.get('mediaType')!r}")
        layers = data.get("layers")
        if not isinstance(layers, list):
            raise IntegrityError(f"{what}.layers: not a list")
        subject = data.get("subject")
        return cls(
            config=Descriptor.from_json(data.get("config"), f"{what}.config"),
            layers=tuple(Descriptor.from_json(item, f"{what}.layers[{i}]") for i, item in enumerate(layers)),
            annotations=dict(data.get("annotations") or {}),
            subject=Descriptor.from_json(subject, f"{what}.subject") if subject else None,
            artifact_type=data.get("artifactType"),
        )


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config vial writes and reads."""

    diff_ids: tuple[str, ...]
    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    workdir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    created: str | None = None
    architecture: str = "amd64"
    os: str = "linux"
    history: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.env:
            config["Env"] = list(self.env)
        if self.cmd:
            config["Cmd"] = list(self.cmd)
        if self.entrypoint:
            config["Entrypoint"] = list(self.entrypoint)
        if self.workdir:
            config["WorkingDir"] = self.workdir
        if self.labels:
            config["Labels"] = dict(self.labels)
        out: dict[str, Any] = {
            "architecture": self.architecture,
            "os": self.os,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": list(self.diff_ids)},
        }
        if self.created:
            out["created"] = self.created
        if self.history:
            out["history"] = [dict(item) for item in self.history]
        return out

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_bytes(cls, raw: bytes, what: str = "config") -> ImageConfig:
        data = _load_object(raw, what)
        rootfs = data.get("rootfs") or {}
        diff_ids = rootfs.get("diff_ids")
        if not isinstance(diff_ids, list):
            raise IntegrityError(f"{what}.rootfs.diff_ids: not a list")
        config = data.get("config") or {}
        return cls(
            diff_ids=tuple(check_digest(str(d), f"{what}.rootfs.diff_ids") for d in diff_ids),
            env=tuple(config.get("Env") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            entrypoint=tuple(config.get("Entrypoint") or ()),
            workdir=str(config.get("WorkingDir") or ""),
            labels=dict(config.get("Labels") or {}),
            created=data.get("created"),
            architecture=str(data.get("architecture", "amd64")),
            os=str(data.get("os", "linux")),
            history=tuple(data.get("history") or ()),
        )


@dataclass(frozen=True)
class Index:
    manifests: tuple[Descriptor, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_INDEX,
            "manifests": [m.to_json() for m in self.manifests],
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_bytes(cls, raw: bytes, what: str = "index.json") -> Index:
        data = _load_object(raw, what)
        manifests = data.get("manifests") or []
        if not isinstance(manifests, list):
            raise IntegrityError(f"{what}.manifests: not a list")
        return cls(tuple(Descriptor.from_json(m, f"{what}.manifests[{i}]") for i, m in enumerate(manifests)))


def _load_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise IntegrityError(f"{what}: not a JSON object")
    return data
