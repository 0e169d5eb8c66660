"""Fixtures for push/pull: a real registry (Debian's docker-registry) on loopback, a proxy in front of it
that can misbehave on demand, signed test images.

The registry is started once per test session on its own free port with its own storage directory
(scripts/services.d/50-registry.sh installs the binary). The proxy forwards to it and, per test, can
corrupt a blob, serve a manifest that does not match its digest, answer 500, demand Bearer tokens
from a loopback token service, or play a registry *with* the referrers API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from disthelpers import REGISTRY_CONFIG, Proxy, ProxyServer, Registry, SignedImage, free_port, make_signed_image

from vial.store import Store


def _serve_registry(base: Path, service_missing, extra_config: str = "") -> Iterator[Registry]:  # type: ignore[no-untyped-def]
    """Run docker-registry on a free loopback port with its own config and storage under ``base``."""
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if not binary:
        service_missing("docker-registry is not installed (run scripts/services.sh)")
    port = free_port()
    config = base / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(storage=base / "storage", port=port) + extra_config)
    log = open(base / "registry.log", "wb")  # noqa: SIM115 - closed with the process, below
    process = subprocess.Popen([str(binary), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.05)
        else:
            service_missing(f"docker-registry did not start: {(base / 'registry.log').read_text()[-500:]}")
        if process.poll() is not None:
            service_missing(f"docker-registry exited: {(base / 'registry.log').read_text()[-500:]}")
        yield Registry(f"127.0.0.1:{port}", base / "storage")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, service_missing) -> Iterator[Registry]:  # type: ignore[no-untyped-def]
    """The registry most tests share (repositories differ per test)."""
    yield from _serve_registry(tmp_path_factory.mktemp("registry"), service_missing)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory, service_missing) -> Iterator[Registry]:  # type: ignore[no-untyped-def]
    """A docker-registry that wants Basic auth (htpasswd, user alice, password s3cret)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))  # bcrypt, cost 4: fast
    except (ImportError, AttributeError, ValueError) as exc:
        pytest.skip(f"no bcrypt for an htpasswd file in this Python ({exc})")
    if not hashed or not hashed.startswith("$2"):
        pytest.skip("this libc's crypt() has no bcrypt for an htpasswd file")
    base = tmp_path_factory.mktemp("auth-registry")
    (base / "htpasswd").write_text(f"alice:{hashed}\n")
    extra = f"auth:\n  htpasswd:\n    realm: vial-test\n    path: {base / 'htpasswd'}\n"
    yield from _serve_registry(base, service_missing, extra)


@pytest.fixture()
def proxy(registry: Registry) -> Iterator[Proxy]:
    server = ProxyServer(registry.host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Proxy(f"127.0.0.1:{server.server_port}", server.state)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def signed(tmp_path: Path) -> SignedImage:
    return make_signed_image(Store(tmp_path / "source-store"), tmp_path)


@pytest.fixture(scope="session")
def skopeo(service_missing) -> str:  # type: ignore[no-untyped-def]
    found = shutil.which("skopeo")
    if not found:
        service_missing("skopeo is not installed (run scripts/services.sh)")
    return str(found)


@pytest.fixture(scope="session")
def cosign_bin(service_missing) -> str:  # type: ignore[no-untyped-def]
    gopath = Path(os.environ.get("GOPATH", "/root/go"))
    found = shutil.which("cosign") or (
        str(gopath / "bin" / "cosign") if (gopath / "bin" / "cosign").is_file() else None
    )
    if not found:
        service_missing("cosign is not installed (run scripts/services.sh)")
    return str(found)
