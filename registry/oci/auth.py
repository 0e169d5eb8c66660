"""Registry credentials and the distribution token flow (Basic, or Bearer tokens from a realm).

Credentials come from, in order: ``VIAL_REGISTRY_USERNAME`` / ``VIAL_REGISTRY_PASSWORD``, then the
Docker client's ``config.json`` (``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``,
entries under ``auths`` with ``auth`` = base64 ``user:password`` or ``username``/``password``).
Credential helpers (``credsStore``, ``credHelpers``) are not run.

``RegistryAuth`` answers a 401 challenge once: ``Basic`` with the credentials, or ``Bearer``
by asking the challenge's realm for a token (with the credentials, or anonymously) for the
challenge's service and scope; the resulting header is reused for the client's later requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import httpx

from vial.errors import ServiceError

ENV_USERNAME = "VIAL_REGISTRY_USERNAME"
ENV_PASSWORD = "VIAL_REGISTRY_PASSWORD"
_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


class AuthError(ServiceError):
    """The registry refused the credentials, or its token service failed."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    source: str  # where they came from, for messages (never the secret)

    def basic_header(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base).expanduser() if base else Path.home() / ".docker") / "config.json"


def find_credentials(host: str, environ: dict[str, str] | None = None) -> Credentials | None:
    """Credentials for ``host`` (``host[:port]``) from the environment or Docker's config.json."""
    env = os.environ if environ is None else environ
    user, password = env.get(ENV_USERNAME), env.get(ENV_PASSWORD)
    if user and password is not None:
        return Credentials(user, password, f"${ENV_USERNAME}")
    path = Path(env["DOCKER_CONFIG"]).expanduser() / "config.json" if env.get("DOCKER_CONFIG") else docker_config_path()
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AuthError(f"{path}: unreadable Docker config ({exc})") from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return None
    for key in (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"):
        entry = auths.get(key)
        if isinstance(entry, dict):
            found = _entry_credentials(entry, f"{path} ({key})")
            if found is not None:
                return found
    return None


def _entry_credentials(entry: dict[str, object], source: str) -> Credentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError(f"{source}: 'auth' is not base64 of user:password") from None
        if not sep:
            raise AuthError(f"{source}: 'auth' is not base64 of user:password")
        return Credentials(user, password, source)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret, source)
    return None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM_RE.finditer(rest)
    }
    return scheme.lower(), params


class RegistryAuth(httpx.Auth):
    """httpx auth flow for one registry; streamed bodies are never replayed (see ``RegistryClient``)."""

    def __init__(self, host: str, credentials: Credentials | None) -> None:
        self.host = host
        self.credentials = credentials
        self._header: str | None = None

    @property
    def authorized(self) -> bool:
        return self._header is not None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._header:
            request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                return  # the 401 reaches the caller, which says credentials are needed
            self._header = self.credentials.basic_header()
        elif scheme == "bearer" and params.get("realm"):
            query = {k: v for k, v in (("service", params.get("service")), ("scope", params.get("scope"))) if v}
            token_request = httpx.Request("GET", params["realm"], params=query)
            if self.credentials is not None:
                token_request.headers["Authorization"] = self.credentials.basic_header()
            token_response = yield token_request
            token_response.read()
            if token_response.status_code in (401, 403):
                who = f"credentials from {self.credentials.source}" if self.credentials else "anonymous access"
                raise AuthError(
                    f"registry {self.host}: token service {params['realm']} refused {who} "
                    f"({token_response.status_code})"
                )
            if token_response.status_code != 200:
                raise AuthError(
                    f"registry {self.host}: token service {params['realm']} answered {token_response.status_code}"
                )
            try:
                body = token_response.json()
                token = body.get("token") or body.get("access_token")
            except (ValueError, AttributeError):
                token = None
            if not isinstance(token, str) or not token:
                raise AuthError(f"registry {self.host}: token service {params['realm']} returned no token")
            self._header = f"Bearer {token}"
        else:
            return
        request.headers["Authorization"] = self._header
        yield request
