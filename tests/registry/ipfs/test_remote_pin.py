"""Remote pinning through IPFS Cluster's Pinning Service API (real cluster peer and Kubo nodes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.registry.ipfs.images import layer_tar, make_image
from vial.errors import ServiceError
from vial.registry.ipfs.images import pin
from vial.registry.ipfs.kubo import KuboClient
from vial.registry.ipfs.pinsvc import PinningService
from vial.store import Store


def test_remote_pin_reaches_pinned(kubo_factory, cluster_factory, tmp_path: Path) -> None:
    source_node = kubo_factory("unixfs-v1-2025")
    cluster_kubo = kubo_factory("unixfs-v1-2025")
    cluster = cluster_factory(cluster_kubo)
    store = Store(tmp_path / "store")
    make_image(store, "demo:1.0", [layer_tar({"remote.txt": b"pinned far away\n"})])
    with KuboClient(source_node.url) as client:
        local = pin(store, "demo:1.0", client)
        origins = [a for a in client.id()["Addresses"] if a.startswith("/ip4/127.0.0.1/")]
    with PinningService(cluster.url, cluster.token()) as service:
        request = service.add(local.cid, name="demo:1.0", origins=origins)
        assert request.status in ("queued", "pinning", "pinned")
        done = service.wait(request.requestid)
        assert done.status == "pinned" and done.cid == str(local.cid)
        assert [p.requestid for p in service.list(local.cid, ("pinned",))] == [request.requestid]
    with KuboClient(cluster_kubo.url) as client:
        assert str(local.cid) in client.pin_ls(local.cid)


def test_remote_pin_rejects_bad_token(kubo_factory, cluster_factory) -> None:
    cluster = cluster_factory(kubo_factory("unixfs-v1-2025"))
    with PinningService(cluster.url, "not-a-token") as service, pytest.raises(ServiceError, match="HTTP 401"):
        service.list()


def test_cli_pin_with_service(kubo_factory, cluster_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    import vial.cli.ipfs_cmds  # noqa: F401
    from vial.cli import cli

    source_node = kubo_factory("unixfs-v1-2025")
    cluster_kubo = kubo_factory("unixfs-v1-2025")
    cluster = cluster_factory(cluster_kubo)
    store = Store(tmp_path / "store")
    make_image(store, "demo:2.0", [layer_tar({"cli.txt": b"via the CLI\n"})])
    monkeypatch.setenv("VIAL_HOME", str(store.root))
    monkeypatch.setenv("VIAL_PINNING_TOKEN", cluster.token())
    result = CliRunner().invoke(
        cli, ["-q", "pin", "demo:2.0", "--node", source_node.url, "--service", cluster.url, "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["remote"]["status"] == "pinned" and data["remote"]["cid"] == data["cid"]
