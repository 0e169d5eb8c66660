"""The tamper matrix: each attack is refused by ``vial run --policy`` before any container exists.

Every attack starts from a runnable busybox image whose provenance is signed by the trusted key
``ci`` (the control test shows that image runs and the engine records its container), changes one
thing, and asks to run. The check that nothing ran is the engine's own event log: no container
create event carries the label this test put on the run.
"""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from policyhelpers import (
    BUILDER_ID,
    Entry,
    busybox_entries,
    docker_creates,
    provenance,
    put_image,
    put_layer,
    sign,
    sign_provenance,
    write_key,
    write_policy,
)

from vial.attest.referrers import attach_bundle, list_referrers, read_bundle
from vial.attest.signing.keys import generate
from vial.attest.statements.statement import CYCLONEDX_BOM, SLSA_PROVENANCE_V1, VIAL_REPRODUCTION_V1
from vial.oci import Descriptor, ImageConfig, Manifest
from vial.policies.model.policy import load_policy
from vial.policies.runtime.docker import RunOptions
from vial.policies.runtime.run import NotVerified, verify_and_run

pytestmark = [pytest.mark.docker]

Attack = Callable[..., tuple[str, Path, str]]
ATTACKS: dict[str, Attack] = {}


def attack(name: str) -> Callable[[Attack], Attack]:
    def register(function: Attack) -> Attack:
        ATTACKS[name] = function
        return function

    return register


def _writable(path: Path) -> None:
    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)


def _retag(world, manifest: Manifest, name: str = "demo:1.0.0") -> str:  # type: ignore[no-untyped-def]
    descriptor = world.store.put_image(manifest)
    world.store.tag(name, descriptor)
    return name


def _copy_referrers(world, target: Descriptor) -> None:  # type: ignore[no-untyped-def]
    """The attacker re-attaches the original image's signed bundles to the tampered manifest."""
    for referrer in list_referrers(world.store, world.image.digest):
        attach_bundle(world.store, target, read_bundle(world.store, referrer), referrer.predicate_type)


def _signed_image(world, entries: list[Entry], name: str = "evil:1.0.0") -> str:  # type: ignore[no-untyped-def]
    """An image with hostile layer entries, validly signed by the trusted key: signatures do not make a tar safe."""
    image = put_image(
        world.store, [put_layer(world.store, busybox_entries()), put_layer(world.store, entries)], name=name
    )
    sign_provenance(world.store, image, world.ci, project="evil")
    return name


@attack("flipped-byte-in-layer")
def _flip(world):  # type: ignore[no-untyped-def]
    blob = world.store.blob_path(world.image.manifest.layers[0].digest)
    _writable(blob)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    return "demo:1.0.0", world.policy, "integrity"


@attack("layer-swapped-with-another-images")
def _swap(world):  # type: ignore[no-untyped-def]
    other, _ = put_layer(world.store, [*busybox_entries(), Entry("etc/motd", data=b"other image\n")])
    blob = world.store.blob_path(world.image.manifest.layers[0].digest)
    _writable(blob)
    blob.write_bytes(world.store.blob_path(other.digest).read_bytes())
    return "demo:1.0.0", world.policy, "integrity"


@attack("manifest-names-an-extra-layer")
def _extra_layer(world):  # type: ignore[no-untyped-def]
    extra, _ = put_layer(world.store, [Entry("etc/motd", data=b"injected\n")])
    manifest = world.image.manifest
    tampered = Manifest(manifest.config, (*manifest.layers, extra), manifest.annotations)
    descriptor = world.store.put_image(tampered)
    world.store.tag("demo:1.0.0", descriptor)
    _copy_referrers(world, descriptor)
    return "demo:1.0.0", world.policy, "integrity"


def _changed_config(world, **changes):  # type: ignore[no-untyped-def]
    config = world.image.config
    new = ImageConfig(
        diff_ids=config.diff_ids,
        env=changes.get("env", config.env),
        cmd=changes.get("cmd", config.cmd),
        workdir=config.workdir,
    )
    raw = new.to_bytes()
    digest = world.store.put_bytes(raw)
    manifest = world.image.manifest
    tampered = Manifest(Descriptor(manifest.config.media_type, digest, len(raw)), manifest.layers, manifest.annotations)
    descriptor = world.store.put_image(tampered)
    world.store.tag("demo:1.0.0", descriptor)
    _copy_referrers(world, descriptor)
    return "demo:1.0.0", world.policy, "require provenance"


@attack("config-env-changed")
def _config_env(world):  # type: ignore[no-untyped-def]
    return _changed_config(world, env=("PATH=/bin", "LD_PRELOAD=/tmp/evil.so"))


@attack("config-cmd-changed")
def _config_cmd(world):  # type: ignore[no-untyped-def]
    return _changed_config(world, cmd=("sh", "-c", "echo pwned"))


@attack("config-blob-rewritten-in-place")
def _config_in_place(world):  # type: ignore[no-untyped-def]
    blob = world.store.blob_path(world.image.manifest.config.digest)
    _writable(blob)
    blob.write_bytes(blob.read_bytes().replace(b"cat /etc/motd", b"echo pwned!!"))
    return "demo:1.0.0", world.policy, "integrity"


@attack("attestation-for-another-image")
def _other_subject(world):  # type: ignore[no-untyped-def]
    unsigned = put_image(
        world.store,
        [put_layer(world.store, [*busybox_entries(), Entry("etc/x", data=b"x")])],
        name="demo:1.0.1",
        version="1.0.1",
    )
    bundle = read_bundle(world.store, list_referrers(world.store, world.image.digest)[0])
    attach_bundle(world.store, unsigned.descriptor, bundle, SLSA_PROVENANCE_V1)
    return "demo:1.0.1", world.policy, "attests subject"


@attack("signature-by-an-untrusted-key")
def _untrusted_key(world):  # type: ignore[no-untyped-def]
    image = put_image(
        world.store, [put_layer(world.store, [*busybox_entries(), Entry("etc/y", data=b"y")])], name="demo:2.0.0"
    )
    sign_provenance(world.store, image, generate(), version="2.0.0")
    return "demo:2.0.0", world.policy, "no trusted signer holds"


@attack("signed-payload-altered")
def _payload_altered(world):  # type: ignore[no-untyped-def]
    image = put_image(
        world.store, [put_layer(world.store, [*busybox_entries(), Entry("etc/z", data=b"z")])], name="demo:2.0.1"
    )
    bundle = json.loads(
        sign(
            world.store,
            image,
            SLSA_PROVENANCE_V1,
            provenance("demo", "2.0.1"),
            world.ci,
            subject_digest="sha256:" + "0" * 64,
        )
    )
    import base64

    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["subject"][0]["digest"]["sha256"] = image.digest.removeprefix("sha256:")
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    attach_bundle(world.store, image.descriptor, json.dumps(bundle).encode(), SLSA_PROVENANCE_V1)
    return "demo:2.0.1", world.policy, "signature does not verify"


@attack("threshold-not-met-same-signer-twice")
def _threshold(world):  # type: ignore[no-untyped-def]
    alice, alice_pub = write_key(world.root, "alice")
    _, bob_pub = write_key(world.root, "bob")
    _, carol_pub = write_key(world.root, "carol")
    reproduction = {
        "rebuilder": {"id": "alice"},
        "match": True,
        "expected": {"digest": {"sha256": world.image.digest.removeprefix("sha256:")}},
        "obtained": {"digest": {"sha256": world.image.digest.removeprefix("sha256:")}},
    }
    sign(world.store, world.image, VIAL_REPRODUCTION_V1, reproduction, alice)
    sign(world.store, world.image, VIAL_REPRODUCTION_V1, {**reproduction, "note": "again"}, alice)
    policy = write_policy(
        world.root / "threshold.yaml",
        f"""
version: 1
signers:
  ci: {{key: {world.ci_pub}}}
  alice: {{key: {alice_pub}}}
  alice-again: {{key: {alice_pub}}}
  bob: {{key: {bob_pub}}}
  carol: {{key: {carol_pub}}}
require:
  - {{predicate: provenance, signers: [ci]}}
  - {{predicate: reproduction, signers: [alice, alice-again, bob, carol], threshold: 2}}
""",
    )
    return "demo:1.0.0", policy, "1 distinct trusted signer"


@attack("rollback-to-an-older-signed-version")
def _rollback(world):  # type: ignore[no-untyped-def]
    newer = put_image(
        world.store,
        [put_layer(world.store, [*busybox_entries(), Entry("etc/v2", data=b"2")])],
        name="demo:1.1.0",
        version="1.1.0",
    )
    sign_provenance(world.store, newer, world.ci, version="1.1.0")
    policy = write_policy(world.root / "newest.yaml", world.policy.read_text() + "image_version:\n  newest: true\n")
    return "demo:1.0.0", policy, "rollback"


@attack("rollback-below-minimum-version")
def _minimum(world):  # type: ignore[no-untyped-def]
    policy = write_policy(world.root / "minimum.yaml", world.policy.read_text() + "image_version:\n  minimum: '1.2'\n")
    return "demo:1.0.0", policy, "image_version.minimum"


@attack("missing-provenance")
def _missing(world):  # type: ignore[no-untyped-def]
    image = put_image(
        world.store, [put_layer(world.store, [*busybox_entries(), Entry("etc/w", data=b"w")])], name="demo:3.0.0"
    )
    sign(world.store, image, CYCLONEDX_BOM, {"bomFormat": "CycloneDX", "components": []}, world.ci)
    return "demo:3.0.0", world.policy, "no valid provenance attestation"


@attack("unpinned-dependency-in-provenance")
def _unpinned(world):  # type: ignore[no-untyped-def]
    image = put_image(
        world.store, [put_layer(world.store, [*busybox_entries(), Entry("etc/u", data=b"u")])], name="demo:4.0.0"
    )
    deps = [
        {"name": "busybox-static", "digest": {"sha256": "ab" * 32}},
        {"name": "requests", "uri": "pkg:pypi/requests"},
    ]
    sign_provenance(world.store, image, world.ci, version="4.0.0", dependencies=deps)
    policy = write_policy(
        world.root / "pinned.yaml", world.policy.read_text() + "provenance:\n  pinned_dependencies: true\n"
    )
    return "demo:4.0.0", policy, "not hash-pinned: requests"


@attack("untrusted-builder")
def _builder(world):  # type: ignore[no-untyped-def]
    image = put_image(
        world.store, [put_layer(world.store, [*busybox_entries(), Entry("etc/b", data=b"b")])], name="demo:5.0.0"
    )
    sign_provenance(world.store, image, world.ci, version="5.0.0", builder="https://evil.example/builder")
    policy = write_policy(
        world.root / "builder.yaml", world.policy.read_text() + f"provenance:\n  builder_ids: ['{BUILDER_ID}']\n"
    )
    return "demo:5.0.0", policy, "builder"


@attack("too-old")
def _too_old(world):  # type: ignore[no-untyped-def]
    image = put_image(
        world.store, [put_layer(world.store, [*busybox_entries(), Entry("etc/o", data=b"o")])], name="demo:6.0.0"
    )
    sign_provenance(world.store, image, world.ci, version="6.0.0", finished=datetime.now(UTC) - timedelta(days=90))
    policy = write_policy(world.root / "age.yaml", world.policy.read_text() + "max_age: 30d\n")
    return "demo:6.0.0", policy, "max_age"


@attack("path-traversal-entry")
def _traversal(world):  # type: ignore[no-untyped-def]
    return (
        _signed_image(world, [Entry("../../etc/cron.d/evil", data=b"* * * * * root sh\n")]),
        world.policy,
        "path traversal",
    )


@attack("absolute-path-entry")
def _absolute(world):  # type: ignore[no-untyped-def]
    return _signed_image(world, [Entry("/etc/evil", data=b"x")]), world.policy, "absolute path"


@attack("symlink-escape")
def _symlink(world):  # type: ignore[no-untyped-def]
    return (
        _signed_image(world, [Entry("etc/escape", "symlink", link="../../../../../etc/shadow")]),
        world.policy,
        "escapes the root",
    )


@attack("write-through-symlink")
def _through_symlink(world):  # type: ignore[no-untyped-def]
    entries = [Entry("host", "symlink", link="/"), Entry("host/etc/passwd", data=b"root::0:0::/:/bin/sh\n")]
    return _signed_image(world, entries), world.policy, "goes through the symlink"


@attack("hardlink-escape")
def _hardlink(world):  # type: ignore[no-untyped-def]
    return (
        _signed_image(world, [Entry("etc/shadow-copy", "hardlink", link="../../../etc/shadow")]),
        world.policy,
        "hardlink",
    )


@attack("device-node")
def _device(world):  # type: ignore[no-untyped-def]
    return _signed_image(world, [Entry("dev-mem", "chr")]), world.policy, "device node"


@attack("decompression-bomb")
def _bomb(world):  # type: ignore[no-untyped-def]
    return _signed_image(world, [Entry("zeros", "zeros", size=256 << 20)]), world.policy, "decompression bomb"


def _run(ref: str, policy: Path, label: str, store) -> int:  # type: ignore[no-untyped-def]
    options = RunOptions(command=["sh", "-c", "echo ran"], labels={"dev.vial.test": label})
    _, code = verify_and_run(ref, load_policy(policy), options, "docker", store=store, log=lambda _: None)
    return code


def test_tamper_control_the_untampered_image_runs(world, docker_client) -> None:  # type: ignore[no-untyped-def]
    label, since = uuid.uuid4().hex, time.time()
    assert _run("demo:1.0.0", world.policy, label, world.store) == 0
    assert len(docker_creates(docker_client, label, since)) == 1  # the event check sees real creations


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_tamper(name: str, world, docker_client) -> None:  # type: ignore[no-untyped-def]
    ref, policy, reason = ATTACKS[name](world)
    label, since = uuid.uuid4().hex, time.time()
    with pytest.raises(NotVerified) as refused:
        _run(ref, policy, label, world.store)
    message = str(refused.value)
    assert "not verified, not run" in message and "\n" not in message
    assert reason in message
    assert docker_creates(docker_client, label, since) == []


def test_tamper_matrix_has_at_least_15_attacks() -> None:
    assert len(ATTACKS) >= 15


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_tamper_daemonless(name: str, world, bwrap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The same attacks against the bwrap runtime: refused before vial unpacks any root filesystem."""
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the runtime would create vial-rootfs-*
    ref, policy, reason = ATTACKS[name](world)
    options = RunOptions(command=["sh", "-c", "echo ran"], outputs=tmp_path / "outputs")
    with pytest.raises(NotVerified, match=reason):
        verify_and_run(ref, load_policy(policy), options, "bwrap", store=world.store, log=lambda _: None)
    assert not [p for p in scratch.iterdir() if p.name.startswith("vial-rootfs-")]
    assert not (tmp_path / "outputs").exists()


def test_tamper_daemonless_control(world, bwrap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen: list[str] = []
    options = RunOptions(command=["sh", "-c", "ls / > /outputs/ls"], outputs=tmp_path / "outputs")
    _, code = verify_and_run(
        "demo:1.0.0", load_policy(world.policy), options, "bwrap", store=world.store, log=seen.append
    )
    assert code == 0 and "unpacking the verified layers" in seen
    assert (tmp_path / "outputs" / "ls").read_text().split() == ["bin", "dev", "etc", "outputs", "proc", "tmp"]
    assert not list(scratch.iterdir())  # the root filesystem is removed after the run
