"""Releases in the signed log: permanent versions, proofs, and what a client that remembers an
older checkpoint detects (forged, truncated, rolled back or forked logs)."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vial.errors import IntegrityError, VialError
from vial.oci import Descriptor
from vial.registry.log import merkle as tlog
from vial.registry.log import storage as logstore
from vial.registry.log.note import NoteError, Verifier
from vial.registry.log.releases import LogConsistencyError, ReleaseConflictError, ReleaseLog
from vial.store import Store

MakeImage = Callable[..., Descriptor]


def _publish(log: ReleaseLog, store: Store, image: MakeImage, name: str, versions: list[str]) -> list[str]:
    digests = []
    for version in versions:
        digest = image(f"{name} {version}".encode()).digest
        log.publish(store, digest, name, version)
        digests.append(digest)
    return digests


def test_publish_records_release_and_is_permanent(vial_home: Path, store: Store, image: MakeImage) -> None:
    log = ReleaseLog(vial_home)
    first = image(b"one")
    result = log.publish(
        store,
        first.digest,
        "demo",
        "1.0",
        cid="bafyexample",
        attestations=["sha256:" + "a" * 64],
        now="2026-01-02T03:04:05Z",
    )
    assert result.created and result.logged.index == 0 and result.head.size == 1
    assert store.resolve("demo:1.0").digest == first.digest
    # Same content again: a no-op, nothing appended.
    again = log.publish(store, "demo:1.0", "demo", "1.0")
    assert not again.created and again.head.size == 1
    # Other content under the same version: refused, naming the recorded digest.
    other = image(b"two")
    with pytest.raises(ReleaseConflictError, match=f"already published as {first.digest}"):
        log.publish(store, other.digest, "demo", "1.0")
    assert log.head().size == 1
    assert store.resolve("demo:1.0").digest == first.digest
    log.publish(store, other.digest, "demo", "1.1")
    shown = log.show("demo", "1.1")
    release = shown.logged.release
    assert release.previous is not None and release.previous.version == "1.0"
    assert release.previous.manifest_digest == first.digest
    assert release.signer.startswith("vial.local/releases+")
    first_release = log.show("demo", "1.0").logged.release
    assert first_release.cid == "bafyexample" and first_release.attestations == ("sha256:" + "a" * 64,)
    assert first_release.published == "2026-01-02T03:04:05Z"
    tlog.verify_inclusion(
        shown.logged.index, shown.head.size, shown.logged.leaf_hash, shown.proof, shown.head.checkpoint.root
    )


def test_key_is_private_and_in_note_format(vial_home: Path, store: Store, image: MakeImage) -> None:
    log = ReleaseLog(vial_home)
    log.publish(store, image(b"x").digest, "demo", "1")
    assert stat.S_IMODE(log.key_path.stat().st_mode) == 0o600
    verifier = Verifier.from_key(log.ensure_key().to_key())
    assert verifier.to_key().startswith(f"vial.local/releases+{verifier.key_hash:08x}+")
    assert log.storage.read_verifier() == verifier.to_key()


def test_history_lists_every_version_with_proofs(
    vial_home: Path, store: Store, image: MakeImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = ReleaseLog(vial_home)
    digests = _publish(log, store, image, "demo", ["1", "2", "3"])
    _publish(log, store, image, "other", ["1"])
    head, releases = log.history("demo")
    assert head.size == 4
    assert [p.logged.release.manifest_digest for p in releases] == digests
    assert all(p.head is head for p in releases)
    assert log.audit().names == {"demo": 3, "other": 1}
    # Records are read in chunks: any chunk size gives the same records.
    monkeypatch.setattr(logstore, "READ_CHUNK", 7)
    assert [r.release.version for r in log.releases(head, name="demo")] == ["1", "2", "3"]
    assert log.audit().size == 4


def test_forged_record_is_detected(vial_home: Path, store: Store, image: MakeImage) -> None:
    log = ReleaseLog(vial_home)
    digests = _publish(log, store, image, "demo", ["1", "2", "3"])
    records = log.storage.records_path
    records.write_bytes(records.read_bytes().replace(digests[1].encode(), digests[2].encode()))
    with pytest.raises(tlog.ProofError, match="root hash does not match"):
        log.show("demo", "2")
    with pytest.raises(IntegrityError, match="do not hash to the signed root"):
        log.audit()


def test_forged_stored_hash_is_detected(vial_home: Path, store: Store, image: MakeImage) -> None:
    log = ReleaseLog(vial_home)
    _publish(log, store, image, "demo", ["1", "2", "3", "4", "5"])
    hashes = bytearray(log.storage.hashes_path.read_bytes())
    hashes[0] ^= 0xFF  # record 0's leaf hash, used in the proofs of records 1..3
    log.storage.hashes_path.write_bytes(bytes(hashes))
    with pytest.raises(tlog.ProofError):
        log.show("demo", "2")
    with pytest.raises(IntegrityError):
        log.audit()


def test_truncated_log_is_detected(vial_home: Path, store: Store, image: MakeImage) -> None:
    log = ReleaseLog(vial_home)
    _publish(log, store, image, "demo", ["1", "2", "3"])
    old_checkpoint = log.storage.read_checkpoint()
    assert old_checkpoint is not None
    _publish(log, store, image, "demo", ["4", "5"])
    # Files cut short under an unchanged checkpoint: proofs cannot be read.
    saved = {p: p.read_bytes() for p in (log.storage.records_path, log.storage.hashes_path, log.storage.index_path)}
    log.storage.hashes_path.write_bytes(saved[log.storage.hashes_path][: 32 * 4])
    with pytest.raises(IntegrityError, match="truncated"):
        log.show("demo", "5")
    # Cut back to an older, genuinely signed checkpoint: the client remembers it saw 5 records.
    for path, data in saved.items():
        path.write_bytes(data)
    log.storage.write_checkpoint(old_checkpoint)
    with pytest.raises(LogConsistencyError, match="has 3 records but this client already saw 5"):
        log.head()
    with pytest.raises(LogConsistencyError):
        log.publish(store, image(b"new").digest, "demo", "6")
    # Deleting the log altogether is a rollback too.
    shutil.rmtree(log.storage.directory)
    with pytest.raises(LogConsistencyError, match="has 0 records"):
        log.head()


def _forked_log(tmp_path: Path, vial_home: Path, versions: list[str], make_image: Any) -> Path:
    """A different history signed with the same (stolen or misused) log key, in another home."""
    other_home = tmp_path / "forger"
    shutil.copytree(vial_home / "keys", other_home / "keys")
    other_store = Store(other_home)
    log = ReleaseLog(other_home)
    for version in versions:
        layer = f"forged {version}".encode()
        log.publish(other_store, make_image(other_store, layer).digest, "demo", version)
    return log.storage.directory


@pytest.mark.parametrize("fork_size", [3, 5])
def test_forked_log_is_detected(
    tmp_path: Path, vial_home: Path, store: Store, image: MakeImage, image_in: Any, fork_size: int
) -> None:
    log = ReleaseLog(vial_home)
    _publish(log, store, image, "demo", ["1", "2", "3"])
    forked = _forked_log(tmp_path, vial_home, [str(v) for v in range(1, fork_size + 1)], image_in)
    shutil.rmtree(log.storage.directory)
    shutil.copytree(forked, log.storage.directory)
    with pytest.raises(LogConsistencyError, match="not consistent with the checkpoint this client trusts"):
        log.head()
    with pytest.raises(LogConsistencyError):
        log.show("demo", "1")
    with pytest.raises(LogConsistencyError):
        log.publish(store, image(b"more").digest, "demo", "9")


def test_log_signed_by_another_key_is_refused(
    tmp_path: Path, vial_home: Path, store: Store, image: MakeImage, image_in: Any
) -> None:
    log = ReleaseLog(vial_home)
    _publish(log, store, image, "demo", ["1"])
    other_home = tmp_path / "other"
    other_store = Store(other_home)
    other = ReleaseLog(other_home)
    other.publish(other_store, image_in(other_store, b"evil").digest, "demo", "1")
    shutil.rmtree(log.storage.directory)
    shutil.copytree(other.storage.directory, log.storage.directory)
    with pytest.raises(NoteError, match="not signed by a trusted key"):
        log.head()
    # Even with the other key's signer file swapped in, the client pins the key it trusted first.
    shutil.copy(other.key_path, log.key_path)
    with pytest.raises(NoteError, match="not signed by a trusted key"):
        log.head()
    with pytest.raises(LogConsistencyError, match="but this client trusts"):
        log.publish(store, image(b"more").digest, "demo", "2")


def test_new_client_trusts_on_first_use_then_follows(
    tmp_path: Path, vial_home: Path, store: Store, image: MakeImage
) -> None:
    log = ReleaseLog(vial_home)
    _publish(log, store, image, "demo", ["1", "2"])
    # A second client reading a copy of the log: it has no key, so it trusts the log's verifier.
    client_home = tmp_path / "client"
    client = ReleaseLog(client_home)
    shutil.copytree(log.storage.directory, client.storage.directory)
    assert client.head().size == 2
    trusted = json.loads(client.trust.path(client.origin).read_text())
    assert trusted["verifier_key"] == log.ensure_key().to_key()
    _publish(log, store, image, "demo", ["3", "4", "5"])
    shutil.rmtree(client.storage.directory)
    shutil.copytree(log.storage.directory, client.storage.directory)
    assert client.show("demo", "5").head.size == 5  # consistent extension: accepted, remembered
    assert '"checkpoint": "vial.local/releases\\n5\\n' in client.trust.path(client.origin).read_text()


def test_publish_records_the_images_attestations(vial_home: Path, store: Store, image: MakeImage) -> None:
    from vial.fsutil import atomic_write_bytes
    from vial.oci import MEDIA_TYPE_EMPTY, MEDIA_TYPE_MANIFEST, Index, Manifest

    target, other = image(b"attested"), image(b"other")
    bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json"
    referrers = []
    for subject, payload in ((target, b"bundle-1"), (target, b"bundle-2"), (other, b"bundle-3")):
        manifest = Manifest(
            config=Descriptor(MEDIA_TYPE_EMPTY, store.put_bytes(b"{}"), 2),
            layers=(Descriptor(bundle_type, store.put_bytes(payload), len(payload)),),
            subject=Descriptor(MEDIA_TYPE_MANIFEST, subject.digest, subject.size),
            artifact_type=bundle_type,
        )
        raw = manifest.to_bytes()
        referrers.append(Descriptor(MEDIA_TYPE_MANIFEST, store.put_bytes(raw), len(raw), artifact_type=bundle_type))
    # Listed unnamed in index.json, as vial.attest stores them.
    atomic_write_bytes(store.root / "index.json", Index((*store.index().manifests, *referrers)).to_bytes())
    log = ReleaseLog(vial_home)
    explicit = "sha256:" + "e" * 64
    log.publish(store, target.digest, "demo", "1", attestations=[explicit])
    recorded = log.show("demo", "1").logged.release.attestations
    assert recorded == tuple(sorted([referrers[0].digest, referrers[1].digest, explicit]))
    log.publish(store, other.digest, "demo", "2", discover_attestations=False)
    assert log.show("demo", "2").logged.release.attestations == ()


def test_pinned_key_is_required_from_the_first_read(
    tmp_path: Path, vial_home: Path, store: Store, image: MakeImage, image_in: Any
) -> None:
    log = ReleaseLog(vial_home)
    log.publish(store, image(b"real").digest, "demo", "1")
    real_key = log.ensure_key().to_key()
    impostor_home = tmp_path / "impostor"
    impostor_store = Store(impostor_home)
    impostor = ReleaseLog(impostor_home)
    impostor.publish(impostor_store, image_in(impostor_store, b"fake").digest, "demo", "1")
    # A new client pins the real key, then is handed the impostor's log: refused at first read.
    client = ReleaseLog(tmp_path / "client")
    client.trust_key(real_key)
    shutil.copytree(impostor.storage.directory, client.storage.directory)
    with pytest.raises(NoteError, match="not signed by a trusted key"):
        client.show("demo", "1")
    shutil.rmtree(client.storage.directory)
    shutil.copytree(log.storage.directory, client.storage.directory)
    assert client.show("demo", "1").head.size == 1
    assert json.loads(client.trust.path(client.origin).read_text())["checkpoint"].startswith("vial.local/releases\n1\n")
    with pytest.raises(LogConsistencyError, match="already trusts"):
        client.trust_key(impostor.ensure_key().to_key())
    with pytest.raises(VialError, match="is not a key of log"):
        ReleaseLog(tmp_path / "client", origin="example.org/other").trust_key(real_key)
