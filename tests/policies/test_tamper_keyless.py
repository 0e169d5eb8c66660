"""Keyless signers in policies, against the private Sigstore instance played on loopback by
tests/attest/test_keyless_roundtrip.py: a certificate with the wrong identity is refused before any
container exists; the right identity (exact or by regex) passes."""

from __future__ import annotations

import importlib.util
import json
import re
import time
import uuid
from pathlib import Path

import pytest
from policyhelpers import docker_creates, provenance, write_policy

from vial.attest.referrers import attach_bundle
from vial.attest.signing.sign import KeylessSigner
from vial.attest.statements.statement import SLSA_PROVENANCE_V1, Statement, Subject
from vial.policies.engine.source import open_source
from vial.policies.engine.verify import verify_source
from vial.policies.model.policy import load_policy
from vial.policies.runtime.docker import RunOptions
from vial.policies.runtime.run import NotVerified, verify_and_run

_spec = importlib.util.spec_from_file_location(
    "vial_keyless_instance", Path(__file__).resolve().parents[1] / "attest" / "test_keyless_roundtrip.py"
)
assert _spec is not None and _spec.loader is not None
keyless = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(keyless)


@pytest.fixture()
def instance(tmp_path: Path):  # type: ignore[no-untyped-def]
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


def _sign_keyless(world, trust_config: Path, email: str) -> None:  # type: ignore[no-untyped-def]
    statement = Statement((Subject("demo", world.image.digest),), SLSA_PROVENANCE_V1, provenance("demo", "1.0.0"))
    bundle = KeylessSigner(trust_config, token=keyless._token(email)).sign(statement)
    attach_bundle(world.store, world.image.descriptor, bundle, SLSA_PROVENANCE_V1)


def _policy(world, trust_config: Path, identity: str) -> Path:  # type: ignore[no-untyped-def]
    return write_policy(
        world.root / "keyless.yaml",
        f"""
version: 1
signers:
  researcher:
    issuer: {keyless.ISSUER}
    {identity}
    trust_config: {trust_config}
require:
  - predicate: provenance
    signers: [researcher]
""",
    )


def test_tamper_certificate_with_the_wrong_identity(world, instance, docker_client) -> None:  # type: ignore[no-untyped-def]
    _sign_keyless(world, instance, "mallory@lab.example")
    policy = _policy(world, instance, f"san: {keyless.IDENTITY}")
    label, since = uuid.uuid4().hex, time.time()
    with pytest.raises(NotVerified, match=re.escape("is not researcher@lab.example")):
        verify_and_run(
            "demo:1.0.0",
            load_policy(policy),
            RunOptions(labels={"dev.vial.test": label}),
            "docker",
            store=world.store,
            log=lambda _: None,
        )
    assert docker_creates(docker_client, label, since) == []


def test_keyless_identity_exact_and_regex_pass(world, instance) -> None:  # type: ignore[no-untyped-def]
    _sign_keyless(world, instance, keyless.IDENTITY)
    for identity in (f"san: {keyless.IDENTITY}", "san_regex: '.*@lab\\.example'"):
        policy = load_policy(_policy(world, instance, identity))
        with open_source("demo:1.0.0", world.store) as source:
            result = verify_source(source, policy)
        assert result.verified, result.failures()
        keyless_checks = [a for a in result.attestations if a.signers == ["researcher"]]
        assert keyless_checks[0].signer_ids == [f"identity:{keyless.ISSUER}|{keyless.IDENTITY}"]
