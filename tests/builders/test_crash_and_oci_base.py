"""A killed build leaves no partial blob or index entry; an OCI layout pinned by digest is a base."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from buildhelpers import VIAL, run_vial

from vial.oci import MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
from vial.store import Store


def _base_layout(directory: Path) -> str:
    """A one-layer OCI layout (the layer holds /etc/base-marker); returns its manifest digest."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("etc/base-marker")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"base\n"))
    layer = buffer.getvalue()
    store = Store(directory)
    layer_digest = store.put_bytes(layer)
    config = ImageConfig(diff_ids=(layer_digest,), env=("PATH=/bin", "BASE=1"), cmd=("sh",)).to_bytes()
    manifest = Manifest(
        Descriptor(MEDIA_TYPE_CONFIG, store.put_bytes(config), len(config)),
        (Descriptor(MEDIA_TYPE_LAYER_TAR, layer_digest, len(layer)),),
    )
    return store.put_image(manifest).digest


def _project(tmp_path: Path, data_mb: int) -> Path:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    digest = _base_layout(project / "base")
    (project / "vial.toml").write_text(
        '[project]\nname = "crash"\nversion = "1"\n'
        f'[base]\nimage = "oci:./base@{digest}"\n'
        '[files]\ncode = ["main.sh"]\ndata = ["data"]\n'
        '[run]\ncmd = ["sh", "main.sh"]\nenv = { MODE = "test" }\n'
    )
    (project / "main.sh").write_text("echo hi\n")
    block = os.urandom(1 << 20)
    with open(project / "data" / "big.bin", "wb") as handle:
        for _ in range(data_mb):
            handle.write(block)
    return project


def _assert_store_consistent(home: Path) -> None:
    for blob in (home / "blobs" / "sha256").iterdir():
        digest = hashlib.sha256()
        with open(blob, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        assert digest.hexdigest() == blob.name, f"partial or corrupt blob {blob.name}"
    for entry in (home / "cache" / "layers").glob("*.json"):
        cached = json.loads(entry.read_text())
        assert (home / "blobs" / "sha256" / cached["digest"].split(":")[1]).exists()


def test_killed_build_leaves_no_partial_blob_or_index_entry(tmp_path: Path) -> None:
    project = _project(tmp_path, data_mb=400)
    home = tmp_path / "home"
    process = subprocess.Popen(
        [VIAL, "-q", "build", str(project)],
        env={**os.environ, "VIAL_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    killed_while_packing = False
    while time.monotonic() < deadline and process.poll() is None:
        temporaries = list((home / "tmp").glob("blob-*")) if (home / "tmp").exists() else []
        if any(path.stat().st_size > 0 for path in temporaries if path.exists()):
            process.send_signal(signal.SIGKILL)
            killed_while_packing = True
            break
        time.sleep(0.01)
    process.wait()
    assert killed_while_packing, "the build finished before it could be killed"
    index = json.loads((home / "index.json").read_text())
    assert index["manifests"] == []
    _assert_store_consistent(home)
    # The next build completes normally.
    result = json.loads(run_vial(["-q", "build", "--json", str(project)], home).stdout)
    assert json.loads((home / "index.json").read_text())["manifests"][0]["digest"] == result["digest"]
    _assert_store_consistent(home)


def test_oci_base_layers_config_and_lock(tmp_path: Path) -> None:
    project = _project(tmp_path, data_mb=1)
    home = tmp_path / "home"
    result = json.loads(run_vial(["-q", "build", "--json", str(project)], home).stdout)
    base_digest = (project / "vial.toml").read_text().split("@")[1].split('"')[0]
    base = Store(project / "base").image(base_digest)
    assert [d["builder"] for d in result["layer_details"]] == ["oci", "files:code", "files:data"]
    assert result["layers"][0] == base.manifest.layers[0].digest
    image = Store(home).image(result["digest"])
    assert image.manifest.layers[0].media_type == MEDIA_TYPE_LAYER_TAR
    assert image.config.env == ("PATH=/bin", "BASE=1", "MODE=test")
    lock = (project / "vial.lock").read_text()
    assert base_digest in lock and "data/big.bin" in lock
    # Exports: an OCI layout directory and an OCI archive.
    run_vial(["-q", "build", "--locked", "--output", str(tmp_path / "out"), str(project)], home)
    assert Store(tmp_path / "out").image(result["digest"]).digest == result["digest"]
    run_vial(["-q", "build", "--locked", "--output", str(tmp_path / "image.tar"), str(project)], home)
    import tarfile

    with tarfile.open(tmp_path / "image.tar") as archive:
        names = set(archive.getnames())
    assert {"oci-layout", "index.json", f"blobs/sha256/{result['digest'].split(':')[1]}"} <= names
