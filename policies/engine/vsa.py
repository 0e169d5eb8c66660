"""SLSA Verification Summary Attestation v1 (https://slsa.dev/spec/v1.0/verification_summary) of a result.

The VSA says who verified (vial, ``verifier.id``), when, which image (``resourceUri`` with its
digest; the statement's subject is the manifest digest), against which policy (its sha256), using
which attestations (their bundle digests), and the outcome. ``verifiedLevels`` is
``SLSA_BUILD_LEVEL_1`` when a provenance verified (vial does not claim higher build levels), plus
``VIAL_POLICY_PASSED``; for a failure it is ``FAILED``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vial.attest.statements.statement import SLSA_PROVENANCE_V1, Statement, Subject
from vial.policies.engine.verify import VerificationResult
from vial.policies.model.policy import SLSA_VSA_V1
from vial.version import __version__

VERIFIER_ID = "https://vial.dev/verifier/v1"


def vsa_predicate(result: VerificationResult, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    verified = [a for a in result.attestations if a.status == "verified"]
    levels: list[str]
    if result.verified:
        levels = ["VIAL_POLICY_PASSED"]
        if any(a.predicate_type == SLSA_PROVENANCE_V1 for a in verified):
            levels.insert(0, "SLSA_BUILD_LEVEL_1")
    else:
        levels = ["FAILED"]
    policy_uri = result.policy.origin if "://" in result.policy.origin else f"file:{result.policy.origin}"
    return {
        "verifier": {"id": VERIFIER_ID, "version": {"vial": __version__}},
        "timeVerified": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resourceUri": f"oci:{result.ref}@{result.digest}"
        if result.digest and "@" not in result.ref
        else f"oci:{result.ref}",
        "policy": {"uri": policy_uri, "digest": {"sha256": result.policy.digest.removeprefix("sha256:")}},
        "inputAttestations": [
            {"uri": f"oci-referrer:{a.referrer}", "digest": {"sha256": a.bundle_digest.removeprefix("sha256:")}}
            for a in verified
        ],
        "verificationResult": "PASSED" if result.verified else "FAILED",
        "verifiedLevels": levels,
        "slsaVersion": "1.0",
    }


def vsa_statement(result: VerificationResult, subject_name: str, now: datetime | None = None) -> Statement:
    if not result.digest:
        from vial.errors import VialError

        raise VialError("no VSA: the image could not even be resolved")
    return Statement((Subject(subject_name, result.digest),), SLSA_VSA_V1, vsa_predicate(result, now))
