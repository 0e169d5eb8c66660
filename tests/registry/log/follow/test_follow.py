"""Serverless sharing: A shares its release log over IPFS/IPNS, B follows it and pulls releases.

Two VIAL_HOMEs, two Kubo nodes peered on loopback (see conftest). B verifies the log it fetches
(every block against its CID, checkpoint signature, consistency with what B trusted before, a full
rehash) and every image it pulls (blocks, OCI digests, manifest digest = the release's).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.registry.ipfs.images import layer_tar, make_image
from tests.registry.log.follow.conftest import Side
from vial.registry.ipfs.images import pin
from vial.registry.ipfs.ipns import IpnsClient
from vial.registry.ipfs.kubo import KuboClient
from vial.registry.log.releases import ReleaseLog, log_dirname
from vial.store import Store

ORIGIN = "example.org/lab-a/releases"


def publish(side: Side, version: str, content: bytes) -> tuple[str, str]:
    """Build a small image in ``side``'s store, pin it to its node, publish it as demo:VERSION."""
    store = Store(side.home)
    descriptor = make_image(store, f"demo-build:{version}", [layer_tar({"v.txt": content})])
    with KuboClient(side.node.url) as client:
        cid = str(pin(store, f"demo-build:{version}", client).cid)
    side.vial("publish", f"demo-build:{version}", f"demo:{version}", "--cid", cid, "--log", ORIGIN)
    return descriptor.digest, cid


def share(side: Side) -> dict:
    return side.vial_json("share", "--log", ORIGIN, "--node", side.node.url)


def wait_resolves(side: Side, name: str, cid: str) -> None:
    """Bounded wait for the new IPNS record to reach ``side``'s node over pubsub (propagation, not a
    timing assertion: the follow below is what is tested)."""
    with IpnsClient(side.node.url) as client:
        for _ in range(100):
            if str(client.name_resolve(name)) == cid:
                return
            time.sleep(0.1)
    raise AssertionError(f"{name} did not resolve to {cid} on {side.node.url}")


def follow(side: Side, name: str, *extra: str) -> dict:
    return side.vial_json("follow", name, "--node", side.node.url, *extra)


def get(side: Side, ref: str) -> dict:
    return side.vial_json("get", ref, "--node", side.node.url)


def test_follow_sees_new_versions_and_pulls_them(pair: tuple[Side, Side]) -> None:
    a, b = pair
    digest1, cid1 = publish(a, "1", b"version one\n")
    shared = share(a)
    assert shared["origin"] == ORIGIN and shared["size"] == 1 and shared["key_created"]
    assert shared["name"].startswith("k51")

    followed = follow(b, shared["name"])
    assert followed == {**followed, "origin": ORIGIN, "size": 1, "cid": shared["cid"], "trusted_before": None}
    assert followed["key_source"] == "first-use"
    assert followed["verifier"] == a.vial("log-key", "--log", ORIGIN).stdout.strip()

    pulled = get(b, "demo:1")
    assert pulled == {**pulled, "ref": "demo:1", "cid": cid1, "manifest": digest1, "origin": ORIGIN, "index": 0}
    assert Store(b.home).resolve("demo:1").digest == digest1
    # B reads the followed log like a local one, proofs verified against the checkpoint it trusts.
    shown = b.vial_json("show", "demo:1", "--log", ORIGIN)
    assert shown["release"]["manifest_digest"] == digest1 and shown["verified"]

    # A publishes v2 and shares again: same IPNS name, new CID; B sees it, consistent with v1.
    digest2, _cid2 = publish(a, "2", b"version two\n")
    shared2 = share(a)
    assert shared2["name"] == shared["name"] and shared2["size"] == 2 and not shared2["key_created"]
    wait_resolves(b, shared["name"], shared2["cid"])
    followed2 = follow(b, shared["name"])
    assert followed2["size"] == 2 and followed2["trusted_before"] == 1 and followed2["key_source"] == "trusted"
    assert get(b, "demo:2")["manifest"] == digest2
    assert Store(b.home).resolve("demo:2").digest == digest2
    history = b.vial_json("log", "demo", "--log", ORIGIN)
    assert [r["release"]["version"] for r in history["releases"]] == ["1", "2"]
    assert [f["size"] for f in b.vial_json("follow", "--list")["follows"]] == [2]

    # Following again with nothing new is a no-op that still verifies.
    assert follow(b, shared["name"])["trusted_before"] == 2


def test_rolled_back_log_is_refused(pair: tuple[Side, Side]) -> None:
    a, b = pair
    publish(a, "1", b"one\n")
    old = share(a)
    publish(a, "2", b"two\n")
    new = share(a)
    wait_resolves(b, new["name"], new["cid"])
    assert follow(b, new["name"])["size"] == 2

    # The name is pointed back at the older copy of the log (still validly signed, by the right key).
    with IpnsClient(a.node.url) as client:
        from vial.registry.ipfs.cid import CID

        client.name_publish(new["key"], CID.parse(old["cid"]))
    wait_resolves(b, new["name"], old["cid"])
    result = b.vial("follow", new["name"], "--node", b.node.url, ok=False)
    assert result.exit_code != 0
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message.startswith("vial: error:")
    assert "rollback" in message and "this client already saw 2" in message
    # B still holds and trusts v2.
    assert b.vial_json("log", "demo", "--log", ORIGIN)["checkpoint"]["size"] == 2


def test_forked_log_same_key_is_refused(pair: tuple[Side, Side], tmp_path: Path) -> None:
    """The publisher's key rewrites history: another record 1 after the same record 0."""
    a, b = pair
    publish(a, "1", b"one\n")
    log_a = ReleaseLog(a.home, ORIGIN)
    # C: a copy of A's home as it was after v1 (same signer key), which then diverges.
    c = Side(tmp_path / "home-c", a.node)
    shutil.copytree(a.home, c.home)
    publish(a, "2", b"two\n")
    shared = share(a)
    wait_resolves(b, shared["name"], shared["cid"])
    assert follow(b, shared["name"])["size"] == 2

    publish(c, "2", b"a different two\n")  # same size as A's log, other root, same key
    assert ReleaseLog(c.home, ORIGIN).head().checkpoint.root != log_a.head().checkpoint.root
    forked = share(c)  # the same node, hence the same IPNS key and name
    assert forked["name"] == shared["name"]
    wait_resolves(b, forked["name"], forked["cid"])
    result = b.vial("follow", forked["name"], "--node", b.node.url, ok=False)
    message = result.stderr.strip()
    assert result.exit_code != 0 and message.count("\n") == 0
    assert "not consistent with the checkpoint this client trusts" in message


def test_other_key_under_same_name_is_refused(pair: tuple[Side, Side], tmp_path: Path) -> None:
    """Another log with the same origin, signed by another key, published under the same IPNS name."""
    a, b = pair
    publish(a, "1", b"one\n")
    shared = share(a)
    assert follow(b, shared["name"])["size"] == 1

    mallory = Side(tmp_path / "home-m", a.node)
    publish(mallory, "1", b"evil one\n")
    publish(mallory, "2", b"evil two\n")
    forged = share(mallory)
    assert forged["name"] == shared["name"]
    wait_resolves(b, forged["name"], forged["cid"])
    result = b.vial("follow", forged["name"], "--node", b.node.url, ok=False)
    message = result.stderr.strip()
    assert result.exit_code != 0 and message.count("\n") == 0
    assert "not signed by the key this client trusts" in message
    # Nothing of the forged log reached B: still A's v1, and B has no demo:2 to pull.
    assert b.vial_json("log", "demo", "--log", ORIGIN)["checkpoint"]["size"] == 1
    assert "not published" in b.vial("get", "demo:2", "--node", b.node.url, ok=False).stderr


def test_pinned_key_refuses_a_log_signed_by_another(pair: tuple[Side, Side], tmp_path: Path) -> None:
    """``--key``: no trust on first use; a log under the name but signed by another key is refused."""
    a, b = pair
    publish(a, "1", b"one\n")
    real_key = a.vial("log-key", "--log", ORIGIN).stdout.strip()
    mallory = Side(tmp_path / "home-m", a.node)
    publish(mallory, "1", b"evil\n")
    forged = share(mallory)
    result = b.vial("follow", forged["name"], "--node", b.node.url, "--key", real_key, ok=False)
    assert result.exit_code != 0 and "not signed by the key this client trusts" in result.stderr
    assert not (b.home / "logs" / log_dirname(ORIGIN) / "checkpoint").exists()

    shared = share(a)
    wait_resolves(b, shared["name"], shared["cid"])
    followed = follow(b, shared["name"], "--key", real_key)
    assert followed["key_source"] == "pinned" and followed["size"] == 1


def test_release_whose_cid_holds_another_image_is_not_pulled(pair: tuple[Side, Side]) -> None:
    """The log is the authority: a CID that holds any other image is refused before the store changes."""
    a, b = pair
    store = Store(a.home)
    make_image(store, "real:1", [layer_tar({"v.txt": b"real\n"})])
    make_image(store, "other:1", [layer_tar({"v.txt": b"other\n"})])
    with KuboClient(a.node.url) as client:
        other_cid = str(pin(store, "other:1", client).cid)
    a.vial("publish", "real:1", "demo:1", "--cid", other_cid, "--log", ORIGIN)
    follow(b, share(a)["name"])
    result = b.vial("get", "demo:1", "--node", b.node.url, ok=False)
    message = result.stderr.strip()
    assert result.exit_code != 0 and message.count("\n") == 0
    assert "but the log records" in message and "not pulled" in message
    assert Store(b.home).names() == []


def test_get_without_followed_log(vial_home: Path) -> None:
    from click.testing import CliRunner

    from vial.cli import cli

    result = CliRunner().invoke(cli, ["get", "demo:1", "--node", "http://127.0.0.1:9"])
    assert result.exit_code != 0
    assert (
        result.stderr.strip()
        == "vial: error: demo:1: this VIAL_HOME follows no log and has none (vial follow IPNS-NAME)"
    )


def test_follow_over_a_loopback_dht(dht_pair: tuple[Side, Side]) -> None:
    """vial only asks the node to publish and resolve: a DHT among the peered nodes works as well."""
    a, b = dht_pair
    digest1, _ = publish(a, "1", b"one\n")
    shared = share(a)
    assert follow(b, shared["name"])["size"] == 1
    assert get(b, "demo:1")["manifest"] == digest1
    digest2, _ = publish(a, "2", b"two\n")
    shared2 = share(a)
    wait_resolves(b, shared["name"], shared2["cid"])
    assert follow(b, shared["name"])["trusted_before"] == 1
    assert get(b, "demo:2")["manifest"] == digest2


def test_a_follower_can_mirror_the_log(pair: tuple[Side, Side], tmp_path: Path) -> None:
    """B re-shares the log it follows under its own node's name; C follows B's copy, still checked
    against A's key (B cannot sign for A's log)."""
    a, b = pair
    digest, _ = publish(a, "1", b"one\n")
    follow(b, share(a)["name"])
    mirrored = share(b)
    assert mirrored["size"] == 1
    c = Side(tmp_path / "home-c", b.node)
    a_key = a.vial("log-key", "--log", ORIGIN).stdout.strip()
    followed = follow(c, mirrored["name"], "--key", a_key)
    assert followed["origin"] == ORIGIN and followed["size"] == 1
    assert get(c, "demo:1")["manifest"] == digest


def test_pull_name_version_and_cid_through_one_command(pair: tuple[Side, Side]) -> None:
    """``vial pull`` dispatches: NAME:VERSION (a followed release), a CID, an oci:// reference."""
    a, b = pair
    digest, cid = publish(a, "1", b"one\n")
    follow(b, share(a)["name"])
    pulled = b.vial_json("pull", "demo:1", "--node", b.node.url)
    assert pulled["manifest"] == digest and pulled["ref"] == "demo:1"
    assert b.vial_json("pull", f"ipfs://{cid}", "--node", b.node.url)["manifest"] == digest
    refused = b.vial("pull", "oci://127.0.0.1:9/lab/demo:1", "--node", b.node.url, ok=False)
    assert (
        refused.stderr.strip()
        == "vial: error: --node does not apply to registry reference oci://127.0.0.1:9/lab/demo:1"
    )
