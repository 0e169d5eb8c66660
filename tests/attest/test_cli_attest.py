"""The attest commands end to end on a store: keygen, sign, attest, attestations, verify-attestation."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from vial.attest.referrers import (
    export_archive_with_referrers,
    export_layout_with_referrers,
    list_referrers,
    read_bundle,
)
from vial.attest.signing.keys import load_public_key
from vial.attest.signing.verify import verify_with_key
from vial.attest.statements.statement import CYCLONEDX_BOM, SLSA_PROVENANCE_V1, TEST_RESULT_V01
from vial.cli import (
    attest_cmds,  # noqa: F401 - registers the commands
    cli,
)
from vial.store import Store

PASSWORD = "pass phrase"


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, built) -> CliRunner:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VIAL_HOME", str(built.store.root))
    monkeypatch.setenv("VIAL_PASSWORD", PASSWORD)
    monkeypatch.delenv("SIGSTORE_ID_TOKEN", raising=False)
    return CliRunner()


def _run(runner: CliRunner, *args: str, code: int = 0):  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def _keygen(runner: CliRunner, tmp_path: Path, kind: str = "ecdsa-p256") -> tuple[Path, Path]:
    prefix = tmp_path / f"signer-{kind}"
    data = json.loads(_run(runner, "keygen", "--type", kind, "--output-prefix", str(prefix), "--json").stdout)
    return Path(data["private_key"]), Path(data["public_key"])


def test_sign_then_verify_from_the_store(runner: CliRunner, built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    private, public = _keygen(runner, tmp_path)
    out = json.loads(
        _run(runner, "sign", "demo:1.0", "--key", str(private), "--output-dir", str(tmp_path / "b"), "--json").stdout
    )
    assert out["image"] == built.digest
    assert [a["predicate_type"] for a in out["attestations"]] == [SLSA_PROVENANCE_V1, CYCLONEDX_BOM]
    assert (tmp_path / "b" / "provenance.sigstore.json").is_file()
    listed = json.loads(_run(runner, "attestations", "demo:1.0", "--json").stdout)["attestations"]
    assert {a["predicate_type"] for a in listed} == {SLSA_PROVENANCE_V1, CYCLONEDX_BOM}
    verified = json.loads(_run(runner, "verify-attestation", "demo:1.0", "--key", str(public), "--json").stdout)
    assert len(verified["verified"]) == 2
    only = json.loads(
        _run(runner, "verify-attestation", "demo", "--key", str(public), "--type", CYCLONEDX_BOM, "--json").stdout
    )
    assert [v["predicate_type"] for v in only["verified"]] == [CYCLONEDX_BOM]
    bundle = tmp_path / "b" / "provenance.sigstore.json"
    text = _run(runner, "verify-attestation", built.digest, "--bundle", str(bundle), "--key", str(public)).stdout
    assert text.startswith(f"verified\t{SLSA_PROVENANCE_V1}\tkey ")


def test_attest_custom_predicate_with_ed25519(runner: CliRunner, built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    private, public = _keygen(runner, tmp_path, "ed25519")
    predicate = tmp_path / "tests.json"
    predicate.write_text(
        json.dumps(
            {"result": "PASSED", "configuration": [], "passedTests": ["t1"], "warnedTests": [], "failedTests": []}
        )
    )
    out = json.loads(
        _run(
            runner,
            "attest",
            "demo:1.0",
            "--predicate",
            str(predicate),
            "--type",
            TEST_RESULT_V01,
            "--key",
            str(private),
            "--output",
            str(tmp_path / "t.json"),
            "--json",
        ).stdout
    )
    assert out["predicate_type"] == TEST_RESULT_V01
    verified = verify_with_key(
        (tmp_path / "t.json").read_bytes(), load_public_key(public), built.digest, TEST_RESULT_V01
    )
    assert verified.statement.predicate["passedTests"] == ["t1"]


def test_referrers_travel_with_an_exported_layout(runner: CliRunner, built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    private, public = _keygen(runner, tmp_path)
    _run(runner, "sign", "demo:1.0", "--key", str(private))
    exported = export_layout_with_referrers(built.store, "demo:1.0", tmp_path / "layout")
    assert len(exported) == 2
    copy = Store(tmp_path / "layout")
    found = list_referrers(copy, built.digest)
    assert {r.predicate_type for r in found} == {SLSA_PROVENANCE_V1, CYCLONEDX_BOM}
    for referrer in found:
        assert referrer.manifest.subject is not None and referrer.manifest.subject.digest == built.digest
        verify_with_key(read_bundle(copy, referrer), load_public_key(public), built.digest)
    index = json.loads((tmp_path / "layout" / "index.json").read_bytes())
    assert index["manifests"][0]["digest"] == built.digest
    assert {m.get("artifactType") for m in index["manifests"][1:]} == {"application/vnd.dev.sigstore.bundle.v0.3+json"}
    # The archive form carries them too.
    assert len(export_archive_with_referrers(built.store, "demo:1.0", tmp_path / "image.tar")) == 2
    with tarfile.open(tmp_path / "image.tar") as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = Store(tmp_path / "unpacked")
    assert {r.predicate_type for r in list_referrers(unpacked, built.digest)} == {SLSA_PROVENANCE_V1, CYCLONEDX_BOM}
    assert unpacked.image(built.digest).digest == built.digest


def test_failures_are_one_line_without_traceback(runner: CliRunner, built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    private, _public = _keygen(runner, tmp_path)
    _other_private, other_public = _keygen(runner, tmp_path, "ed25519")
    _run(runner, "sign", "demo:1.0", "--key", str(private))
    wrong = _run(runner, "verify-attestation", "demo:1.0", "--key", str(other_public), code=2)
    assert wrong.stderr.startswith("vial: error: referrer sha256:") and "signature does not verify" in wrong.stderr
    assert wrong.stderr.count("\n") == 1 and "Traceback" not in wrong.stderr
    no_image = _run(runner, "sign", "nothing:here", "--key", str(private), code=1)
    assert no_image.stderr == f"vial: error: nothing:here: no such image in the store ({built.store.root})\n"
    neither = _run(runner, "verify-attestation", "demo:1.0", code=1)
    assert "give either --key, or --identity and --issuer" in neither.stderr
    half = _run(runner, "verify-attestation", "demo:1.0", "--identity", "a@b.c", code=1)
    assert "needs both --identity and --issuer" in half.stderr


def test_wrong_passphrase_and_missing_token(runner: CliRunner, built, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    private, _ = _keygen(runner, tmp_path)
    monkeypatch.setenv("VIAL_PASSWORD", "not it")
    bad = _run(runner, "sign", "demo:1.0", "--key", str(private), code=1)
    assert bad.stderr == f"vial: error: {private}: wrong passphrase (or a corrupted key file)\n"
    # Keyless with no token, no CI credentials and no terminal: a clear line, no network needed.
    for name in ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "GITLAB_CI", "BUILDKITE", "CIRCLECI"):
        monkeypatch.delenv(name, raising=False)
    trust = tmp_path / "trust.json"
    trust.write_text("{}")
    nokey = _run(runner, "sign", "demo:1.0", "--trust-config", str(trust), code=1)
    assert nokey.stderr.startswith(f"vial: error: {trust}: not a Sigstore ClientTrustConfig")


def test_keygen_needs_a_passphrase_source(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("VIAL_PASSWORD")
    result = _run(runner, "keygen", "--output-prefix", str(tmp_path / "k"), code=1)
    assert (
        result.stderr == "vial: error: the key's passphrase is needed: set VIAL_PASSWORD (no terminal to prompt on)\n"
    )
    assert not (tmp_path / "k.key").exists() and not (tmp_path / "k.pub").exists()
    monkeypatch.setenv("VIAL_PASSWORD", PASSWORD)
    _run(runner, "keygen", "--output-prefix", str(tmp_path / "k"))
    again = _run(runner, "keygen", "--output-prefix", str(tmp_path / "k"), code=1)
    assert again.stderr == f"vial: error: {tmp_path / 'k.key'}: exists (use --force to overwrite)\n"


def test_key_and_keyless_options_do_not_mix(runner: CliRunner, built, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    private, _ = _keygen(runner, tmp_path)
    mixed = _run(runner, "sign", "demo:1.0", "--key", str(private), "--staging", code=1)
    assert mixed.stderr.startswith("vial: error: --key signs with a key: drop --identity-token")
    assert list_referrers(built.store, built.digest) == []
    # A token in the environment (as in CI) does not get in the way of key signing.
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", "ey.any.token")
    _run(runner, "sign", "demo:1.0", "--key", str(private))
    assert len(list_referrers(built.store, built.digest)) == 2
