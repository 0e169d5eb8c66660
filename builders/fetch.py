"""Downloads of locked inputs (.deb files, wheels) into the store, checked against their sha256.

The store is content-addressed, so a locked input fetched once is never fetched again, and a
rebuild works offline. A download whose bytes differ from the lock is discarded, never stored.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from vial.digest import CHUNK_SIZE
from vial.errors import IntegrityError, ResolveError
from vial.registry.store import Store

TIMEOUT = httpx.Timeout(30.0, read=120.0)


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
    errors: list[str] = []
    for url in urls:
        try:
            with httpx.stream("GET", url, timeout=TIMEOUT, follow_redirects=True) as response:
                if response.status_code != 200:
                    errors.append(f"{url}: HTTP {response.status_code}")
                    continue
                with store.blob_writer() as writer:
                    for chunk in response.iter_bytes(CHUNK_SIZE):
                        writer.write(chunk)
                        if progress:
                            progress(len(chunk))
                    writer.commit(expected=digest, what=f"{what} from {url}")
                return digest
        except httpx.HTTPError as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
        except IntegrityError as exc:
            errors.append(str(exc))
    raise ResolveError(f"cannot fetch {what} (sha256 {sha256_hex[:12]}…): {'; '.join(errors) or 'no URL'}")
