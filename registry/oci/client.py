"""A small typed client for the OCI distribution API (v1.1), over httpx, for one repository.

What vial needs and nothing more: check, upload (monolithic POST + PUT, or chunked PATCH) and mount
blobs; stream blobs down; get and put manifests as exact bytes; list referrers (the referrers API,
or the tag-schema fallback). Every failure is a ``RegistryError`` (a ``ServiceError``) with one
line naming the registry, the request and the registry's own error code. Why not ``oras``:
docs/decisions.md ("Distribution: ...").
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import BinaryIO, Literal
from urllib.parse import urljoin

import httpx

from vial.digest import CHUNK_SIZE, Readable, VerifyingReader, hex_of, sha256_bytes
from vial.errors import IntegrityError, NotFoundError, ServiceError
from vial.oci import MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST, Descriptor, Index
from vial.registry.oci.auth import AuthError, Credentials, RegistryAuth, find_credentials
from vial.registry.oci.reference import RegistryRef

MEDIA_TYPE_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_TYPE_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join((MEDIA_TYPE_MANIFEST, MEDIA_TYPE_INDEX, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_DOCKER_LIST))
MAX_MANIFEST = 4 << 20  # the distribution spec lets registries refuse manifests over 4 MiB
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class RegistryError(ServiceError):
    """The registry is unreachable, or answered with an error."""


class RegistryNotFound(NotFoundError):
    """The registry does not have the manifest, blob or repository asked for."""


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: ``sha256:<hex>`` -> ``sha256-<hex>``."""
    return "sha256-" + hex_of(digest)


def _error_detail(response: httpx.Response) -> str:
    """The registry's error codes and messages (distribution spec error body), briefly."""
    try:
        body = json.loads(response.read()[:65536])
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            return "; ".join(
                f"{e.get('code', '?')}: {e.get('message', '')}".strip() for e in errors[:3] if isinstance(e, dict)
            )
    except (ValueError, UnicodeDecodeError, httpx.HTTPError):
        pass
    return ""


class RegistryClient:
    """One repository on one registry. Use as a context manager (it owns an httpx client)."""

    def __init__(
        self,
        ref: RegistryRef,
        *,
        insecure: bool | None = None,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.ref = ref
        plain = ref.is_loopback if insecure is None else insecure
        self.scheme = "http" if plain else "https"
        self.base = f"{self.scheme}://{ref.host}"
        if credentials is None:
            credentials = find_credentials(ref.host)
        self._auth = RegistryAuth(ref.host, credentials)
        self._http = httpx.Client(auth=self._auth, transport=transport, timeout=timeout, follow_redirects=False)

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base}/v2/{self.ref.repository}/{path}"

    @contextlib.contextmanager
    def _send(
        self,
        method: str,
        url: str,
        what: str,
        ok: tuple[int, ...],
        stream: bool = False,
        not_found: bool = False,
        **kwargs: object,
    ) -> Iterator[httpx.Response]:
        """Send a request; raise ``RegistryError`` (``RegistryNotFound`` for 404 if ``not_found``) unless ``ok``."""
        request = self._http.build_request(method, url, **kwargs)  # type: ignore[arg-type]
        try:
            response = self._http.send(request, stream=True, follow_redirects=method in ("GET", "HEAD"))
        except httpx.StreamConsumed:
            raise AuthError(
                f"registry {self.ref.host}: {method} {request.url.path}: authentication was asked "
                "for in the middle of an upload; try again"
            ) from None
        except httpx.TimeoutException:
            raise RegistryError(f"registry {self.ref.host} timed out ({method} {request.url.path})") from None
        except httpx.TransportError as exc:
            raise RegistryError(
                f"registry {self.ref.host} is unreachable over {self.scheme} "
                f"({type(exc).__name__}: {exc or 'no answer'})"
            ) from None
        except httpx.HTTPError as exc:  # too many redirects, undecodable answer, ...
            raise RegistryError(f"registry {self.ref.host}: {what}: {type(exc).__name__}: {exc}") from None
        try:
            if response.status_code not in ok:
                self._raise(response, what, not_found)
            if not stream:
                response.read()
            yield response
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"registry {self.ref.host}: {what}: transfer failed ({type(exc).__name__}: {exc})"
            ) from None
        finally:
            response.close()

    def _raise(self, response: httpx.Response, what: str, not_found: bool) -> None:
        status = response.status_code
        detail = _error_detail(response) if response.request.method != "HEAD" else ""
        line = f"registry {self.ref.host}: {what}: {status} {response.reason_phrase}" + (
            f" ({detail})" if detail else ""
        )
        if status == 404 and not_found:
            raise RegistryNotFound(line)
        if status in (401, 403):
            hint = (
                ""
                if self._auth.credentials
                else ("; no credentials found (set VIAL_REGISTRY_USERNAME and VIAL_REGISTRY_PASSWORD, or docker login)")
            )
            raise AuthError(line + hint)
        raise RegistryError(line)

    def _location(self, response: httpx.Response, what: str) -> str:
        location: str | None = response.headers.get("Location")
        if not location:
            raise RegistryError(f"registry {self.ref.host}: {what}: no Location header in the answer")
        return urljoin(str(response.request.url), location)

    # -- API -----------------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: reachable and speaking the distribution API (401 counts: it wants a token)."""
        with self._send("GET", f"{self.base}/v2/", "GET /v2/", ok=(200, 401)):
            pass

    def blob_size(self, digest: str) -> int | None:
        """The size of a blob the repository has, or None."""
        with self._send("HEAD", self._url(f"blobs/{digest}"), f"HEAD blob {digest}", ok=(200, 404)) as response:
            if response.status_code == 404:
                return None
            length = response.headers.get("Content-Length")
            return int(length) if length and length.isdigit() else -1

    def mount_blob(self, digest: str, source_repository: str) -> bool:
        """Cross-repository mount; True if mounted, False if the registry wants an upload instead."""
        what = f"mount blob {digest} from {source_repository}"
        url = self._url("blobs/uploads/")
        with self._send(
            "POST", url, what, ok=(201, 202), params={"mount": digest, "from": source_repository}
        ) as response:
            if response.status_code == 201:
                return True
            # 202: an upload session was opened instead; cancel it (best effort)
            location = response.headers.get("Location")
        if location:
            with contextlib.suppress(RegistryError):
                with self._send("DELETE", urljoin(url, location), what, ok=(200, 202, 204, 404)):
                    pass
        return False

    def upload_blob(
        self,
        digest: str,
        size: int,
        open_stream: Callable[[], BinaryIO | VerifyingReader],
        chunk_size: int | None = None,
    ) -> None:
        """Upload a blob, streamed from ``open_stream()``: one PUT, or PATCH chunks if it exceeds ``chunk_size``."""
        what = f"upload blob {digest}"
        with self._send(
            "POST", self._url("blobs/uploads/"), what, ok=(202,), headers={"Content-Length": "0"}
        ) as response:
            location = self._location(response, what)
        source = open_stream()
        try:
            if chunk_size is not None and size > chunk_size:
                offset = 0
                while offset < size:
                    length = min(chunk_size, size - offset)
                    headers = {
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(length),
                        "Content-Range": f"{offset}-{offset + length - 1}",
                    }
                    with self._send(
                        "PATCH", location, what, ok=(202,), headers=headers, content=_read_chunks(source, length)
                    ) as response:
                        location = self._location(response, what)
                    offset += length
                body: Iterator[bytes] | bytes = b""
                length_header = "0"
            else:
                body = _read_chunks(source, size)
                length_header = str(size)
            # merge, not replace: the Location's own query (e.g. docker-registry's _state) must stay
            url = str(httpx.URL(location).copy_merge_params({"digest": digest}))
            with self._send(
                "PUT",
                url,
                what,
                ok=(201,),
                headers={"Content-Type": "application/octet-stream", "Content-Length": length_header},
                content=body,
            ) as response:
                stored = response.headers.get("Docker-Content-Digest")
            if stored and stored != digest:
                raise RegistryError(f"registry {self.ref.host}: {what}: it stored {stored}")
            verify = getattr(source, "verify", None)
            if verify is not None:
                verify()  # a VerifyingReader: the local bytes were the blob (the registry checked too)
        finally:
            source.close()

    @contextlib.contextmanager
    def open_blob(self, digest: str) -> Iterator[Iterator[bytes]]:
        """Stream a blob's bytes (unverified: the caller checks size and digest)."""
        with self._send(
            "GET", self._url(f"blobs/{digest}"), f"GET blob {digest}", ok=(200,), stream=True, not_found=True
        ) as response:
            yield response.iter_bytes(CHUNK_SIZE)

    def get_manifest(self, reference: str, accept: str = MANIFEST_ACCEPT) -> tuple[bytes, str, str]:
        """The manifest's exact bytes, media type and digest; by digest, the bytes are checked against it."""
        what = f"GET manifest {reference}"
        with self._send(
            "GET",
            self._url(f"manifests/{reference}"),
            what,
            ok=(200,),
            stream=True,
            not_found=True,
            headers={"Accept": accept},
        ) as response:
            raw = bytearray()
            for chunk in response.iter_bytes(CHUNK_SIZE):
                raw += chunk
                if len(raw) > MAX_MANIFEST:
                    raise IntegrityError(
                        f"registry {self.ref.host}: manifest {reference}: more than {MAX_MANIFEST} bytes"
                    )
            media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
            announced = response.headers.get("Docker-Content-Digest")
        data = bytes(raw)
        digest = sha256_bytes(data)
        if reference.startswith("sha256:") and digest != reference:
            raise IntegrityError(f"registry {self.ref.host}: manifest {reference}: content has digest {digest}")
        if announced and announced != digest:
            raise IntegrityError(
                f"registry {self.ref.host}: manifest {reference}: content has digest {digest}, "
                f"the registry says {announced}"
            )
        try:
            media_type = json.loads(data).get("mediaType") or media_type
        except (ValueError, UnicodeDecodeError, AttributeError):
            raise IntegrityError(f"registry {self.ref.host}: manifest {reference}: not a JSON object") from None
        return data, media_type, digest

    def put_manifest(self, reference: str, raw: bytes, media_type: str) -> tuple[str, str | None]:
        """Upload a manifest's exact bytes under a tag or its digest; returns (digest, OCI-Subject header)."""
        digest = sha256_bytes(raw)
        what = f"PUT manifest {reference}"
        with self._send(
            "PUT",
            self._url(f"manifests/{reference}"),
            what,
            ok=(201,),
            headers={"Content-Type": media_type},
            content=raw,
        ) as response:
            stored = response.headers.get("Docker-Content-Digest")
            subject = response.headers.get("OCI-Subject")
        if stored and stored != digest:
            raise RegistryError(f"registry {self.ref.host}: {what}: it stored {stored}, vial sent {digest}")
        return digest, subject

    def referrers(self, digest: str) -> tuple[Index, Literal["api", "tag"]]:
        """The referrers of a manifest and how they were found: ``"api"`` or ``"tag"`` (tag-schema fallback)."""
        what = f"GET referrers of {digest}"
        with self._send(
            "GET", self._url(f"referrers/{digest}"), what, ok=(200, 404), headers={"Accept": MEDIA_TYPE_INDEX}
        ) as response:
            content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
            if response.status_code == 200 and content_type == MEDIA_TYPE_INDEX:
                return Index.from_bytes(response.content[:MAX_MANIFEST], f"referrers of {digest}"), "api"
        return self.fallback_referrers(digest), "tag"

    def fallback_referrers(self, digest: str) -> Index:
        """The index at the ``sha256-<hex>`` tag (empty if there is none)."""
        try:
            raw, media_type, _ = self.get_manifest(fallback_tag(digest), accept=MEDIA_TYPE_INDEX)
        except RegistryNotFound:
            return Index()
        if media_type != MEDIA_TYPE_INDEX:
            raise RegistryError(
                f"registry {self.ref.host}: tag {fallback_tag(digest)} is a {media_type}, not a referrers index"
            )
        return Index.from_bytes(raw, f"referrers index {fallback_tag(digest)}")

    def add_fallback_referrers(self, digest: str, descriptors: list[Descriptor]) -> bool:
        """Add descriptors to the ``sha256-<hex>`` referrers index; False if all were already there."""
        current = self.fallback_referrers(digest)
        known = {d.digest for d in current.manifests}
        new = [d for d in descriptors if d.digest not in known]
        if not new:
            return False
        updated = Index((*current.manifests, *new))
        self.put_manifest(fallback_tag(digest), updated.to_bytes(), MEDIA_TYPE_INDEX)
        return True


def _read_chunks(source: Readable, length: int) -> Iterator[bytes]:
    """Exactly ``length`` bytes from ``source``, in chunks; fails if it ends early."""
    left = length
    while left > 0:
        chunk = source.read(min(CHUNK_SIZE, left))
        if not chunk:
            raise IntegrityError(f"local blob ended {left} bytes early")
        left -= len(chunk)
        yield chunk
