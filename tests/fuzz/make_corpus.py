"""Write the seed corpus, ``tests/fuzz/corpus/<target>/``: a few small valid inputs per target, made by vial.

Run from the repository: ``.venv/bin/python tests/fuzz/make_corpus.py`` (rewrites the seeds; they are
deterministic where vial is: the bundle and note keys are fixed seeds, the rest is content-addressed).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"
sys.path.insert(0, str(HERE))


def _write(target: str, name: str, data: bytes) -> None:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def attest() -> None:
    import fuzz_bundle

    from vial.attest.signing.bundle import key_bundle
    from vial.attest.signing.sign import sign_envelope
    from vial.attest.statements.statement import Statement, Subject

    statement = Statement(
        (Subject("demo", fuzz_bundle.DIGEST),), "https://vial.dev/test/v1", {"a": [1, "b", {"c": None}]}
    )
    payload = statement.to_bytes()
    envelope = sign_envelope(payload, fuzz_bundle.KEY)
    _write("dsse", "statement.json", payload)
    _write("dsse", "envelope.json", json.dumps(envelope.to_json()).encode())
    bundle = key_bundle(envelope, fuzz_bundle.KEY)
    _write("bundle", "key-bundle.json", bundle)
    data = json.loads(bundle)
    del data["verificationMaterial"]["tlogEntries"]
    _write("bundle", "cosign-style.json", json.dumps(data, indent=2).encode())


def log() -> None:
    import fuzz_note

    from vial.registry.log import merkle
    from vial.registry.log.note import Checkpoint
    from vial.registry.log.releases import Release

    release = Release(
        name="demo",
        version="1.0.0",
        manifest_digest="sha256:" + "cd" * 32,
        published="2025-01-01T00:00:00Z",
        signer="example.com/log",
        cid=None,
        attestations=(),
        previous=None,
    )
    raw = release.to_bytes()
    leaf = merkle.leaf_hash(raw)
    checkpoint = Checkpoint("example.com/log", 1, leaf)
    note = checkpoint.sign(fuzz_note.SIGNER)
    _write("note", "checkpoint.txt", note)
    _write("note", "empty-tree.txt", Checkpoint("example.com/log", 0, merkle.empty_root()).sign(fuzz_note.SIGNER))
    _write("release", "release.json", raw)
    proof = {"release": json.loads(raw), "index": 0, "inclusion_proof": [], "checkpoint": {"note": note.decode()}}
    _write("release", "proof.json", json.dumps(proof).encode())
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(5)]
    two = {
        "release": json.loads(raw),
        "index": 3,
        "inclusion_proof": [base64.b64encode(h).decode() for h in leaves[:2]],
        "checkpoint": {"note": note.decode()},
    }
    _write("release", "proof-two-hashes.json", json.dumps(two).encode())


def ipfs() -> None:
    from vial.registry.ipfs.dagpb import decode_node
    from vial.registry.ipfs.images import write_car

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "tree"
        (source / "sub").mkdir(parents=True)
        (source / "a.txt").write_bytes(b"hello\n")
        (source / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4)
        car = Path(tmp) / "tree.car"
        write_car(source, car)
        data = car.read_bytes()
    _write("car", "tree.car", data)
    _write("dagpb", "tree.car", data)
    # the blocks themselves, as dag-pb seeds
    from vial.registry.ipfs.car import CarReader

    for i, (cid, block) in enumerate(CarReader(io.BytesIO(data)).blocks()):
        if cid.codec_name == "dag-pb":
            decode_node(block)
            _write("dagpb", f"block{i}.pb", block)


def oci() -> None:
    from vial.oci import (
        MEDIA_TYPE_CONFIG,
        MEDIA_TYPE_LAYER_TAR,
        MEDIA_TYPE_MANIFEST,
        Descriptor,
        ImageConfig,
        Index,
        Manifest,
    )

    layer = Descriptor(MEDIA_TYPE_LAYER_TAR, "sha256:" + "11" * 32, 10)
    config = ImageConfig(diff_ids=["sha256:" + "11" * 32])
    config_raw = config.to_bytes()
    manifest = Manifest(
        Descriptor(MEDIA_TYPE_CONFIG, "sha256:" + hashlib.sha256(config_raw).hexdigest(), len(config_raw)), [layer]
    )
    manifest_raw = manifest.to_bytes()
    _write("oci", "config.json", config_raw)
    _write("oci", "manifest.json", manifest_raw)
    index = Index(
        [Descriptor(MEDIA_TYPE_MANIFEST, "sha256:" + hashlib.sha256(manifest_raw).hexdigest(), len(manifest_raw))]
    )
    _write("oci", "index.json", index.to_bytes())


def files() -> None:
    for example in sorted((ROOT / "examples").iterdir()):
        if (example / "vial.toml").is_file():
            _write("spec", f"{example.name}.toml", (example / "vial.toml").read_bytes())
        if (example / "vial.lock").is_file() and (example / "vial.lock").stat().st_size < 64 << 10:
            _write("lock", f"{example.name}.lock", (example / "vial.lock").read_bytes())
    for policy in sorted((ROOT / "policies" / "examples").glob("*.yaml")):
        _write("policy", policy.name, policy.read_bytes())


def layers() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind in (("etc", tarfile.DIRTYPE), ("etc/hosts", tarfile.REGTYPE), ("bin", tarfile.DIRTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            body = b"127.0.0.1 localhost\n" if kind == tarfile.REGTYPE else b""
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(link)
        wh = tarfile.TarInfo("etc/.wh.old")
        tar.addfile(wh, io.BytesIO(b""))
    _write("layers", "small.tar", out.getvalue())


def main() -> None:
    shutil.rmtree(CORPUS, ignore_errors=True)
    for make in (attest, log, ipfs, oci, files, layers):
        make()
    for directory in sorted(CORPUS.iterdir()):
        print(f"{directory.name}: {len(list(directory.iterdir()))} seeds")


if __name__ == "__main__":
    main()
