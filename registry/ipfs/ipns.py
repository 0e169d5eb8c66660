"""The few Kubo RPC calls vial needs for IPNS: keys, ``name publish`` and ``name resolve``.

An IPNS name is the CID (``k51…``, libp2p-key) of an Ed25519 key held by a node; the node signs a
record saying "this name points to ``/ipfs/<cid>``" with a sequence number and a validity. Records
are checked by the resolving node (signature by the name's key, validity, highest sequence wins);
vial does not trust the answer beyond that: whatever the path names is fetched and verified
against its CID, and the log inside it against the log's own key and the client's trusted
checkpoint (see ``vial.registry.log.follow``).

How a record travels between nodes with no public routing is the node's configuration, not
vial's: see docs/follow.md (``Ipns.UsePubsub`` on peered nodes is what vial's tests use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vial.errors import NotFoundError, ServiceError, VialError
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.kubo import KuboClient

KEY_TYPE = "ed25519"
DEFAULT_LIFETIME = "8760h"  # a year: followers can resolve the name even when the publisher is offline for long
DEFAULT_TTL = "1m"  # how long a resolver may cache the answer

RESOLVE_TIMEOUT = "30s"  # the node gives up collecting records after this (else a DHT lookup may hang)

_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def normalize_ipns_name(name: str) -> str:
    """``k51…``, ``/ipns/k51…`` or ``ipns://k51…`` as the bare name."""
    name = name.strip()
    for prefix in ("ipns://", "/ipns/"):
        if name.startswith(prefix):
            name = name[len(prefix) :].strip("/")
    if not name or "/" in name or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise VialError(f"IPNS name {name!r}: expected a name such as k51…")
    return name


@dataclass(frozen=True)
class IpnsKey:
    name: str  # the node's local name for the key
    id: str  # the IPNS name (k51… CIDv1 libp2p-key, base36)


@dataclass(frozen=True)
class Published:
    name: str
    value: str  # /ipfs/<cid>


class IpnsClient(KuboClient):
    """A Kubo RPC client that also manages IPNS keys and names."""

    def key_list(self) -> list[IpnsKey]:
        keys = self._json("key/ls", {"l": "true", "ipns-base": "base36"}).get("Keys") or []
        try:
            return [IpnsKey(str(k["Name"]), str(k["Id"])) for k in keys]
        except (KeyError, TypeError) as exc:
            raise ServiceError(f"IPFS node {self.url}: key ls: malformed answer ({exc})") from None

    def key_get(self, name: str) -> IpnsKey | None:
        return next((k for k in self.key_list() if k.name == name), None)

    def key_gen(self, name: str) -> IpnsKey:
        if not _KEY_NAME_RE.match(name) or name == "self":
            raise VialError(f"IPNS key name {name!r}: use letters, digits and . _ - (not 'self')")
        answer = self._json("key/gen", {"arg": name, "type": KEY_TYPE, "ipns-base": "base36"})
        try:
            return IpnsKey(str(answer["Name"]), str(answer["Id"]))
        except (KeyError, TypeError) as exc:
            raise ServiceError(f"IPFS node {self.url}: key gen: malformed answer ({exc})") from None

    def key_ensure(self, name: str) -> tuple[IpnsKey, bool]:
        """The node's key called ``name``, generated if absent; (key, created)."""
        key = self.key_get(name)
        if key is not None:
            return key, False
        return self.key_gen(name), True

    def name_publish(self, key: str, cid: CID, lifetime: str = DEFAULT_LIFETIME, ttl: str = DEFAULT_TTL) -> Published:
        """Point the IPNS name of ``key`` at ``/ipfs/<cid>`` (a new record, next sequence number)."""
        params = {
            "arg": f"/ipfs/{cid}",
            "key": key,
            "lifetime": lifetime,
            "ttl": ttl,
            "resolve": "false",  # the node holds the DAG (just added); no need to walk it again
            "allow-offline": "true",  # publishing must not depend on having peers right now
            "ipns-base": "base36",
        }
        answer = self._json("name/publish", params)
        try:
            return Published(str(answer["Name"]), str(answer["Value"]))
        except (KeyError, TypeError) as exc:
            raise ServiceError(f"IPFS node {self.url}: name publish: malformed answer ({exc})") from None

    def name_resolve(self, name: str, nocache: bool = True) -> CID:
        """The CID an IPNS name points to now (``/ipfs/<cid>``; anything else is refused)."""
        name = normalize_ipns_name(name)
        params = {
            "arg": f"/ipns/{name}",
            "recursive": "true",
            "nocache": "true" if nocache else "false",
            "dht-timeout": RESOLVE_TIMEOUT,
        }
        try:
            answer = self._json("name/resolve", params)
        except ServiceError as exc:
            if "could not resolve" in str(exc) or "not found" in str(exc) or "routing: not found" in str(exc):
                raise NotFoundError(f"IPNS name {name}: not resolved by {self.url} ({exc})") from None
            raise
        path = str(answer.get("Path", "")) if isinstance(answer, dict) else ""
        if not path.startswith("/ipfs/") or "/" in path[len("/ipfs/") :].strip("/"):
            raise VialError(f"IPNS name {name} points to {path!r}, expected /ipfs/<cid> of a vial log")
        return CID.parse(path[len("/ipfs/") :].strip("/"))
