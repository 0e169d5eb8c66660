"""``oci://`` references to images in a registry: plain data, parsed and printed, no I/O.

Form: ``oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:HEX]``. The repository follows the distribution
spec's name grammar (lowercase path components); tags follow its tag grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vial.digest import is_digest
from vial.errors import VialError

SCHEME = "oci://"
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_HOST_RE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class ReferenceError(VialError):
    """A registry reference is malformed."""


@dataclass(frozen=True)
class RegistryRef:
    host: str  # host[:port], as written
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def hostname(self) -> str:
        """The host without its port."""
        if self.host.startswith("["):
            return self.host.split("]", 1)[0] + "]"
        return self.host.rsplit(":", 1)[0] if ":" in self.host else self.host

    @property
    def is_loopback(self) -> bool:
        return self.hostname in LOOPBACK_HOSTS or self.hostname.startswith("127.")

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest if known, else the tag."""
        if self.digest:
            return self.digest
        if self.tag:
            return self.tag
        raise ReferenceError(f"{self}: names neither a tag nor a digest")

    def with_digest(self, digest: str) -> RegistryRef:
        return RegistryRef(self.host, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = f"{SCHEME}{self.host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def is_oci_reference(text: str) -> bool:
    return text.startswith(SCHEME)


def parse_reference(text: str) -> RegistryRef:
    """Parse ``oci://HOST/REPO[:TAG][@sha256:...]``; raise ``ReferenceError`` naming what is wrong."""
    if not is_oci_reference(text):
        raise ReferenceError(f"{text}: not an oci:// reference (expected oci://HOST/REPOSITORY[:TAG][@sha256:...])")
    rest = text[len(SCHEME) :]
    host, slash, path = rest.partition("/")
    if not slash or not host or not path:
        raise ReferenceError(f"{text}: expected oci://HOST/REPOSITORY[:TAG][@sha256:...]")
    if not _HOST_RE.match(host):
        raise ReferenceError(f"{text}: {host!r} is not a registry host[:port]")
    digest: str | None = None
    if "@" in path:
        path, digest = path.split("@", 1)
        if not is_digest(digest):
            raise ReferenceError(f"{text}: {digest!r} is not a sha256 digest (sha256:<64 hex>)")
    tag: str | None = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not _TAG_RE.match(tag):
            raise ReferenceError(f"{text}: {tag!r} is not a valid tag")
    if not _REPOSITORY_RE.match(path):
        raise ReferenceError(f"{text}: {path!r} is not a repository name (lowercase letters, digits, . _ - and /)")
    return RegistryRef(host, path, tag, digest)
