"""The Kubo RPC client against a real node (and a lying one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.registry.ipfs.fakenode import fake_node
from vial.errors import IntegrityError, ServiceError
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.kubo import KuboClient
from vial.registry.ipfs.unixfs import UNIXFS_V0_2015, UNIXFS_V1_2025, Importer


def test_client_calls_on_a_real_node(kubo_factory, tmp_path: Path) -> None:
    node = kubo_factory("unixfs-v1-2025")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "hello.txt").write_bytes(b"hello world")
    with KuboClient(node.url + "/api/v0/") as client:
        assert client.version() == "0.41.0"
        assert client.id()["ID"]
        for profile in (UNIXFS_V1_2025, UNIXFS_V0_2015):
            cid = client.add_path(tmp_path / "d", profile, pin=True)
            with Importer(profile) as importer:
                assert cid == importer.add_path(tmp_path / "d").cid
            assert str(cid) in client.pin_ls(cid)
            client.pin_rm(cid)
            assert client.pin_ls(cid) == {}
        hello = CID.parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")
        assert client.block_get(hello) == b"hello world"
        with pytest.raises(ServiceError, match=r"pin/rm failed with HTTP 500: .*not pinned"):
            client.pin_rm(hello)


def test_block_get_checks_what_the_node_sends() -> None:
    hello = CID.parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")
    with fake_node({"block/get": lambda: (200, b"hello w0rld")}) as url, KuboClient(url) as client:
        with pytest.raises(IntegrityError, match="does not match its CID"):
            client.block_get(hello)


def test_bad_node_address() -> None:
    with pytest.raises(ServiceError, match="expected an http:// or https://"):
        KuboClient("/ip4/127.0.0.1/tcp/5001")
