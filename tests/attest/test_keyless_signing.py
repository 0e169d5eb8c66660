"""Keyless signing, offline: everything up to the Fulcio request (no Sigstore instance is reachable here).

A private instance is described by a ClientTrustConfig whose services are on a closed loopback
port: vial loads it, accepts the OIDC token, builds sigstore's signing context, and reports the
failed certificate request as one line. What happens past that (Fulcio, Rekor) is untested here.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from vial.attest.errors import SigningError
from vial.attest.signing.sign import KeylessSigner, identity_token, load_trust_config
from vial.attest.statements.provenance import provenance_statement
from vial.cli import (
    attest_cmds,  # noqa: F401 - registers the commands
    cli,
)

SIGSTORE_STAGING_ROOT = "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"


def _token(**overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://issuer.example",
        "sub": "researcher@example.org",
        "aud": "sigstore",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(claims, "not-a-real-issuer-key-only-for-tests", algorithm="HS256")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def private_instance(tmp_path: Path) -> Path:
    """A ClientTrustConfig: sigstore's staging trusted root, signing services on a closed loopback port."""
    import sigstore

    store = Path(sigstore.__file__).parent / "_store" / SIGSTORE_STAGING_ROOT
    url = f"http://127.0.0.1:{_closed_port()}"
    window = {"start": "2020-01-01T00:00:00Z"}
    signing = {
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [{"url": url, "majorApiVersion": 1, "validFor": window, "operator": "test"}],
        "oidcUrls": [{"url": url, "majorApiVersion": 1, "validFor": window, "operator": "test"}],
        "rekorTlogUrls": [{"url": url, "majorApiVersion": 1, "validFor": window, "operator": "test"}],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    }
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": json.loads((store / "trusted_root.json").read_text()),
        "signingConfig": signing,
    }
    path = tmp_path / "trust-config.json"
    path.write_text(json.dumps(config))
    return path


def test_trust_config_loads_and_unreachable_fulcio_is_one_line(private_instance: Path, built) -> None:  # type: ignore[no-untyped-def]
    trust = load_trust_config(private_instance)
    assert trust.signing_config.get_oidc_url().startswith("http://127.0.0.1:")
    signer = KeylessSigner(private_instance, token=_token())
    with pytest.raises(SigningError, match=r"^keyless signing failed: ") as info:
        signer.sign(provenance_statement(built.record))
    assert "\n" not in str(info.value)


def test_token_sources_and_rejections(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "GITLAB_CI", "BUILDKITE", "CIRCLECI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", _token(sub="from-env@example.org"))
    assert identity_token(None, None).identity == "from-env@example.org"
    assert identity_token(_token(sub="explicit@example.org"), None).identity == "explicit@example.org"
    with pytest.raises(SigningError, match="identity token rejected"):
        identity_token(
            _token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200), None
        )
    with pytest.raises(SigningError, match="identity token rejected"):
        identity_token(_token(aud="someone-else"), None)
    monkeypatch.delenv("SIGSTORE_ID_TOKEN")
    with pytest.raises(SigningError, match="no identity token: pass --identity-token"):
        identity_token(None, "https://oauth2.example/auth", interactive=False)


def test_cli_keyless_sign_against_unreachable_instance(private_instance: Path, built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VIAL_HOME", str(built.store.root))
    result = CliRunner().invoke(
        cli, ["sign", "demo:1.0", "--trust-config", str(private_instance), "--identity-token", _token()]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("vial: error: keyless signing failed: ")
    assert result.stderr.count("\n") == 1


def test_ambient_github_actions_credential_from_a_loopback_token_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI path: GitHub Actions' OIDC token endpoint, played by a server on 127.0.0.1."""
    import http.server
    import threading
    from urllib.parse import parse_qs, urlparse

    workflow = "https://github.com/example/demo/.github/workflows/release.yml@refs/tags/v1.0"
    token = _token(
        iss="https://token.actions.githubusercontent.com",
        sub="repo:example/demo:ref:refs/tags/v1.0",
        job_workflow_ref=workflow.removeprefix("https://github.com/"),
    )
    seen: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["audience"] = parse_qs(urlparse(self.path).query).get("audience", [""])[0]
            seen["authorization"] = self.headers.get("Authorization", "")
            body = json.dumps({"value": token}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)  # exactly one request
    thread.start()
    try:
        monkeypatch.delenv("SIGSTORE_ID_TOKEN", raising=False)
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token")
        monkeypatch.setenv(
            "ACTIONS_ID_TOKEN_REQUEST_URL", f"http://127.0.0.1:{server.server_port}/token?api-version=2.0"
        )
        found = identity_token(None, None, interactive=False)
    finally:
        thread.join(timeout=30)
        server.server_close()
    assert seen == {"audience": "sigstore", "authorization": "bearer request-token"}
    assert (
        found.identity == "repo:example/demo:ref:refs/tags/v1.0"
    )  # Fulcio binds the workflow; the token names the ref
    assert found.issuer == "https://token.actions.githubusercontent.com"
