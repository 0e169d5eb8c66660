"""A small typed client for the Kubo RPC API (``/api/v0``), over httpx.

Only what vial uses: ``add`` (a directory tree, streamed as multipart, with the profile's import
parameters passed explicitly), ``pin add/ls/rm``, ``dag import`` (a CAR, streamed) and
``dag export`` (streamed to a file), ``block get``, ``id`` and ``version``.

Every failure is a ``ServiceError`` naming the node and the call: unreachable node, HTTP error
(with Kubo's own message), or a malformed answer. Nothing from a node is trusted: callers verify
CIDs and blocks themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Self
from urllib.parse import quote

import httpx

from vial.errors import IntegrityError, ServiceError
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.unixfs import Profile

ENV_API = "VIAL_IPFS_API"
STREAM_CHUNK = 1 << 20


@dataclass(frozen=True)
class AddedEntry:
    name: str
    cid: CID
    size: int


class KuboClient:
    """Talks to one Kubo node's RPC API, e.g. ``http://127.0.0.1:5001``."""

    def __init__(self, url: str, timeout: float = 60.0, stall_timeout: float = 300.0) -> None:
        url = url.rstrip("/")
        if url.endswith("/api/v0"):
            url = url[: -len("/api/v0")]
        if not url.startswith(("http://", "https://")):
            raise ServiceError(f"IPFS node {url!r}: expected an http:// or https:// RPC API address")
        self.url = url
        self._timeout = timeout
        self.stall_timeout = stall_timeout  # longest wait for more bytes of a streamed answer
        self._http = httpx.Client(base_url=url + "/api/v0", timeout=httpx.Timeout(timeout, read=None))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _fail(self, call: str, response: httpx.Response) -> ServiceError:
        message = ""
        try:
            response.read()
            body = response.json()
            message = body.get("Message", "") if isinstance(body, dict) else ""
        except Exception:  # noqa: BLE001 - the body is not JSON: show its start
            message = response.text[:200] if response.is_stream_consumed else ""
        detail = f": {' '.join(message.split())}" if message else ""
        return ServiceError(f"IPFS node {self.url}: {call} failed with HTTP {response.status_code}{detail}")

    def _post(self, call: str, params: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.post("/" + call, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(f"IPFS node {self.url}: {call}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise self._fail(call, response)
        return response

    def _json(self, call: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        response = self._post(call, params, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ServiceError(f"IPFS node {self.url}: {call}: answer is not JSON") from None

    @contextlib.contextmanager
    def _stream(self, call: str, params: dict[str, Any]) -> Iterator[_ResponseReader]:
        """A streamed answer as a file-like reader; waits at most ``stall_timeout`` for each read."""
        timeout = httpx.Timeout(self._timeout, read=self.stall_timeout)
        try:
            with self._http.stream("POST", "/" + call, params=params, timeout=timeout) as response:
                if response.status_code != 200:
                    raise self._fail(call, response)
                yield _ResponseReader(response, f"IPFS node {self.url}: {call}")
        except httpx.HTTPError as exc:
            raise ServiceError(f"IPFS node {self.url}: {call}: {type(exc).__name__}: {exc}") from None

    # -- node ----------------------------------------------------------------------------------

    def version(self) -> str:
        return str(self._json("version").get("Version", ""))

    def id(self) -> dict[str, Any]:
        return dict(self._json("id"))

    def config_get(self, key: str) -> Any:
        """One value of the node's configuration, e.g. ``Import``."""
        return self._json("config", {"arg": key}).get("Value")

    def import_settings_differ(self, profile: Profile) -> list[str]:
        """The node's ``Import.*`` settings that are not the profile's (what ``add`` cannot override)."""
        try:
            settings = self.config_get("Import") or {}
        except ServiceError:
            return []
        threshold = str(settings.get("UnixFSHAMTDirectorySizeThreshold") or "256KiB")
        wanted = {
            "UnixFSHAMTDirectorySizeEstimation": (
                settings.get("UnixFSHAMTDirectorySizeEstimation") or "links",
                profile.hamt_estimation,
            ),
            "UnixFSHAMTDirectorySizeThreshold": (threshold, f"{profile.hamt_threshold // 1024}KiB"),
        }
        return [f"Import.{k} is {have!r}, profile needs {want!r}" for k, (have, want) in wanted.items() if have != want]

    # -- add -----------------------------------------------------------------------------------

    def add_path(self, path: Path, profile: Profile, pin: bool = True) -> CID:
        """``ipfs add -r`` of a file or directory with the profile's parameters; returns the top CID."""
        path = Path(path)
        boundary = uuid.uuid4().hex
        params = {
            **profile.kubo_add_params(),
            "pin": "true" if pin else "false",
            "wrap-with-directory": "false",
            "progress": "false",
            "silent": "false",
            "quieter": "false",
        }
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        entries: list[AddedEntry] = []
        try:
            with self._http.stream(
                "POST", "/add", params=params, headers=headers, content=_multipart(path, boundary)
            ) as response:
                if response.status_code != 200:
                    raise self._fail("add", response)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    item = json.loads(line)
                    if "Message" in item and "Hash" not in item:
                        raise ServiceError(f"IPFS node {self.url}: add failed: {item['Message']}")
                    if "Hash" in item:
                        entries.append(
                            AddedEntry(item.get("Name", ""), CID.parse(item["Hash"]), int(item.get("Size", 0) or 0))
                        )
        except httpx.HTTPError as exc:
            raise ServiceError(f"IPFS node {self.url}: add: {type(exc).__name__}: {exc}") from None
        except (ValueError, KeyError) as exc:
            raise ServiceError(f"IPFS node {self.url}: add: malformed answer ({exc})") from None
        top = [e for e in entries if e.name == path.name]
        if not top:
            raise ServiceError(f"IPFS node {self.url}: add: no CID returned for {path.name}")
        return top[-1].cid

    # -- pins ----------------------------------------------------------------------------------

    def pin_add(self, cid: CID) -> None:
        pins = self._json("pin/add", {"arg": str(cid), "recursive": "true"}).get("Pins") or []
        if str(cid) not in pins:
            raise ServiceError(f"IPFS node {self.url}: pin add {cid}: node did not confirm the pin")

    def pin_ls(self, cid: CID | None = None) -> dict[str, str]:
        """Pinned CIDs (string form) and their pin type."""
        params: dict[str, Any] = {"type": "recursive"}
        if cid is not None:
            params["arg"] = str(cid)
        try:
            keys = self._json("pin/ls", params).get("Keys") or {}
        except ServiceError as exc:
            if cid is not None and "not pinned" in str(exc):
                return {}
            raise
        return {k: v.get("Type", "") for k, v in keys.items()}

    def pin_rm(self, cid: CID) -> None:
        self._json("pin/rm", {"arg": str(cid), "recursive": "true"})

    # -- DAGs and blocks -----------------------------------------------------------------------

    def dag_import(self, car: Path, pin: bool = True) -> list[CID]:
        """Upload a CAR (streamed); returns the roots the node reports."""
        boundary = uuid.uuid4().hex
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        params = {"pin-roots": "true" if pin else "false", "stats": "false"}
        roots: list[CID] = []
        try:
            with self._http.stream(
                "POST", "/dag/import", params=params, headers=headers, content=_multipart_file(Path(car), boundary)
            ) as response:
                if response.status_code != 200:
                    raise self._fail("dag import", response)
                for line in response.iter_lines():
                    if line.strip():
                        item = json.loads(line)
                        root = item.get("Root")
                        if root:
                            if root.get("PinErrorMsg"):
                                raise ServiceError(f"IPFS node {self.url}: dag import: {root['PinErrorMsg']}")
                            roots.append(CID.parse(root["Cid"]["/"]))
        except httpx.HTTPError as exc:
            raise ServiceError(f"IPFS node {self.url}: dag import: {type(exc).__name__}: {exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ServiceError(f"IPFS node {self.url}: dag import: malformed answer ({exc})") from None
        return roots

    def dag_export(self, cid: CID, sink: BinaryIO) -> int:
        """Stream the DAG under ``cid`` as a CAR into ``sink``; returns the bytes written."""
        written = 0
        with self.dag_export_reader(cid) as reader:
            while chunk := reader.read(STREAM_CHUNK):
                sink.write(chunk)
                written += len(chunk)
        return written

    def dag_export_reader(self, cid: CID) -> contextlib.AbstractContextManager[_ResponseReader]:
        """The CAR of the DAG under ``cid`` as a file-like stream (for reading while it arrives)."""
        return self._stream("dag/export", {"arg": str(cid), "progress": "false"})

    def block_get(self, cid: CID) -> bytes:
        block = self._post("block/get", {"arg": str(cid)}).content
        try:
            cid.verify(block)
        except IntegrityError:
            raise IntegrityError(f"IPFS node {self.url}: block {cid}: content does not match its CID") from None
        return block


class _ResponseReader:
    """``read(n)`` over a streamed httpx response; transport errors become ``ServiceError``."""

    def __init__(self, response: httpx.Response, what: str) -> None:
        self._chunks = response.iter_bytes(STREAM_CHUNK)
        self._buffer = bytearray()
        self._what = what
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._done = True
                break
            except httpx.HTTPError as exc:
                raise ServiceError(f"{self._what}: {type(exc).__name__}: {exc}") from None
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def client_from_env(url: str | None = None) -> KuboClient | None:
    """The node named by ``url``, else ``$VIAL_IPFS_API``, else none (embedded mode)."""
    url = url or os.environ.get(ENV_API)
    return KuboClient(url) if url else None


# -- multipart bodies, streamed ----------------------------------------------------------------


def _part_header(boundary: str, name: str, content_type: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{quote(name, safe="")}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def _walk(root: Path, prefix: str) -> Iterator[tuple[str, Path | None]]:
    """(relative name, file path or None for a directory), parents before children."""
    yield prefix, None
    for name in sorted(os.listdir(root), key=os.fsencode):
        if name.startswith("."):
            continue
        path = root / name
        rel = f"{prefix}/{name}"
        if path.is_symlink():
            raise ServiceError(f"{path}: symlinks are not sent to a node by vial")
        if path.is_dir():
            yield from _walk(path, rel)
        else:
            yield rel, path


def _multipart(path: Path, boundary: str) -> Iterator[bytes]:
    entries = _walk(path, path.name) if path.is_dir() else iter([(path.name, path)])
    for name, file in entries:
        if file is None:
            yield _part_header(boundary, name, "application/x-directory")
        else:
            yield _part_header(boundary, name, "application/octet-stream")
            with open(file, "rb") as handle:
                while chunk := handle.read(STREAM_CHUNK):
                    yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _multipart_file(path: Path, boundary: str) -> Iterator[bytes]:
    yield _part_header(boundary, path.name, "application/octet-stream")
    with open(path, "rb") as handle:
        while chunk := handle.read(STREAM_CHUNK):
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()
