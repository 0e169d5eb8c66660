"""Two vial homes, each with its own Kubo node, peered on 127.0.0.1 only, IPNS carried over pubsub.

Nodes are made like the IPFS tests' (``tests/registry/ipfs/conftest.py``: test profile, loopback only, no
bootstrap, ``Routing.Type=none``) plus ``Pubsub.Enabled`` and ``Ipns.UsePubsub`` (see
docs/decisions.md, "Follow: IPNS between nodes with no public routing"), and are connected with an
explicit ``swarm connect``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import vial.cli.follow_cmds
import vial.cli.log_cmds
import vial.cli.pull_cmds  # noqa: F401 - the one "pull" (registry, CID, NAME:VERSION), whatever was imported before
from tests.registry.ipfs.conftest import KuboNode, kubo_bin  # noqa: F401 - the session fixture, shared
from vial.cli import cli


@dataclass
class Side:
    """One user: a VIAL_HOME and a Kubo node."""

    home: Path
    node: KuboNode

    def vial(self, *args: str, ok: bool = True) -> Any:
        result = CliRunner().invoke(cli, list(args), env={"VIAL_HOME": str(self.home)}, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def vial_json(self, *args: str) -> Any:
        return json.loads(self.vial(*args, "--json").stdout)


def ipns_node(binary: str, repo: Path, routing: str = "pubsub") -> KuboNode:
    """A test node whose IPNS records travel over pubsub (``Routing.Type=none``), or, with
    ``routing="dht"``, over a DHT among the peered nodes only (``dhtserver``, no bootstrap peers)."""
    node = KuboNode(binary, repo, "unixfs-v1-2025")
    if routing == "dht":
        node.cli("config", "Routing.Type", "dhtserver")
    else:
        node.cli("config", "--json", "Pubsub.Enabled", "true")
        node.cli("config", "--json", "Ipns.UsePubsub", "true")
    return node.start()


def _pair(binary: str, tmp_path: Path, routing: str) -> Iterator[tuple[Side, Side]]:
    nodes: list[KuboNode] = []
    try:
        a = ipns_node(binary, tmp_path / "kubo-a", routing)
        nodes.append(a)
        b = ipns_node(binary, tmp_path / "kubo-b", routing)
        nodes.append(b)
        peer_id = json.loads(a.cli("id"))["ID"]
        b.cli("swarm", "connect", f"{a.swarm_addr()}/p2p/{peer_id}")
        yield Side(tmp_path / "home-a", a), Side(tmp_path / "home-b", b)
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture()
def pair(kubo_bin: str, tmp_path: Path) -> Iterator[tuple[Side, Side]]:  # noqa: F811
    """Publisher A and follower B, their nodes peered directly on loopback, IPNS over pubsub."""
    yield from _pair(kubo_bin, tmp_path, "pubsub")


@pytest.fixture()
def dht_pair(kubo_bin: str, tmp_path: Path) -> Iterator[tuple[Side, Side]]:  # noqa: F811
    """The same, IPNS records in a DHT of the two peered nodes (no bootstrap: still loopback only)."""
    yield from _pair(kubo_bin, tmp_path, "dht")
