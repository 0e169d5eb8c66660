"""Fixtures for policy and runtime tests: a store with a signed, runnable busybox image and a policy."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from policyhelpers import BUSYBOX, busybox_entries, put_image, put_layer, sign_provenance, write_key, write_policy

from vial.attest.signing.keys import SigningKey
from vial.store import Image, Store


@dataclass
class World:
    root: Path
    store: Store
    image: Image
    ci: SigningKey
    ci_pub: Path
    policy: Path


@pytest.fixture(scope="session")
def busybox(service_missing: Callable[[str], None]) -> Path:
    if not BUSYBOX.is_file():
        service_missing("/bin/busybox is absent (run scripts/services.sh: busybox-static)")
    return BUSYBOX


@pytest.fixture(scope="session")
def bwrap(service_missing: Callable[[str], None]) -> str:
    found = shutil.which("bwrap")
    if not found:
        service_missing("bubblewrap is not installed (run scripts/services.sh)")
    return str(found)


@pytest.fixture(scope="session")
def docker_client(service_missing: Callable[[str], None]):  # type: ignore[no-untyped-def]
    try:
        import docker

        client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
        client.ping()
    except Exception as exc:  # noqa: BLE001
        service_missing(f"no Docker engine: {exc}")
    return client


PROVENANCE_POLICY = """\
version: 1
signers:
  ci:
    key: ci.pub
require:
  - predicate: provenance
    signers: [ci]
"""


@pytest.fixture()
def world(tmp_path: Path, busybox: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    home = tmp_path / "home"
    monkeypatch.setenv("VIAL_HOME", str(home))
    store = Store(home)
    image = put_image(store, [put_layer(store, busybox_entries())], name="demo:1.0.0")
    ci, ci_pub = write_key(tmp_path, "ci")
    sign_provenance(store, image, ci)
    return World(tmp_path, store, image, ci, ci_pub, write_policy(tmp_path / "policy.yaml", PROVENANCE_POLICY))
