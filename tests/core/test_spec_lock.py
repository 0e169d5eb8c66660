"""The spec and the lock: validation, staleness, and what `vial init` detects."""

from __future__ import annotations

from pathlib import Path

import pytest

from vial.builders.intake.init import init_project
from vial.errors import SpecError
from vial.lockfile import Lock, LockedFile, LockInputs, stale_reasons
from vial.spec import load_spec, parse_spec

BASE = '[project]\nname = "demo"\nversion = "1"\n'


def test_orcid_checksum_and_license_are_checked() -> None:
    ok = parse_spec(BASE + 'license = "mit OR apache-2.0"\nauthors = [{ name = "J", orcid = "0000-0002-1825-0097" }]\n')
    assert ok.project.license == "MIT OR Apache-2.0"
    with pytest.raises(SpecError, match=r"vial.toml:4: \[project\] authors\[0\].orcid: .*checksum"):
        parse_spec(BASE + 'authors = [{ name = "J", orcid = "0000-0002-1825-0098" }]\n')
    with pytest.raises(SpecError, match=r"vial.toml:4: \[project\] license: not an SPDX"):
        parse_spec(BASE + 'license = "Whatever License"\n')


def test_base_must_be_debian_or_pinned_oci() -> None:
    with pytest.raises(SpecError, match=r"\[base\] image: .*must be pinned"):
        parse_spec(BASE + '[base]\nimage = "oci:./layout"\n')
    with pytest.raises(SpecError, match=r"\[base\] image"):
        parse_spec(BASE + '[base]\nimage = "ubuntu:jammy"\n')
    spec = parse_spec(
        BASE
        + '[base]\nimage = "oci:./layout@sha256:'
        + "a" * 64
        + '"\n[python]\nversion = "3.12"\nrequirements = ["six"]\n'
    )
    assert spec.base.kind == "oci" and spec.base.oci_path == "./layout"


def test_stale_reasons_name_every_change() -> None:
    inputs = LockInputs(base="debian:bookworm", system_packages=["python3"], python_requirements=["numpy"])
    file = LockedFile(path="data/a.csv", kind="data", sha256="a" * 64, size=1)
    lock = Lock(inputs=inputs, files=[file])
    assert stale_reasons(lock, inputs, [file]) == []
    changed = inputs.model_copy(update={"system_packages": ["python3", "r-base-core"], "python_requirements": []})
    reasons = stale_reasons(
        lock,
        changed,
        [file.model_copy(update={"sha256": "b" * 64}), LockedFile(path="new.py", kind="code", sha256="c" * 64, size=2)],
    )
    assert reasons == [
        "system packages added: r-base-core",
        "Python requirements removed: numpy",
        "file added: new.py",
        "file changed: data/a.csv (sha256 aaaaaaaaaaaa… -> bbbbbbbbbbbb…)",
    ]


def test_lock_roundtrip_is_stable() -> None:
    lock = Lock(
        inputs=LockInputs(base="debian:bookworm"), files=[LockedFile(path="a", kind="code", sha256="d" * 64, size=3)]
    )
    text = lock.to_toml()
    assert Lock.from_toml(text) == lock
    assert Lock.from_toml(text).to_toml() == text


def test_init_detects_repo2docker_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy\n")
    (tmp_path / "apt.txt").write_text("# system\nr-base-core\n")
    (tmp_path / "analysis.py").write_text("print(1)\n")
    (tmp_path / "data").mkdir()
    path = init_project(tmp_path)
    spec = load_spec(tmp_path)
    assert spec.system.packages == ["python3", "r-base-core", "libstdc++6"]
    assert spec.python.requirements_file == "requirements.txt"
    assert spec.files.code == ["analysis.py"] and spec.files.data == ["data"]
    assert spec.run.cmd == ["python3", "analysis.py"]
    with pytest.raises(SpecError, match="already exists"):
        init_project(tmp_path)
    assert path.read_text().startswith("# vial.toml")
