"""A CycloneDX 1.6 SBOM of an image (cyclonedx-python-lib), from its ``BuildRecord``.

Components: every Debian package (``pkg:deb/debian/NAME@VERSION?arch=...``) and Python
distribution (``pkg:pypi/NAME@VERSION``) of the lock, with version and SHA-256; code and data files
as ``file`` components. Licenses are set where known: the project's own (the image's
``org.opencontainers.image.licenses`` annotation) and any ``licenses`` passed by the caller; the lock
does not carry package licenses, so none are invented.

The document is deterministic: its serial number is derived from the image digest and its
timestamp is the build's finish time, so the same build gives the same SBOM bytes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from vial.attest.errors import AttestationError
from vial.attest.statements.provenance import DEFAULT_MIRROR, image_subject
from vial.attest.statements.statement import CYCLONEDX_BOM, Statement
from vial.buildinfo import BuildRecord

SBOM_NAMESPACE = uuid.UUID("6f1f4a5e-8c1e-4c5b-9a57-7669616c2e64")  # fixed: serial numbers derive from it


def _sha256(hexdigest: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=hexdigest.removeprefix("sha256:"))


def _component(
    name: str,
    version: str,
    purl: PackageURL,
    sha256_hex: str,
    license_expression: str | None,
    url: str,
    properties: list[Property],
) -> Component:
    """One locked package (a .deb or a wheel) as a CycloneDX library component."""
    return Component(
        name=name,
        version=version,
        type=ComponentType.LIBRARY,
        bom_ref=purl.to_string(),
        purl=purl,
        hashes=[_sha256(sha256_hex)],
        licenses=_licenses(license_expression),
        external_references=[ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url))],
        properties=properties,
    )


def _licenses(expression: str | None) -> list[Any]:
    if not expression:
        return []
    return [LicenseFactory().make_from_string(expression)]


def sbom_document(
    record: BuildRecord,
    project_license: str | None = None,
    licenses: Mapping[str, str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The CycloneDX JSON document (as a dict) for the image ``record`` describes.

    ``licenses`` maps a package name (Debian or PyPI, as locked) to an SPDX expression.
    """
    known = dict(licenses or {})
    lock = record.locked()
    subject = image_subject(record, name)
    image = Component(
        name=record.project_name,
        version=record.project_version,
        type=ComponentType.CONTAINER,
        bom_ref=subject.digest,
        hashes=[_sha256(subject.digest)],
        licenses=_licenses(project_license),
        purl=PackageURL(type="oci", name=record.project_name, version=subject.digest),
    )
    components: list[Component] = []
    mirror = (lock.inputs.mirror or DEFAULT_MIRROR).rstrip("/")
    for package in lock.debian:
        purl = PackageURL(
            type="deb",
            namespace="debian",
            name=package.name,
            version=package.version,
            qualifiers={"arch": package.architecture},
        )
        components.append(
            _component(
                package.name,
                package.version,
                purl,
                package.sha256,
                known.get(package.name),
                f"{mirror}/{package.filename}",
                [Property(name="vial:kind", value="deb")],
            )
        )
    for wheel in lock.python:
        purl = PackageURL(type="pypi", name=wheel.name, version=wheel.version)
        components.append(
            _component(
                wheel.name,
                wheel.version,
                purl,
                wheel.sha256,
                known.get(wheel.name),
                wheel.url,
                [Property(name="vial:kind", value="wheel"), Property(name="vial:wheel", value=wheel.wheel)],
            )
        )
    for locked in lock.files:
        components.append(
            Component(
                name=locked.path,
                type=ComponentType.FILE if locked.kind == "code" else ComponentType.DATA,
                bom_ref=f"file:{locked.path}",
                hashes=[_sha256(locked.sha256)],
                properties=[Property(name="vial:kind", value=locked.kind)],
            )
        )
    bom = Bom(
        components=components,
        serial_number=uuid.uuid5(SBOM_NAMESPACE, record.manifest_digest),
    )
    bom.metadata.component = image
    bom.metadata.timestamp = _parse_time(record.finished_on)
    bom.metadata.properties.add(Property(name="vial:builder", value=f"{record.builder_id}@{record.builder_version}"))
    # Every component is part of the image: record the dependency graph from the image's side.
    bom.register_dependency(image, components)
    text = JsonV1Dot6(bom).output_as_string()
    document: dict[str, Any] = json.loads(text)
    return document


def sbom_statement(
    record: BuildRecord,
    project_license: str | None = None,
    licenses: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Statement:
    return Statement(
        (image_subject(record, name),), CYCLONEDX_BOM, sbom_document(record, project_license, licenses, name)
    )


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AttestationError(f"build record: finished_on {value!r} is not an RFC 3339 time") from None
