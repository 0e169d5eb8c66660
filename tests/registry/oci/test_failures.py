"""Registries that lie, fail or are absent: one clear line, and nothing unverified in the store."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from disthelpers import Proxy, Registry, SignedImage, free_port, store_snapshot

from vial.attest.referrers import list_referrers
from vial.cli import cli, dist_cmds  # noqa: F401 - registers the commands
from vial.errors import IntegrityError
from vial.registry.oci.auth import AuthError, find_credentials
from vial.registry.oci.client import RegistryError
from vial.registry.oci.distribution import pull, push
from vial.registry.oci.reference import parse_reference
from vial.store import Store


def _pushed(signed: SignedImage, proxy: Proxy, repository: str) -> str:
    push(signed.store, "demo:1.0", parse_reference(proxy.url(repository, "1.0")))
    return proxy.url(repository, digest=signed.digest)


def _cli(home: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["-q", *args], env={"VIAL_HOME": str(home), **(env or {})})


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vial: error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize("which", ["layer", "config", "attestation bundle"])
def test_corrupted_blob_on_pull_writes_nothing(proxy: Proxy, signed: SignedImage, tmp_path: Path, which: str) -> None:
    source = _pushed(signed, proxy, f"tamper/blob-{which.split()[-1]}")
    image = signed.store.image(signed.digest)
    bundle = list_referrers(signed.store, signed.digest)[0].bundle.digest
    proxy.state.corrupt_blob = {
        "layer": image.manifest.layers[0].digest,
        "config": image.manifest.config.digest,
        "attestation bundle": bundle,
    }[which]
    store = Store(tmp_path / "clean")
    before = store_snapshot(store)
    line = _one_error_line(_cli(store.root, "pull", source))
    assert f"{proxy.state.corrupt_blob}: content has digest" in line
    # The bad blob, and everything else of the pull (even the good blobs before it), stayed out.
    assert store_snapshot(store) == before
    assert list(store.tmp_dir.iterdir()) == []


def test_connection_dropped_in_the_middle_of_a_layer(proxy: Proxy, signed: SignedImage, tmp_path: Path) -> None:
    source = _pushed(signed, proxy, "tamper/dropped")
    proxy.state.truncate_blob = signed.layers[0]
    store = Store(tmp_path / "clean")
    before = store_snapshot(store)
    line = _one_error_line(_cli(store.root, "pull", source))
    assert f"GET blob {signed.layers[0]}: transfer failed" in line
    assert store_snapshot(store) == before
    assert list(store.tmp_dir.iterdir()) == []


def test_manifest_that_does_not_match_its_digest_is_refused(proxy: Proxy, signed: SignedImage, tmp_path: Path) -> None:
    source = _pushed(signed, proxy, "tamper/manifest")
    original = json.loads(signed.store.read_blob(signed.digest))
    original["annotations"]["org.opencontainers.image.licenses"] = "proprietary"
    proxy.state.manifest_body = json.dumps(original).encode()
    store = Store(tmp_path / "clean")
    before = store_snapshot(store)
    with pytest.raises(IntegrityError, match=f"manifest {signed.digest}: content has digest sha256:"):
        pull(store, parse_reference(source))
    assert store_snapshot(store) == before
    line = _one_error_line(_cli(store.root, "pull", source))
    assert "content has digest" in line
    assert store_snapshot(store) == before


def test_corruption_inside_the_registry_storage_is_caught(
    registry: Registry, signed: SignedImage, tmp_path: Path
) -> None:
    """Bytes altered on the registry's disk (it serves them as they are): the pull stops, the store is unchanged."""
    target = parse_reference(registry.url("tamper/disk", "1.0"))
    push(signed.store, "demo:1.0", target)
    layer = signed.layers[1]
    data = registry.storage / "docker/registry/v2/blobs/sha256" / layer[7:9] / layer[7:] / "data"
    original = data.read_bytes()
    data.write_bytes(original.upper())
    try:
        store = Store(tmp_path / "clean")
        before = store_snapshot(store)
        with pytest.raises(IntegrityError, match=f"layer {layer}: content has digest"):
            pull(store, target)
        assert store_snapshot(store) == before
    finally:
        data.write_bytes(original)


def test_registry_down_is_one_line(signed: SignedImage, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    pulled = _one_error_line(_cli(tmp_path / "h", "pull", f"oci://127.0.0.1:{port}/lab/demo:1.0"))
    assert f"registry 127.0.0.1:{port} is unreachable over http" in pulled
    pushed = _one_error_line(_cli(signed.store.root, "push", "demo:1.0", f"oci://127.0.0.1:{port}/lab/demo:1.0"))
    assert f"registry 127.0.0.1:{port} is unreachable" in pushed


def test_registry_answering_500_is_one_line(proxy: Proxy, signed: SignedImage, tmp_path: Path) -> None:
    proxy.state.fail_all = 500
    pulled = _one_error_line(_cli(tmp_path / "h", "pull", proxy.url("lab/demo", "1.0")))
    assert f"registry {proxy.host}: GET manifest 1.0: 500 Internal Server Error (UNKNOWN: proxy says no)" in pulled
    pushed = _one_error_line(_cli(signed.store.root, "push", "demo:1.0", proxy.url("lab/demo", "1.0")))
    assert f"registry {proxy.host}: GET /v2/: 500" in pushed


def test_missing_image_is_one_line(proxy: Proxy, tmp_path: Path) -> None:
    line = _one_error_line(_cli(tmp_path / "h", "pull", proxy.url("lab/nothing", "9.9")))
    assert "GET manifest 9.9: 404 Not Found" in line


def test_bearer_token_auth_with_env_and_docker_config(proxy: Proxy, signed: SignedImage, tmp_path: Path) -> None:
    """A registry behind a token service: credentials from the environment (push) or Docker's config.json (pull)."""
    proxy.state.bearer = ("alice", "s3cret")
    env = {"VIAL_REGISTRY_USERNAME": "alice", "VIAL_REGISTRY_PASSWORD": "s3cret"}
    pushed = _cli(signed.store.root, "push", "demo:1.0", proxy.url("auth/demo", "1.0"), env=env)
    assert pushed.exit_code == 0, pushed.stderr
    assert any(r.startswith("GET /token") for r in proxy.state.requests)

    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    auth = base64.b64encode(b"alice:s3cret").decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {proxy.host: {"auth": auth}}}))
    docker_env = {"DOCKER_CONFIG": str(config_dir), "VIAL_REGISTRY_USERNAME": "", "VIAL_REGISTRY_PASSWORD": ""}
    pulled = _cli(tmp_path / "clean", "pull", proxy.url("auth/demo", "1.0"), env=docker_env)
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.stdout.strip() == signed.digest

    wrong = _one_error_line(
        _cli(tmp_path / "other", "pull", proxy.url("auth/demo", "1.0"), env={**env, "VIAL_REGISTRY_PASSWORD": "wrong"})
    )
    assert "refused credentials from $VIAL_REGISTRY_USERNAME (401)" in wrong
    assert "s3cret" not in wrong and "wrong" not in wrong.split("refused")[0]


def test_basic_auth(proxy: Proxy, signed: SignedImage, tmp_path: Path) -> None:
    proxy.state.basic = ("alice", "s3cret")
    env = {"VIAL_REGISTRY_USERNAME": "alice", "VIAL_REGISTRY_PASSWORD": "s3cret"}
    pushed = _cli(signed.store.root, "push", "demo:1.0", proxy.url("basic/demo", "1.0"), env=env)
    assert pushed.exit_code == 0, pushed.stderr
    pulled = _cli(tmp_path / "clean", "pull", proxy.url("basic/demo", "1.0"), env=env)
    assert pulled.exit_code == 0 and pulled.stdout.strip() == signed.digest
    anonymous = _one_error_line(
        _cli(
            tmp_path / "anon",
            "pull",
            proxy.url("basic/demo", "1.0"),
            env={"VIAL_REGISTRY_USERNAME": "", "DOCKER_CONFIG": str(tmp_path / "none")},
        )
    )
    assert "401 Unauthorized" in anonymous and "no credentials found" in anonymous


def test_real_registry_with_htpasswd_auth(
    auth_registry: Registry, signed: SignedImage, tmp_path: Path, skopeo: str
) -> None:
    """docker-registry itself asking for Basic auth: push with env credentials, pull with config.json."""
    target = auth_registry.url("private/demo", "1.0")
    anonymous = _one_error_line(
        _cli(
            signed.store.root,
            "push",
            "demo:1.0",
            target,
            env={"VIAL_REGISTRY_USERNAME": "", "DOCKER_CONFIG": str(tmp_path / "none")},
        )
    )
    assert f"registry {auth_registry.host}: " in anonymous and "401 Unauthorized; no credentials found" in anonymous
    env = {"VIAL_REGISTRY_USERNAME": "alice", "VIAL_REGISTRY_PASSWORD": "s3cret"}
    pushed = _cli(signed.store.root, "push", "demo:1.0", target, env=env)
    assert pushed.exit_code == 0, pushed.stderr
    inspected = subprocess.run(
        [
            skopeo,
            "inspect",
            "--tls-verify=false",
            "--creds",
            "alice:s3cret",
            f"docker://{auth_registry.host}/private/demo:1.0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert inspected.returncode == 0 and json.loads(inspected.stdout)["Digest"] == signed.digest, inspected.stderr
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}})
    )
    pulled = _cli(
        tmp_path / "clean",
        "pull",
        target,
        "--json",
        env={"VIAL_REGISTRY_USERNAME": "", "DOCKER_CONFIG": str(tmp_path / "docker")},
    )
    assert pulled.exit_code == 0, pulled.stderr
    assert json.loads(pulled.stdout)["digest"] == signed.digest and len(json.loads(pulled.stdout)["referrers"]) == 1
    wrong = _one_error_line(_cli(tmp_path / "other", "pull", target, env={**env, "VIAL_REGISTRY_PASSWORD": "nope"}))
    assert "401 Unauthorized" in wrong and "nope" not in wrong


def test_credentials_lookup(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://ghcr.io": {"auth": base64.b64encode(b"bob:tok").decode()},
                    "registry.example:5000": {"username": "carol", "password": "pw"},
                }
            }
        )
    )
    env = {"DOCKER_CONFIG": str(tmp_path)}
    found = find_credentials("ghcr.io", env)
    assert found is not None and (found.username, found.password) == ("bob", "tok")
    found = find_credentials("registry.example:5000", env)
    assert found is not None and found.username == "carol"
    assert find_credentials("quay.io", env) is None
    explicit = find_credentials("quay.io", {**env, "VIAL_REGISTRY_USERNAME": "dan", "VIAL_REGISTRY_PASSWORD": "x"})
    assert explicit is not None and explicit.source == "$VIAL_REGISTRY_USERNAME"
    config.write_text(json.dumps({"auths": {"ghcr.io": {"auth": "not base64!"}}}))
    with pytest.raises(AuthError, match="'auth' is not base64"):
        find_credentials("ghcr.io", env)


def test_push_refuses_a_digest_of_another_image(signed: SignedImage, registry: Registry) -> None:
    from vial.registry.oci.distribution import DistributionError

    with pytest.raises(DistributionError, match=re.escape("is not that of demo:1.0")):
        push(signed.store, "demo:1.0", parse_reference(registry.url("lab/x", digest="sha256:" + "0" * 64)))


def test_https_is_the_default_for_other_hosts() -> None:
    from vial.registry.oci.client import RegistryClient

    with RegistryClient(parse_reference("oci://registry.example/lab/demo:1")) as client:
        assert client.base == "https://registry.example"
    with RegistryClient(parse_reference("oci://registry.example/lab/demo:1"), insecure=True) as client:
        assert client.base == "http://registry.example"
    assert issubclass(RegistryError, Exception)
