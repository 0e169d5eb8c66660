"""Signed notes (C2SP signed-note) with Ed25519 keys, and tlog checkpoints (C2SP tlog-checkpoint).

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature::

    — <key name> <base64(4-byte key hash || signature)>

Keys use the encodings of Go's ``golang.org/x/mod/sumdb/note`` package:

* verifier key ``<name>+<8 hex digits of key hash>+<base64(0x01 || Ed25519 public key)>``
* signer key ``PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || Ed25519 seed)>``

where the key hash is the first 4 bytes (big-endian) of ``SHA-256(name || "\\n" || 0x01 || public key)``.

A checkpoint is the text of a note: the log's origin, the tree size in decimal, the root hash in
base64, each on its own line, then optional extension lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vial.errors import IntegrityError

ALG_ED25519 = 0x01
SIG_PREFIX = "— "  # U+2014 EM DASH, then a space
MAX_NOTE_SIZE = 1 << 20
_NAME_RE = re.compile(r"^[\x21-\x2a\x2c-\x7e]+$")  # printable ASCII, no space, no '+'


class NoteError(IntegrityError):
    """A key, note or checkpoint is malformed, or its signature does not verify."""


def check_name(name: str, what: str = "key name") -> str:
    if not _NAME_RE.match(name):
        raise NoteError(f"{what} {name!r}: must be printable ASCII without spaces or '+'")
    return name


def key_hash(name: str, public_key: bytes) -> int:
    """The 32-bit key hash of a note key (``public_key`` includes the algorithm byte)."""
    digest = hashlib.sha256(name.encode() + b"\n" + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what}: invalid base64") from None


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier: a key name, its key hash and public key."""

    name: str
    key_hash: int
    public_key: bytes  # 32 bytes, without the algorithm byte

    @classmethod
    def from_key(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"verifier key {vkey!r}: expected name+hash+key")
        name, hash_hex, encoded = parts
        check_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise NoteError(f"verifier key {vkey!r}: key hash must be 8 lowercase hex digits")
        key = _b64decode(encoded, f"verifier key {name}")
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError(f"verifier key {name}: not an Ed25519 key")
        if int(hash_hex, 16) != key_hash(name, key):
            raise NoteError(f"verifier key {name}: key hash does not match the key")
        return cls(name, int(hash_hex, 16), key[1:])

    def to_key(self) -> str:
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash:08x}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer. Its ``repr`` never shows the private key."""

    name: str
    key_hash: int
    seed: bytes

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_hash={self.key_hash:08x})"

    @classmethod
    def generate(cls, name: str) -> Signer:
        check_name(name)
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls.from_seed(name, seed)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(name, key_hash(name, bytes([ALG_ED25519]) + public), seed)

    @classmethod
    def from_key(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key: expected PRIVATE+KEY+name+hash+key")
        name, hash_hex, encoded = parts[2:]
        check_name(name)
        key = _b64decode(encoded, f"signer key {name}")
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError(f"signer key {name}: not an Ed25519 key")
        signer = cls.from_seed(name, key[1:])
        if f"{signer.key_hash:08x}" != hash_hex:
            raise NoteError(f"signer key {name}: key hash does not match the key")
        return signer

    def to_key(self) -> str:
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_hash:08x}+{encoded}"

    def verifier(self) -> Verifier:
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return Verifier(self.name, self.key_hash, public)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: int
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A note's text and all its signature lines (verified ones listed in ``verified``)."""

    text: str
    signatures: tuple[NoteSignature, ...]
    verified: tuple[str, ...] = ()  # names of the keys whose signatures checked


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if "\n\n" in text:
        raise NoteError("note text must not contain a blank line")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters")


def sign_note(text: str, *signers: Signer) -> bytes:
    """The signed note: ``text``, a blank line, one signature line per signer."""
    _check_text(text)
    message = text.encode()
    lines = [text, "\n"]
    for signer in signers:
        blob = struct.pack(">I", signer.key_hash) + signer.sign(message)
        lines.append(f"{SIG_PREFIX}{signer.name} {base64.b64encode(blob).decode()}\n")
    return "".join(lines).encode()


def parse_note(data: bytes, what: str = "note") -> Note:
    """Split a signed note into text and signature lines (nothing verified yet)."""
    if len(data) > MAX_NOTE_SIZE:
        raise NoteError(f"{what}: larger than {MAX_NOTE_SIZE} bytes")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError(f"{what}: not UTF-8") from None
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError(f"{what}: no signatures (missing blank line)")
    text, block = message[: split + 1], message[split + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise NoteError(f"{what}: signature block must end in a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"{what}: malformed signature line {line!r}")
        name, _, encoded = line[len(SIG_PREFIX) :].partition(" ")
        check_name(name, f"{what}: signature name")
        blob = _b64decode(encoded, f"{what}: signature by {name}")
        if len(blob) < 5:
            raise NoteError(f"{what}: signature by {name} is too short")
        signatures.append(NoteSignature(name, struct.unpack(">I", blob[:4])[0], blob[4:]))
    return Note(text, tuple(signatures))


def open_note(data: bytes, verifiers: list[Verifier], what: str = "note") -> Note:
    """Parse and verify a note: every signature by a known key must verify, and at least one must exist.

    Signatures by unknown keys are kept but ignored (others may cosign a checkpoint).
    """
    note = parse_note(data, what)
    known = {(v.name, v.key_hash): v for v in verifiers}
    verified = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_hash))
        if verifier is None:
            continue
        if not verifier.verify(note.text.encode(), sig.signature):
            raise NoteError(f"{what}: invalid signature by {sig.name}+{sig.key_hash:08x}")
        verified.append(verifier.name)
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_hash:08x}" for v in verifiers) or "none"
        raise NoteError(f"{what}: not signed by a trusted key (trusted: {names})")
    return Note(note.text, note.signatures, tuple(verified))


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog checkpoint: which log, how many records, and their Merkle root."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def to_text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, text: str, what: str = "checkpoint") -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError(f"{what}: expected origin, size and root hash lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin:
            raise NoteError(f"{what}: empty origin line")
        if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size):
            raise NoteError(f"{what}: bad tree size {size!r}")
        digest = _b64decode(root, f"{what}: root hash")
        if len(digest) != 32:
            raise NoteError(f"{what}: root hash is {len(digest)} bytes, not 32")
        return cls(origin, int(size), digest, tuple(lines[3:-1]))

    def sign(self, *signers: Signer) -> bytes:
        return sign_note(self.to_text(), *signers)


def open_checkpoint(data: bytes, verifiers: list[Verifier], origin: str | None = None) -> tuple[Checkpoint, Note]:
    """Verify a signed checkpoint and parse it; ``origin``, if given, must match its first line."""
    what = f"checkpoint of {origin}" if origin else "checkpoint"
    note = open_note(data, verifiers, what)
    checkpoint = Checkpoint.from_text(note.text, what)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"{what}: origin is {checkpoint.origin!r}")
    return checkpoint, note
