"""Each example, built for real, runs through ``vial run`` under a policy that requires its signed
provenance, in Docker and under bubblewrap (daemonless), with the same results."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from buildhelpers import Built, run_vial

pytestmark = [pytest.mark.docker, pytest.mark.mmdebstrap, pytest.mark.slow]

PASSWORD = {"VIAL_PASSWORD": "examples"}


@pytest.fixture(scope="module")
def signed_examples(built_examples: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sign each example's provenance and SBOM with a fresh key; return a policy per example."""
    keys = tmp_path_factory.mktemp("example-keys")
    policies = {}
    for name, built in built_examples.items():
        run_vial(["-q", "keygen", "--output-prefix", str(keys / name)], built.home, env=PASSWORD)
        run_vial(["-q", "sign", built.digest, "--key", str(keys / f"{name}.key")], built.home, env=PASSWORD)
        policy = keys / f"{name}.yaml"
        policy.write_text(f"""\
version: 1
signers:
  release:
    key: {keys / f"{name}.pub"}
require:
  - predicate: provenance
    signers: [release]
provenance:
  builder_ids: ["https://vial.dev/builder/local/v1"]
  pinned_dependencies: true
""")
        policies[name] = policy
    return policies


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["term"].strip(): row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("example", ["longley-ols", "mtcars-lm"])
def test_example_runs_verified_on_docker_and_bwrap(
    example: str,
    built_examples: dict[str, Built],
    signed_examples: dict[str, Path],
    docker_engine: None,
    tmp_path: Path,
) -> None:
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (run scripts/services.sh)")
    built = built_examples[example]
    policy = signed_examples[example]
    process = run_vial(["verify", built.digest, "--policy", str(policy), "--json"], built.home, check=False)
    report = json.loads(process.stdout)
    assert report["verified"] is True, report["rules"]
    assert [r["name"] for r in report["rules"]] == [
        "integrity",
        "require provenance: 1 of [release]",
        "provenance.builder_id",
        "provenance.pinned_dependencies",
    ]
    outputs = {}
    stdout = {}
    for runtime in ("docker", "bwrap"):
        outputs[runtime] = tmp_path / runtime
        process = run_vial(
            [
                "-q",
                "run",
                built.digest,
                "--policy",
                str(policy),
                "--runtime",
                runtime,
                "--outputs",
                str(outputs[runtime]),
            ],
            built.home,
        )
        stdout[runtime] = process.stdout
    assert stdout["docker"] == stdout["bwrap"]
    assert (outputs["docker"] / "results.csv").read_bytes() == (outputs["bwrap"] / "results.csv").read_bytes()
    rows = _rows(outputs["bwrap"] / "results.csv")
    if example == "longley-ols":
        assert float(rows["YEAR"]["estimate"]) == pytest.approx(1829.15146461355, rel=1e-8)
    else:
        assert float(rows["wt"]["estimate"]) == pytest.approx(-3.87783074240, rel=1e-8)


def test_example_with_an_untrusted_policy_does_not_run(
    built_examples: dict[str, Built], signed_examples: dict[str, Path], tmp_path: Path
) -> None:
    # The longley policy trusts the longley key only: mtcars' provenance is signed by another key.
    built = built_examples["mtcars-lm"]
    process = run_vial(
        [
            "-q",
            "run",
            built.digest,
            "--policy",
            str(signed_examples["longley-ols"]),
            "--runtime",
            "bwrap",
            "--outputs",
            str(tmp_path / "out"),
        ],
        built.home,
        check=False,
    )
    assert process.returncode == 2
    assert "not verified, not run: require provenance" in process.stderr
    assert not (tmp_path / "out").exists()
