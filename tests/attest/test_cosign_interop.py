"""Interop with cosign (built from its Go module, scripts/services.d/40-cosign.sh), both directions, offline.

cosign needs a trusted root even for key bundles with ``--new-bundle-format``; an empty one (no CAs,
no logs) keeps it from fetching Sigstore's over TUF, and ``--insecure-ignore-tlog`` accepts a bundle
without a transparency-log entry, as vial's key bundles are. The blob cosign checks the subject
against is the image manifest blob itself: its sha256 is the image digest.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from vial.attest.errors import VerificationError
from vial.attest.signing import keys
from vial.attest.signing.sign import KeySigner
from vial.attest.signing.verify import verify_with_key
from vial.attest.statements.provenance import provenance_statement
from vial.attest.statements.statement import SLSA_PROVENANCE_V1, TEST_RESULT_V01
from vial.store import Store

COSIGN_PASSWORD = "correct horse battery staple"

EMPTY_TRUSTED_ROOT = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}'
PREDICATE = {
    "result": "PASSED",
    "configuration": [],
    "passedTests": ["test_analysis"],
    "warnedTests": [],
    "failedTests": [],
}


def run_cosign(cosign: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # HOME and TUF_ROOT inside the test directory: cosign writes nothing outside it.
    env = {
        **os.environ,
        "COSIGN_PASSWORD": COSIGN_PASSWORD,
        "COSIGN_YES": "true",
        "HOME": str(cwd),
        "TUF_ROOT": str(cwd / ".sigstore"),
    }
    return subprocess.run([cosign, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    (tmp_path / "empty-root.json").write_text(EMPTY_TRUSTED_ROOT)
    (tmp_path / "predicate.json").write_text(json.dumps(PREDICATE))
    return tmp_path


def _cosign_verify(cosign: str, work: Path, public: Path, bundle: Path, blob: Path, predicate_type: str):  # type: ignore[no-untyped-def]
    return run_cosign(
        cosign,
        "verify-blob-attestation",
        "--key",
        str(public),
        "--bundle",
        str(bundle),
        "--new-bundle-format",
        "--insecure-ignore-tlog",
        "--trusted-root",
        str(work / "empty-root.json"),
        "--type",
        predicate_type,
        str(blob),
        cwd=work,
    )


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ed25519"])
def test_cosign_verifies_vial_key_bundles(cosign: str, built, work: Path, kind: str, image_factory) -> None:  # type: ignore[no-untyped-def]
    key = keys.generate(kind)  # type: ignore[arg-type]
    keys.write_keypair(key, COSIGN_PASSWORD.encode(), work / "vial.key", work / "vial.pub")
    bundle = work / "provenance.sigstore.json"
    bundle.write_bytes(KeySigner(key).sign(provenance_statement(built.record, built.name)))
    done = _cosign_verify(cosign, work, work / "vial.pub", bundle, built.manifest_path, SLSA_PROVENANCE_V1)
    assert done.returncode == 0, done.stderr
    assert "Verified OK" in done.stderr + done.stdout
    # cosign checks the subject too: the bundle does not attest another image.
    other = image_factory(Store(work / "other"), "other:1.0", payload=b"other")
    refused = _cosign_verify(cosign, work, work / "vial.pub", bundle, other.manifest_path, SLSA_PROVENANCE_V1)
    assert refused.returncode != 0 and "does not match any digest" in refused.stderr
    wrong_type = _cosign_verify(cosign, work, work / "vial.pub", bundle, built.manifest_path, "cyclonedx")
    assert wrong_type.returncode != 0 and "invalid predicate type" in wrong_type.stderr


def test_vial_verifies_cosign_attest_blob_bundles(cosign: str, built, work: Path) -> None:  # type: ignore[no-untyped-def]
    made = run_cosign(cosign, "generate-key-pair", cwd=work)
    assert made.returncode == 0, made.stderr
    assert (work / "cosign.key").read_text().startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    signed = run_cosign(
        cosign,
        "attest-blob",
        "--key",
        "cosign.key",
        "--predicate",
        "predicate.json",
        "--type",
        TEST_RESULT_V01,
        "--bundle",
        "cosign.bundle",
        "--new-bundle-format",
        "--tlog-upload=false",
        str(built.manifest_path),
        cwd=work,
    )
    assert signed.returncode == 0, signed.stderr
    raw = (work / "cosign.bundle").read_bytes()
    public = keys.load_public_key(work / "cosign.pub")
    verified = verify_with_key(raw, public, built.digest, TEST_RESULT_V01)
    assert verified.statement.predicate["passedTests"] == ["test_analysis"]
    assert json.loads(raw)["verificationMaterial"]["publicKey"]["hint"] == keys.key_hint(public)
    # vial reads cosign's encrypted private key too.
    assert keys.load_private_key(work / "cosign.key", COSIGN_PASSWORD.encode()).hint == keys.key_hint(public)
    # And rejects cosign's bundle once tampered, or for another image, or with another key.
    data = json.loads(raw)
    statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
    statement["predicate"]["result"] = "FAILED"
    data["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify_with_key(json.dumps(data).encode(), public, built.digest)
    with pytest.raises(VerificationError, match="attests subject"):
        verify_with_key(raw, public, "sha256:" + "1" * 64)
    with pytest.raises(VerificationError, match="signed by key"):
        verify_with_key(raw, keys.generate().public, built.digest)


def test_cosign_signs_with_a_vial_key_and_vial_verifies(cosign: str, built, work: Path) -> None:  # type: ignore[no-untyped-def]
    key = keys.generate("ecdsa-p256")
    keys.write_keypair(key, COSIGN_PASSWORD.encode(), work / "vial.key", work / "vial.pub")
    signed = run_cosign(
        cosign,
        "attest-blob",
        "--key",
        "vial.key",
        "--predicate",
        "predicate.json",
        "--type",
        TEST_RESULT_V01,
        "--bundle",
        "b.json",
        "--new-bundle-format",
        "--tlog-upload=false",
        str(built.manifest_path),
        cwd=work,
    )
    assert signed.returncode == 0, signed.stderr
    assert (
        verify_with_key((work / "b.json").read_bytes(), key.public, built.digest, TEST_RESULT_V01).signer
        == f"key {key.hint}"
    )


def test_cosign_ed25519_dsse_bundles_do_not_verify_even_in_cosign(cosign: str, built, work: Path) -> None:  # type: ignore[no-untyped-def]
    """Why vial documents Ed25519 as one-way interop (docs/decisions.md): cosign v2.6.5 cannot verify
    the Ed25519 DSSE bundle it just wrote, and neither can vial (it is not a pure Ed25519 signature over PAE)."""
    key = keys.generate("ed25519")
    keys.write_keypair(key, COSIGN_PASSWORD.encode(), work / "ed.key", work / "ed.pub")
    signed = run_cosign(
        cosign,
        "attest-blob",
        "--key",
        "ed.key",
        "--predicate",
        "predicate.json",
        "--type",
        TEST_RESULT_V01,
        "--bundle",
        "ed.json",
        "--new-bundle-format",
        "--tlog-upload=false",
        str(built.manifest_path),
        cwd=work,
    )
    assert signed.returncode == 0, signed.stderr
    own = _cosign_verify(cosign, work, work / "ed.pub", work / "ed.json", built.manifest_path, TEST_RESULT_V01)
    assert own.returncode != 0 and "accepted signatures do not match threshold" in own.stderr
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify_with_key((work / "ed.json").read_bytes(), key.public, built.digest)
