"""The built examples run in a real Docker engine and produce the expected results."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from buildhelpers import Built, run_vial

pytestmark = [pytest.mark.docker, pytest.mark.mmdebstrap, pytest.mark.slow]

# NIST Statistical Reference Datasets, "Longley": certified regression coefficients.
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
# R 4.2.2, lm(mpg ~ wt + hp, data = mtcars).
R_MTCARS = {"(Intercept)": 37.22727011645, "wt": -3.87783074240, "hp": -0.03177294698}


def _results(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["term"].strip(): row for row in csv.DictReader(handle)}


def test_longley_matches_nist_certified_values(
    built_examples: dict[str, Built], docker_engine: None, tmp_path: Path
) -> None:
    built = built_examples["longley-ols"]
    outputs = tmp_path / "out"
    process = run_vial(["-q", "run", "--insecure-skip-verify", built.digest, "--outputs", str(outputs)], built.home)
    assert "Longley OLS: n=16, k=7" in process.stdout
    rows = _results(outputs / "results.csv")
    assert set(rows) == set(NIST_LONGLEY)
    for term, certified in NIST_LONGLEY.items():
        assert float(rows[term]["estimate"]) == pytest.approx(certified, rel=1e-8)
    for term, certified in NIST_LONGLEY_SE.items():
        assert float(rows[term]["std_error"]) == pytest.approx(certified, rel=1e-7)


def test_mtcars_matches_r(built_examples: dict[str, Built], docker_engine: None, tmp_path: Path) -> None:
    built = built_examples["mtcars-lm"]
    outputs = tmp_path / "out"
    process = run_vial(
        ["-q", "run", "--insecure-skip-verify", "mtcars-lm:1.0.0", "--outputs", str(outputs)], built.home
    )
    assert "n=32" in process.stdout
    rows = _results(outputs / "results.csv")
    for term, expected in R_MTCARS.items():
        assert float(rows[term]["estimate"]) == pytest.approx(expected, rel=1e-8)


def test_run_passes_command_and_exit_code(built_examples: dict[str, Built], docker_engine: None) -> None:
    built = built_examples["longley-ols"]
    process = run_vial(
        [
            "-q",
            "run",
            "--insecure-skip-verify",
            built.digest,
            "--",
            "python3",
            "-c",
            "import numpy, sys; print(numpy.__version__); sys.exit(7)",
        ],
        built.home,
        check=False,
    )
    assert process.returncode == 7
    assert process.stdout.strip() == "2.4.6"


def test_image_config_and_annotations(built_examples: dict[str, Built]) -> None:
    from vial.store import Store

    built = built_examples["longley-ols"]
    image = Store(built.home).image(built.digest)
    assert image.config.cmd == ("python3", "analysis.py")
    assert image.config.workdir == "/project"
    assert "PYTHONDONTWRITEBYTECODE=1" in image.config.env
    assert image.config.created == "1970-01-01T00:00:00Z"
    annotations = image.manifest.annotations
    assert annotations["org.opencontainers.image.title"] == "longley-ols"
    assert annotations["org.opencontainers.image.licenses"] == "MIT"
    assert annotations["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z"
    assert [layer.media_type for layer in image.manifest.layers] == ["application/vnd.oci.image.layer.v1.tar+zstd"] * 4


def test_python_layer_is_installed_for_the_image(built_examples: dict[str, Built]) -> None:
    """Console scripts name the image's interpreter; no .pyc and no installer metadata are packed."""
    import io
    import tarfile

    from vial.builders.layers.tarball import iter_layer_tar
    from vial.store import Store

    built = built_examples["longley-ols"]
    store = Store(built.home)
    image = store.image(built.digest)
    python_layer = image.manifest.layers[1].digest
    with tarfile.open(fileobj=io.BytesIO(b"".join(iter_layer_tar(store, python_layer)))) as archive:
        names = archive.getnames()
        f2py = archive.extractfile("usr/local/bin/f2py")
        assert f2py is not None and f2py.readline() == b"#!/usr/bin/python3\n"
    assert "usr/local/lib/python3.11/dist-packages/numpy/__init__.py" in names
    assert not [n for n in names if n.endswith(".pyc")]
    assert not [n for n in names if n.rsplit("/", 1)[-1] in ("INSTALLER", "REQUESTED", "direct_url.json")]
