"""Permanent versions: every ``vial publish`` is a record in an append-only, signed transparency log.

A release (name, version, manifest digest, CID, attestation digests, previous release, time) is
one line of canonical JSON, a leaf of an RFC 9162 Merkle tree. After each append the log signs a
checkpoint (C2SP tlog-checkpoint, Ed25519 signed note). A version, once recorded, never changes:
publishing it again with other content is refused, naming the digest already recorded.

Each client (a ``VIAL_HOME``) remembers the newest checkpoint it has verified for each log, with the
key that signed it, under ``trusted-checkpoints/``; a checkpoint that is older, signed by another
key, or not an extension of that one (consistency proof) is refused: rollback and forks show.

Files, under ``VIAL_HOME``::

    logs/<log>/           the log itself (see ``vial.registry.log.storage``)
    keys/<log>.key        the log's signer key (note format, mode 0600), made on first publish
    trusted-checkpoints/<log>.json   what this client last verified of that log
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from vial import strictjson
from vial.digest import check_digest, is_digest
from vial.errors import IntegrityError, NotFoundError, VialError
from vial.fsutil import atomic_write_bytes
from vial.home import default_home
from vial.oci import canonical_json
from vial.registry.log import merkle as tlog
from vial.registry.log.note import Checkpoint, Note, Signer, Verifier, check_name, open_checkpoint
from vial.registry.log.storage import LogStorage
from vial.store import Store

RELEASE_SCHEMA = "https://vial.dev/release/v1"
DEFAULT_ORIGIN = "vial.local/releases"
ORIGIN_ENV = "VIAL_LOG"
LOCK_TIMEOUT = 120.0

_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


class ReleaseConflictError(VialError):
    """A version is already published with other content."""


class LogConsistencyError(IntegrityError):
    """A log's checkpoint is not an extension of the one this client trusts (rollback, fork, forgery)."""


def check_release_name(name: str) -> str:
    if len(name) > 255 or not _NAME_RE.match(name):
        raise VialError(f"release name {name!r}: use lowercase letters, digits and . _ - (and / between parts)")
    return name


def check_version(version: str) -> str:
    if not _VERSION_RE.match(version):
        raise VialError(f"version {version!r}: use letters, digits and . _ - (at most 128, not starting with . or -)")
    return version


def split_ref(ref: str) -> tuple[str, str]:
    """``NAME:VERSION`` into its parts (the last ``:`` separates them)."""
    name, sep, version = ref.rpartition(":")
    if not sep or not name or not version:
        raise VialError(f"{ref!r}: expected NAME:VERSION")
    return check_release_name(name), check_version(version)


def log_dirname(origin: str) -> str:
    """A file-system-safe, collision-free name for a log origin."""
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", origin)[:64]
    return f"{readable}-{hashlib.sha256(origin.encode()).hexdigest()[:12]}"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the record --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    """The release of the same name published just before, by record index."""

    version: str
    index: int
    manifest_digest: str


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    manifest_digest: str
    published: str  # RFC 3339, UTC
    signer: str = ""  # the log key (name+hash) that signed the checkpoint recording it
    cid: str | None = None
    attestations: tuple[str, ...] = ()
    previous: Previous | None = None
    schema: str = RELEASE_SCHEMA

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "name": self.name,
            "version": self.version,
            "manifest_digest": self.manifest_digest,
            "cid": self.cid,
            "attestations": list(self.attestations),
            "previous": None
            if self.previous is None
            else {
                "version": self.previous.version,
                "index": self.previous.index,
                "manifest_digest": self.previous.manifest_digest,
            },
            "published": self.published,
            "signer": self.signer,
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_bytes(cls, raw: bytes, what: str = "release") -> Release:
        data = strictjson.expect_object(strictjson.loads(raw, what, error=IntegrityError), what, IntegrityError)
        _check_release_types(data, what)
        try:
            if data.get("schema") != RELEASE_SCHEMA:
                raise IntegrityError(f"{what}: unknown schema {data.get('schema')!r}")
            previous = data.get("previous")
            release = cls(
                name=str(data["name"]),
                version=str(data["version"]),
                manifest_digest=check_digest(str(data["manifest_digest"]), f"{what}.manifest_digest"),
                published=str(data["published"]),
                signer=str(data.get("signer", "")),
                cid=data.get("cid"),
                attestations=tuple(check_digest(str(a), f"{what}.attestations") for a in data.get("attestations", ())),
                previous=None
                if previous is None
                else Previous(str(previous["version"]), int(previous["index"]), str(previous["manifest_digest"])),
            )
        except IntegrityError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError(f"{what}: malformed release record ({type(exc).__name__}: {exc})") from None
        if release.cid is not None and not isinstance(release.cid, str):
            raise IntegrityError(f"{what}: cid is not a string")
        if release.to_bytes() != raw:
            raise IntegrityError(f"{what}: record is not in canonical form")
        return release


def _check_release_types(data: dict[str, Any], what: str) -> None:
    """Each field of a release record has one JSON type (no number for a version, no ``true`` for an index)."""
    for name in ("name", "version", "manifest_digest", "published"):
        strictjson.field(data, name, str, what, IntegrityError)
    optional: tuple[tuple[str, type | tuple[type, ...]], ...] = (
        ("signer", str),
        ("cid", (str, type(None))),
        ("attestations", list),
        ("previous", (dict, type(None))),
    )
    for name, kind in optional:
        if name in data:
            strictjson.field(data, name, kind, what, IntegrityError)
    if not all(isinstance(a, str) for a in data.get("attestations", ())):
        raise IntegrityError(f"{what}: attestations holds a value that is not a digest string")
    previous = data.get("previous")
    if isinstance(previous, dict):
        required: tuple[tuple[str, type], ...] = (("version", str), ("index", int), ("manifest_digest", str))
        for name, kind in required:
            strictjson.field(previous, name, kind, f"{what}.previous", IntegrityError)


@dataclass(frozen=True)
class LoggedRelease:
    """A release and where it sits in the log."""

    index: int
    release: Release
    leaf_hash: bytes


@dataclass(frozen=True)
class Head:
    """A verified checkpoint of a log: its size and root hash, with the note that signed them."""

    checkpoint: Checkpoint
    note: Note | None  # None for an empty log that has never been signed
    raw: bytes

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def signers(self) -> tuple[str, ...]:
        return self.note.verified if self.note else ()


@dataclass(frozen=True)
class ProvenRelease:
    """A release with its inclusion proof, checked against a verified checkpoint."""

    logged: LoggedRelease
    proof: tuple[bytes, ...]
    head: Head


def referrer_digests(store: Store, digest: str) -> list[str]:
    """The manifests in the store's index whose ``subject`` is ``digest`` and that declare an
    ``artifactType`` (OCI 1.1 referrers: signatures, attestations), sorted by digest."""
    return sorted({r.digest for r in store.referrers(digest, skip_unreadable=True)})


def verify_release_bundle(bundle: Any, verifier_key: str) -> ProvenRelease:
    """Check a release proof offline: ``bundle`` is what ``vial show --json`` prints (the release,
    its record index, its inclusion proof and the signed checkpoint note); ``verifier_key`` is the
    log's key (``vial log-key``). Needs neither the log nor the store."""
    what = "release proof"
    strictjson.expect_object(bundle, what, IntegrityError)
    strictjson.field(bundle, "release", dict, what, IntegrityError)
    strictjson.field(bundle, "index", int, what, IntegrityError)
    hashes = strictjson.field(bundle, "inclusion_proof", list, what, IntegrityError)
    if not all(isinstance(h, str) for h in hashes):
        raise IntegrityError(f"{what}: inclusion_proof holds a value that is not a base64 string")
    strictjson.field(
        strictjson.field(bundle, "checkpoint", dict, what, IntegrityError), "note", str, what, IntegrityError
    )
    try:
        raw = canonical_json(bundle["release"])
        index = int(bundle["index"])
        proof = [base64.b64decode(h, validate=True) for h in bundle["inclusion_proof"]]
        note_bytes = str(bundle["checkpoint"]["note"]).encode()
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise IntegrityError(f"release proof: malformed ({type(exc).__name__}: {exc})") from None
    verifier = Verifier.from_key(verifier_key)
    checkpoint, note = open_checkpoint(note_bytes, [verifier])
    release = Release.from_bytes(raw, "release proof")
    leaf = tlog.leaf_hash(raw)
    tlog.verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root)
    return ProvenRelease(LoggedRelease(index, release, leaf), tuple(proof), Head(checkpoint, note, note_bytes))


@dataclass(frozen=True)
class PublishResult:
    logged: LoggedRelease
    created: bool  # False: the same content was already published under this version
    head: Head


@dataclass(frozen=True)
class AuditReport:
    origin: str
    size: int
    root: bytes
    releases: int
    names: dict[str, int] = field(default_factory=dict)
    trusted_before: int | None = None  # size of the checkpoint this client trusted before (None: first use)


# -- what this client trusts -------------------------------------------------------------------


@dataclass(frozen=True)
class Trusted:
    origin: str
    verifier_key: str
    checkpoint: bytes


class TrustStore:
    """The newest checkpoint this client has verified for each log, and the key that signed it."""

    def __init__(self, home: Path) -> None:
        self.directory = Path(home) / "trusted-checkpoints"
        self._lock_path = self.directory / ".lock"

    def path(self, origin: str) -> Path:
        return self.directory / (log_dirname(origin) + ".json")

    def get(self, origin: str) -> Trusted | None:
        try:
            data = json.loads(self.path(origin).read_bytes())
            return Trusted(str(data["origin"]), str(data["verifier_key"]), str(data["checkpoint"]).encode())
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"{self.path(origin)}: unreadable trusted checkpoint ({exc})") from None

    def lock(self) -> FileLock:
        self.directory.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self._lock_path), timeout=LOCK_TIMEOUT)

    def put(self, origin: str, verifier: Verifier, raw: bytes) -> None:
        data = {"origin": origin, "verifier_key": verifier.to_key(), "checkpoint": raw.decode()}
        atomic_write_bytes(self.path(origin), json.dumps(data, indent=1, sort_keys=True).encode() + b"\n")


# -- the log -----------------------------------------------------------------------------------


class ReleaseLog:
    """One release log as seen (and, with its key, written) from one ``VIAL_HOME``."""

    def __init__(self, home: Path | str | None = None, origin: str | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.origin = check_name(origin or os.environ.get(ORIGIN_ENV) or DEFAULT_ORIGIN, "log origin")
        self.storage = LogStorage(self.home / "logs" / log_dirname(self.origin))
        self.key_path = self.home / "keys" / (log_dirname(self.origin) + ".key")
        self.trust = TrustStore(self.home)

    # -- keys ------------------------------------------------------------------------------------

    def signer(self) -> Signer | None:
        try:
            return Signer.from_key(self.key_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def _signer_or_create(self) -> Signer:
        """The log's key, generated (mode 0600) on first use; the caller holds the log lock."""
        signer = self.signer()
        if signer is None:
            if self.storage.read_checkpoint() is not None:
                raise VialError(f"log {self.origin}: has a checkpoint but no signer key at {self.key_path}")
            signer = Signer.generate(self.origin)
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.key_path.parent, 0o700)
            atomic_write_bytes(self.key_path, (signer.to_key() + "\n").encode(), mode=0o600)
        if self.storage.read_verifier() != signer.verifier().to_key():
            self.storage.write_verifier(signer.verifier().to_key())
        return signer

    def ensure_key(self) -> Verifier:
        """The log's verifier key, making the signer key first if this log has none yet.

        A client of someone else's log (a checkpoint but no signer key here) gets the key it checks
        the log against instead."""
        if self.signer() is None and self.storage.read_checkpoint() is not None:
            verifier = self.verifier()
            if verifier is None:
                raise IntegrityError(f"log {self.origin}: no verifier key (expected {self.storage.verifier_path})")
            return verifier
        try:
            with self._locked():
                return self._signer_or_create().verifier()
        except Timeout:
            raise VialError(
                f"log {self.origin}: another publisher has held the lock for {LOCK_TIMEOUT:.0f} s"
            ) from None

    def trust_key(self, verifier_key: str) -> Verifier:
        """Pin the log's verifier key before first use (instead of trusting the key the log names).

        Refused if this client already trusts another key for the log."""
        verifier = Verifier.from_key(verifier_key)
        if verifier.name != self.origin:
            raise VialError(f"verifier key {verifier.name}+{verifier.key_hash:08x} is not a key of log {self.origin}")
        with self.trust.lock():
            trusted = self.trust.get(self.origin)
            if trusted is not None:
                if trusted.verifier_key != verifier.to_key():
                    raise LogConsistencyError(
                        f"this client already trusts {trusted.verifier_key} for log {self.origin} "
                        f"(remove {self.trust.path(self.origin)} to change it)"
                    )
                return verifier
            self.trust.put(self.origin, verifier, b"")
        return verifier

    def verifier(self) -> Verifier | None:
        """The key this client checks the log against: the one it trusted before, else its own
        key, else the key the log names (trust on first use)."""
        trusted = self.trust.get(self.origin)
        if trusted is not None:
            return Verifier.from_key(trusted.verifier_key)
        signer = self.signer()
        if signer is not None:
            return signer.verifier()
        named = self.storage.read_verifier()
        return Verifier.from_key(named) if named else None

    # -- reading and verifying -------------------------------------------------------------------

    def read_head(self, verifier: Verifier | None) -> Head:
        raw = self.storage.read_checkpoint()
        if raw is None:
            return Head(Checkpoint(self.origin, 0, tlog.empty_root()), None, b"")
        if verifier is None:
            raise IntegrityError(f"log {self.origin}: no verifier key (expected {self.storage.verifier_path})")
        checkpoint, note = open_checkpoint(raw, [verifier], self.origin)
        return Head(checkpoint, note, raw)

    def check_trust(self, head: Head, verifier: Verifier | None, update: bool) -> int | None:
        """Refuse ``head`` unless it extends the checkpoint this client trusts; then trust it.

        Returns the size of the checkpoint trusted before (None if this client had none)."""
        with self.trust.lock():
            trusted = self.trust.get(self.origin)
            before: int | None = None
            if trusted is not None:
                if verifier is None or trusted.verifier_key != verifier.to_key():
                    shown = verifier.to_key() if verifier else "no key"
                    raise LogConsistencyError(
                        f"log {self.origin} is signed by {shown}, but this client trusts {trusted.verifier_key}"
                    )
                if not trusted.checkpoint:  # a key pinned by ``trust_key``, no checkpoint seen yet
                    if update and head.note is not None:
                        self.trust.put(self.origin, verifier, head.raw)
                    return None
                old, _ = open_checkpoint(trusted.checkpoint, [verifier], self.origin)
                before = old.size
                if head.size < old.size:
                    # Either the log went back (refuse), or ``head`` was read just before another
                    # process on this client advanced the log and trusted the newer checkpoint:
                    # then the log now holds at least that, and ``head`` must be a prefix of it.
                    if self.read_head(verifier).size < old.size:
                        raise LogConsistencyError(
                            f"log {self.origin} has {head.size} records but this client already saw "
                            f"{old.size} (rollback or truncation)"
                        )
                    self._prove_consistent(head.size, head.checkpoint.root, old.size, old.root)
                    return old.size
                self._prove_consistent(old.size, old.root, head.size, head.checkpoint.root)
                if head.size == old.size:
                    return old.size
            if update and head.note is not None and verifier is not None:
                self.trust.put(self.origin, verifier, head.raw)
            return before

    def _prove_consistent(self, old_size: int, old_root: bytes, new_size: int, new_root: bytes) -> None:
        try:
            proof = tlog.consistency_proof(old_size, new_size, self.storage.hash_reader(new_size))
            tlog.verify_consistency(old_size, new_size, old_root, new_root, proof)
        except IntegrityError as exc:
            raise LogConsistencyError(
                f"log {self.origin} is not consistent with the checkpoint this client trusts: {exc}"
            ) from None

    def head(self) -> Head:
        """The log's current checkpoint, verified, and checked against (then recorded as) the trusted one."""
        return self._head()[0]

    def _head(self) -> tuple[Head, int | None]:
        verifier = self.verifier()
        if verifier is None and self.storage.read_checkpoint() is not None:
            # A first publish wrote key, verifier and checkpoint (in that order) since we looked.
            verifier = self.verifier()
        head = self.read_head(verifier)
        return head, self.check_trust(head, verifier, update=True)

    def releases(self, head: Head, start: int = 0, name: str | None = None) -> Iterator[LoggedRelease]:
        """The records of the first ``head.size`` in order (only those of ``name``, if given)."""
        # Records are canonical JSON, so a record of ``name`` contains exactly this byte string:
        # a cheap filter that spares parsing every other record (they are parsed if it matches).
        needle = b'"name":' + json.dumps(name, ensure_ascii=False).encode() if name is not None else b""
        for index, raw in self.storage.records(head.size, start):
            if needle and needle not in raw:
                continue
            release = Release.from_bytes(raw, f"log {self.origin} record {index}")
            if name is None or release.name == name:
                yield LoggedRelease(index, release, tlog.leaf_hash(raw))

    def find(self, head: Head, name: str, version: str) -> LoggedRelease | None:
        for logged in self.releases(head, name=name):
            if logged.release.version == version:
                return logged
        return None

    def prove(self, head: Head, index: int) -> ProvenRelease:
        """Record ``index`` with its inclusion proof, verified against ``head``."""
        raw = self.storage.record(index, head.size)
        leaf = tlog.leaf_hash(raw)
        release = Release.from_bytes(raw, f"log {self.origin} record {index}")
        proof = tlog.inclusion_proof(index, head.size, self.storage.hash_reader(head.size))
        tlog.verify_inclusion(index, head.size, leaf, proof, head.checkpoint.root)
        return ProvenRelease(LoggedRelease(index, release, leaf), tuple(proof), head)

    def show(self, name: str, version: str) -> ProvenRelease:
        head = self.head()
        logged = self.find(head, name, version)
        if logged is None:
            raise NotFoundError(f"{name}:{version} is not published in log {self.origin}")
        return self.prove(head, logged.index)

    def history(self, name: str) -> tuple[Head, list[ProvenRelease]]:
        """Every release of ``name``, oldest first, each proven included in the current checkpoint."""
        head = self.head()
        found = [self.prove(head, logged.index) for logged in self.releases(head, name=name)]
        return head, found

    def audit(self) -> AuditReport:
        """Rehash the whole log: every record and every stored hash must match the signed root."""
        head, trusted_before = self._head()
        stored: list[bytes] = []
        names: dict[str, int] = {}
        seen: set[tuple[str, str]] = set()
        leaves = []
        reader = lambda indexes: [stored[i] for i in indexes]  # noqa: E731
        for logged in self.releases(head):
            key = (logged.release.name, logged.release.version)
            if key in seen:
                raise IntegrityError(f"log {self.origin}: {logged.release.ref} recorded twice")
            seen.add(key)
            names[logged.release.name] = names.get(logged.release.name, 0) + 1
            leaves.append(logged.leaf_hash)
            stored += tlog.stored_hashes_for_leaf(logged.index, logged.leaf_hash, reader)
        if tlog.root_from_leaves(leaves) != head.checkpoint.root:
            raise IntegrityError(f"log {self.origin}: records do not hash to the signed root")
        on_disk = self.storage.hash_reader(head.size)(range(len(stored))) if stored else []
        if on_disk != stored:
            bad = next(i for i, (a, b) in enumerate(zip(on_disk, stored, strict=True)) if a != b)
            raise IntegrityError(f"log {self.origin}: stored hash {bad} does not match the records")
        return AuditReport(self.origin, head.size, head.checkpoint.root, len(leaves), names, trusted_before)

    # -- writing ---------------------------------------------------------------------------------

    def _locked(self) -> FileLock:
        self.storage.create()
        self.storage.lock.timeout = LOCK_TIMEOUT
        return self.storage.lock

    def publish(
        self,
        store: Store,
        ref: str,
        name: str,
        version: str,
        *,
        cid: str | None = None,
        attestations: Sequence[str] = (),
        discover_attestations: bool = True,
        now: str | None = None,
    ) -> PublishResult:
        """Record ``ref`` (resolved in ``store``) as ``name:version``; idempotent for the same content.

        The release lists ``attestations`` and, unless ``discover_attestations`` is false, every
        attestation the store holds for the image (its OCI referrers), by manifest digest."""
        check_release_name(name)
        check_version(version)
        for digest in attestations:
            check_digest(digest, "attestation")
        descriptor = store.resolve(ref)
        found = referrer_digests(store, descriptor.digest) if discover_attestations else []
        attestations = sorted({*attestations, *found})
        try:
            with self._locked():
                signer = self._signer_or_create()
                verifier = signer.verifier()
                head = self.read_head(verifier)
                self.check_trust(head, verifier, update=False)
                self.storage.truncate_to(head.size)
                latest: LoggedRelease | None = None
                for logged in self.releases(head, name=name):
                    if logged.release.version == version:
                        if logged.release.manifest_digest != descriptor.digest:
                            raise ReleaseConflictError(
                                f"{name}:{version} is already published as {logged.release.manifest_digest} "
                                f"(log {self.origin}, record {logged.index}); "
                                "a version never changes, publish a new one"
                            )
                        store.tag(f"{name}:{version}", descriptor)
                        return PublishResult(logged, False, head)
                    latest = logged
                previous = (
                    None
                    if latest is None
                    else Previous(latest.release.version, latest.index, latest.release.manifest_digest)
                )
                release = Release(
                    name=name,
                    version=version,
                    manifest_digest=descriptor.digest,
                    published=now or _now(),
                    signer=f"{signer.name}+{signer.key_hash:08x}",
                    cid=cid,
                    attestations=tuple(attestations),
                    previous=previous,
                )
                new_head = self._append(signer, head, [release])
                raw = release.to_bytes()
                logged = LoggedRelease(head.size, release, tlog.leaf_hash(raw))
        except Timeout:
            raise VialError(
                f"log {self.origin}: another publisher has held the lock for {LOCK_TIMEOUT:.0f} s"
            ) from None
        self.check_trust(new_head, verifier, update=True)
        store.tag(f"{name}:{version}", descriptor)
        return PublishResult(logged, True, new_head)

    def _append(self, signer: Signer, head: Head, releases: Sequence[Release]) -> Head:
        """Append records after ``head`` and commit them with a new signed checkpoint (lock held)."""
        root = self.storage.append(head.size, [r.to_bytes() for r in releases])
        checkpoint = Checkpoint(self.origin, head.size + len(releases), root)
        raw = checkpoint.sign(signer)
        self.storage.write_checkpoint(raw)
        return self.read_head(signer.verifier())

    def append_releases(self, releases: Sequence[Release]) -> Head:
        """Append prepared releases in one batch, under one checkpoint (imports, benchmarks).

        Unlike ``publish`` this does not look at the store; it still refuses a version recorded twice.
        """
        with self._locked():
            signer = self._signer_or_create()
            verifier = signer.verifier()
            head = self.read_head(verifier)
            self.check_trust(head, verifier, update=False)
            self.storage.truncate_to(head.size)
            seen = {(r.release.name, r.release.version) for r in self.releases(head)}
            for release in releases:
                check_release_name(release.name)
                check_version(release.version)
                if not is_digest(release.manifest_digest):
                    raise VialError(f"{release.ref}: bad manifest digest")
                if (release.name, release.version) in seen:
                    raise ReleaseConflictError(f"{release.ref} is already published in log {self.origin}")
                seen.add((release.name, release.version))
            new_head = self._append(signer, head, releases)
        self.check_trust(new_head, verifier, update=True)
        return new_head
