"""One certificate is one signer: a keyless certificate with several SANs that match several policy
signers counts once toward a threshold of distinct signers; two certificates (two people) count twice.

Certificates come from the private Sigstore instance of tests/attest/test_keyless_roundtrip.py, whose
CA is made to issue leaves with 2 or 3 SANs (emails and URIs) for these tests."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from policyhelpers import provenance, write_policy

from vial.attest.referrers import attach_bundle
from vial.attest.signing.sign import KeylessSigner
from vial.attest.statements.statement import SLSA_PROVENANCE_V1, Statement, Subject
from vial.policies.engine.signers import distinct_signers, identity_signer_id
from vial.policies.engine.source import open_source
from vial.policies.engine.verify import verify_source
from vial.policies.model.policy import load_policy

_spec = importlib.util.spec_from_file_location(
    "vial_keyless_instance_multi_san", Path(__file__).resolve().parents[1] / "attest" / "test_keyless_roundtrip.py"
)
assert _spec is not None and _spec.loader is not None
keyless = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(keyless)

ALICE, BOB, CAROL = "alice@lab.example", "bob@lab.example", "https://lab.example/people/carol"


class _MultiSanX509:
    """``cryptography.x509`` as the test CA sees it: an email claim ``a,b,https://c`` becomes 3 SANs."""

    def __getattr__(self, name: str) -> Any:
        return getattr(x509, name)

    @staticmethod
    def SubjectAlternativeName(names: list[x509.GeneralName]) -> x509.SubjectAlternativeName:
        expanded: list[x509.GeneralName] = []
        for name in names:
            for value in str(name.value).split(","):
                expanded.append(x509.UniformResourceIdentifier(value) if "://" in value else x509.RFC822Name(value))
        return x509.SubjectAlternativeName(expanded)


@pytest.fixture()
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(keyless, "x509", _MultiSanX509())
    sigstore = keyless.PrivateSigstore()
    sigstore.thread.start()
    path = tmp_path / "trust-config.json"
    path.write_text(json.dumps(sigstore.trust_config()))
    try:
        yield path
    finally:
        sigstore.server.shutdown()
        sigstore.server.server_close()
        sigstore.thread.join(timeout=30)


def _sign(world: Any, trust_config: Path, *sans: str) -> None:
    statement = Statement((Subject("demo", world.image.digest),), SLSA_PROVENANCE_V1, provenance("demo", "1.0.0"))
    bundle = KeylessSigner(trust_config, token=keyless._token(",".join(sans))).sign(statement)
    attach_bundle(world.store, world.image.descriptor, bundle, SLSA_PROVENANCE_V1)


def _policy(world: Any, trust_config: Path, names: dict[str, str], threshold: int) -> Path:
    signers = "".join(
        f"  {name}:\n    issuer: {keyless.ISSUER}\n    {san}\n    trust_config: {trust_config}\n"
        for name, san in names.items()
    )
    return write_policy(
        world.root / "threshold.yaml",
        f"version: 1\nsigners:\n{signers}require:\n  - predicate: provenance\n"
        f"    signers: [{', '.join(names)}]\n    threshold: {threshold}\n",
    )


def _provenance_rule(world: Any, policy: Path) -> tuple[bool, str, list[Any]]:
    with open_source("demo:1.0.0", world.store) as source:
        result = verify_source(source, load_policy(policy))
    rules = [r for r in result.rules if "provenance" in r.name]
    assert len(rules) == 1, result.rules
    return rules[0].passed, rules[0].detail, [a for a in result.attestations if a.status == "verified"]


def test_one_certificate_with_two_sans_is_one_signer(world, instance) -> None:  # type: ignore[no-untyped-def]
    _sign(world, instance, ALICE, BOB)
    policy = _policy(world, instance, {"alice": f"san: {ALICE}", "bob": f"san: {BOB}"}, 2)
    passed, detail, checks = _provenance_rule(world, policy)
    assert not passed, detail
    assert "1 distinct trusted signer(s) (alice, bob), 2 required" in detail
    keyless_checks = [c for c in checks if c.signer_ids[0].startswith("identity:")]
    assert keyless_checks[0].signers == ["alice", "bob"]
    assert keyless_checks[0].signer_ids == [identity_signer_id(keyless.ISSUER, [ALICE, BOB])]


def test_one_certificate_with_three_sans_and_a_regex_is_one_signer(world, instance) -> None:  # type: ignore[no-untyped-def]
    _sign(world, instance, ALICE, BOB, CAROL)
    names = {"alice": f"san: {ALICE}", "bob": f"san: {BOB}", "carol": "san_regex: 'https://lab\\.example/.*'"}
    for threshold in (2, 3):
        passed, detail, _ = _provenance_rule(world, _policy(world, instance, names, threshold))
        assert not passed and "1 distinct trusted signer(s) (alice, bob, carol)" in detail, detail
    passed, detail, _ = _provenance_rule(world, _policy(world, instance, names, 1))
    assert passed, detail


def test_two_certificates_are_two_signers(world, instance) -> None:  # type: ignore[no-untyped-def]
    _sign(world, instance, ALICE)
    _sign(world, instance, BOB)
    policy = _policy(world, instance, {"alice": f"san: {ALICE}", "bob": f"san: {BOB}"}, 2)
    passed, detail, _ = _provenance_rule(world, policy)
    assert passed, detail
    assert "2 distinct of 2 required" in detail


def test_the_same_identity_signing_twice_is_one_signer(world, instance) -> None:  # type: ignore[no-untyped-def]
    _sign(world, instance, ALICE)
    _sign(world, instance, ALICE, BOB)  # a second certificate, which also names alice: the same signer
    policy = _policy(world, instance, {"alice": f"san: {ALICE}", "bob": f"san: {BOB}"}, 2)
    passed, detail, _ = _provenance_rule(world, policy)
    assert not passed and "1 distinct" in detail, detail


def test_distinct_signers_groups_by_key_and_identity() -> None:
    a = identity_signer_id("https://i", ["a"])
    ab = identity_signer_id("https://i", ["b", "a"])
    c = identity_signer_id("https://i", ["c"])
    other_issuer = identity_signer_id("https://j", ["a"])
    groups = distinct_signers({a: {"x"}, ab: {"y"}, c: {"z"}, other_issuer: {"w"}, "key:1": {"k"}, "key:2": {"k"}})
    assert sorted(sorted(g) for g in groups) == [["k"], ["k"], ["w"], ["x", "y"], ["z"]]
    assert len(distinct_signers({ab: {"x", "y"}})) == 1
