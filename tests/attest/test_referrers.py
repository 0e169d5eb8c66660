"""Attestations as OCI referrers in the store: listed in index.json, found by subject, kept by tags."""

from __future__ import annotations

import json

from vial.attest.referrers import attach_bundle, list_referrers, read_bundle
from vial.attest.signing.bundle import BUNDLE_V03
from vial.attest.signing.keys import generate
from vial.attest.signing.sign import KeySigner
from vial.attest.statements.provenance import provenance_statement
from vial.attest.statements.sbom import sbom_statement
from vial.attest.statements.statement import CYCLONEDX_BOM, SLSA_PROVENANCE_V1
from vial.oci import MEDIA_TYPE_EMPTY
from vial.store import Store


def test_referrers_are_found_by_subject_and_type(built, image_factory) -> None:  # type: ignore[no-untyped-def]
    signer = KeySigner(generate())
    other = image_factory(built.store, "other:2.0", payload=b"other")
    prov = signer.sign(provenance_statement(built.record))
    attach_bundle(built.store, built.descriptor, prov, SLSA_PROVENANCE_V1, "key x", created="2026-11-21T10:00:00Z")
    attach_bundle(
        built.store,
        built.descriptor,
        signer.sign(sbom_statement(built.record)),
        CYCLONEDX_BOM,
        created="2026-11-21T09:00:00Z",
    )
    attach_bundle(built.store, other.descriptor, signer.sign(provenance_statement(other.record)), SLSA_PROVENANCE_V1)
    mine = list_referrers(built.store, built.digest)
    assert [r.predicate_type for r in mine] == [CYCLONEDX_BOM, SLSA_PROVENANCE_V1]  # oldest first
    only = list_referrers(built.store, built.digest, SLSA_PROVENANCE_V1)
    assert len(only) == 1 and read_bundle(built.store, only[0]) == prov and only[0].signer == "key x"
    manifest = only[0].manifest
    assert manifest.artifact_type == BUNDLE_V03 and manifest.config.media_type == MEDIA_TYPE_EMPTY
    assert manifest.subject is not None and manifest.subject.size == built.descriptor.size
    assert len(list_referrers(built.store, other.digest)) == 1


def test_attaching_twice_lists_once_and_tags_keep_referrers(built) -> None:  # type: ignore[no-untyped-def]
    raw = KeySigner(generate()).sign(provenance_statement(built.record))
    one = attach_bundle(built.store, built.descriptor, raw, SLSA_PROVENANCE_V1, created="2026-11-21T10:00:00Z")
    two = attach_bundle(built.store, built.descriptor, raw, SLSA_PROVENANCE_V1, created="2026-11-21T10:00:00Z")
    assert one.digest == two.digest
    index = json.loads((built.store.root / "index.json").read_bytes())
    assert [m["digest"] for m in index["manifests"]].count(one.digest) == 1
    built.store.tag("demo:1.1", built.descriptor)  # retagging rewrites index.json
    assert [r.digest for r in list_referrers(Store(built.store.root), built.digest)] == [one.digest]
    assert list((built.store.tmp_dir).iterdir()) == []
