"""Downloads of locked inputs (.deb files, wheels) into the store, checked against their sha256.

The store is content-addressed, so a locked input fetched once is never fetched again, and a
rebuild works offline. A download whose bytes differ from the lock is discarded, never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vial.digest import CHUNK_SIZE
from vial.errors import IntegrityError, ResolveError
from vial.fsutil import atomic_writer
from vial.home import default_cache
from vial.store import Store


def fetch_locked(
    store: Store,
    urls: list[str],
    sha256_hex: str,
    what: str,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Make sure the blob ``sha256:<sha256_hex>`` is in ``store``, downloading it from ``urls`` if not."""
    digest = f"sha256:{sha256_hex}"
    if store.has_blob(digest):
        return digest
    cached = default_cache() / "blobs" / "sha256" / sha256_hex
    if cached.is_file():
        try:
            store.put_file(cached, expected=digest)
            return digest
        except IntegrityError:
            cached.unlink(missing_ok=True)  # a corrupted cache entry is dropped, then fetched anew
    import httpx  # imported here: a warm build never downloads, and should not pay for the import

    timeout = httpx.Timeout(30.0, read=120.0)
    errors: list[str] = []
    for url in urls:
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                if response.status_code != 200:
                    errors.append(f"{url}: HTTP {response.status_code}")
                    continue
                with store.blob_writer() as writer:
                    for chunk in response.iter_bytes(CHUNK_SIZE):
                        writer.write(chunk)
                        if progress:
                            progress(len(chunk))
                    writer.commit(expected=digest, what=f"{what} from {url}")
                _keep_in_cache(store, digest, cached)
                return digest
        except httpx.HTTPError as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
        except IntegrityError as exc:
            errors.append(str(exc))
    raise ResolveError(f"cannot fetch {what} (sha256 {sha256_hex[:12]}…): {'; '.join(errors) or 'no URL'}")


def _keep_in_cache(store: Store, digest: str, target: Path) -> None:
    """Copy a verified download into the user's download cache (best effort: a cache may be read-only)."""
    try:
        with atomic_writer(target) as out, open(store.blob_path(digest), "rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                out.write(chunk)
    except OSError:
        pass


def cache_file(source: Path, sha256_hex: str) -> None:
    """Put a file whose hash is known (e.g. a .deb that apt verified) into the download cache."""
    target = default_cache() / "blobs" / "sha256" / sha256_hex
    if target.exists():
        return
    try:
        with atomic_writer(target) as out, open(source, "rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                out.write(chunk)
    except OSError:
        pass
