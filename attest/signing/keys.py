"""Signing keys: ECDSA P-256 and Ed25519, on ``cryptography``; private keys stored encrypted.

``vial keygen`` writes private keys in cosign's format (PEM ``ENCRYPTED SIGSTORE PRIVATE KEY``: a
JSON envelope of a PKCS#8 key sealed with scrypt + NaCl secretbox), so that the same key file works
with vial and with ``cosign``; public keys are PKIX PEM (``PUBLIC KEY``), as cosign writes them.
Reading accepts cosign's two headers and standard encrypted PKCS#8 (``ENCRYPTED PRIVATE KEY``).

The public-key hint carried in bundles is cosign's: base64(sha256(DER PKIX public key)).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import nacl.exceptions
import nacl.secret
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vial.attest.errors import KeyFileError
from vial.fsutil import atomic_write_bytes

KeyType = Literal["ecdsa-p256", "ed25519"]
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

SIGSTORE_PEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_PEM = "ENCRYPTED COSIGN PRIVATE KEY"
PKCS8_ENCRYPTED_PEM = "ENCRYPTED PRIVATE KEY"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 65536, 8, 1  # what cosign v2 writes


@dataclass(frozen=True)
class SigningKey:
    """A private key ready to sign, with its public half and hint."""

    private: PrivateKey

    @property
    def public(self) -> PublicKey:
        return self.private.public_key()

    @property
    def hint(self) -> str:
        return key_hint(self.public)

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(message)
        return self.private.sign(message, ec.ECDSA(hashes.SHA256()))


def key_hint(public: PublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def verify_signature(public: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, message)
        else:
            public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def generate(kind: KeyType = "ecdsa-p256") -> SigningKey:
    if kind == "ecdsa-p256":
        return SigningKey(ec.generate_private_key(ec.SECP256R1()))
    if kind == "ed25519":
        return SigningKey(ed25519.Ed25519PrivateKey.generate())
    raise KeyFileError(f"unsupported key type {kind!r} (use ecdsa-p256 or ed25519)")


# -- encryption (cosign format) ----------------------------------------------------------------


def _kdf(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=nacl.secret.SecretBox.KEY_SIZE, n=n, r=r, p=p).derive(password)


def encrypt_private_key(key: SigningKey, password: bytes) -> bytes:
    """The private key as cosign writes it: PEM ``ENCRYPTED SIGSTORE PRIVATE KEY``."""
    plaintext = key.private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt = os.urandom(32)
    nonce = os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_kdf(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))
    sealed = box.encrypt(plaintext, nonce).ciphertext
    envelope = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return _pem(SIGSTORE_PEM, json.dumps(envelope).encode())


def public_pem(public: PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_keypair(key: SigningKey, password: bytes, private_path: Path, public_path: Path, force: bool = False) -> None:
    """Write both halves atomically (private 0600); refuse to overwrite unless ``force``."""
    for path in (private_path, public_path):
        if Path(path).exists() and not force:
            raise KeyFileError(f"{path}: exists (use --force to overwrite)")
    atomic_write_bytes(Path(private_path), encrypt_private_key(key, password), mode=0o600)
    atomic_write_bytes(Path(public_path), public_pem(key.public))


# -- reading -----------------------------------------------------------------------------------


def _pem(label: str, body: bytes) -> bytes:
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def _pem_label(data: bytes, origin: str) -> tuple[str, bytes]:
    text = data.decode("ascii", errors="replace").strip()
    if not text.startswith("-----BEGIN "):
        raise KeyFileError(f"{origin}: not a PEM file")
    label = text[len("-----BEGIN ") : text.index("-----", len("-----BEGIN "))]
    end = f"-----END {label}-----"
    if end not in text:
        raise KeyFileError(f"{origin}: truncated PEM (no {end!r} line)")
    body = text[text.index("\n") + 1 : text.index(end)]
    try:
        return label, base64.b64decode("".join(body.split()), validate=True)
    except ValueError:
        raise KeyFileError(f"{origin}: PEM body is not base64") from None


def _decrypt_cosign(body: bytes, password: bytes, origin: str) -> bytes:
    try:
        envelope = json.loads(body)
        kdf, cipher = envelope["kdf"], envelope["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "nacl/secretbox":
            raise KeyFileError(f"{origin}: unsupported key encryption {kdf['name']}/{cipher['name']}")
        params = kdf["params"]
        key = _kdf(password, base64.b64decode(kdf["salt"]), int(params["N"]), int(params["r"]), int(params["p"]))
        nonce = base64.b64decode(cipher["nonce"])
        ciphertext = base64.b64decode(envelope["ciphertext"])
    except (ValueError, KeyError, TypeError):
        raise KeyFileError(f"{origin}: malformed encrypted key envelope") from None
    try:
        return nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise KeyFileError(f"{origin}: wrong passphrase (or a corrupted key file)") from None


def _read_key_file(path: Path) -> tuple[str, bytes]:
    """(the path as named in messages, the file's bytes)."""
    try:
        return str(path), Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file") from None


def load_private_key(path: Path, password: bytes | None) -> SigningKey:
    origin, data = _read_key_file(path)
    label, body = _pem_label(data, origin)
    if label in (SIGSTORE_PEM, COSIGN_PEM):
        if password is None:
            raise KeyFileError(f"{origin}: encrypted key needs a passphrase (set VIAL_PASSWORD)")
        der = _decrypt_cosign(body, password, origin)
        try:
            private = serialization.load_der_private_key(der, password=None)
        except ValueError:
            raise KeyFileError(f"{origin}: decrypted key is not PKCS#8") from None
    elif label in (PKCS8_ENCRYPTED_PEM, "PRIVATE KEY", "EC PRIVATE KEY"):
        try:
            private = serialization.load_pem_private_key(
                data, password=password if label == PKCS8_ENCRYPTED_PEM else None
            )
        except (ValueError, TypeError):
            raise KeyFileError(f"{origin}: wrong passphrase or malformed private key") from None
    else:
        raise KeyFileError(f"{origin}: unsupported PEM type {label!r} (expected a private key)")
    return _check_private(private, origin)


def _check_private(private: object, origin: str) -> SigningKey:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if not isinstance(private.curve, ec.SECP256R1):
            raise KeyFileError(f"{origin}: ECDSA curve {private.curve.name} is not supported (use P-256)")
        return SigningKey(private)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return SigningKey(private)
    raise KeyFileError(f"{origin}: unsupported key type {type(private).__name__} (use ECDSA P-256 or Ed25519)")


def load_public_key(path: Path) -> PublicKey:
    origin, data = _read_key_file(path)
    label, _ = _pem_label(data, origin)
    if label != "PUBLIC KEY":
        raise KeyFileError(f"{origin}: PEM type {label!r} is not a PUBLIC KEY")
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        raise KeyFileError(f"{origin}: malformed public key") from None
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return public
    if isinstance(public, ed25519.Ed25519PublicKey):
        return public
    raise KeyFileError(f"{origin}: unsupported public key type (use ECDSA P-256 or Ed25519)")
