"""Statements and predicates: provenance, SBOM, test-result and reproduction, built from a build record."""

from __future__ import annotations

import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from google.protobuf import json_format
from in_toto_attestation.v1 import statement as proto_statement
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor

from vial.attest.errors import AttestationError
from vial.attest.statements.predicates import (
    Rebuild,
    make_test_result_predicate,
    reproduction_statement,
    test_result_statement,
)
from vial.attest.statements.provenance import provenance_statement
from vial.attest.statements.sbom import sbom_document, sbom_statement
from vial.attest.statements.statement import (
    CYCLONEDX_BOM,
    SLSA_PROVENANCE_V1,
    TEST_RESULT_V01,
    VIAL_REPRODUCTION_V1,
    parse_statement,
)
from vial.buildinfo import BUILD_TYPE, BUILDER_ID


def test_provenance_lists_every_deb_and_wheel_with_matching_hashes(built) -> None:
    lock = built.record.locked()
    statement = provenance_statement(built.record, built.name)
    predicate = json.loads(statement.to_bytes())["predicate"]
    deps = predicate["buildDefinition"]["resolvedDependencies"]
    by_name = {d["name"]: d for d in deps}
    assert len(lock.debian) == 5 and len(lock.python) == 3
    for package in lock.debian:
        entry = by_name[package.deb_name]
        assert entry["digest"] == {"sha256": package.sha256}
        assert entry["uri"].startswith(f"pkg:deb/debian/{package.name}@")
        assert entry["uri"].endswith(f"?arch={package.architecture}")
        assert entry["downloadLocation"] == f"http://deb.debian.org/debian/{package.filename}"
    for wheel in lock.python:
        entry = by_name[wheel.wheel]
        assert entry["digest"] == {"sha256": wheel.sha256}
        assert entry["downloadLocation"] == wheel.url
    assert by_name["typing_extensions-4.14.1-py3-none-any.whl"]["uri"] == ("pkg:pypi/typing-extensions@4.14.1")
    for locked in lock.files:
        assert by_name[locked.path]["digest"] == {"sha256": locked.sha256}
        assert by_name[locked.path]["annotations"]["kind"] == locked.kind
    # Nothing more, nothing less: source + base + every locked input.
    assert len(deps) == 2 + len(lock.debian) + len(lock.python) + len(lock.files)


def test_provenance_build_definition_and_run_details(built) -> None:
    record = built.record
    data = json.loads(provenance_statement(record, built.name).to_bytes())
    assert data["_type"] == "https://in-toto.io/Statement/v1"
    assert data["predicateType"] == SLSA_PROVENANCE_V1
    assert data["subject"] == [{"name": "demo:1.0", "digest": {"sha256": built.digest.split(":")[1]}}]
    definition = data["predicate"]["buildDefinition"]
    assert definition["buildType"] == BUILD_TYPE
    external = definition["externalParameters"]
    assert external["spec"]["digest"]["sha256"] == record.spec_digest.split(":")[1]
    assert external["source"] == {"repository": record.source_repository, "revision": record.source_revision}
    source = definition["resolvedDependencies"][0]
    assert source["digest"] == {"gitCommit": record.source_revision}
    base = definition["resolvedDependencies"][1]
    assert base["uri"] == "debian:bookworm" and base["annotations"]["snapshot"] == "20250701T000000Z"
    run = data["predicate"]["runDetails"]
    assert run["builder"] == {"id": BUILDER_ID, "version": {"vial": "0.1.0"}}
    assert run["metadata"]["startedOn"] == record.started_on
    assert run["metadata"]["finishedOn"] == record.finished_on


def test_statement_bytes_are_canonical_and_deterministic(built) -> None:
    one = provenance_statement(built.record, built.name).to_bytes()
    two = provenance_statement(built.record, built.name).to_bytes()
    assert one == two
    assert b" " not in one.split(b'"predicate"')[0]  # RFC 8785: no insignificant whitespace
    assert parse_statement(one).predicate == json.loads(one)["predicate"]


def test_sbom_is_valid_cyclonedx_with_purls_versions_hashes(built) -> None:
    document = sbom_document(built.record, project_license="MIT", licenses={"numpy": "BSD-3-Clause"})
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    assert errors is None, errors
    assert document["specVersion"] == "1.6"
    components = {c["bom-ref"]: c for c in document["components"]}
    lock = built.record.locked()
    for package in lock.debian:
        purl = next(ref for ref in components if ref.startswith(f"pkg:deb/debian/{package.name}@"))
        component = components[purl]
        assert component["version"] == package.version
        assert component["hashes"] == [{"alg": "SHA-256", "content": package.sha256}]
        assert purl.endswith(f"?arch={package.architecture}")
    numpy = components["pkg:pypi/numpy@2.3.1"]
    assert numpy["hashes"] == [{"alg": "SHA-256", "content": lock.python[0].sha256}]
    assert numpy["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert "licenses" not in components["pkg:pypi/rfc8785@0.1.2"]  # unknown: not invented
    assert document["metadata"]["component"]["licenses"] == [{"license": {"id": "MIT"}}]
    assert document["metadata"]["component"]["type"] == "container"
    assert document["metadata"]["timestamp"].startswith("2026-11-21T09:03:12")
    kinds = sorted(c["type"] for c in document["components"] if c["bom-ref"].startswith("file:"))
    assert kinds == ["data", "file", "file"]


def test_sbom_is_deterministic_and_signed_as_a_statement(built) -> None:
    assert sbom_document(built.record) == sbom_document(built.record)
    statement = sbom_statement(built.record)
    assert statement.predicate_type == CYCLONEDX_BOM
    assert parse_statement(statement.to_bytes()).subject_digests() == {built.digest}


def test_test_result_predicate() -> None:
    predicate = make_test_result_predicate(
        passed=["test_b", "test_a"],
        failed=[],
        warned=["test_w"],
        configuration=[{"name": "pytest.ini", "digest": {"sha256": "00" * 32}}],
        url="https://ci.example/run/1",
    )
    assert predicate["result"] == "WARNED" and predicate["passedTests"] == ["test_a", "test_b"]
    assert make_test_result_predicate(passed=["a"], failed=["b"])["result"] == "FAILED"
    statement = test_result_statement("img", "sha256:" + "ab" * 32, predicate)
    assert statement.predicate_type == TEST_RESULT_V01
    assert parse_statement(statement.to_bytes()).predicate["url"] == "https://ci.example/run/1"
    with pytest.raises(AttestationError, match="configuration"):
        make_test_result_predicate(configuration=[{"annotations": {}}])


def test_reproduction_predicate_match_and_mismatch(built) -> None:
    rebuild = Rebuild(
        rebuilder_id="https://orcid.org/0000-0002-1825-0097",
        rebuilder_version="0.1.0",
        spec_digest=built.record.spec_digest,
        lock_digest=built.record.lock_digest,
        obtained_digest=built.digest,
        started_on="2026-11-22T10:00:00Z",
        finished_on="2026-11-22T10:04:00Z",
        source_repository=built.record.source_repository,
        source_revision=built.record.source_revision,
    )
    same = reproduction_statement(built.name, built.digest, rebuild)
    data = json.loads(same.to_bytes())
    assert data["predicateType"] == VIAL_REPRODUCTION_V1
    assert data["predicate"]["match"] is True and "differences" not in data["predicate"]
    other = "sha256:" + "cd" * 32
    differ = reproduction_statement(
        built.name,
        built.digest,
        Rebuild(**{**rebuild.__dict__, "obtained_digest": other, "differences": ("layer 3: mtime",)}),
    )
    predicate = json.loads(differ.to_bytes())["predicate"]
    assert predicate["match"] is False and predicate["obtained"]["digest"]["sha256"] == "cd" * 32
    assert predicate["differences"] == ["layer 3: mtime"]
    assert json.loads(differ.to_bytes())["subject"][0]["digest"]["sha256"] == built.digest.split(":")[1]


def test_invalid_statements_are_rejected_with_a_reason() -> None:
    with pytest.raises(AttestationError, match="_type"):
        parse_statement(
            b'{"_type": "https://example.org/Statement/v1", "subject": [], "predicateType": "x", "predicate": {}}'
        )
    with pytest.raises(AttestationError, match="At least one subject"):
        parse_statement(
            b'{"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "x", "predicate": {"a": 1}}'
        )
    with pytest.raises(AttestationError, match="not valid JSON"):
        parse_statement(b'{"_type": ')


def test_in_toto_attestation_struct_turns_integers_into_floats() -> None:
    """Why statements are not serialized through in_toto_attestation (docs/decisions.md)."""
    statement = proto_statement.Statement(
        [ResourceDescriptor(name="x", digest={"sha256": "ab" * 32}).pb],
        SLSA_PROVENANCE_V1,
        {"sourceDateEpoch": 1735689600, "size": 9007199254740993},
    )
    out = json.loads(json_format.MessageToJson(statement.pb))
    assert out["predicate"]["sourceDateEpoch"] == 1735689600.0
    assert isinstance(out["predicate"]["sourceDateEpoch"], float)
    assert out["predicate"]["size"] != 9007199254740993  # precision lost beyond 2**53


def test_provenance_matches_the_lock_of_every_build_in_a_store(built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Set VIAL_PROVENANCE_STORE to a real store (e.g. after building the examples) to check every build in it."""
    import os
    from pathlib import Path

    from vial.attest.statements.provenance import compare_with_lock
    from vial.buildinfo import BuildRecord

    root = Path(os.environ.get("VIAL_PROVENANCE_STORE") or built.store.root)
    records = sorted((root / "records" / "builds").glob("*.json"))
    assert records, f"no build records under {root}"
    for path in records:
        record = BuildRecord.from_bytes(path.read_bytes())
        predicate = json.loads(provenance_statement(record).to_bytes())["predicate"]
        assert compare_with_lock(predicate, record.locked()) == [], path
    # And the comparison does catch a dropped or altered input.
    record = built.record
    predicate = json.loads(provenance_statement(record).to_bytes())["predicate"]
    deps = predicate["buildDefinition"]["resolvedDependencies"]
    deps[2]["digest"]["sha256"] = "0" * 64
    del deps[-4]
    problems = compare_with_lock(predicate, record.locked())
    assert len(problems) == 2
    assert problems[0].startswith("deb libc6_2.36-9+deb12u10_amd64.deb: provenance has sha256")
    assert problems[1] == "wheel typing_extensions-4.14.1-py3-none-any.whl: missing from the provenance"
