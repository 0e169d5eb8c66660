"""The content-addressed store: blobs land whole under their digest, or not at all."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from vial.errors import IntegrityError, NotFoundError
from vial.oci import MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
from vial.store import Store


def _image(store: Store) -> Descriptor:
    layer = store.put_bytes(b"layer-bytes")
    config = ImageConfig(diff_ids=(layer,)).to_bytes()
    config_digest = store.put_bytes(config)
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_CONFIG, config_digest, len(config)),
        layers=(Descriptor(MEDIA_TYPE_LAYER_TAR, layer, len(b"layer-bytes")),),
    )
    return store.put_image(manifest)


def test_put_and_read_roundtrip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    digest, size = store.put_stream(io.BytesIO(b"x" * 3_000_000))
    assert size == 3_000_000
    assert store.verify_blob(digest) == 3_000_000
    assert list((tmp_path / "s" / "tmp").iterdir()) == []


def test_wrong_expected_digest_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    wrong = "sha256:" + "0" * 64
    with pytest.raises(IntegrityError, match="expected sha256:0000"):
        store.put_bytes(b"data", expected=wrong)
    assert list(store.blobs_dir.iterdir()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_corrupted_blob_is_detected_on_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    digest = store.put_bytes(b"original")
    path = store.blob_path(digest)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="content has digest"):
        store.read_blob(digest)


def test_tag_resolve_and_export(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    descriptor = _image(store)
    store.tag("demo:1.0", descriptor)
    assert store.resolve("demo:1.0").digest == descriptor.digest
    assert store.resolve("demo").digest == descriptor.digest
    assert store.resolve(descriptor.digest[7:19]).digest == descriptor.digest
    with pytest.raises(NotFoundError):
        store.resolve("nothing:here")
    out = tmp_path / "layout"
    store.export_layout("demo:1.0", out)
    exported = Store(out)
    assert exported.image(descriptor.digest).manifest.layers[0].size == len(b"layer-bytes")
    archive = tmp_path / "image.tar"
    store.export_archive("demo:1.0", archive)
    assert archive.stat().st_size > 0


def test_referrers_lists_manifests_about_an_image(tmp_path: Path) -> None:
    from vial.oci import MEDIA_TYPE_EMPTY, MEDIA_TYPE_MANIFEST

    store = Store(tmp_path / "s")
    image, other = _image(store), Descriptor(MEDIA_TYPE_MANIFEST, store.put_bytes(b"{}"), 2)
    listed = []
    for subject, kind in ((image, "a/x"), (other, "a/x"), (image, "a/y")):
        manifest = Manifest(
            config=Descriptor(MEDIA_TYPE_EMPTY, store.put_bytes(b"{}"), 2),
            layers=(Descriptor(kind, store.put_bytes(kind.encode()), len(kind)),),
            annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
            subject=Descriptor(MEDIA_TYPE_MANIFEST, subject.digest, subject.size),
            artifact_type=kind,
        )
        descriptor = store.put_image(manifest)
        listed.append(Descriptor(MEDIA_TYPE_MANIFEST, descriptor.digest, descriptor.size, artifact_type=kind))
        store.add_to_index(listed[-1])
    assert [r.digest for r in store.referrers(image.digest)] == [listed[0].digest, listed[2].digest]
    only = store.referrers(image.digest, "a/y")
    assert [r.digest for r in only] == [listed[2].digest]
    assert only[0].artifact_type == "a/y" and only[0].created == "2024-01-01T00:00:00Z"
    assert only[0].annotation("missing") == ""
    store.blob_path(listed[0].digest).chmod(0o644)
    store.blob_path(listed[0].digest).unlink()
    with pytest.raises(NotFoundError):
        store.referrers(image.digest)
    assert [r.digest for r in store.referrers(image.digest, skip_unreadable=True)] == [listed[2].digest]
