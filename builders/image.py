"""``vial build``: from a project and its lock to an OCI image in the store.

Layers, bottom to top: the base (Debian root filesystem, or an OCI image's layers), Python
packages, code, data. Each layer is cached under the hash of everything it is a function of, so an
unchanged layer is never rebuilt; the config and manifest are canonical JSON, so the same inputs
give the same manifest digest anywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vial.builders.layers import debian, python
from vial.builders.layers.files import SelectedFile, file_entries
from vial.builders.layers.oci_base import import_base
from vial.builders.layers.tarball import COMPRESSOR_ID, LayerBlob, write_layer
from vial.builders.lock.locking import ProjectState, check_lock, lock_project, python_target, read_project
from vial.builders.project import SourceInfo, source_date_epoch, source_info
from vial.buildinfo import BuildRecord, LayerRecord, write_record
from vial.digest import sha256_bytes, sha256_file
from vial.fsutil import atomic_write_bytes
from vial.lockfile import Lock, LockedFile, read_lock, stale_reasons
from vial.oci import (
    ANNOTATION_AUTHORS,
    ANNOTATION_CREATED,
    ANNOTATION_DESCRIPTION,
    ANNOTATION_LICENSES,
    ANNOTATION_REVISION,
    ANNOTATION_SOURCE,
    ANNOTATION_TITLE,
    ANNOTATION_VERSION,
    MEDIA_TYPE_CONFIG,
    MEDIA_TYPE_MANIFEST,
    Descriptor,
    ImageConfig,
    Manifest,
    canonical_json,
)
from vial.progress import progress_logger
from vial.store import Store
from vial.version import __version__

_progress = progress_logger(__name__)

LAYER_FORMAT = 1  # bump when the packing rules change: every cached layer is then rebuilt
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8")


@dataclass(frozen=True)
class BuildResult:
    """The image a build stored: its manifest digest, name, layers, and which layers were rebuilt."""

    digest: str
    config_digest: str
    size: int
    name: str
    layers: tuple[LayerRecord, ...]
    rebuilt: tuple[str, ...]  # builders whose layer was not in the cache
    output: Path | None = None  # where the image was also exported, if anywhere

    def to_json(self) -> dict[str, Any]:
        """``digest``, ``config``, ``name``, ``size``, ``layers``, ``layer_details``, ``rebuilt`` (and
        ``output`` when exported), as ``vial build --json`` prints them."""
        data: dict[str, Any] = {
            "digest": self.digest,
            "config": self.config_digest,
            "name": self.name,
            "size": self.size,
            "layers": [layer.digest for layer in self.layers],
            "layer_details": [
                {"builder": layer.builder, "digest": layer.digest, "diff_id": layer.diff_id, "size": layer.size}
                for layer in self.layers
            ],
            "rebuilt": list(self.rebuilt),
        }
        if self.output is not None:
            data["output"] = str(self.output)
        return data


def rfc3339(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _LayerCache:
    """Layer blobs by the hash of their inputs, under ``cache/layers`` in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.directory = store.cache_dir / "layers"
        self.rebuilt: list[str] = []

    def get_or_build(self, builder: str, material: dict[str, Any], produce: Callable[[], LayerBlob]) -> LayerRecord:
        key = sha256_bytes(
            canonical_json({"builder": builder, "format": LAYER_FORMAT, "compressor": COMPRESSOR_ID, **material})
        )
        entry = self.directory / (key.split(":", 1)[1] + ".json")
        try:
            cached = json.loads(entry.read_text())
            if self.store.has_blob(cached["digest"]):
                return LayerRecord(builder, cached["digest"], cached["diff_id"], cached["size"], key)
        except (FileNotFoundError, ValueError, KeyError):
            pass
        blob = produce()
        self.rebuilt.append(builder)
        atomic_write_bytes(entry, canonical_json({"digest": blob.digest, "diff_id": blob.diff_id, "size": blob.size}))
        return LayerRecord(builder, blob.digest, blob.diff_id, blob.size, key)


_Job = tuple[str, dict[str, Any], Callable[[], LayerBlob]]  # (builder, cache material, how to build it)


@dataclass
class _LayerPlan:
    """What the image's layers will be: an imported OCI base's layers as they are, then one job a
    layer vial builds (or finds in its layer cache), in image order."""

    base_layers: list[LayerRecord] = field(default_factory=list)
    base_config: ImageConfig | None = None
    jobs: list[_Job] = field(default_factory=list)


def _current_lock(state: ProjectState, store: Store, locked: bool, log: Callable[[str], None]) -> Lock:
    """The lock to build from: checked as it is with ``locked``, else relocked if missing or stale."""
    if locked:
        return check_lock(state)
    current = read_lock(state.lock_path)
    if current is None or stale_reasons(current, state.inputs, state.files):
        return lock_project(state, store, log=log)
    return current


def _debian_job(state: ProjectState, store: Store, lock: Lock, sde: int, log: Callable[[str], None]) -> _Job:
    spec = state.spec
    material = {
        "suite": spec.base.suite,
        "variant": spec.base.variant,
        "architecture": spec.base.architecture,
        "mirror": spec.base.mirror,
        "include": spec.system.packages,
        "debs": [p.sha256 for p in lock.debian],
        "sde": sde,
        "tool": debian.mmdebstrap_identity(),
        "options": debian.ROOTFS_OPTIONS,
    }
    return (
        "debian",
        material,
        lambda: debian.build_layer(store, spec.base, spec.system.packages, lock.debian, lock.snapshot, sde, log),
    )


def _python_job(state: ProjectState, store: Store, lock: Lock, sde: int, log: Callable[[str], None]) -> _Job:
    spec = state.spec
    version, _platform = python_target(spec, lock.debian, spec.base.architecture)
    site = python.site_packages(version, spec.python.site_packages)
    material = {
        "wheels": [w.sha256 for w in lock.python],
        "python": version,
        "interpreter": spec.python.interpreter,
        "site": site,
        "sde": sde,
        "tool": python.installer_version(),
    }
    return (
        "python",
        material,
        lambda: python.build_layer(store, lock.python, version, spec.python.interpreter, site, sde, log),
    )


def _files_jobs(state: ProjectState, store: Store, lock: Lock, sde: int, log: Callable[[str], None]) -> list[_Job]:
    workdir = state.spec.run.workdir
    jobs: list[_Job] = []
    for kind in ("code", "data"):
        selected = [s for s in state.selected if s.kind == kind]
        if not selected:
            continue
        locked_files = lock.files_of(kind)
        material = {"files": [(f.path, f.sha256, f.executable) for f in locked_files], "workdir": workdir, "sde": sde}
        jobs.append(
            (
                f"files:{kind}",
                material,
                functools.partial(_files_layer, store, selected, locked_files, workdir, sde, kind, log),
            )
        )
    return jobs


def _plan_layers(state: ProjectState, store: Store, lock: Lock, sde: int, log: Callable[[str], None]) -> _LayerPlan:
    spec = state.spec
    plan = _LayerPlan()
    if spec.base.kind == "debian":
        plan.jobs.append(_debian_job(state, store, lock, sde, log))
    else:
        base = import_base(store, (state.directory / spec.base.oci_path).resolve(), spec.base.oci_digest)
        plan.base_config = base.config
        for descriptor, diff_id in zip(base.layers, base.diff_ids, strict=True):
            plan.base_layers.append(
                LayerRecord(
                    "oci", descriptor.digest, diff_id, descriptor.size, descriptor.digest, descriptor.media_type
                )
            )
    if lock.python:
        plan.jobs.append(_python_job(state, store, lock, sde, log))
    plan.jobs += _files_jobs(state, store, lock, sde, log)
    return plan


def _assemble(
    state: ProjectState,
    store: Store,
    lock: Lock,
    layers: list[LayerRecord],
    base_config: ImageConfig | None,
    sde: int,
    source: SourceInfo,
    started: float,
) -> tuple[Descriptor, str, int, str]:
    """Write the config and manifest, name the image, record the build; returns (manifest
    descriptor, config digest, config size, name)."""
    spec = state.spec
    config = _config(state, layers, base_config, sde, source)
    config_bytes = config.to_bytes()
    config_digest = store.put_bytes(config_bytes)
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_CONFIG, config_digest, len(config_bytes)),
        layers=tuple(Descriptor(layer.media_type, layer.digest, layer.size) for layer in layers),
        annotations=_annotations(state, source, sde),
    )
    descriptor = store.put_image(manifest)
    name = f"{spec.project.name}:{spec.project.version}"
    store.tag(name, Descriptor(MEDIA_TYPE_MANIFEST, descriptor.digest, descriptor.size))
    finished = time.time()
    write_record(
        store.root,
        BuildRecord(
            manifest_digest=descriptor.digest,
            config_digest=config_digest,
            project_name=spec.project.name,
            project_version=spec.project.version,
            spec_digest=sha256_file(state.directory / "vial.toml")[0],
            lock_digest=sha256_file(state.lock_path)[0],
            source_date_epoch=sde,
            builder_version=__version__,
            started_on=rfc3339(int(started)),
            finished_on=rfc3339(int(finished)),
            source_repository=source.repository,
            source_revision=source.revision,
            layers=tuple(layers),
            lock=lock.model_dump(),
        ),
    )
    return descriptor, config_digest, len(config_bytes), name


def build_project(
    project_dir: Path, store: Store, locked: bool = False, log: Callable[[str], None] = _progress
) -> BuildResult:
    started = time.time()
    state = read_project(project_dir, store)
    lock = _current_lock(state, store, locked, log)
    source = source_info(state.spec, state.directory)
    sde = source_date_epoch(state.spec, source)
    cache = _LayerCache(store)
    plan = _plan_layers(state, store, lock, sde, log)
    # Layers are independent: build them side by side (mmdebstrap is a subprocess; zstd, hashing
    # and zlib release the GIL), keeping their order in the image.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(cache.get_or_build, *job) for job in plan.jobs]
        layers = plan.base_layers + [future.result() for future in futures]
    descriptor, config_digest, config_size, name = _assemble(
        state, store, lock, layers, plan.base_config, sde, source, started
    )
    return BuildResult(
        digest=descriptor.digest,
        config_digest=config_digest,
        size=descriptor.size + config_size + sum(layer.size for layer in layers),
        name=name,
        layers=tuple(layers),
        rebuilt=tuple(builder for builder, _, _ in plan.jobs if builder in cache.rebuilt),  # in layer order
    )


def _files_layer(
    store: Store,
    selected: list[SelectedFile],
    locked_files: list[LockedFile],
    workdir: str,
    sde: int,
    kind: str,
    log: Callable[[str], None],
) -> LayerBlob:
    log(f"packing the {kind} layer ({len(selected)} files)")
    return write_layer(store, file_entries(selected, locked_files, workdir), sde)


def _config(
    state: ProjectState,
    layers: list[LayerRecord],
    base_config: ImageConfig | None,
    sde: int,
    source: SourceInfo,
) -> ImageConfig:
    spec = state.spec
    env: dict[str, str] = {}
    for item in base_config.env if base_config else DEFAULT_ENV:
        key, _, value = item.partition("=")
        env[key] = value
    env.update(spec.run.env)
    created = rfc3339(sde)
    # History names each layer's builder only: the cache key is vial's internal business and
    # must not reach the image digest.
    history = tuple({"created": created, "created_by": f"vial {layer.builder} layer"} for layer in layers)
    labels = _annotations(state, source, sde)
    return ImageConfig(
        diff_ids=tuple(layer.diff_id for layer in layers),
        env=tuple(f"{k}={v}" for k, v in env.items()),
        cmd=tuple(spec.run.cmd) or (base_config.cmd if base_config else ()),
        entrypoint=tuple(spec.run.entrypoint) or (base_config.entrypoint if base_config else ()),
        workdir=spec.run.workdir,
        labels=labels,
        created=created,
        architecture=spec.base.architecture,
        history=history,
    )


def _annotations(state: ProjectState, source: SourceInfo, sde: int) -> dict[str, str]:
    project = state.spec.project
    out = {
        ANNOTATION_TITLE: project.name,
        ANNOTATION_VERSION: project.version,
        ANNOTATION_CREATED: rfc3339(sde),
    }
    if project.description:
        out[ANNOTATION_DESCRIPTION] = project.description
    if project.license:
        out[ANNOTATION_LICENSES] = project.license
    if project.authors:
        out[ANNOTATION_AUTHORS] = ", ".join(
            f"{a.name} (https://orcid.org/{a.orcid})" if a.orcid else a.name for a in project.authors
        )
    if source.repository:
        out[ANNOTATION_SOURCE] = source.repository
    if source.revision:
        out[ANNOTATION_REVISION] = source.revision
    return out
