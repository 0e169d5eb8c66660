"""Bad input gets one clear line naming the file or field, a non-zero exit, and nothing partial."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from buildhelpers import EXAMPLES, run_vial

MINIMAL = """\
[project]
name = "demo"
version = "1.0"

[files]
code = ["main.py"]
"""


def _assert_one_line_error(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("vial: error: "), stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _assert_store_clean(home: Path) -> None:
    if not home.exists():
        return
    assert list((home / "tmp").iterdir()) == []
    index = json.loads((home / "index.json").read_text())
    assert index["manifests"] == []


def _project(tmp_path: Path, spec: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "vial.toml").write_text(spec)
    (project / "main.py").write_text("print('hi')\n")
    return project


def test_malformed_toml_names_line(tmp_path: Path) -> None:
    project = _project(tmp_path, '[project]\nname = "demo"\nversion = \n')
    process = run_vial(["-q", "build", str(project)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "vial.toml", "line 3")
    _assert_store_clean(tmp_path / "home")


def test_invalid_field_names_line_and_field(tmp_path: Path) -> None:
    spec = MINIMAL + '\n[python]\nrequirements = ["numpy=>1"]\n'
    project = _project(tmp_path, spec)
    process = run_vial(["-q", "build", str(project)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "vial.toml:9", "[python] requirements", "numpy=>1")


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path, MINIMAL.replace('version = "1.0"', 'version = "1.0"\nlicence = "MIT"'))
    process = run_vial(["-q", "lock", str(project)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "vial.toml:4", "[project] licence", "unknown field")


def test_missing_file(tmp_path: Path) -> None:
    project = _project(tmp_path, MINIMAL.replace('code = ["main.py"]', 'code = ["main.py"]\ndata = ["data/x.csv"]'))
    process = run_vial(["-q", "build", str(project)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "[files] data", "data/x.csv", "matches no file")
    _assert_store_clean(tmp_path / "home")


def test_missing_spec(tmp_path: Path) -> None:
    process = run_vial(["-q", "build", str(tmp_path)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "vial.toml", "no such file", "vial init")


@pytest.mark.mmdebstrap
def test_unknown_debian_package(tmp_path: Path, debian_tools: None) -> None:
    spec = MINIMAL + '\n[system]\npackages = ["python3", "no-such-package-vial"]\n'
    project = _project(tmp_path, spec)
    process = run_vial(["-q", "lock", str(project)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "no-such-package-vial")
    assert not (project / "vial.lock").exists()
    _assert_store_clean(tmp_path / "home")


def test_unsatisfiable_python_requirement(tmp_path: Path) -> None:
    # An explicit target skips Debian: the requirement is checked against PyPI's real metadata.
    spec = MINIMAL.replace("[files]", '[base]\nimage = "oci:./base@sha256:' + "0" * 64 + '"\n\n[files]')
    spec += '\n[python]\nversion = "3.11"\nplatform = "manylinux_2_36_x86_64"\nrequirements = ["numpy==1.0.0.999"]\n'
    project = _project(tmp_path, spec)
    process = run_vial(["-q", "lock", str(project)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "cannot resolve [python] requirements", "numpy")
    assert not (project / "vial.lock").exists()
    _assert_store_clean(tmp_path / "home")


def test_stale_lock_names_what_changed(tmp_path: Path) -> None:
    project = tmp_path / "longley"
    shutil.copytree(EXAMPLES / "longley-ols", project)
    (project / "data" / "longley.csv").write_text("changed\n")
    spec = (project / "vial.toml").read_text().replace('"scipy==1.17.1"', '"scipy==1.17.1", "pandas"')
    (project / "vial.toml").write_text(spec)
    process = run_vial(["-q", "build", "--locked", str(project)], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(
        process.stderr, "vial.lock is stale", "Python requirements added: pandas", "file changed: data/longley.csv"
    )
    _assert_store_clean(tmp_path / "home")


def test_no_docker_engine_for_run(tmp_path: Path) -> None:
    from vial.oci import MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
    from vial.store import Store

    store = Store(tmp_path / "home")
    layer = store.put_bytes(b"\0" * 1024)
    config = ImageConfig(diff_ids=(layer,)).to_bytes()
    manifest = Manifest(
        Descriptor(MEDIA_TYPE_CONFIG, store.put_bytes(config), len(config)),
        (Descriptor(MEDIA_TYPE_LAYER_TAR, layer, 1024),),
    )
    store.tag("tiny:1", store.put_image(manifest))
    process = run_vial(
        ["-q", "run", "--runtime", "docker", "tiny:1"],
        tmp_path / "home",
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"},
        check=False,
    )
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "no Docker engine", "no-docker.sock")


def test_unknown_image_for_run(tmp_path: Path) -> None:
    process = run_vial(["-q", "run", "nothing:here"], tmp_path / "home", check=False)
    assert process.returncode != 0
    _assert_one_line_error(process.stderr, "nothing:here", "no such image")
