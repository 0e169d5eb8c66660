"""Real Sigstore bundles that nobody here produced verify offline (shared/fixtures/sigstore, its README).

The trusted roots are the ones the ``sigstore`` package ships; nothing here reaches the network
except ``pip download`` of the signed PyPI wheel.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vial.attest.errors import VerificationError
from vial.attest.signing.verify import verify_blob_keyless, verify_keyless, verify_with_key

WHEEL = "rfc8785-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
WHEEL_IDENTITY = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
GITHUB_ACTIONS = "https://token.actions.githubusercontent.com"
STAGING_IDENTITY = "jku@goto.fi"
GITHUB_OAUTH = "https://github.com/login/oauth"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
# The DSSE fixture's statement names "a.txt" with this digest (not the digest of the .txt beside it).
DSSE_SUBJECT = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"


@pytest.fixture(scope="module")
def fixtures(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "sigstore"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, service_missing) -> bytes:  # type: ignore[no-untyped-def]
    dest = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            "-d",
            str(dest),
            "rfc8785==0.1.2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        service_missing(f"pip download rfc8785==0.1.2 failed: {done.stderr.strip()[-300:]}")
    data = (dest / WHEEL).read_bytes()
    assert hashlib.sha256(data).hexdigest() == WHEEL_SHA256
    return data


def test_pypi_wheel_bundle_verifies_with_its_identity(fixtures: Path, wheel: bytes) -> None:
    bundle = (fixtures / f"{WHEEL}.sigstore").read_bytes()
    assert verify_blob_keyless(wheel, bundle, WHEEL_IDENTITY, GITHUB_ACTIONS) == f"{WHEEL_IDENTITY} ({GITHUB_ACTIONS})"


def test_pypi_wheel_bundle_rejects_wrong_identity(fixtures: Path, wheel: bytes) -> None:
    bundle = (fixtures / f"{WHEEL}.sigstore").read_bytes()
    wrong = WHEEL_IDENTITY.replace("v0.1.2", "v0.1.3")
    with pytest.raises(VerificationError, match="Certificate's SANs do not match"):
        verify_blob_keyless(wheel, bundle, wrong, GITHUB_ACTIONS)
    with pytest.raises(VerificationError, match="OIDCIssuer does not match"):
        verify_blob_keyless(wheel, bundle, WHEEL_IDENTITY, "https://accounts.google.com")


def test_pypi_wheel_bundle_rejects_a_changed_byte(fixtures: Path, wheel: bytes) -> None:
    bundle = (fixtures / f"{WHEEL}.sigstore").read_bytes()
    changed = bytearray(wheel)
    changed[len(changed) // 2] ^= 0x01
    with pytest.raises(VerificationError, match=r"[Ss]ignature is invalid|digest mismatch"):
        verify_blob_keyless(bytes(changed), bundle, WHEEL_IDENTITY, GITHUB_ACTIONS)


def test_swapped_bundles_are_rejected(fixtures: Path, wheel: bytes) -> None:
    staging_bundle = (fixtures / "staging-rekor-v2.txt.sigstore.json").read_bytes()
    # The wheel against another artifact's bundle (with that bundle's own identity and instance).
    with pytest.raises(VerificationError):
        verify_blob_keyless(wheel, staging_bundle, STAGING_IDENTITY, GITHUB_OAUTH, instance="staging")
    # The staging text against the wheel's bundle.
    text = (fixtures / "staging-rekor-v2.txt").read_bytes()
    wheel_bundle = (fixtures / f"{WHEEL}.sigstore").read_bytes()
    with pytest.raises(VerificationError):
        verify_blob_keyless(text, wheel_bundle, WHEEL_IDENTITY, GITHUB_ACTIONS)
    # A production bundle checked against the staging root fails on the certificate chain.
    with pytest.raises(VerificationError):
        verify_blob_keyless(wheel, wheel_bundle, WHEEL_IDENTITY, GITHUB_ACTIONS, instance="staging")


def test_staging_rekor_v2_message_signature_verifies(fixtures: Path) -> None:
    text = (fixtures / "staging-rekor-v2.txt").read_bytes()
    bundle = (fixtures / "staging-rekor-v2.txt.sigstore.json").read_bytes()
    verify_blob_keyless(text, bundle, STAGING_IDENTITY, GITHUB_OAUTH, instance="staging")
    with pytest.raises(VerificationError, match="SANs do not match"):
        verify_blob_keyless(text, bundle, "someone@example.org", GITHUB_OAUTH, instance="staging")


def test_staging_dsse_attestation_verifies_keyless(fixtures: Path) -> None:
    raw = (fixtures / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes()
    verified = verify_keyless(
        raw, BEACON, GITHUB_ACTIONS, DSSE_SUBJECT, "https://slsa.dev/provenance/v1", instance="staging"
    )
    assert verified.statement.subjects[0].name == "a.txt"
    with pytest.raises(VerificationError, match="SANs do not match"):
        verify_keyless(raw, BEACON.replace("main", "evil"), GITHUB_ACTIONS, DSSE_SUBJECT, instance="staging")
    # The subject check: the statement does not attest the file beside it.
    file_digest = "sha256:" + hashlib.sha256((fixtures / "a.dsse.staging-rekor-v2.txt").read_bytes()).hexdigest()
    with pytest.raises(VerificationError, match=f"attests subject {DSSE_SUBJECT}, not {file_digest}"):
        verify_keyless(raw, BEACON, GITHUB_ACTIONS, file_digest, instance="staging")


def test_staging_dsse_changed_payload_is_rejected(fixtures: Path) -> None:
    data = json.loads((fixtures / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes())
    import base64

    payload = base64.b64decode(data["dsseEnvelope"]["payload"]).replace(b"a.txt", b"b.txt")
    data["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    with pytest.raises(VerificationError, match=r"[Ss]ignature"):
        verify_keyless(json.dumps(data).encode(), BEACON, GITHUB_ACTIONS, DSSE_SUBJECT, instance="staging")


def test_keyless_and_key_bundles_are_not_confused(fixtures: Path) -> None:
    from vial.attest.signing.keys import generate

    raw = (fixtures / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes()
    with pytest.raises(VerificationError, match="signed keyless"):
        verify_with_key(raw, generate().public, DSSE_SUBJECT)
    wheel_bundle = (fixtures / f"{WHEEL}.sigstore").read_bytes()
    with pytest.raises(VerificationError, match="message signature, not a DSSE attestation"):
        verify_keyless(wheel_bundle, WHEEL_IDENTITY, GITHUB_ACTIONS, DSSE_SUBJECT)


def test_cli_keyless_verification_of_a_stored_bundle(fixtures: Path, built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The CLI's keyless path runs sigstore's full offline verification, then the subject check."""
    from click.testing import CliRunner

    from vial.attest.referrers import attach_bundle
    from vial.cli import (
        attest_cmds,  # noqa: F401
        cli,
    )

    raw = (fixtures / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes()
    attach_bundle(built.store, built.descriptor, raw, "https://slsa.dev/provenance/v1", BEACON)
    monkeypatch.setenv("VIAL_HOME", str(built.store.root))
    args = ["verify-attestation", "demo:1.0", "--issuer", GITHUB_ACTIONS, "--staging"]
    right = CliRunner().invoke(cli, [*args, "--identity", BEACON])
    assert right.exit_code == 2
    assert f"attests subject {DSSE_SUBJECT}, not {built.digest}" in right.stderr  # signer fine, wrong image
    wrong = CliRunner().invoke(cli, [*args, "--identity", "https://github.com/evil/repo"])
    assert wrong.exit_code == 2 and "SANs do not match" in wrong.stderr
    production = CliRunner().invoke(cli, [*args[:-1], "--identity", BEACON])
    assert production.exit_code == 2 and right.stderr != production.stderr  # staging cert, production root
