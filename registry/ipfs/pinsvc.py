"""A client for the IPFS Pinning Service API (``/pins``, bearer token), e.g. IPFS Cluster's pinsvc API.

Only the CID goes to the service; the content must be reachable by it: pin locally first and pass
that node's addresses as ``origins``. ``wait`` polls the request's status until ``pinned`` (or
``failed``, which raises), a bounded number of times.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from vial.errors import ServiceError
from vial.registry.ipfs.cid import CID

ENV_SERVICE = "VIAL_PINNING_SERVICE"
ENV_TOKEN = "VIAL_PINNING_TOKEN"
STATUSES = ("queued", "pinning", "pinned", "failed")


@dataclass(frozen=True)
class RemotePin:
    requestid: str
    status: str
    cid: str
    name: str | None = None
    delegates: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any, what: str) -> RemotePin:
        try:
            status = str(data["status"])
            pin = data["pin"]
            result = cls(
                str(data["requestid"]), status, str(pin["cid"]), pin.get("name"), list(data.get("delegates") or [])
            )
        except (KeyError, TypeError):
            raise ServiceError(f"{what}: malformed pin status") from None
        if status not in STATUSES:
            raise ServiceError(f"{what}: unknown pin status {status!r}")
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "requestid": self.requestid,
            "status": self.status,
            "cid": self.cid,
            "name": self.name,
            "delegates": self.delegates,
        }


class PinningService:
    """One Pinning Service API endpoint, e.g. ``http://127.0.0.1:9097``."""

    def __init__(self, endpoint: str, token: str, timeout: float = 60.0) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ServiceError(f"pinning service {endpoint!r}: expected an http:// or https:// address")
        if not token:
            raise ServiceError(f"pinning service {endpoint}: no access token (set ${ENV_TOKEN})")
        self.endpoint = endpoint.rstrip("/")
        self._http = httpx.Client(base_url=self.endpoint, timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PinningService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, expect: tuple[int, ...], **kwargs: Any) -> Any:
        what = f"pinning service {self.endpoint}: {method} {path}"
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(f"{what}: {type(exc).__name__}: {exc}") from None
        if response.status_code not in expect:
            reason = ""
            try:
                error = response.json().get("error", {})
                reason = ": " + " ".join(f"{error.get('reason', '')} {error.get('details', '')}".split())
            except (ValueError, AttributeError):
                reason = f": {' '.join(response.text[:200].split())}" if response.text else ""
            raise ServiceError(f"{what} failed with HTTP {response.status_code}{reason}")
        if response.status_code == 202 and method == "DELETE":
            return None
        try:
            return response.json()
        except ValueError:
            raise ServiceError(f"{what}: answer is not JSON") from None

    def add(
        self, cid: CID, name: str | None = None, origins: list[str] | None = None, meta: dict[str, str] | None = None
    ) -> RemotePin:
        body: dict[str, Any] = {"cid": str(cid)}
        if name:
            body["name"] = name
        if origins:
            body["origins"] = origins
        if meta:
            body["meta"] = meta
        return RemotePin.from_json(
            self._call("POST", "/pins", (200, 202), json=body), f"pinning service {self.endpoint}"
        )

    def get(self, requestid: str) -> RemotePin:
        return RemotePin.from_json(self._call("GET", f"/pins/{requestid}", (200,)), f"pinning service {self.endpoint}")

    def list(self, cid: CID | None = None, status: tuple[str, ...] = STATUSES) -> list[RemotePin]:
        params: dict[str, str] = {"status": ",".join(status)}
        if cid is not None:
            params["cid"] = str(cid)
        data = self._call("GET", "/pins", (200,), params=params)
        return [RemotePin.from_json(r, f"pinning service {self.endpoint}") for r in (data.get("results") or [])]

    def remove(self, requestid: str) -> None:
        self._call("DELETE", f"/pins/{requestid}", (200, 202))

    def wait(self, requestid: str, interval: float = 0.5, attempts: int = 600) -> RemotePin:
        """Poll until the pin is ``pinned``; ``failed`` or running out of attempts raises."""
        pin = self.get(requestid)
        for _ in range(attempts):
            if pin.status == "pinned":
                return pin
            if pin.status == "failed":
                raise ServiceError(f"pinning service {self.endpoint}: pin {pin.cid} failed (request {requestid})")
            time.sleep(interval)
            pin = self.get(requestid)
        raise ServiceError(f"pinning service {self.endpoint}: pin {pin.cid} still {pin.status} after {attempts} checks")


def service_from_env(endpoint: str | None = None, token: str | None = None) -> PinningService | None:
    endpoint = endpoint or os.environ.get(ENV_SERVICE)
    if not endpoint:
        return None
    return PinningService(endpoint, token or os.environ.get(ENV_TOKEN, ""))
