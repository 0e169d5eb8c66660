"""vial push / vial pull against a real registry (Debian's docker-registry 2.8, no referrers API) on loopback,
checked by third parties: skopeo reads the manifest, cosign verifies the attestation vial attached."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from disthelpers import TEST_RESULT, Proxy, Registry, SignedImage, make_signed_image

from vial.attest.referrers import list_referrers
from vial.cli import cli, dist_cmds  # noqa: F401 - registers the commands
from vial.registry.oci.client import fallback_tag
from vial.registry.oci.distribution import pull, push
from vial.registry.oci.reference import parse_reference
from vial.store import Store

EMPTY_TRUSTED_ROOT = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}'


def vial(runner: CliRunner, home: Path, *args: str, code: int = 0):  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, list(args), env={"VIAL_HOME": str(home)}, catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def tags(registry: Registry, repository: str) -> list[str]:
    return httpx.get(f"http://{registry.host}/v2/{repository}/tags/list").json()["tags"]


def test_push_then_pull_into_a_clean_store(registry: Registry, signed: SignedImage, tmp_path: Path) -> None:
    runner = CliRunner()
    target = registry.url("lab/roundtrip", "1.0")
    pushed = json.loads(
        vial(runner, signed.store.root, "push", "demo:1.0", target, "--json", "--chunk-size", str(1 << 20)).stdout
    )
    assert pushed["digest"] == signed.digest
    assert pushed["reference"] == f"{target}@{signed.digest}"
    assert pushed["uploaded"] == 5 and pushed["skipped"] == 0  # config, 2 layers, empty config, bundle
    assert pushed["referrers_mode"] == "tag"  # docker-registry 2.8 has no referrers API
    assert set(tags(registry, "lab/roundtrip")) == {"1.0", fallback_tag(signed.digest)}

    # Pushing again sends nothing: every blob is found by HEAD.
    again = json.loads(vial(runner, signed.store.root, "push", "demo:1.0", target, "--json").stdout)
    assert again["uploaded"] == 0 and again["skipped"] == 5

    clean = tmp_path / "clean-home"
    source = registry.url("lab/roundtrip", digest=signed.digest)
    pulled = json.loads(vial(runner, clean, "pull", source, "--json").stdout)
    assert pulled["digest"] == signed.digest
    assert pulled["name"] == f"lab/roundtrip:{fallback_tag(signed.digest)}"
    assert pulled["referrers"] == pushed["referrers"] and pulled["referrers_mode"] == "tag"
    store = Store(clean)
    image = store.image(signed.digest)
    # Every blob is there and rehashes to its name; the manifest bytes are the very ones pushed.
    blobs = [image.descriptor, image.manifest.config, *image.manifest.layers]
    for referrer in list_referrers(store, signed.digest):
        blobs += [referrer.descriptor, referrer.manifest.config, *referrer.manifest.layers]
    assert {d.digest for d in blobs} == {"sha256:" + p.name for p in store.blobs_dir.iterdir()}
    for descriptor in blobs:
        assert store.verify_blob(descriptor.digest) == descriptor.size
    assert store.read_blob(signed.digest) == signed.store.read_blob(signed.digest)
    assert list(store.tmp_dir.iterdir()) == []

    # The attestation came back with the image and verifies with the signer's public key.
    verified = vial(runner, clean, "verify-attestation", pulled["name"], "--key", str(signed.public_key), "--json")
    assert [v["predicate_type"] for v in json.loads(verified.stdout)["verified"]] == [TEST_RESULT]

    # By tag: resolved to the digest, printed, named REPOSITORY:TAG.
    by_tag = vial(runner, clean, "pull", target)
    assert by_tag.stdout.strip() == signed.digest
    again_json = json.loads(vial(runner, clean, "pull", target, "--json").stdout)
    assert again_json["downloaded"] == 0 and again_json["present"] == 7
    assert Store(clean).resolve("lab/roundtrip:1.0").digest == signed.digest


def test_skopeo_reads_the_manifest_vial_pushed(registry: Registry, signed: SignedImage, skopeo: str) -> None:
    push(signed.store, "demo:1.0", parse_reference(registry.url("lab/skopeo", "2.0")))
    image = f"docker://{registry.host}/lab/skopeo:2.0"
    raw = subprocess.run([skopeo, "inspect", "--tls-verify=false", "--raw", image], capture_output=True, timeout=60)
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == signed.store.read_blob(signed.digest)
    info = subprocess.run([skopeo, "inspect", "--tls-verify=false", image], capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    inspected = json.loads(info.stdout)
    assert inspected["Digest"] == signed.digest
    assert inspected["Layers"] == list(signed.layers)


def _cosign(cosign: str, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(work), "TUF_ROOT": str(work / ".sigstore")}
    return subprocess.run([cosign, *args], capture_output=True, text=True, cwd=work, env=env, timeout=120)


def test_cosign_verifies_the_attestation_vial_attached(
    registry: Registry, signed: SignedImage, cosign_bin: str, tmp_path: Path
) -> None:
    """cosign 2.6.5 finds the bundle through the referrers tag-schema fallback (docker-registry has no API)."""
    push(signed.store, "demo:1.0", parse_reference(registry.url("lab/cosign", "1.0")))
    (tmp_path / "empty-root.json").write_text(EMPTY_TRUSTED_ROOT)

    def verify(public: Path) -> subprocess.CompletedProcess[str]:
        return _cosign(
            cosign_bin,
            tmp_path,
            "verify-attestation",
            "--key",
            str(public),
            "--new-bundle-format",
            "--trusted-root",
            "empty-root.json",
            "--insecure-ignore-tlog",
            "--allow-http-registry",
            "--type",
            TEST_RESULT,
            f"{registry.host}/lab/cosign@{signed.digest}",
        )

    done = verify(signed.public_key)
    assert done.returncode == 0, done.stderr
    statement = json.loads(__import__("base64").b64decode(json.loads(done.stdout.splitlines()[0])["payload"]))
    assert statement["subject"][0]["digest"]["sha256"] == signed.digest[7:]
    # Negative control: another key's signature is not accepted.
    other = make_signed_image(Store(tmp_path / "other"), tmp_path / "other", "other:1.0", seed=b"other")
    refused = verify(other.public_key)
    assert refused.returncode != 0


def test_referrers_api_is_used_when_the_registry_has_it(
    registry: Registry, proxy: Proxy, signed: SignedImage, tmp_path: Path
) -> None:
    """A registry answering OCI-Subject and serving /referrers/: no fallback tag is written or read."""
    proxy.state.referrers_api = True
    result = push(signed.store, "demo:1.0", parse_reference(proxy.url("lab/api", "1.0")), chunk_size=1 << 20)
    assert result.referrers_mode == "api"
    assert sum(r.startswith("PATCH ") for r in proxy.state.requests) == 3  # the 3 MiB layer, in 1 MiB chunks
    assert tags(registry, "lab/api") == ["1.0"]
    pulled = pull(Store(tmp_path / "clean"), parse_reference(proxy.url("lab/api", "1.0")))
    assert pulled.referrers_mode == "api" and pulled.referrers == result.referrers
    assert not any(fallback_tag(signed.digest) in r for r in proxy.state.requests)
    assert [r.digest for r in list_referrers(Store(tmp_path / "clean"), signed.digest)] == list(result.referrers)


def test_two_images_share_one_fallback_index(registry: Registry, signed: SignedImage, tmp_path: Path) -> None:
    """A second attestation pushed later is added to the fallback index, not written over the first."""
    target = parse_reference(registry.url("lab/twice", "1.0"))
    first = push(signed.store, "demo:1.0", target)
    second_image = make_signed_image(signed.store, tmp_path, "demo:1.0", seed=b"vial")  # same image, new attestation
    assert second_image.digest == signed.digest
    second = push(signed.store, "demo:1.0", target)
    assert len(second.referrers) == 2 and first.referrers[0] in second.referrers
    pulled = pull(Store(tmp_path / "clean"), target)
    assert sorted(pulled.referrers) == sorted(second.referrers)


def test_pull_refuses_what_is_not_an_oci_reference(tmp_path: Path) -> None:
    # (A CID is a source too since IPFS pulls joined `vial pull`: see tests/ipfs.)
    result = CliRunner().invoke(cli, ["pull", "registry.example/demo:1"], env={"VIAL_HOME": str(tmp_path / "h")})
    assert result.exit_code == 1
    assert result.stderr.startswith("vial: error: registry.example") and "not an oci:// reference" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_pull_of_a_cid_goes_to_ipfs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["pull", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"],
        env={"VIAL_HOME": str(tmp_path / "h"), "VIAL_IPFS_API": ""},
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("vial: error: no IPFS node to pull bafybei")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("oci://127.0.0.1:5000", "expected oci://HOST/REPOSITORY"),
        ("oci://127.0.0.1:5000/Upper/case:1", "is not a repository name"),
        ("oci://127.0.0.1:5000/demo@sha256:abc", "is not a sha256 digest"),
        ("oci://127.0.0.1:5000/demo:bad tag", "is not a valid tag"),
        ("docker://127.0.0.1/demo:1", "not an oci:// reference"),
    ],
)
def test_bad_references_are_one_line_errors(text: str, problem: str) -> None:
    from vial.registry.oci.reference import ReferenceError

    with pytest.raises(ReferenceError, match=problem):
        parse_reference(text)


def test_reference_parts() -> None:
    ref = parse_reference("oci://localhost:5000/lab/demo:1.0@sha256:" + "a" * 64)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == (
        "localhost:5000",
        "lab/demo",
        "1.0",
        "sha256:" + "a" * 64,
    )
    assert ref.is_loopback and ref.reference == "sha256:" + "a" * 64
    assert not parse_reference("oci://ghcr.io/org/demo:1").is_loopback
    assert str(parse_reference("oci://ghcr.io/org/demo:1")) == "oci://ghcr.io/org/demo:1"


def test_cross_repository_mount(registry: Registry, signed: SignedImage) -> None:
    push(signed.store, "demo:1.0", parse_reference(registry.url("lab/mount-source", "1.0")))
    result = push(
        signed.store,
        "demo:1.0",
        parse_reference(registry.url("lab/mount-target", "1.0")),
        mount_from="lab/mount-source",
    )
    assert result.mounted == 5 and result.uploaded == 0
    assert set(tags(registry, "lab/mount-target")) == {"1.0", fallback_tag(signed.digest)}


def test_push_and_pull_stream_large_layers(registry: Registry, tmp_path: Path) -> None:
    """A 48 MiB layer goes up and comes down with Python's peak allocation far below its size."""
    import tracemalloc

    store = Store(tmp_path / "big")
    signed = make_signed_image(store, tmp_path, "big:1.0", seed=b"big", layer_size=48 << 20)
    target = parse_reference(registry.url("lab/big", "1.0"))
    clean = Store(tmp_path / "clean")
    tracemalloc.start()
    try:
        push(store, "big:1.0", target)
        _, pushed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = pull(clean, target)
        _, pulled_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.digest == signed.digest
    assert clean.verify_blob(signed.layers[0]) == 48 << 20
    assert pushed_peak < 12 << 20, pushed_peak
    assert pulled_peak < 12 << 20, pulled_peak


@pytest.mark.docker
def test_a_pulled_image_runs(registry: Registry, tmp_path: Path, service_missing) -> None:  # type: ignore[no-untyped-def]
    """Debian's static busybox as a one-layer image: pushed, pulled into a clean store, run by vial in Docker."""
    from disthelpers import make_busybox_image

    from vial.policies.runtime.docker import RunOptions, docker_client, run_image

    busybox = Path("/bin/busybox")
    if not busybox.is_file():
        service_missing("busybox-static is not installed (run scripts/services.sh)")
    try:
        client = docker_client()
    except Exception as exc:  # noqa: BLE001 - ServiceError, with the reason
        service_missing(str(exc))
    source = Store(tmp_path / "source")
    digest = make_busybox_image(source, busybox)
    target = parse_reference(registry.url("lab/busybox", "1.0"))
    push(source, "busybox:1.0", target)
    clean = Store(tmp_path / "clean")
    assert pull(clean, target).digest == digest
    image = clean.image("lab/busybox:1.0")
    outputs = tmp_path / "outputs"
    try:
        code = run_image(
            clean,
            image,
            RunOptions(command=["sh", "-c", "echo pulled and run > /outputs/hello.txt; exit 3"], outputs=outputs),
            log=lambda _: None,
        )
    finally:
        client.images.remove(image.manifest.config.digest, force=True)
    assert code == 3
    assert (outputs / "hello.txt").read_text() == "pulled and run\n"
