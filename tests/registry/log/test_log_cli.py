"""The log commands as a user runs them: ``vial publish``, ``log``, ``show``, ``diff``, ``log-key``,
``log-verify``, in text and ``--json``, with failures as one ``vial: error:`` line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import vial.cli.log_cmds  # noqa: F401 - registers the commands on the group
from vial.cli import cli
from vial.oci import Descriptor
from vial.store import Store

MakeImage = Callable[..., Descriptor]


def _vial(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _lock(
    debian: dict[str, str], python: dict[str, str], files: dict[str, bytes], base: str = "debian:bookworm"
) -> dict[str, Any]:
    import hashlib

    return {
        "lock_version": 1,
        "inputs": {"base": base},
        "debian": [
            {
                "name": n,
                "version": v,
                "architecture": "amd64",
                "sha256": hashlib.sha256(f"{n}{v}".encode()).hexdigest(),
                "size": 100,
                "filename": f"pool/main/{n}.deb",
            }
            for n, v in debian.items()
        ],
        "python": [
            {
                "name": n,
                "version": v,
                "wheel": f"{n}-{v}-py3-none-any.whl",
                "sha256": hashlib.sha256(f"{n}{v}".encode()).hexdigest(),
                "url": f"https://files.example/{n}-{v}.whl",
            }
            for n, v in python.items()
        ],
        "files": [
            {"path": p, "kind": "code", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for p, data in files.items()
        ],
    }


def test_publish_log_show_and_verify(vial_home: Path, store: Store, image: MakeImage) -> None:
    first, second = image(b"v1"), image(b"v2")
    result = _vial("publish", first.digest, "demo:1.0", "--cid", "bafyone")
    assert result.exit_code == 0 and result.output.startswith(f"published demo:1.0 {first.digest}")
    assert "already published" in _vial("publish", first.digest, "demo:1.0").output
    data = json.loads(_vial("publish", second.digest, "demo:1.1", "--json").output)
    assert data["created"] and data["index"] == 1 and data["checkpoint"]["size"] == 2
    assert data["release"]["previous"]["version"] == "1.0"

    refused = _vial("publish", second.digest, "demo:1.0")
    assert refused.exit_code == 1
    assert (
        refused.output
        == f"vial: error: demo:1.0 is already published as {first.digest} (log vial.local/releases, record 0); "
        "a version never changes, publish a new one\n"
    )

    text = _vial("log", "demo").output.splitlines()
    assert text[0].split() == ["VERSION", "DIGEST", "CID", "PUBLISHED", "SIGNER", "RECORD"]
    assert text[1].split()[:3] == ["1.0", first.digest[:19], "bafyone"]
    assert "2 inclusion proofs verified" in text[-1]
    history = json.loads(_vial("log", "demo", "--json").output)
    assert [r["release"]["version"] for r in history["releases"]] == ["1.0", "1.1"]
    assert history["checkpoint"]["note"].startswith("vial.local/releases\n2\n")

    shown = json.loads(_vial("show", "demo:1.1", "--json").output)
    assert shown["verified"] and shown["index"] == 1 and shown["release"]["manifest_digest"] == second.digest
    assert len(shown["inclusion_proof"]) == 1
    assert "inclusion:    verified (1 hashes)" in _vial("show", "demo:1.1").output

    key = _vial("log-key").output.strip()
    assert key.startswith("vial.local/releases+") and key.count("+") >= 2
    assert _vial("log-trust", key).output == f"log vial.local/releases: trusting {key}\n"
    assert json.loads(_vial("log-key", "--json").output)["verifier_key"] == key
    assert json.loads(_vial("log-verify", "--json").output) == {
        "names": {"demo": 2},
        "ok": True,
        "origin": "vial.local/releases",
        "root_hash": history["checkpoint"]["root_hash"],
        "size": 2,
        "trusted_before": 2,
    }
    assert "consistent with the checkpoint trusted before (size 2)" in _vial("log-verify").output


def test_errors_are_one_line(vial_home: Path, store: Store, image: MakeImage) -> None:
    assert _vial("show", "demo:9").output == "vial: error: demo:9 is not published in log vial.local/releases\n"
    assert _vial("publish", "nothing:here", "demo:1").output.startswith("vial: error: nothing:here: no such image")
    assert _vial("publish", image(b"x").digest, "Demo:1").output.startswith("vial: error: release name 'Demo'")
    assert _vial("publish", image(b"x").digest, "demo").output == "vial: error: 'demo': expected NAME:VERSION\n"
    log = vial_home / "logs"
    _vial("publish", image(b"x").digest, "demo:1")
    records = next(log.iterdir()) / "records"
    records.write_bytes(records.read_bytes().replace(b'"version":"1"', b'"version":"2"'))
    result = _vial("show", "demo:2")
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "root hash does not match" in result.output
    assert "do not hash to the signed root" in _vial("log-verify").output


def test_diff_packages_files_env_and_cmd(vial_home: Path, store: Store, image: MakeImage) -> None:
    old = image(
        b"old",
        env=("PATH=/usr/bin", "MODE=fast"),
        cmd=("python", "run.py"),
        lock=_lock(
            {"libc6": "2.36-9", "curl": "7.88.1-10", "gone": "1.0"},
            {"numpy": "1.26.4", "requests": "2.31.0"},
            {"run.py": b"print(1)\n", "old.txt": b"old"},
        ),
    )
    new = image(
        b"new",
        env=("PATH=/usr/bin", "MODE=slow", "SEED=1"),
        cmd=("python", "main.py"),
        lock=_lock(
            {"libc6": "2.36-9+deb12u4", "curl": "7.74.0-1", "fresh": "2.0"},
            {"numpy": "2.1.0", "pandas": "2.2.3"},
            {"run.py": b"print(2)\nprint(3)\n", "new.txt": b"new!"},
            base="debian:trixie",
        ),
    )
    _vial("publish", old.digest, "demo:1")
    _vial("publish", new.digest, "demo:2")
    data = json.loads(_vial("diff", "demo:1", "demo:2", "--json").output)
    assert data["a"]["digest"] == old.digest and data["b"]["build_record"] is True
    assert data["base"] == [{"field": "base", "old": "debian:bookworm", "new": "debian:trixie"}]
    assert {(c["name"], c["change"]) for c in data["debian"]} == {
        ("libc6", "upgraded"),
        ("curl", "downgraded"),
        ("gone", "removed"),
        ("fresh", "added"),
    }
    assert {(c["name"], c["change"], c["old"], c["new"]) for c in data["python"]} == {
        ("numpy", "upgraded", "1.26.4", "2.1.0"),
        ("requests", "removed", "2.31.0", None),
        ("pandas", "added", None, "2.2.3"),
    }
    files = {f["path"]: (f["change"], f["old_size"], f["new_size"]) for f in data["files"]}
    assert files == {"run.py": ("changed", 9, 18), "old.txt": ("removed", 3, None), "new.txt": ("added", None, 4)}
    assert {(c["name"], c["change"]) for c in data["env"]} == {("MODE", "changed"), ("SEED", "added")}
    assert {"field": "cmd", "old": ["python", "run.py"], "new": ["python", "main.py"]} in data["config"]
    text = _vial("diff", "demo:1", "demo:2").output
    assert "python ~ numpy 1.26.4 -> 2.1.0 (upgraded)" in text
    assert "file ~ run.py (9 -> 18 bytes)" in text
    assert "debian + fresh 2.0" in text
    # Identical versions, and an image without a build record (config-only diff), by digest.
    assert "identical images" in _vial("diff", "demo:1", old.digest).output
    bare = image(b"bare", cmd=("sh",))
    data = json.loads(_vial("diff", "demo:2", bare.digest, "--json").output)
    assert data["debian"] == [] and data["b"]["build_record"] is False
    assert "no build record for" in data["notes"][0]
    assert any(c["field"] == "cmd" for c in data["config"])


def test_release_proof_verifies_offline(
    tmp_path: Path, vial_home: Path, store: Store, image: MakeImage, monkeypatch: Any
) -> None:
    for version in ("1", "2", "3"):
        _vial("publish", image(version.encode()).digest, f"demo:{version}")
    key = _vial("log-key").output.strip()
    bundle = tmp_path / "demo-2.json"
    bundle.write_text(_vial("show", "demo:2", "--json").output)
    # Anyone with the bundle and the key can check it: no store, no log, no trusted checkpoint.
    monkeypatch.setenv("VIAL_HOME", str(tmp_path / "elsewhere"))
    result = _vial("verify-release", str(bundle), "--key", key)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("verified: demo:2 sha256:") and "is record 1 of 3" in result.output
    data = json.loads(bundle.read_text())
    data["release"]["manifest_digest"] = "sha256:" + "0" * 64
    bundle.write_text(json.dumps(data))
    forged = _vial("verify-release", str(bundle), "--key", key)
    assert forged.exit_code == 1 and "root hash does not match" in forged.output
    other_key = "vial.local/releases+00000000+" + key.split("+", 2)[2]  # base64 may hold "+"
    assert "key hash does not match" in _vial("verify-release", str(bundle), "--key", other_key).output
    assert not (tmp_path / "elsewhere").exists()
