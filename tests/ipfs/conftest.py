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


def kubo_binary() -> str | None:
    found = shutil.which("ipfs")
    if found:
        return found
    candidate = GOPATH_BIN / "ipfs"
    return str(candidate) if candidate.is_file() else None


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
        self._daemon = subprocess.Popen([self.binary, "daemon", "--enable-gc=false"], env=self.env, stdout=log, stderr=log)
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

    def swarm_addr(self) -> str:
        info = json.loads(self.cli("id"))
        addrs = [a for a in info["Addresses"] if a.startswith("/ip4/127.0.0.1/tcp/")]
        return addrs[0]

    def stop(self) -> None:
        if self._daemon is not None and self._daemon.poll() is None:
            self._daemon.terminate()
            try:
                self._daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._daemon.kill()
                self._daemon.wait()
        self._daemon = None


@pytest.fixture(scope="session")
def kubo_bin(service_missing: Callable[[str], None]) -> str:
    binary = kubo_binary()
    if binary is None:
        service_missing("kubo (ipfs) is not installed: run scripts/services.sh")
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
