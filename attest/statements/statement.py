"""in-toto Statement v1: a predicate about one or more subjects, each named by its digest.

Statements are plain data here (``Statement``); ``to_bytes`` is their one serialization, RFC 8785
canonical JSON, so the same statement always has the same bytes (hence the same signature input).
``parse_statement`` reads bytes back and validates the shape with the in-toto project's own
bindings (``in_toto_attestation``), which we use for checking only: their protobuf ``Struct`` turns
every integer into a float when serializing (see docs/decisions.md), so we never emit through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import rfc8785
from google.protobuf import json_format
from google.protobuf.json_format import ParseError
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement as _ProtoStatement

from vial import strictjson
from vial.attest.errors import AttestationError
from vial.digest import check_digest

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
STATEMENT_TYPE_V01 = "https://in-toto.io/Statement/v0.1"  # what cosign attest-blob writes; same shape
PAYLOAD_TYPE = "application/vnd.in-toto+json"

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
CYCLONEDX_BOM = "https://cyclonedx.org/bom"
TEST_RESULT_V01 = "https://in-toto.io/attestation/test-result/v0.1"
VIAL_REPRODUCTION_V1 = "https://vial.dev/attestation/reproduction/v1"


@dataclass(frozen=True)
class Subject:
    """One subject: a name and its sha256 (``sha256:<hex>`` form inside vial)."""

    name: str
    digest: str

    def __post_init__(self) -> None:
        check_digest(self.digest, f"subject {self.name!r}")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "digest": {"sha256": self.digest.split(":", 1)[1]}}


@dataclass(frozen=True)
class Statement:
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "subject": [s.to_json() for s in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        }

    def to_bytes(self) -> bytes:
        """RFC 8785 canonical JSON: deterministic bytes for signing."""
        data = self.to_json()
        validate_statement(data)
        return rfc8785.dumps(data)

    def subject_digests(self) -> set[str]:
        return {s.digest for s in self.subjects}


def validate_statement(data: Any) -> None:
    """Check a decoded statement against the in-toto Statement v1 rules; raise one clear line."""
    if not isinstance(data, dict):
        raise AttestationError("statement: not a JSON object")
    if data.get("_type") not in (STATEMENT_TYPE, STATEMENT_TYPE_V01):
        raise AttestationError(f"statement: _type is {data.get('_type')!r}, expected {STATEMENT_TYPE}")
    try:
        # v0.1 and v1 share the fields checked here; the bindings know v1 only.
        proto = json_format.ParseDict({**data, "_type": STATEMENT_TYPE}, statement_pb2.Statement())
        _ProtoStatement.copy_from_pb(proto).validate()
    except (ParseError, ValueError, TypeError) as exc:
        raise AttestationError(f"statement: {' '.join(str(exc).split())}") from None
    for i, subject in enumerate(data["subject"]):
        if "sha256" not in subject.get("digest", {}):
            raise AttestationError(f"statement: subject[{i}] has no sha256 digest")


def parse_statement(raw: bytes) -> Statement:
    """Decode and validate statement bytes (a DSSE payload); v0.1 statements (cosign's) are read as v1."""
    data = strictjson.loads(raw, "statement", error=AttestationError)
    validate_statement(data)
    subjects = []
    for i, item in enumerate(data["subject"]):
        hexdigest = str(item["digest"]["sha256"]).lower()
        subjects.append(Subject(str(item.get("name", "")), check_digest(f"sha256:{hexdigest}", f"subject[{i}]")))
    predicate = data.get("predicate")
    if not isinstance(predicate, dict):
        raise AttestationError("statement: predicate is not a JSON object")
    return Statement(tuple(subjects), str(data["predicateType"]), predicate)
