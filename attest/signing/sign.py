"""Sign in-toto statements into Sigstore bundles (v0.3, DSSE): with a key, or keyless via Sigstore.

* ``KeySigner``: ECDSA P-256 or Ed25519 on ``cryptography``; offline, no transparency log.
* ``KeylessSigner``: sigstore-python. An OIDC identity token (explicit, ``SIGSTORE_ID_TOKEN``, ambient CI
  credentials, or an interactive browser flow) buys a short-lived Fulcio certificate; the signature
  is logged in Rekor. ``trust_config`` (a ClientTrustConfig JSON file) selects a private instance.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vial.attest.errors import SigningError
from vial.attest.signing.bundle import key_bundle
from vial.attest.signing.dsse import Envelope, pae
from vial.attest.signing.keys import SigningKey
from vial.attest.statements.statement import PAYLOAD_TYPE, Statement

if TYPE_CHECKING:  # sigstore is imported when keyless signing starts, not with this module
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken

TOKEN_ENV = "SIGSTORE_ID_TOKEN"


class Signer(Protocol):
    def sign(self, statement: Statement) -> bytes:
        """Return the JSON bytes of a Sigstore bundle holding the signed statement."""
        ...


def sign_envelope(payload: bytes, key: SigningKey, payload_type: str = PAYLOAD_TYPE) -> Envelope:
    """A DSSE envelope with one signature over PAE(payload_type, payload). ``keyid`` is left empty, as cosign does."""
    return Envelope(
        payload=payload, payload_type=payload_type, signatures=((key.sign(pae(payload_type, payload)), ""),)
    )


@dataclass(frozen=True)
class KeySigner:
    key: SigningKey

    def sign(self, statement: Statement) -> bytes:
        return key_bundle(sign_envelope(statement.to_bytes(), self.key), self.key)


def load_trust_config(path: Path | None = None, staging: bool = False) -> ClientTrustConfig:
    """A sigstore ``ClientTrustConfig``: from a file (private instance), else Sigstore's public-good one."""
    from sigstore.models import ClientTrustConfig

    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SigningError(f"{path}: no such trust config") from None
        try:
            return ClientTrustConfig.from_json(text)
        except Exception as exc:  # noqa: BLE001 - sigstore raises several types for a bad file
            raise SigningError(f"{path}: not a Sigstore ClientTrustConfig: {_one_line(exc)}") from None
    try:
        return ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
    except Exception as exc:  # noqa: BLE001 - TUF refresh failures come in many types
        raise SigningError(f"could not load Sigstore's trust root (TUF): {_one_line(exc)}") from None


def identity_token(explicit: str | None, oidc_url: str | None, interactive: bool | None = None) -> IdentityToken:
    """The OIDC token: explicit, else ``$SIGSTORE_ID_TOKEN``, else ambient CI credentials, else a browser flow."""
    from sigstore.oidc import IdentityError, IdentityToken, Issuer, detect_credential

    raw = explicit or os.environ.get(TOKEN_ENV)
    if not raw:
        try:
            raw = detect_credential()
        except IdentityError as exc:
            raise SigningError(f"ambient OIDC credential detection failed: {_one_line(exc)}") from None
    if not raw:
        if interactive is None:
            interactive = sys.stdin.isatty()
        if not interactive or oidc_url is None:
            raise SigningError(
                f"no identity token: pass --identity-token, set {TOKEN_ENV}, run in CI with OIDC, or run interactively"
            )
        try:
            return Issuer(oidc_url).identity_token()
        except Exception as exc:  # noqa: BLE001
            raise SigningError(f"interactive sign-in failed: {_one_line(exc)}") from None
    try:
        return IdentityToken(raw)
    except IdentityError as exc:
        raise SigningError(f"identity token rejected: {_one_line(exc)}") from None


class KeylessSigner:
    """Sigstore keyless signing; one Fulcio certificate is reused for every statement of a session."""

    def __init__(self, trust_config_path: Path | None = None, staging: bool = False, token: str | None = None) -> None:
        from sigstore.sign import SigningContext

        self._trust = load_trust_config(trust_config_path, staging)
        try:
            oidc_url = self._trust.signing_config.get_oidc_url()
        except Exception:  # noqa: BLE001 - a private instance may have no OIDC provider configured
            oidc_url = None
        self._token = identity_token(token, oidc_url)
        try:
            self._context = SigningContext.from_trust_config(self._trust)
        except Exception as exc:  # noqa: BLE001
            raise SigningError(f"trust config has no usable signing services: {_one_line(exc)}") from None

    def sign(self, statement: Statement) -> bytes:
        from sigstore.dsse import Statement as SigstoreStatement

        try:
            with self._context.signer(self._token, cache=True) as signer:
                bundle = signer.sign_dsse(SigstoreStatement(statement.to_bytes()))
        except Exception as exc:  # noqa: BLE001 - network, Fulcio, Rekor: all one line for the user
            raise SigningError(f"keyless signing failed: {_one_line(exc)}") from None
        return bundle.to_json().encode()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
