"""The Python API alone (no CLI, no click): build, sign with a key, verify against a policy, run in
bubblewrap and in Docker, and check the Longley results against NIST's certified values."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

import vial
from vial.attest.signing import keys

pytestmark = [pytest.mark.docker, pytest.mark.mmdebstrap, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "longley-ols"
NIST_LONGLEY = {
    "(Intercept)": -3482258.63459582,
    "GNPDEFL": 15.0618722713733,
    "GNP": -0.358191792925910e-01,
    "UNEMP": -2.02022980381683,
    "ARMED": -1.03322686717359,
    "POP": -0.511041056535807e-01,
    "YEAR": 1829.15146461355,
}
NIST_LONGLEY_SE = {"(Intercept)": 890420.383607373, "YEAR": 455.478499142212}


def _check_results(path: Path) -> None:
    with open(path, newline="") as handle:
        rows = {row["term"].strip(): row for row in csv.DictReader(handle)}
    assert set(rows) == set(NIST_LONGLEY)
    for term, certified in NIST_LONGLEY.items():
        assert float(rows[term]["estimate"]) == pytest.approx(certified, rel=1e-8)
    for term, certified in NIST_LONGLEY_SE.items():
        assert float(rows[term]["std_error"]) == pytest.approx(certified, rel=1e-7)


def test_build_sign_verify_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service_missing: object) -> None:
    for tool in ("mmdebstrap", "apt-ftparchive", "bwrap"):
        if shutil.which(tool) is None:
            service_missing(f"{tool} is not installed (run scripts/services.sh)")  # type: ignore[operator]
    try:
        import docker

        docker.DockerClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")).ping()
    except Exception as exc:  # noqa: BLE001
        service_missing(f"no Docker engine: {exc}")  # type: ignore[operator]

    home = tmp_path / "vial-home"
    monkeypatch.setenv("VIAL_HOME", str(home))  # VIAL_CACHE stays: downloads are reused
    project = tmp_path / "longley-ols"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("vial.lock"))
    store = vial.Store(home)
    messages: list[str] = []

    locked = vial.lock(project, store=store, log=messages.append)
    assert locked.lock == project / "vial.lock" and locked.debian > 0 and locked.python > 0
    built = vial.build(project, locked=True, store=store, log=messages.append)
    assert built.digest.startswith("sha256:") and built.name == "longley-ols:1.0.0"
    assert set(built.to_json()) >= {"digest", "layers", "layer_details", "rebuilt"}

    key = keys.generate("ecdsa-p256")
    keys.write_keypair(key, b"pw", tmp_path / "ci.key", tmp_path / "ci.pub")
    signed = vial.sign(built.name, key=tmp_path / "ci.key", password=b"pw", store=store, log=messages.append)
    assert signed.image == built.digest and len(signed.attestations) == 2
    assert signed.to_json()["attestations"][0]["signer"] == f"key {key.hint}"

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: api-test\nsigners:\n  ci: {key: ci.pub}\n"
        "require:\n  - predicate: provenance\n    signers: [ci]\n"
        "provenance:\n  pinned_dependencies: true\n",
        encoding="utf-8",
    )
    report = vial.verify(built.name, policy=policy, store=store)
    assert report.verified, [rule.to_json() for rule in report.result.failures()]
    assert report.to_json()["verified"] is True and report.to_json()["digest"] == built.digest

    for runtime in ("bwrap", "docker"):
        outputs = tmp_path / f"out-{runtime}"
        outputs.mkdir()
        done = vial.run(built.name, policy=policy, runtime=runtime, outputs=outputs, store=store, log=messages.append)
        assert done.exit_code == 0, runtime
        assert done.verification is not None and done.verification.verified
        _check_results(outputs / "results.csv")
    assert not any("error" in m.lower() for m in messages)
