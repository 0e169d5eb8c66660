"""Real Kubo nodes for the IPFS tests, each with its own repo in tmp, on 127.0.0.1 only.

Repos are made with ``ipfs init --profile=test,<unixfs profile>`` (API, gateway and swarm on
127.0.0.1 with free ports, no bootstrap peers, MDNS off), plus ``Routing.Type=none`` (no DHT or
delegated routing): nothing leaves the machine. Nodes find each other only by an explicit
``swarm connect`` on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

GOPATH_BIN = Path(os.environ.get("GOPATH", "/root/go")) / "bin"


KUBO_VERSION = "0.41.0"  # as pinned in scripts/services.d/30-kubo.sh


def kubo_binary() -> str | None:
    """The ``ipfs`` built by the services script (GOPATH/bin), else one on PATH."""
    candidate = GOPATH_BIN / "ipfs"
    if candidate.is_file():
        return str(candidate)
    return shutil.which("ipfs")


def stop_process(process: subprocess.Popen | None) -> None:  # type: ignore[type-arg]
    """Terminate a daemon, and kill it if it does not stop within 30 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class KuboNode:
    """One Kubo repo; ``start()`` runs its daemon, ``cli()`` runs the ``ipfs`` command on it."""

    def __init__(self, binary: str, repo: Path, profile: str) -> None:
        self.binary = binary
        self.repo = repo
        self.profile = profile
        self.env = {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off", "GOLOG_LOG_LEVEL": "error"}
        self._daemon: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.cli("init", f"--profile=test,{profile}")
        self.cli("config", "Routing.Type", "none")
        self.cli("config", "--json", "Swarm.RelayClient.Enabled", "false")
        self.cli("config", "--json", "Swarm.RelayService.Enabled", "false")

    def cli(self, *args: str, input: bytes | None = None) -> str:
        result = subprocess.run([self.binary, *args], env=self.env, input=input, capture_output=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"ipfs {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout.decode().strip()

    def start(self) -> KuboNode:
        log = open(self.repo / "daemon.log", "wb")  # noqa: SIM115 - closed with the process
        self._daemon = subprocess.Popen(
            [self.binary, "daemon", "--enable-gc=false"], env=self.env, stdout=log, stderr=log
        )
        api_file = self.repo / "api"
        for _ in range(600):  # bounded wait for the daemon to come up (not a timing assertion)
            if self._daemon.poll() is not None:
                raise RuntimeError(f"kubo daemon exited: {(self.repo / 'daemon.log').read_text()[-500:]}")
            if api_file.is_file():
                addr = api_file.read_text().strip().split("/")  # /ip4/127.0.0.1/tcp/PORT
                url = f"http://{addr[2]}:{addr[4]}"
                try:
                    if httpx.post(url + "/api/v0/id", timeout=5).status_code == 200:
                        self.url = url
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("kubo daemon did not come up")

    def api_multiaddr(self) -> str:
        host, port = self.url.removeprefix("http://").split(":")
        return f"/ip4/{host}/tcp/{port}"

    def swarm_addr(self) -> str:
        info = json.loads(self.cli("id"))
        addrs = [a for a in info["Addresses"] if a.startswith("/ip4/127.0.0.1/tcp/")]
        return addrs[0]

    def stop(self) -> None:
        stop_process(self._daemon)
        self._daemon = None


@pytest.fixture(scope="session")
def kubo_bin(service_missing: Callable[[str], None]) -> str:
    binary = kubo_binary()
    if binary is None:
        service_missing("kubo (ipfs) is not installed: run scripts/services.sh")
    version = subprocess.run(
        [binary, "version", "--number"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if version != KUBO_VERSION:
        service_missing(f"kubo {KUBO_VERSION} is needed, {binary} is {version or 'unknown'}: run scripts/services.sh")
    return binary  # type: ignore[return-value]


@pytest.fixture(scope="session")
def kubo_repos(kubo_bin: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, KuboNode]:
    """One offline repo per profile, for ``ipfs add --only-hash`` (no daemon needed)."""
    base = tmp_path_factory.mktemp("kubo-repos")
    return {p: KuboNode(kubo_bin, base / p, p) for p in ("unixfs-v1-2025", "unixfs-v0-2015")}


@pytest.fixture()
def kubo_factory(kubo_bin: str, tmp_path: Path) -> Iterator[Callable[[str], KuboNode]]:
    """Start fresh Kubo daemons; all are stopped at the end of the test."""
    nodes: list[KuboNode] = []

    def make(profile: str = "unixfs-v1-2025") -> KuboNode:
        node = KuboNode(kubo_bin, tmp_path / f"kubo-{len(nodes)}", profile)
        nodes.append(node)
        return node.start()

    yield make
    for node in nodes:
        node.stop()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ClusterPeer:
    """One ipfs-cluster-service peer (crdt, single peer) driving a Kubo node, all on 127.0.0.1."""

    USER = "vial"
    PASSWORD = "test-secret"

    def __init__(self, binary: str, path: Path, kubo: KuboNode) -> None:
        self.binary = binary
        self.path = path
        self.env = {**os.environ, "IPFS_CLUSTER_PATH": str(path)}
        subprocess.run([binary, "init", "--consensus", "crdt"], env=self.env, capture_output=True, check=True)
        config_path = path / "service.json"
        config = json.loads(config_path.read_text())
        cluster = config["cluster"]
        cluster["listen_multiaddress"] = [f"/ip4/127.0.0.1/tcp/{free_port()}"]
        cluster["mdns_interval"] = "0s"
        cluster["enable_relay_hop"] = False
        cluster["replication_factor_min"] = -1
        cluster["replication_factor_max"] = -1
        api = config["api"]
        api["ipfsproxy"]["listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        api["ipfsproxy"]["node_multiaddress"] = kubo.api_multiaddr()
        api["restapi"]["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        self.pinsvc_port = free_port()
        api["pinsvcapi"]["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{self.pinsvc_port}"
        api["pinsvcapi"]["basic_auth_credentials"] = {self.USER: self.PASSWORD}
        config["ipfs_connector"]["ipfshttp"]["node_multiaddress"] = kubo.api_multiaddr()
        config_path.write_text(json.dumps(config, indent=2))
        self.url = f"http://127.0.0.1:{self.pinsvc_port}"
        self._daemon: subprocess.Popen[bytes] | None = None

    def start(self) -> ClusterPeer:
        log = open(self.path / "daemon.log", "wb")  # noqa: SIM115 - closed with the process
        self._daemon = subprocess.Popen([self.binary, "daemon"], env=self.env, stdout=log, stderr=log)
        for _ in range(600):  # bounded wait for the API to come up (not a timing assertion)
            if self._daemon.poll() is not None:
                raise RuntimeError(f"cluster exited: {(self.path / 'daemon.log').read_text()[-800:]}")
            try:
                if httpx.get(self.url + "/pins", auth=(self.USER, self.PASSWORD), timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("cluster did not come up")

    def token(self) -> str:
        """A bearer token (JWT) from the API's /token endpoint, with the basic-auth credentials."""
        response = httpx.post(self.url + "/token", auth=(self.USER, self.PASSWORD), timeout=10)
        response.raise_for_status()
        return str(response.json()["token"])

    def stop(self) -> None:
        stop_process(self._daemon)


@pytest.fixture()
def cluster_factory(
    tmp_path: Path, service_missing: Callable[[str], None]
) -> Iterator[Callable[[KuboNode], ClusterPeer]]:
    candidate = GOPATH_BIN / "ipfs-cluster-service"
    binary = str(candidate) if candidate.is_file() else (shutil.which("ipfs-cluster-service") or "")
    if not binary:
        service_missing("ipfs-cluster-service is not installed: run scripts/services.sh")
    peers: list[ClusterPeer] = []

    def make(kubo: KuboNode) -> ClusterPeer:
        peer = ClusterPeer(binary, tmp_path / f"cluster-{len(peers)}", kubo)
        peers.append(peer)
        return peer.start()

    yield make
    for peer in peers:
        peer.stop()
