"""The example policies in policies/examples/ load, and mean what their comments say."""

from __future__ import annotations

from pathlib import Path

import pytest

from vial.attest.statements.statement import VIAL_REPRODUCTION_V1
from vial.policies.model.policy import IdentitySigner, KeySigner, load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_policy_loads(name: str) -> None:
    policy = load_policy(EXAMPLES / name)
    assert policy.requirements and policy.signers


def test_reviewers_example() -> None:
    policy = load_policy(EXAMPLES / "reviewers.yaml")
    reproduction = next(r for r in policy.requirements if r.predicate_type == VIAL_REPRODUCTION_V1)
    assert (reproduction.signers, reproduction.threshold) == (("alice", "bob", "carol"), 2)
    assert isinstance(policy.signers["ci"], KeySigner)


def test_strict_example() -> None:
    policy = load_policy(EXAMPLES / "strict.yaml")
    assert isinstance(policy.signers["lab-sigstore"], IdentitySigner)
    assert policy.max_age_seconds == 90 * 86400 and policy.version.newest and policy.limits.max_ratio == 100
    assert [r.language for r in policy.rules] == ["rego", "cel"]
