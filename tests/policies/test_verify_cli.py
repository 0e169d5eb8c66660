"""``vial verify`` and ``vial trust`` through the CLI: reports, --json, exit codes, VSA, sources, default policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from policyhelpers import sbom, sign, write_key, write_policy

from vial.attest.referrers import export_archive_with_referrers, export_layout_with_referrers, list_referrers
from vial.attest.signing.keys import encrypt_private_key, generate, key_hint, load_public_key
from vial.attest.signing.verify import verify_with_key
from vial.attest.statements.statement import CYCLONEDX_BOM, TEST_RESULT_V01
from vial.policies.model.policy import SLSA_VSA_V1

VIAL = str(Path(sys.executable).parent / "vial")


def vial(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([VIAL, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)


def test_verify_json_report_and_exit_codes(world) -> None:  # type: ignore[no-untyped-def]
    process = vial("verify", "demo:1.0.0", "--policy", str(world.policy), "--json")
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    assert report["verified"] is True and report["digest"] == world.image.digest
    assert [rule["passed"] for rule in report["rules"]] == [True, True]
    assert report["rules"][1]["detail"].startswith("signed by ci")
    # Human report: one line per rule.
    process = vial("verify", "demo:1.0.0", "--policy", str(world.policy))
    assert (
        process.returncode == 0 and "PASS  integrity" in process.stdout and process.stdout.rstrip().endswith("VERIFIED")
    )
    # A failing policy: exit 2, the failing rule says why.
    other = write_key(world.root, "other")[1]
    failing = write_policy(
        world.root / "other.yaml", f"signers: {{other: {{key: {other}}}}}\nrequire: [{{predicate: provenance}}]\n"
    )
    process = vial("verify", "demo:1.0.0", "--policy", str(failing), "--json")
    assert process.returncode == 2
    report = json.loads(process.stdout)
    assert report["verified"] is False
    assert "no trusted signer holds" in report["rules"][1]["detail"]


def test_sbom_and_custom_rules(world) -> None:  # type: ignore[no-untyped-def]
    sign(
        world.store,
        world.image,
        CYCLONEDX_BOM,
        sbom(
            [
                {
                    "name": "busybox-static",
                    "purl": "pkg:deb/debian/busybox-static@1.35.0-4?arch=amd64",
                    "licenses": [{"license": {"id": "GPL-2.0-only"}}],
                },
                {"name": "numpy", "purl": "pkg:pypi/numpy@2.4.6", "licenses": [{"expression": "BSD-3-Clause"}]},
            ]
        ),
        world.ci,
    )
    sign(world.store, world.image, TEST_RESULT_V01, {"result": "FAILED", "failedTests": ["t1"]}, world.ci)
    base = world.policy.read_text()
    cases = {
        "sbom:\n  deny_packages: ['pkg:pypi/numpy']\n": (False, "sbom.deny_packages", "pkg:pypi/numpy@2.4.6"),
        "sbom:\n  deny_licenses: ['GPL-3.0-only']\n": (True, "sbom.deny_licenses", "no denied license"),
        "sbom:\n  deny_licenses: ['gpl-2.0-only']\n": (False, "sbom.deny_licenses", "busybox-static"),
        (
            "rules:\n  - name: tests pass\n    rego: |\n      package vial.tests\n      import rego.v1\n"
            "      deny contains msg if {\n        some a in input.attestations\n"
            '        a.predicateType == "https://in-toto.io/attestation/test-result/v0.1"\n'
            '        a.predicate.result != "PASSED"\n        msg := sprintf("tests %s", [a.predicate.result])\n      }\n'
        ): (False, "rego: tests pass", "denied: tests FAILED"),
        "rules:\n  - name: signed by ci\n    cel: 'attestations.all(a, \"ci\" in a.signers)'\n": (
            True,
            "cel: signed by ci",
            "true",
        ),
        "rules:\n  - name: small\n    cel: 'size(image.layers) > 3'\n": (False, "cel: small", "not true"),
    }
    for i, (extra, (passed, rule_name, detail)) in enumerate(cases.items()):
        policy = write_policy(world.root / f"case{i}.yaml", base + extra)
        process = vial("verify", "demo:1.0.0", "--policy", str(policy), "--json")
        report = json.loads(process.stdout)
        rule = next(r for r in report["rules"] if r["name"] == rule_name)
        assert (rule["passed"], process.returncode) == (passed, 0 if passed else 2), (extra, report["rules"])
        assert detail in rule["detail"]


def test_bad_policies_are_one_line_errors(world) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "signers: {ci: {key: ci.pub}}\nrequire: [{predicate: provenance, signers: [nobody]}]\n": "unknown signer 'nobody'",
        "signers: {ci: {key: ci.pub}}\nrequire: [{predicate: provenance, threshold: 2}]\n": "only 1 are named",
        "signers: {ci: {key: missing.pub}}\nrequire: [{predicate: provenance}]\n": "no such key file",
        "signers: {ci: {key: ci.pub}}\n": "must require at least one",
        "signers: {ci: {key: ci.pub}}\nrequire: [{predicate: provenance}]\nmax_age: soon\n": "not a duration",
        "signers: {ci: {key: ci.pub}}\nrequire: [{predicate: provenance}]\nrules: [{cel: 'a +* b'}]\n": "CEL",
        "signers: {ci: {key: ci.pub}}\nrequire: [{predicate: provenance}]\nrules: [{rego: 'package x\nallow if {{'}]\n": "Rego",
        "signers: {ci: {key: ci.pub}}\nrequire: [{predicate: provenance}]\nbogus: 1\n": "unknown field 'bogus'",
        "signers: {ci: {issuer: https://x}}\nrequire: [{predicate: provenance}]\n": "exactly one of san or san_regex",
        "signers: [\n": "not valid YAML",
    }
    for i, (text, message) in enumerate(cases.items()):
        policy = write_policy(world.root / f"bad{i}.yaml", text)
        process = vial("verify", "demo:1.0.0", "--policy", str(policy))
        assert process.returncode == 1, text
        assert process.stderr.startswith("vial: error: policy ") and message in process.stderr, (text, process.stderr)
        assert process.stderr.count("\n") == 1 and "Traceback" not in process.stderr


def test_vsa_is_signed_and_stored(world) -> None:  # type: ignore[no-untyped-def]
    key = generate()
    (world.root / "verifier.key").write_bytes(encrypt_private_key(key, b"pw"))
    output = world.root / "vsa.json"
    process = vial(
        "verify",
        "demo:1.0.0",
        "--policy",
        str(world.policy),
        "--vsa",
        str(world.root / "verifier.key"),
        "--vsa-output",
        str(output),
        "--json",
        env={"VIAL_PASSWORD": "pw"},
    )
    assert process.returncode == 0, process.stderr
    verified = verify_with_key(output.read_bytes(), key.public, world.image.digest, SLSA_VSA_V1)
    predicate = verified.statement.predicate
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1", "VIAL_POLICY_PASSED"]
    assert predicate["policy"]["digest"]["sha256"] == json.loads(process.stdout)["policy"]["digest"].removeprefix(
        "sha256:"
    )
    assert len(predicate["inputAttestations"]) == 1
    assert [r.predicate_type for r in list_referrers(world.store, world.image.digest)] == [
        "https://slsa.dev/provenance/v1",
        SLSA_VSA_V1,
    ]


def test_layout_and_archive_sources(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    layout, archive = tmp_path / "layout", tmp_path / "image.tar"
    export_layout_with_referrers(world.store, "demo:1.0.0", layout)
    export_archive_with_referrers(world.store, "demo:1.0.0", archive)
    for ref in (str(layout), str(archive), f"{archive}@{world.image.digest}"):
        process = vial(
            "verify", ref, "--policy", str(world.policy), "--json", env={"VIAL_HOME": str(tmp_path / "empty")}
        )
        report = json.loads(process.stdout)
        assert process.returncode == 0 and report["digest"] == world.image.digest, report
    assert sorted(p.name for p in layout.iterdir()) == ["blobs", "index.json", "oci-layout"]  # nothing written into it
    # A tampered blob inside the archive's layout directory is caught.
    blob = layout / "blobs" / "sha256" / world.image.manifest.layers[0].digest.removeprefix("sha256:")
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[100] ^= 1
    blob.write_bytes(bytes(data))
    process = vial("verify", str(layout), "--policy", str(world.policy), "--json")
    assert process.returncode == 2 and json.loads(process.stdout)["rules"][0]["name"] == "integrity"


def test_default_policy_from_trusted_signers(world) -> None:  # type: ignore[no-untyped-def]
    process = vial("verify", "demo:1.0.0")
    assert process.returncode == 1 and "no --policy and no trusted signers" in process.stderr
    process = vial("run", "demo:1.0.0")
    assert process.returncode == 1 and "vial trust add-key" in process.stderr
    assert vial("trust", "add-key", str(world.ci_pub), "--name", "ci").returncode == 0
    assert (
        vial(
            "trust",
            "add-identity",
            "--issuer",
            "https://token.actions.githubusercontent.com",
            "--san-regex",
            "https://github.com/lab/.*",
            "--name",
            "gha",
        ).returncode
        == 0
    )
    listed = json.loads(vial("trust", "list", "--json").stdout)["signers"]
    assert set(listed) == {"ci", "gha"}
    assert listed["ci"]["fingerprint"] == key_hint(load_public_key(world.ci_pub))
    process = vial("verify", "demo:1.0.0", "--json")
    assert process.returncode == 0, process.stdout
    assert json.loads(process.stdout)["policy"]["name"] == "default"
    assert vial("trust", "remove", "ci").returncode == 0
    assert vial("verify", "demo:1.0.0").returncode == 2


@pytest.mark.docker
def test_insecure_skip_verify_is_loud(world, docker_client) -> None:  # type: ignore[no-untyped-def]
    process = vial("run", "--insecure-skip-verify", "--runtime", "docker", "demo:1.0.0")
    assert process.returncode == 0 and process.stdout == "verified\n"
    assert "WARNING: --insecure-skip-verify" in process.stderr and "NOT" in process.stderr


def test_policy_signer_by_fingerprint_of_a_trusted_key(world) -> None:  # type: ignore[no-untyped-def]
    fingerprint = key_hint(load_public_key(world.ci_pub))
    policy = write_policy(
        world.root / "fp.yaml",
        f"signers: {{ci: {{fingerprint: '{fingerprint}'}}}}\nrequire: [{{predicate: provenance}}]\n",
    )
    process = vial("verify", "demo:1.0.0", "--policy", str(policy))
    assert process.returncode == 1 and "no key with fingerprint" in process.stderr
    assert vial("trust", "add-key", str(world.ci_pub)).returncode == 0
    assert vial("verify", "demo:1.0.0", "--policy", str(policy)).returncode == 0
