"""Helpers for the push/pull tests: a misbehaving loopback proxy in front of a registry, signed images."""

from __future__ import annotations

import base64
import http.client
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from vial.attest.referrers import attach_bundle
from vial.attest.signing import keys
from vial.attest.signing.sign import KeySigner
from vial.attest.statements.statement import Statement, Subject
from vial.oci import ANNOTATION_LICENSES, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_ZSTD, Descriptor, ImageConfig, Manifest
from vial.store import Store

PASSWORD = "registry test pass"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"
PREDICATE = {"result": "PASSED", "configuration": [], "passedTests": ["test_ols"], "warnedTests": [], "failedTests": []}
REGISTRY_CONFIG = """version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:PORT
    storage: Path

    def url(self, repository: str, tag: str | None = None, digest: str | None = None) -> str:
        return f"oci://{self.host}/{repository}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@dataclass
class ProxyState:
    """What the proxy does to the next requests; tests set these fields."""

    corrupt_blob: str | None = None  # flip a byte in this blob's body
    truncate_blob: str | None = None  # announce this blob's full length, send half of it, hang up
    manifest_body: bytes | None = None  # serve this instead of any image manifest asked for
    fail_all: int | None = None  # answer every request with this status
    bearer: tuple[str, str] | None = None  # (user, password) the token service accepts
    basic: tuple[str, str] | None = None  # (user, password) the registry itself accepts (Basic challenge)
    referrers_api: bool = False  # play a registry with the referrers API (kept in memory)
    referrers: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        state = self.server.state
        state.requests.append(f"{self.command} {self.path}")
        body = self._body()
        if state.fail_all:
            self._reply(
                state.fail_all,
                b'{"errors":[{"code":"UNKNOWN","message":"proxy says no"}]}',
                {"Content-Type": "application/json"},
            )
            return
        host = f"127.0.0.1:{self.server.server_port}"
        if self.path.startswith("/token"):
            expected = "Basic " + base64.b64encode(":".join(state.bearer or ("", "")).encode()).decode()
            if self.headers.get("Authorization") != expected:
                self._reply(401, b'{"details":"bad credentials"}')
            else:
                self._reply(200, json.dumps({"token": "good-token"}).encode(), {"Content-Type": "application/json"})
            return
        if state.basic:
            expected = "Basic " + base64.b64encode(":".join(state.basic).encode()).decode()
            if self.headers.get("Authorization") != expected:
                self._reply(
                    401,
                    b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                    {"WWW-Authenticate": 'Basic realm="vial-test"', "Content-Type": "application/json"},
                )
                return
        if state.bearer and self.headers.get("Authorization") != "Bearer good-token":
            challenge = f'Bearer realm="http://{host}/token",service="{host}",scope="repository:x:pull,push"'
            self._reply(
                401,
                b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                {"WWW-Authenticate": challenge, "Content-Type": "application/json"},
            )
            return
        parts = self.path.split("?")[0].split("/")
        if state.referrers_api and len(parts) >= 5 and parts[-2] == "referrers" and self.command == "GET":
            index = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": state.referrers.get(parts[-1], []),
            }
            self._reply(200, json.dumps(index).encode(), {"Content-Type": "application/vnd.oci.image.index.v1+json"})
            return
        status, headers, payload = self._forward(body)
        if (
            self.command == "GET"
            and state.manifest_body is not None
            and "/manifests/" in self.path
            and not parts[-1].startswith("sha256-")
        ):
            payload = state.manifest_body
            headers = {k: v for k, v in headers.items() if k.lower() != "docker-content-digest"}
        if self.command == "GET" and state.truncate_blob and self.path.endswith(f"/blobs/{state.truncate_blob}"):
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if (
            self.command == "GET"
            and state.corrupt_blob
            and self.path.endswith(f"/blobs/{state.corrupt_blob}")
            and payload
        ):
            payload = bytes([payload[0] ^ 0xFF]) + payload[1:]
        if state.referrers_api and self.command == "PUT" and "/manifests/" in self.path and status == 201:
            manifest = json.loads(body)
            if manifest.get("subject"):
                import hashlib

                digest = "sha256:" + hashlib.sha256(body).hexdigest()
                entry = {
                    "mediaType": manifest["mediaType"],
                    "digest": digest,
                    "size": len(body),
                    "artifactType": manifest.get("artifactType"),
                    "annotations": manifest.get("annotations", {}),
                }
                state.referrers.setdefault(manifest["subject"]["digest"], []).append(entry)
                headers["OCI-Subject"] = manifest["subject"]["digest"]
        if "Location" in headers:
            headers["Location"] = headers["Location"].replace(self.server.upstream, host)
        self._reply(status, payload, headers)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        upstream_host, upstream_port = self.server.upstream.split(":")
        connection = http.client.HTTPConnection(upstream_host, int(upstream_port), timeout=30)
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("host", "authorization", "transfer-encoding", "content-length", "connection")
        }
        headers["Content-Length"] = str(len(body))
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        kept = {
            k: v
            for k, v in response.getheaders()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")
        }
        connection.close()
        return response.status, kept, payload

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.state = ProxyState()


@dataclass(frozen=True)
class Proxy:
    host: str
    state: ProxyState

    def url(self, repository: str, tag: str | None = None, digest: str | None = None) -> str:
        return f"oci://{self.host}/{repository}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@dataclass(frozen=True)
class SignedImage:
    store: Store
    digest: str
    name: str
    public_key: Path
    private_key: Path
    layers: tuple[str, ...]


def make_signed_image(
    store: Store, keydir: Path, name: str = "demo:1.0", seed: bytes = b"vial", layer_size: int = 3 << 20
) -> SignedImage:
    """An image with two layers (one several MiB, so that chunked uploads have chunks) and one attestation."""
    big = bytearray()
    block = seed
    while len(big) < layer_size:
        block = __import__("hashlib").sha256(block).digest()
        big += block * 64
    payloads = [bytes(big[:layer_size]), seed + b" small layer"]
    layers = [Descriptor(MEDIA_TYPE_LAYER_ZSTD, store.put_bytes(p), len(p)) for p in payloads]
    config = ImageConfig(diff_ids=tuple(d.digest for d in layers), cmd=("/bin/true",)).to_bytes()
    manifest = Manifest(
        Descriptor(MEDIA_TYPE_CONFIG, store.put_bytes(config), len(config)),
        tuple(layers),
        annotations={ANNOTATION_LICENSES: "MIT"},
    )
    descriptor = store.put_image(manifest)
    store.tag(name, descriptor)
    private, public = keydir / "vial.key", keydir / "vial.pub"
    if not private.exists():
        keys.write_keypair(keys.generate("ecdsa-p256"), PASSWORD.encode(), private, public)
    key = keys.load_private_key(private, PASSWORD.encode())
    statement = Statement((Subject(name, descriptor.digest),), TEST_RESULT, PREDICATE)
    attach_bundle(store, descriptor, KeySigner(key).sign(statement), TEST_RESULT, f"key {key.hint}")
    return SignedImage(store, descriptor.digest, name, public, private, tuple(d.digest for d in layers))


def store_snapshot(store: Store) -> tuple[set[str], bytes]:
    """What a reader can see: the committed blobs and index.json."""
    return {p.name for p in store.blobs_dir.iterdir()}, (store.root / "index.json").read_bytes()


Runner = Callable[..., object]


def make_busybox_image(store: Store, busybox: Path, name: str = "busybox:1.0") -> str:
    """A runnable one-layer image: Debian's static busybox at /bin/busybox (zstd layer, fixed mtimes)."""
    import io
    import tarfile

    import zstandard

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in ("bin", "outputs", "tmp"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        info = tarfile.TarInfo("bin/busybox")
        data = busybox.read_bytes()
        info.size, info.mode = len(data), 0o755
        archive.addfile(info, io.BytesIO(data))
    tar = raw.getvalue()
    layer = zstandard.ZstdCompressor(level=3).compress(tar)
    diff_id = "sha256:" + __import__("hashlib").sha256(tar).hexdigest()
    config = ImageConfig(diff_ids=(diff_id,), entrypoint=("/bin/busybox",), cmd=("true",)).to_bytes()
    manifest = Manifest(
        Descriptor(MEDIA_TYPE_CONFIG, store.put_bytes(config), len(config)),
        (Descriptor(MEDIA_TYPE_LAYER_ZSTD, store.put_bytes(layer), len(layer)),),
    )
    descriptor = store.put_image(manifest)
    store.tag(name, descriptor)
    return descriptor.digest
