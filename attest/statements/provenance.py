"""SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance) from a ``BuildRecord``.

Every input the lock resolved becomes a ``resolvedDependencies`` entry with its sha256: the base,
each Debian package (``pkg:deb`` purl), each Python wheel (``pkg:pypi`` purl), each code and data
file. External parameters are what a user chose: the spec (by digest) and the source checkout.
"""

from __future__ import annotations

from typing import Any

from packageurl import PackageURL

from vial.attest.statements.statement import SLSA_PROVENANCE_V1, Statement, Subject
from vial.buildinfo import BuildRecord
from vial.lockfile import DebianPackage, Lock, LockedFile, PythonWheel

DEFAULT_MIRROR = "http://deb.debian.org/debian"


def deb_purl(package: DebianPackage) -> str:
    return PackageURL(
        type="deb",
        namespace="debian",
        name=package.name,
        version=package.version,
        qualifiers={"arch": package.architecture},
    ).to_string()


def pypi_purl(wheel: PythonWheel) -> str:
    # packageurl normalizes PyPI names as the purl spec says (lowercase, '_' -> '-').
    return PackageURL(type="pypi", name=wheel.name, version=wheel.version).to_string()


def _sha256_digest(value: str) -> dict[str, str]:
    return {"sha256": value.split(":", 1)[1] if value.startswith("sha256:") else value}


def resolved_dependencies(lock: Lock, record: BuildRecord | None = None) -> list[dict[str, Any]]:
    """One ResourceDescriptor per locked input, in a stable order (base, debs, wheels, files)."""
    out: list[dict[str, Any]] = []
    if record is not None and record.source_repository and record.source_revision:
        out.append(
            {
                "name": "source",
                "uri": f"git+{record.source_repository}@{record.source_revision}",
                "digest": {"gitCommit": record.source_revision},
            }
        )
    inputs = lock.inputs
    if lock.oci_base is not None:
        out.append(
            {
                "name": "base",
                "uri": f"oci:{lock.oci_base.path}",
                "digest": _sha256_digest(lock.oci_base.digest),
                "annotations": {"kind": "oci-base"},
            }
        )
    else:
        base: dict[str, Any] = {
            "name": "base",
            "uri": inputs.base,
            "annotations": {"kind": "debian-base", "variant": inputs.variant, "architecture": inputs.architecture},
        }
        if lock.snapshot:
            base["annotations"]["snapshot"] = lock.snapshot
        out.append(base)
    mirror = (inputs.mirror or DEFAULT_MIRROR).rstrip("/")
    for package in lock.debian:
        out.append(
            {
                "name": package.deb_name,
                "uri": deb_purl(package),
                "digest": {"sha256": package.sha256},
                "downloadLocation": f"{mirror}/{package.filename}",
                "annotations": {"kind": "deb", "size": package.size},
            }
        )
    for wheel in lock.python:
        entry: dict[str, Any] = {
            "name": wheel.wheel,
            "uri": pypi_purl(wheel),
            "digest": {"sha256": wheel.sha256},
            "downloadLocation": wheel.url,
            "annotations": {"kind": "wheel"},
        }
        if wheel.size is not None:
            entry["annotations"]["size"] = wheel.size
        out.append(entry)
    for locked in lock.files:
        out.append(_file_descriptor(locked))
    return out


def _file_descriptor(locked: LockedFile) -> dict[str, Any]:
    return {
        "name": locked.path,
        "digest": {"sha256": locked.sha256},
        "annotations": {"kind": locked.kind, "size": locked.size, "executable": locked.executable},
    }


def provenance_predicate(record: BuildRecord) -> dict[str, Any]:
    lock = record.locked()
    external: dict[str, Any] = {
        "spec": {"path": "vial.toml", "digest": _sha256_digest(record.spec_digest)},
        "lock": {"path": "vial.lock", "digest": _sha256_digest(record.lock_digest)},
        "project": {"name": record.project_name, "version": record.project_version},
    }
    if record.source_repository:
        external["source"] = {"repository": record.source_repository, "revision": record.source_revision}
    return {
        "buildDefinition": {
            "buildType": record.build_type,
            "externalParameters": external,
            "internalParameters": {
                "sourceDateEpoch": record.source_date_epoch,
                "architecture": lock.inputs.architecture,
            },
            "resolvedDependencies": resolved_dependencies(lock, record),
        },
        "runDetails": {
            "builder": {"id": record.builder_id, "version": {"vial": record.builder_version}},
            "metadata": {
                "invocationId": f"{record.manifest_digest}@{record.started_on}",
                "startedOn": record.started_on,
                "finishedOn": record.finished_on,
            },
            "byproducts": [
                {
                    "name": f"layer:{layer.builder}",
                    "digest": _sha256_digest(layer.digest),
                    "annotations": {"diffId": layer.diff_id, "size": layer.size, "inputsDigest": layer.inputs_digest},
                }
                for layer in record.layers
            ],
        },
    }


def image_subject(record: BuildRecord, name: str | None = None) -> Subject:
    return Subject(name or f"{record.project_name}:{record.project_version}", record.manifest_digest)


def provenance_statement(record: BuildRecord, name: str | None = None) -> Statement:
    return Statement((image_subject(record, name),), SLSA_PROVENANCE_V1, provenance_predicate(record))


def compare_with_lock(predicate: dict[str, Any], lock: Lock) -> list[str]:
    """Every locked .deb, wheel and file that the provenance omits or records with another sha256.

    An empty list means the provenance accounts for the whole lock.
    """
    recorded: dict[str, set[str]] = {}
    for entry in predicate.get("buildDefinition", {}).get("resolvedDependencies", []):
        recorded.setdefault(str(entry.get("name")), set()).add(str(entry.get("digest", {}).get("sha256")))
    problems: list[str] = []
    expected = [(p.deb_name, p.sha256, "deb") for p in lock.debian]
    expected += [(w.wheel, w.sha256, "wheel") for w in lock.python]
    expected += [(f.path, f.sha256, f.kind) for f in lock.files]
    for name, sha256, kind in expected:
        if name not in recorded:
            problems.append(f"{kind} {name}: missing from the provenance")
        elif sha256 not in recorded[name]:
            problems.append(f"{kind} {name}: provenance has sha256 {sorted(recorded[name])}, lock has {sha256}")
    if lock.oci_base is not None and lock.oci_base.digest.removeprefix("sha256:") not in recorded.get("base", set()):
        problems.append(f"base {lock.oci_base.path}: missing or with another digest")
    return problems
