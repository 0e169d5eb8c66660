"""Pin to IPFS and pull back, verified, through real Kubo nodes; failures leave the store untouched."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import vial.cli.ipfs_cmds
import vial.cli.pull_cmds  # noqa: F401 - and the one `vial pull` (registry, CID, NAME:VERSION)
from tests.registry.ipfs.conftest import KuboNode
from tests.registry.ipfs.fakenode import fake_node
from tests.registry.ipfs.images import layer_tar, make_image
from vial.cli import cli
from vial.errors import IntegrityError, ServiceError
from vial.registry.ipfs.car import encode_header
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.images import CidRecords, export_car, image_cid, pin, pull
from vial.registry.ipfs.kubo import KuboClient
from vial.store import Store


def _source_image(tmp_path: Path) -> tuple[Store, str]:
    store = Store(tmp_path / "source-store")
    layers = [layer_tar({"etc/motd": b"vial over ipfs\n"}), layer_tar({"big.bin": bytes(range(256)) * 9000})]
    descriptor = make_image(store, "demo:1.0", layers)
    return store, descriptor.digest


def _assert_store_empty(store_root: Path) -> None:
    store = Store(store_root)
    assert list(store.blobs_dir.iterdir()) == []
    assert store.names() == []
    assert not (store_root / "records").exists()


def _connect(b: KuboNode, a: KuboNode) -> None:
    b.cli("swarm", "connect", a.swarm_addr())


def test_pin_on_a_pull_from_b(kubo_factory, tmp_path: Path) -> None:
    a = kubo_factory("unixfs-v1-2025")
    b = kubo_factory("unixfs-v1-2025")
    _connect(b, a)
    source, digest = _source_image(tmp_path)
    with KuboClient(a.url) as client:
        result = pin(source, "demo:1.0", client)
        assert str(result.cid) in client.pin_ls(result.cid)
    assert CidRecords(source).get(result.cid).manifest == digest
    clean = Store(tmp_path / "clean-store")
    with KuboClient(b.url) as client:
        pulled = pull(clean, client, result.cid)
    assert pulled.manifest == digest
    assert pulled.ref == "demo:1.0"
    image = clean.image("demo:1.0")
    for blob in clean.image_blobs(image):
        clean.verify_blob(blob.digest)
        assert clean.blob_path(blob.digest).read_bytes() == source.blob_path(blob.digest).read_bytes()
    assert CidRecords(clean).get(result.cid).manifest == digest


def test_cli_pin_and_pull_with_json(kubo_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = kubo_factory("unixfs-v0-2015")
    b = kubo_factory("unixfs-v0-2015")
    _connect(b, a)
    source, digest = _source_image(tmp_path)
    runner = CliRunner()
    monkeypatch.setenv("VIAL_HOME", str(source.root))
    monkeypatch.setenv("VIAL_IPFS_API", a.url)
    pinned = runner.invoke(cli, ["-q", "pin", "demo:1.0", "--profile", "unixfs-v0-2015", "--json"])
    assert pinned.exit_code == 0, pinned.output
    data = json.loads(pinned.stdout)
    assert data["manifest"] == digest and data["cid"].startswith("Qm") and data["node"] == a.url
    monkeypatch.delenv("VIAL_IPFS_API")
    monkeypatch.setenv("VIAL_HOME", str(tmp_path / "clean"))
    pulled = runner.invoke(cli, ["-q", "pull", f"ipfs://{data['cid']}", "--node", b.url])
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout.strip() == digest
    assert Store(tmp_path / "clean").resolve("demo:1.0").digest == digest


def test_embedded_pin_writes_car_and_import_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, digest = _source_image(tmp_path)
    runner = CliRunner()
    monkeypatch.delenv("VIAL_IPFS_API", raising=False)
    monkeypatch.setenv("VIAL_HOME", str(source.root))
    pinned = runner.invoke(cli, ["-q", "pin", "demo:1.0", "--json"])
    assert pinned.exit_code == 0, pinned.output
    data = json.loads(pinned.stdout)
    car = Path(data["car"])
    assert car.is_file() and car.parent == source.root / "cars"
    known = runner.invoke(cli, ["cid", "--image", "demo:1.0"])
    assert known.stdout.strip() == data["cid"]
    exported = runner.invoke(cli, ["-q", "export", "demo:1.0", "--car", str(tmp_path / "e.car")])
    assert exported.exit_code == 0 and exported.stdout.strip() == data["cid"]
    assert (tmp_path / "e.car").read_bytes() == car.read_bytes()
    missing = runner.invoke(cli, ["export", "nope:1", "--car", str(tmp_path / "n.car")])
    assert missing.exit_code == 1 and "nope:1: no such image" in missing.stderr
    assert not (tmp_path / "n.car").exists()
    computed = runner.invoke(cli, ["cid", str(tmp_path / "nothing-here")])
    assert computed.exit_code == 1 and "no such file" in computed.stderr
    monkeypatch.setenv("VIAL_HOME", str(tmp_path / "clean"))
    imported = runner.invoke(cli, ["-q", "import", str(car), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout) == {"cid": data["cid"], "manifest": digest, "ref": "demo:1.0"}


def test_exported_car_is_accepted_by_kubo(kubo_factory, tmp_path: Path) -> None:
    node = kubo_factory("unixfs-v1-2025")
    source, _ = _source_image(tmp_path)
    car = tmp_path / "image.car"
    cid, _ = export_car(source, "demo:1.0", car)
    with KuboClient(node.url) as client:
        assert client.dag_import(car) == [cid]
        assert str(cid) in client.pin_ls(cid)
        exported = tmp_path / "kubo.car"
        with open(exported, "wb") as out:
            client.dag_export(cid, out)
    # Same blocks either way (Kubo writes them in DFS order, vial children-first).
    assert exported.stat().st_size == car.stat().st_size


# -- failures: each one clear, and nothing in the store -----------------------------------------


def _car(tmp_path: Path, source: Store) -> tuple[Path, CID]:
    car = tmp_path / "image.car"
    cid, _ = export_car(source, "demo:1.0", car)
    return car, cid


def _sections(car: Path) -> tuple[bytes, list[bytes]]:
    """(header bytes, raw sections) of a CAR written by vial."""
    from vial.registry.ipfs.cid import read_varint

    data = car.read_bytes()
    length, pos = read_varint(data, 0)
    header = data[: pos + length]
    pos += length
    sections = []
    while pos < len(data):
        length, start = read_varint(data, pos)
        sections.append(data[pos : start + length])
        pos = start + length
    return header, sections


def test_corrupted_block_on_a_real_node(kubo_factory, tmp_path: Path) -> None:
    node = kubo_factory("unixfs-v1-2025")
    source, _ = _source_image(tmp_path)
    with KuboClient(node.url) as client:
        result = pin(source, "demo:1.0", client)
    motd = layer_tar({"etc/motd": b"vial over ipfs\n"})
    hits = [p for p in (node.repo / "blocks").rglob("*.data") if p.read_bytes() == motd]
    assert len(hits) == 1
    hits[0].write_bytes(motd.replace(b"vial over ipfs", b"evil over ipfs"))
    clean = tmp_path / "clean"
    with KuboClient(node.url) as client, pytest.raises(IntegrityError, match="does not match its CID"):
        pull(Store(clean), client, result.cid)
    _assert_store_empty(clean)


@pytest.mark.parametrize("damage", ["flip-byte", "substitute", "truncate", "extra-block", "wrong-root"])
def test_bad_cars_from_a_node(tmp_path: Path, damage: str) -> None:
    source, _ = _source_image(tmp_path)
    car, cid = _car(tmp_path, source)
    header, sections = _sections(car)
    if damage == "flip-byte":
        last = bytearray(sections[0])
        last[-1] ^= 0xFF
        body = header + bytes(last) + b"".join(sections[1:])
        expected = "does not match its CID"
    elif damage == "substitute":
        _, other_sections = _sections(_other_car(tmp_path))
        body = header + other_sections[0] + b"".join(sections[1:])
        expected = "missing from the DAG|not reachable"
    elif damage == "truncate":
        body = car.read_bytes()[:-100]
        expected = "truncated"
    elif damage == "extra-block":
        _, other_sections = _sections(_other_car(tmp_path))
        body = car.read_bytes() + other_sections[0]
        expected = "not reachable from root"
    else:
        body = encode_header(CID.of(b"elsewhere", 0x55)) + b"".join(sections)
        expected = "CAR is rooted at .*, expected"
    clean = tmp_path / "clean"
    with fake_node({"dag/export": lambda: (200, body)}) as url, KuboClient(url) as client:
        with pytest.raises(IntegrityError, match=expected):
            pull(Store(clean), client, cid)
    _assert_store_empty(clean)
    # The same damaged bytes as a CAR file given to `vial import`.
    bad = tmp_path / "bad.car"
    bad.write_bytes(body)
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(bad)], env={"VIAL_HOME": str(tmp_path / "clean2")})
    assert result.exit_code == 1
    assert result.stderr.startswith("vial: error: ") and len(result.stderr.strip().splitlines()) == 1
    _assert_store_empty(tmp_path / "clean2")


def _other_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "other-store")
    make_image(store, "other:1", [layer_tar({"other": b"another image\n"})])
    return store


def _other_car(tmp_path: Path) -> Path:
    car = tmp_path / "other.car"
    export_car(_other_store(tmp_path), "other:1", car)
    return car


@pytest.mark.parametrize(
    ("cid", "expected"),
    [
        ("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", "codec raw, expected a dag-pb"),
        ("bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae", "unsupported codec 0x71"),
        ("ipfs://not-a-cid", "not a valid CID"),
        ("not-a-cid", "not a valid CID"),  # no ':' and no '/': `vial pull` takes it for a CID
    ],
)
def test_unexpected_cids(tmp_path: Path, cid: str, expected: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["pull", cid, "--node", "http://127.0.0.1:9"], env={"VIAL_HOME": str(tmp_path / "s")})
    assert result.exit_code == 1
    assert expected in result.stderr
    _assert_store_empty(tmp_path / "s")


def test_node_down(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["pull", "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354", "--node", f"http://127.0.0.1:{port}"],
        env={"VIAL_HOME": str(tmp_path / "s")},
    )
    assert result.exit_code == 1
    assert f"vial: error: IPFS node http://127.0.0.1:{port}: dag/export: ConnectError" in result.stderr
    _assert_store_empty(tmp_path / "s")


def test_node_answers_500(tmp_path: Path) -> None:
    answer = (500, json.dumps({"Message": "blockstore: disk on fire", "Code": 0, "Type": "error"}).encode())
    with fake_node({"dag/export": lambda: answer}) as url, KuboClient(url) as client:
        with pytest.raises(ServiceError, match="dag/export failed with HTTP 500: blockstore: disk on fire"):
            pull(
                Store(tmp_path / "s"), client, CID.parse("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354")
            )
    _assert_store_empty(tmp_path / "s")


def test_pin_refused_when_node_computes_another_cid(tmp_path: Path) -> None:
    source, _ = _source_image(tmp_path)
    lie = json.dumps(
        {"Name": "layout", "Hash": "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354", "Size": "4"}
    )
    pinned: list[str] = []
    routes = {"add": lambda: (200, lie.encode() + b"\n"), "pin/add": lambda: pinned.append("x") or (200, b"{}")}
    with fake_node(routes) as url, KuboClient(url) as client:
        with pytest.raises(IntegrityError, match=r"vial computed .* not pinned"):
            pin(source, "demo:1.0", client)
    assert pinned == []
    assert not (source.root / "records").exists()


@pytest.fixture(scope="module")
def many_blobs_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An image of 2500 blobs: its blobs/sha256 directory is over 256 KiB by block size
    (2500 x ~109 bytes, so a HAMT in unixfs-v1-2025) but not by links (2500 x 100 bytes)."""
    store = Store(tmp_path_factory.mktemp("many") / "store")
    make_image(store, "many:1", [layer_tar({f"f{i}": b"%d" % i}) for i in range(2498)])
    return store


def test_car_round_trip_of_a_hamt_layout_is_deterministic(many_blobs_store: Store, tmp_path: Path) -> None:
    first, second = tmp_path / "1.car", tmp_path / "2.car"
    cid, digest = export_car(many_blobs_store, "many:1", first)
    assert export_car(many_blobs_store, "many:1", second) == (cid, digest)
    assert first.read_bytes() == second.read_bytes()
    clean = Store(tmp_path / "clean")
    from vial.registry.ipfs.images import import_car

    result = import_car(clean, first, expected=cid)
    assert result.manifest == digest and len(clean.image("many:1").manifest.layers) == 2498


def test_pin_refused_on_a_node_with_other_hamt_settings(kubo_factory, many_blobs_store: Store) -> None:
    # A v0-2015 node estimates directory size by links, so it makes a basic directory where
    # unixfs-v1-2025 makes a HAMT: another CID, which vial refuses to pin.
    node = kubo_factory("unixfs-v0-2015")
    store = many_blobs_store
    with KuboClient(node.url) as client:
        with pytest.raises(
            IntegrityError,
            match=re.escape("not pinned; node settings differ: Import.UnixFSHAMTDirectorySizeEstimation"),
        ):
            pin(store, "many:1", client, "unixfs-v1-2025")
        pinned = client.pin_ls()
    cid = image_cid(store, "many:1")[0]
    assert str(cid) not in pinned
    assert CidRecords(store).get(cid) is None


def test_busybox_image_round_trip(kubo_factory, tmp_path: Path, service_missing) -> None:
    """A runnable image (static busybox, one layer) goes A -> B intact; running it is the lead's."""
    from tests.registry.ipfs.images import BUSYBOX, busybox_image

    if not Path(BUSYBOX).is_file():
        service_missing("busybox-static is not installed: run scripts/services.sh")
    a = kubo_factory("unixfs-v1-2025")
    b = kubo_factory("unixfs-v1-2025")
    _connect(b, a)
    source = Store(tmp_path / "source")
    digest = busybox_image(source).digest
    with KuboClient(a.url) as client:
        cid = pin(source, "busybox:1", client).cid
    clean = Store(tmp_path / "clean")
    with KuboClient(b.url) as client:
        assert pull(clean, client, cid).manifest == digest
    image = clean.image("busybox:1")
    assert image.config.entrypoint == ("/bin/busybox",)
    layer = image.manifest.layers[0].digest
    assert clean.blob_path(layer).read_bytes() == source.blob_path(layer).read_bytes()


def test_cid_refs_resolve_to_verified_images(kubo_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vial.registry.ipfs.images import parse_cid_ref, resolve_cid_ref

    assert parse_cid_ref("demo:1.0") is None
    assert parse_cid_ref("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e") is None  # raw: not an image
    with pytest.raises(IntegrityError):
        parse_cid_ref("ipfs://not-a-cid")
    source, digest = _source_image(tmp_path)
    monkeypatch.delenv("VIAL_IPFS_API", raising=False)
    embedded = pin(source, "demo:1.0")  # a CAR beside the store
    store, found = resolve_cid_ref(f"ipfs://{embedded.cid}", tmp_path / "w1", home=source)
    assert found == digest and store.root.parent == tmp_path / "w1"
    node = kubo_factory("unixfs-v1-2025")
    with KuboClient(node.url) as client:
        cid = pin(source, "demo:1.0", client).cid
    monkeypatch.setenv("VIAL_IPFS_API", node.url)
    store, found = resolve_cid_ref(str(cid), tmp_path / "w2")
    assert found == digest and store.image(found).manifest.layers
    assert resolve_cid_ref("demo:1.0", tmp_path / "w3") is None


def test_pin_via_car_on_a_node_with_other_settings(kubo_factory, many_blobs_store: Store, tmp_path: Path) -> None:
    """Where `add` is refused (the node would build another DAG), `--via car` sends vial's blocks."""
    node = kubo_factory("unixfs-v0-2015")
    runner = CliRunner()
    env = {"VIAL_HOME": str(many_blobs_store.root)}
    result = runner.invoke(cli, ["-q", "pin", "many:1", "--node", node.url, "--via", "car", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cid"] == str(image_cid(many_blobs_store, "many:1")[0])
    with KuboClient(node.url) as client:
        assert data["cid"] in client.pin_ls(CID.parse(data["cid"]))


def test_cid_refs_are_sources_for_verify_and_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The REF resolver hook: `vial verify ipfs://CID` / `vial run ipfs://CID` get a checked image."""
    from vial.policies.engine.source import open_source

    source, digest = _source_image(tmp_path)
    monkeypatch.delenv("VIAL_IPFS_API", raising=False)
    monkeypatch.setenv("VIAL_HOME", str(source.root))
    cid = pin(source, "demo:1.0").cid  # embedded: a CAR beside the store
    with open_source(f"ipfs://{cid}") as found:
        assert found.kind == "ipfs" and not found.writable
        assert found.image().digest == digest
        assert found.store.root != source.root
    with open_source("demo:1.0") as found:
        assert found.kind == "store"


def test_attestations_travel_with_the_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vial.attest.referrers import attach_bundle, list_referrers, read_bundle

    source, digest = _source_image(tmp_path)
    image = source.image("demo:1.0")
    bundle = b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "test": true}'
    attach_bundle(source, image.descriptor, bundle, "https://slsa.dev/provenance/v1", signer="ci")
    plain, _ = image_cid(source, "demo:1.0")
    with_attestations, _ = image_cid(source, "demo:1.0", attestations=True)
    assert plain != with_attestations
    monkeypatch.setenv("VIAL_HOME", str(source.root))
    result = CliRunner().invoke(cli, ["-q", "pin", "demo:1.0", "--attestations", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cid"] == str(with_attestations)
    from vial.registry.ipfs.images import import_car

    clean = Store(tmp_path / "clean")
    assert import_car(clean, Path(data["car"])).manifest == digest
    referrers = list_referrers(clean, digest)
    assert len(referrers) == 1 and read_bundle(clean, referrers[0]) == bundle
    assert referrers[0].predicate_type == "https://slsa.dev/provenance/v1"
