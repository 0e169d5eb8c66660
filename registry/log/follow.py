"""Serverless sharing of a release log over IPFS: ``share`` on one side, ``follow`` on the other.

* ``share``: a snapshot of the log directory (exactly what its signed checkpoint covers) is added
  to a Kubo node as a UnixFS directory (vial computes the CID itself; the node's must be the same),
  pinned, and published under an IPNS key dedicated to that log (made with the node's key API).
* ``follow``: the IPNS name is resolved by the follower's node, the directory is fetched as a CAR
  and every block checked against its CID, then the log is checked as if it were local: checkpoint
  signature (the key pinned with ``--key`` or ``vial log-trust``, else the one trusted before,
  else the key the log names: trust on first use), consistency with the checkpoint this
  ``VIAL_HOME`` trusts (a rollback or a fork is refused), and a rehash of every record and stored
  hash. Only then does the copy replace ``logs/<origin>-<hash>/`` (checkpoint last), so that
  ``vial log``/``show --log ORIGIN`` read it, and the newer checkpoint become the trusted one.
* ``resolve_release_cid`` / ``get_release``: ``NAME:VERSION`` found in a followed (or local) log,
  its inclusion proof verified, its CID pulled through the verified IPFS pull, refused unless the
  image's manifest digest is the release's, then tagged ``NAME:VERSION``.

Followed logs are listed under ``$VIAL_HOME/follows/<origin>-<hash>.json`` (IPNS name, origin, the
last CID and tree size seen).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from vial.errors import IntegrityError, NotFoundError, VialError
from vial.fsutil import atomic_write_text, atomic_writer, fsync_dir
from vial.oci import Descriptor, Index
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.images import (
    CidRecord,
    CidRecords,
    PullResult,
    add_checked,
    guess_profile,
    import_blocks,
    node_blocks,
)
from vial.registry.ipfs.ipns import IpnsClient, normalize_ipns_name
from vial.registry.ipfs.kubo import KuboClient
from vial.registry.ipfs.unixfs import DEFAULT_PROFILE, Profile, get_profile
from vial.registry.ipfs.unixfs_read import UnixFSReader, write_file_to
from vial.registry.log import merkle as tlog
from vial.registry.log.note import NoteError, Verifier, check_name
from vial.registry.log.releases import Head, LogConsistencyError, ProvenRelease, ReleaseLog, log_dirname
from vial.registry.log.storage import OFFSET_SIZE, LogStorage
from vial.store import Store

LOG_DIR_NAME = "log"
# The files of a shared log, in the order a follower installs them: the checkpoint last (commit point).
SHARED_FILES = ("records", "records.idx", "hashes", "verifier", "checkpoint")
MAX_SMALL = 64 << 10  # checkpoint, verifier
MAX_LOG_FILE = 8 << 30  # records, records.idx, hashes (checked against the checkpoint's size anyway)
KEY_PREFIX = "vial-log-"


class FollowError(IntegrityError):
    """A shared log that cannot be followed (malformed, or not the log this client follows)."""


def ipns_key_name(origin: str) -> str:
    """The node's key dedicated to one log: one IPNS name per log."""
    return KEY_PREFIX + log_dirname(origin)


# -- share -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareResult:
    origin: str
    name: str  # the IPNS name (k51…)
    cid: CID
    size: int  # tree size of the checkpoint shared
    key: str  # the node's key name
    key_created: bool
    node: str


def snapshot_log(log: ReleaseLog, dest: Path) -> Head:
    """Write into ``dest`` the log's files up to what its verified checkpoint covers (nothing a
    publisher may be appending right now), and return that checkpoint."""
    head = log.head()
    if head.note is None:
        raise NotFoundError(f"log {log.origin}: nothing published yet, nothing to share")
    verifier = log.verifier()
    assert verifier is not None  # head.note was verified with it
    storage = log.storage
    dest.mkdir(parents=True, exist_ok=True)
    lengths = {
        "records": storage.record_end(head.size),
        "records.idx": head.size * OFFSET_SIZE,
        "hashes": tlog.stored_hash_count(head.size) * tlog.HASH_SIZE,
    }
    for name, length in lengths.items():
        with open(storage.directory / name, "rb") as source, open(dest / name, "wb") as target:
            remaining = length
            while remaining:
                chunk = source.read(min(1 << 20, remaining))
                if not chunk:
                    raise IntegrityError(f"log {log.origin}: {name} is shorter than its checkpoint needs")
                target.write(chunk)
                remaining -= len(chunk)
    (dest / "verifier").write_text(verifier.to_key() + "\n", encoding="utf-8")
    (dest / "checkpoint").write_bytes(head.raw)
    return head


def share(
    home: Path,
    origin: str | None,
    client: IpnsClient,
    profile: Profile | str = DEFAULT_PROFILE,
) -> ShareResult:
    """Add the log to ``client``'s node (pinned) and publish it under the log's IPNS key."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    log = ReleaseLog(home, origin)
    with tempfile.TemporaryDirectory(prefix="vial-share-") as work:
        directory = Path(work) / LOG_DIR_NAME
        head = snapshot_log(log, directory)
        expected = add_checked(client, directory, prof, f"log {log.origin}", "not shared")
    client.pin_add(expected)
    key, created = client.key_ensure(ipns_key_name(log.origin))
    published = client.name_publish(key.name, expected)
    if published.value != f"/ipfs/{expected}":
        raise IntegrityError(f"IPFS node {client.url} published {published.value}, expected /ipfs/{expected}")
    return ShareResult(log.origin, key.id, expected, head.size, key.name, created, client.url)


# -- follow ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowRecord:
    ipns: str
    origin: str
    cid: str
    size: int
    node: str | None = None


class Follows:
    """``$VIAL_HOME/follows/<origin>-<hash>.json``: the logs this client follows, and from where."""

    def __init__(self, home: Path) -> None:
        self.directory = Path(home) / "follows"

    def path(self, origin: str) -> Path:
        return self.directory / (log_dirname(origin) + ".json")

    def put(self, record: FollowRecord) -> None:
        atomic_write_text(self.path(record.origin), json.dumps(asdict(record), indent=1, sort_keys=True) + "\n")

    def get(self, origin: str) -> FollowRecord | None:
        try:
            return FollowRecord(**json.loads(self.path(origin).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise IntegrityError(f"{self.path(origin)}: malformed follow record ({exc})") from None

    def all(self) -> list[FollowRecord]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                found.append(FollowRecord(**json.loads(path.read_text(encoding="utf-8"))))
            except (ValueError, TypeError) as exc:
                raise IntegrityError(f"{path}: malformed follow record ({exc})") from None
        return found


@dataclass(frozen=True)
class FollowResult:
    ipns: str
    origin: str
    cid: CID
    size: int
    root: bytes
    trusted_before: int | None  # tree size this client trusted before (None: first use)
    verifier: str
    key_source: str  # "pinned" (--key or log-trust), "trusted" (seen before) or "first-use"


def fetch_log_dag(client: KuboClient, cid: CID, dest: Path) -> None:
    """Fetch the log directory at ``cid`` as a CAR, every block checked against its CID, and write
    its files (only those a shared log holds, within bounds) into ``dest``."""
    if cid.codec != 0x70:
        raise FollowError(f"CID {cid}: codec {cid.codec_name}, expected a dag-pb UnixFS directory (a shared log)")
    what = f"log {cid} from {client.url}"
    dest.mkdir(parents=True, exist_ok=True)
    with node_blocks(client, cid, what, "vial-follow-blocks-") as blocks:
        reader = UnixFSReader(blocks, what)
        files = reader.files(cid)
        extra = sorted(set(files) - set(SHARED_FILES))
        if extra:
            raise FollowError(f"{what}: unexpected entry {extra[0]!r}: not a shared vial log")
        missing = [n for n in SHARED_FILES if n not in files]
        if missing:
            raise FollowError(f"{what}: no {missing[0]}: not a shared vial log")
        for name in SHARED_FILES:
            limit = MAX_SMALL if name in ("checkpoint", "verifier") else MAX_LOG_FILE
            write_file_to(reader, files[name], dest / name, limit, f"{what}: {name}")
        if reader.unused():
            raise FollowError(f"{what}: {reader.unused()} block(s) not reachable from the root")


def _origin_of(checkpoint: bytes, what: str) -> str:
    first = checkpoint.split(b"\n", 1)[0]
    try:
        return check_name(first.decode("utf-8"), "log origin")
    except (UnicodeDecodeError, VialError):
        raise FollowError(f"{what}: checkpoint does not start with a log origin") from None


def _install(fetched: Path, storage: LogStorage) -> None:
    """Replace the local copy's files by the verified ones, each atomically, the checkpoint last.

    The new log extends the old one (proven), so every file only grows: a reader between two
    renames still finds everything the checkpoint it reads covers. The caller holds the log's lock."""
    for name in SHARED_FILES:
        with open(fetched / name, "rb") as source, atomic_writer(storage.directory / name) as target:
            shutil.copyfileobj(source, target, 1 << 20)
    fsync_dir(storage.directory)


def follow(home: Path, ipns_name: str, client: IpnsClient, key: str | None = None) -> FollowResult:
    """Resolve ``ipns_name``, fetch and verify the log it names, and make it a followed log here."""
    home = Path(home)
    ipns_name = normalize_ipns_name(ipns_name)
    cid = client.name_resolve(ipns_name)
    what = f"log at /ipns/{ipns_name} (/ipfs/{cid})"
    with tempfile.TemporaryDirectory(prefix="vial-follow-") as work:
        fetched = Path(work) / LOG_DIR_NAME
        fetch_log_dag(client, cid, fetched)
        origin = _origin_of((fetched / "checkpoint").read_bytes(), what)
        log = ReleaseLog(home, origin)
        if log.signer() is not None:
            raise FollowError(
                f"this VIAL_HOME holds the signer key of log {origin}: it publishes that log, not follows it"
            )
        log.storage.create()
        # One follower at a time per log: what is verified against the trusted checkpoint is what is
        # installed, and nothing else moves the trusted checkpoint of a followed log meanwhile.
        with log.storage.lock:
            verifier, source = _verifier_for(log, fetched, key, what)
            head, before = _verify_fetched(log, fetched, verifier, Path(work) / "scratch-home", what)
            if source == "pinned" and log.trust.get(origin) is None:
                log.trust_key(verifier.to_key())
            _install(fetched, log.storage)
            installed = log.head()  # verifies the installed copy again, and trusts its checkpoint
    if installed.raw != head.raw:
        raise LogConsistencyError(f"log {origin}: the installed checkpoint is not the one verified")
    Follows(home).put(FollowRecord(ipns_name, origin, str(cid), head.size, client.url))
    return FollowResult(ipns_name, origin, cid, head.size, head.checkpoint.root, before, verifier.to_key(), source)


def _verifier_for(log: ReleaseLog, fetched: Path, key: str | None, what: str) -> tuple[Verifier, str]:
    """The key to check the fetched log with, and where it comes from: ``--key`` ("pinned"), the
    key this client trusts ("trusted", or "pinned" by ``log-trust``), else the log's own
    ``verifier`` file ("first-use")."""
    origin = log.origin
    trusted = log.trust.get(origin)
    if key is not None:
        pinned = Verifier.from_key(key.strip())
        if pinned.name != origin:
            raise FollowError(f"--key {pinned.name}+{pinned.key_hash:08x} is not a key of log {origin} ({what})")
        if trusted is not None and trusted.verifier_key != pinned.to_key():
            raise LogConsistencyError(
                f"this client already trusts {trusted.verifier_key} for log {origin}, not the --key given"
            )
        return pinned, "pinned"
    if trusted is not None:
        return Verifier.from_key(trusted.verifier_key), "trusted" if trusted.checkpoint else "pinned"
    try:
        verifier = Verifier.from_key((fetched / "verifier").read_text(encoding="utf-8").strip())
    except (VialError, UnicodeDecodeError) as exc:
        raise FollowError(f"{what}: bad verifier key ({exc})") from None
    if verifier.name != origin:
        raise FollowError(f"{what}: its verifier key is named {verifier.name!r}, not {origin!r}")
    return verifier, "first-use"


def _check_layout(storage: LogStorage, size: int, what: str) -> None:
    """Each file holds exactly what a log of ``size`` records holds (a shared log is cut at its
    checkpoint), and every record offset in ``records.idx`` is where that record really ends."""
    expected = {
        storage.index_path: size * OFFSET_SIZE,
        storage.hashes_path: tlog.stored_hash_count(size) * tlog.HASH_SIZE,
    }
    for path, length in expected.items():
        if path.stat().st_size != length:
            raise FollowError(
                f"refused {what}: {path.name} holds {path.stat().st_size} bytes, {size} records need {length}"
            )
    end = 0
    with open(storage.index_path, "rb") as index:
        for i, record in storage.records(size):
            end += len(record) + 1
            if int.from_bytes(index.read(OFFSET_SIZE), "big") != end:
                raise FollowError(f"refused {what}: records.idx: wrong offset for record {i}")
    if storage.records_path.stat().st_size != end:
        raise FollowError(f"refused {what}: records holds bytes past its {size} records")


def _verify_fetched(
    log: ReleaseLog, fetched: Path, verifier: Verifier, scratch_home: Path, what: str
) -> tuple[Head, int | None]:
    """Check the fetched copy as the log itself: signature, consistency with the checkpoint this
    client trusts (nothing is updated), then a rehash of every record and stored hash."""
    origin = log.origin
    remote = ReleaseLog(log.home, origin)
    remote.storage = LogStorage(fetched)
    try:
        head = remote.read_head(verifier)
    except NoteError as exc:
        raise LogConsistencyError(
            f"{what}: checkpoint is not signed by the key this client trusts for log {origin} "
            f"({verifier.name}+{verifier.key_hash:08x}): {exc}"
        ) from None
    if head.note is None:
        raise FollowError(f"{what}: empty log")
    try:
        before = remote.check_trust(head, verifier, update=False)
    except LogConsistencyError as exc:
        raise LogConsistencyError(f"refused {what}: {exc}") from None
    _check_layout(remote.storage, head.size, what)
    scratch = ReleaseLog(scratch_home, origin)  # trusts the same key, remembers nothing else
    scratch.storage = LogStorage(fetched)
    scratch.trust_key(verifier.to_key())
    try:
        scratch.audit()
    except IntegrityError as exc:
        raise FollowError(f"refused {what}: {exc}") from None
    return head, before


# -- releases by name --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseCid:
    cid: CID
    proven: ProvenRelease
    origin: str


def candidate_origins(home: Path, origin: str | None = None) -> list[str]:
    """The logs to look a release up in: ``origin`` if given, else every followed log, then the local default."""
    if origin is not None:
        return [origin]
    origins = [record.origin for record in Follows(home).all()]
    local = ReleaseLog(home)
    if local.origin not in origins and local.storage.read_checkpoint() is not None:
        origins.append(local.origin)
    return origins


def resolve_release_cid(store: Store, name: str, version: str, origin: str | None = None) -> ReleaseCid:
    """The CID recorded for ``name:version`` in a followed (or local) log, its inclusion proof verified.

    Without ``origin``, every followed log and the local default log are searched; the release must
    be found in exactly one of them (or with the same manifest digest and CID in all)."""
    home = store.root
    found: list[ReleaseCid] = []
    searched = candidate_origins(home, origin)
    for candidate in searched:
        log = ReleaseLog(home, candidate)
        if log.storage.read_checkpoint() is None:
            if origin is not None:
                raise NotFoundError(f"log {candidate}: not followed here (vial follow IPNS-NAME)")
            continue
        try:
            proven = log.show(name, version)
        except NotFoundError:
            continue
        release = proven.logged.release
        if release.cid is None:
            raise NotFoundError(f"{name}:{version} is published in log {candidate} without a CID")
        found.append(ReleaseCid(CID.parse(release.cid), proven, candidate))
    if not found:
        if not searched:
            raise NotFoundError(f"{name}:{version}: this VIAL_HOME follows no log and has none (vial follow IPNS-NAME)")
        raise NotFoundError(f"{name}:{version} is not published in log {', '.join(searched)}")
    distinct = {(f.cid, f.proven.logged.release.manifest_digest) for f in found}
    if len(distinct) > 1:
        raise VialError(
            f"{name}:{version} is published differently in logs {', '.join(f.origin for f in found)}: pass --log ORIGIN"
        )
    return found[0]


@dataclass(frozen=True)
class GetResult:
    ref: str
    cid: CID
    manifest: str
    origin: str
    index: int


def get_release(store: Store, client: KuboClient, name: str, version: str, origin: str | None = None) -> GetResult:
    """Pull ``name:version`` by the CID its log records, refuse it unless its manifest digest is the
    release's, and tag it ``name:version`` in ``store``."""
    located = resolve_release_cid(store, name, version, origin)
    release = located.proven.logged.release
    root = located.cid
    if root.codec != 0x70:
        raise IntegrityError(f"{release.ref}: CID {root} is not a dag-pb UnixFS directory")
    what = f"{release.ref} (/ipfs/{root} from {client.url})"
    with node_blocks(client, root, what, "vial-get-") as blocks:
        # The manifest digest, before anything reaches the store (the blocks are verified already).
        reader = UnixFSReader(blocks, what)
        files = reader.files(root)
        if "index.json" not in files:
            raise IntegrityError(f"{what}: not an OCI layout (no index.json)")
        index = Index.from_bytes(reader.read_file(files["index.json"], 1 << 20, "index.json"), f"{what}: index.json")
        digests = [m.digest for m in index.manifests]
        if digests != [release.manifest_digest]:
            raise IntegrityError(
                f"{what}: holds image {', '.join(digests) or 'none'}, "
                f"but the log records {release.manifest_digest}; not pulled"
            )
        result: PullResult = import_blocks(store, blocks, root, what)
    if result.manifest != release.manifest_digest:  # import_blocks checked the manifest against index.json
        raise IntegrityError(f"{what}: pulled {result.manifest}, the log records {release.manifest_digest}")
    top = index.manifests[0]
    store.tag(release.ref, Descriptor(top.media_type, top.digest, top.size))
    CidRecords(store).put(CidRecord(str(root), result.manifest, guess_profile(root), release.ref, node=client.url))
    return GetResult(release.ref, root, result.manifest, located.origin, located.proven.logged.index)


def followed(home: Path | None = None) -> list[FollowRecord]:
    from vial.home import default_home

    return Follows(Path(home) if home is not None else default_home()).all()


__all__ = [
    "FollowError",
    "FollowRecord",
    "FollowResult",
    "Follows",
    "GetResult",
    "ReleaseCid",
    "ShareResult",
    "fetch_log_dag",
    "follow",
    "followed",
    "get_release",
    "ipns_key_name",
    "resolve_release_cid",
    "share",
    "snapshot_log",
]
