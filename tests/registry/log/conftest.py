"""Helpers for the release-log tests: small images (with or without a build record) in a store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vial.buildinfo import BuildRecord, write_record
from vial.oci import MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, Descriptor, ImageConfig, Manifest
from vial.store import Store

MakeImage = Callable[..., Descriptor]


def make_image(
    store: Store,
    content: bytes,
    *,
    env: tuple[str, ...] = (),
    cmd: tuple[str, ...] = (),
    lock: dict[str, Any] | None = None,
) -> Descriptor:
    """An image with one layer holding ``content``; with ``lock``, also a build record beside it."""
    layer = store.put_bytes(content)
    config = ImageConfig(diff_ids=(layer,), env=env, cmd=cmd).to_bytes()
    config_digest = store.put_bytes(config)
    manifest = Manifest(
        config=Descriptor(MEDIA_TYPE_CONFIG, config_digest, len(config)),
        layers=(Descriptor(MEDIA_TYPE_LAYER_TAR, layer, len(content)),),
    )
    descriptor = store.put_image(manifest)
    if lock is not None:
        write_record(
            store.root,
            BuildRecord(
                manifest_digest=descriptor.digest,
                config_digest=config_digest,
                project_name="demo",
                project_version="0",
                spec_digest="sha256:" + "1" * 64,
                lock_digest="sha256:" + "2" * 64,
                source_date_epoch=0,
                builder_version="test",
                started_on="2026-01-01T00:00:00Z",
                finished_on="2026-01-01T00:00:00Z",
                lock=lock,
            ),
        )
    return descriptor


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture()
def store(vial_home: Path) -> Store:
    return Store(vial_home)


@pytest.fixture()
def image_in() -> Callable[..., Descriptor]:
    """``make_image`` itself, for tests that build images in a second store."""
    return make_image


@pytest.fixture()
def image(store: Store) -> MakeImage:
    return lambda content, **kw: make_image(store, content, **kw)
