"""The other predicates vial writes: in-toto test-result v0.1 and vial's reproduction v1.

Both are documented in docs/predicates.md. Builders return plain dicts ready for a ``Statement``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from vial.attest.errors import AttestationError
from vial.attest.statements.statement import TEST_RESULT_V01, VIAL_REPRODUCTION_V1, Statement, Subject
from vial.digest import check_digest

Outcome = Literal["PASSED", "WARNED", "FAILED"]


def make_test_result_predicate(
    passed: Iterable[str] = (),
    failed: Iterable[str] = (),
    warned: Iterable[str] = (),
    configuration: Iterable[dict[str, Any]] = (),
    url: str | None = None,
) -> dict[str, Any]:
    """in-toto test-result v0.1: the result is FAILED if any test failed, else WARNED if any warned."""
    passed, failed, warned = sorted(passed), sorted(failed), sorted(warned)
    result: Outcome = "FAILED" if failed else ("WARNED" if warned else "PASSED")
    predicate: dict[str, Any] = {
        "result": result,
        "configuration": list(configuration),
        "passedTests": passed,
        "warnedTests": warned,
        "failedTests": failed,
    }
    if url:
        predicate["url"] = url
    for i, item in enumerate(predicate["configuration"]):
        if not (item.get("uri") or item.get("digest") or item.get("name")):
            raise AttestationError(f"test-result configuration[{i}]: needs a name, uri or digest")
    return predicate


@dataclass(frozen=True)
class Rebuild:
    """What one rebuild of an image obtained."""

    rebuilder_id: str  # who rebuilt: a URI naming the person, CI job or service
    rebuilder_version: str  # vial version used
    spec_digest: str
    lock_digest: str
    obtained_digest: str  # the manifest digest the rebuild produced
    started_on: str
    finished_on: str
    source_repository: str | None = None
    source_revision: str | None = None
    differences: tuple[str, ...] = ()  # human-readable, when the digests differ (e.g. "layer 2: ...")


def reproduction_predicate(expected_digest: str, rebuild: Rebuild) -> dict[str, Any]:
    check_digest(expected_digest, "expected digest")
    check_digest(rebuild.obtained_digest, "obtained digest")
    inputs: dict[str, Any] = {
        "spec": {"digest": {"sha256": check_digest(rebuild.spec_digest, "spec digest").split(":", 1)[1]}},
        "lock": {"digest": {"sha256": check_digest(rebuild.lock_digest, "lock digest").split(":", 1)[1]}},
    }
    if rebuild.source_repository:
        inputs["source"] = {"repository": rebuild.source_repository, "revision": rebuild.source_revision}
    match = rebuild.obtained_digest == expected_digest
    predicate: dict[str, Any] = {
        "rebuilder": {"id": rebuild.rebuilder_id, "version": {"vial": rebuild.rebuilder_version}},
        "inputs": inputs,
        "expected": {"digest": {"sha256": expected_digest.split(":", 1)[1]}},
        "obtained": {"digest": {"sha256": rebuild.obtained_digest.split(":", 1)[1]}},
        "match": match,
        "startedOn": rebuild.started_on,
        "finishedOn": rebuild.finished_on,
    }
    if not match:
        predicate["differences"] = list(rebuild.differences)
    return predicate


def reproduction_statement(subject_name: str, expected_digest: str, rebuild: Rebuild) -> Statement:
    """Subject: the image being reproduced (the expected digest), whatever the rebuild obtained."""
    return Statement(
        (Subject(subject_name, expected_digest),),
        VIAL_REPRODUCTION_V1,
        reproduction_predicate(expected_digest, rebuild),
    )


def test_result_statement(subject_name: str, subject_digest: str, predicate: dict[str, Any]) -> Statement:
    """A test-result statement about an image (or any artifact) named by its digest."""
    return Statement((Subject(subject_name, subject_digest),), TEST_RESULT_V01, predicate)


test_result_statement.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name
