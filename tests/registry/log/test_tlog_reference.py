"""vial's Merkle proofs, checkpoints and signed notes agree with independent references:
Go's golang.org/x/mod/sumdb/tlog and sumdb/note (run via ``go run``), and the RFC 6962
(Certificate Transparency) test vectors."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vial.registry.log import merkle as tlog
from vial.registry.log.note import Checkpoint, NoteError, Signer, Verifier, open_note, sign_note

GOCHECK = Path(__file__).parent / "gocheck"
N = 40  # every tree size 1..N, every record and every earlier size


def _records() -> list[bytes]:
    return [f"record {i}".encode() * (i % 3 + 1) for i in range(N)]


def _python_log(records: list[bytes]) -> tuple[list[bytes], tlog.HashReader]:
    stored: list[bytes] = []

    def read(indexes: Any) -> list[bytes]:
        return [stored[i] for i in indexes]

    for n, data in enumerate(records):
        assert len(stored) == tlog.stored_hash_index(0, n)
        stored += tlog.stored_hashes_for_leaf(n, tlog.leaf_hash(data), read)
    return stored, read


def _go() -> str | None:
    return shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)


@pytest.fixture(scope="module")
def go_answer(service_missing: Callable[[str], None]) -> dict[str, Any]:
    go = _go()
    if go is None:
        service_missing("the Go toolchain (go) is not installed")
    signer = Signer.from_seed("vial.test/log", bytes(range(32)))
    request = {
        "records": [base64.b64encode(r).decode() for r in _records()],
        "vial_note": {
            "vkey": signer.verifier().to_key(),
            "signed": base64.b64encode(sign_note("vial.test/log\n3\nAAAA\n", signer)).decode(),
        },
        "go_sign": {"name": "go.test/log", "seed": "vial", "text": "go.test/log\n7\nhello\n"},
    }
    env = dict(os.environ, GOFLAGS="-mod=readonly -buildvcs=false")
    done = subprocess.run(
        [go, "run", "."], cwd=GOCHECK, input=json.dumps(request).encode(), capture_output=True, env=env, timeout=300
    )
    if done.returncode != 0:
        pytest.fail(f"go run failed: {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout)


def test_tree_hashes_and_storage_match_go(go_answer: dict[str, Any]) -> None:
    _, read = _python_log(_records())
    assert [tlog.stored_hash_count(t) for t in range(N + 1)] == go_answer["stored_count"]
    assert [tlog.tree_hash(t, read).hex() for t in range(N + 1)] == go_answer["roots"]
    leaves = [tlog.leaf_hash(r) for r in _records()]
    assert [tlog.root_from_leaves(leaves[:t]).hex() for t in range(N + 1)] == go_answer["roots"]


def test_inclusion_proofs_match_go_and_verify(go_answer: dict[str, Any]) -> None:
    _, read = _python_log(_records())
    leaves = [tlog.leaf_hash(r) for r in _records()]
    checked = 0
    for t in range(1, N + 1):
        root = bytes.fromhex(go_answer["roots"][t])
        for n in range(t):
            proof = tlog.inclusion_proof(n, t, read)
            assert [h.hex() for h in proof] == go_answer["inclusion"][f"{n},{t}"], (n, t)
            tlog.verify_inclusion(n, t, leaves[n], proof, root)
            checked += 1
    assert checked == N * (N + 1) // 2


def test_consistency_proofs_match_go_and_verify(go_answer: dict[str, Any]) -> None:
    _, read = _python_log(_records())
    for t in range(1, N + 1):
        for m in range(1, t + 1):
            proof = tlog.consistency_proof(m, t, read)
            assert [h.hex() for h in proof] == go_answer["consistency"][f"{m},{t}"], (m, t)
            tlog.verify_consistency(
                m, t, bytes.fromhex(go_answer["roots"][m]), bytes.fromhex(go_answer["roots"][t]), proof
            )


def test_go_verifies_vial_note(go_answer: dict[str, Any]) -> None:
    signer = Signer.from_seed("vial.test/log", bytes(range(32)))
    assert go_answer["vial_note"]["error"] == ""
    assert go_answer["vial_note"]["text"] == "vial.test/log\n3\nAAAA\n"
    assert go_answer["vial_note"]["verified"] == [f"vial.test/log+{signer.key_hash:08x}"]


def test_vial_reads_go_keys_and_notes(go_answer: dict[str, Any]) -> None:
    signed = go_answer["go_signed"]
    signer = Signer.from_key(signed["skey"])
    assert signer.to_key() == signed["skey"]
    assert signer.verifier().to_key() == signed["vkey"]
    verifier = Verifier.from_key(signed["vkey"])
    note = open_note(signed["signed"].encode(), [verifier])
    assert note.text == "go.test/log\n7\nhello\n" and note.verified == ("go.test/log",)
    # Ed25519 is deterministic: vial signing the same text with Go's key gives Go's bytes.
    assert sign_note(note.text, signer) == signed["signed"].encode()
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(signed["signed"].replace("hello", "hullo").encode(), [verifier])


def test_checkpoint_format_matches_go_tree_note(go_answer: dict[str, Any]) -> None:
    root = bytes.fromhex(go_answer["roots"][N])
    checkpoint = Checkpoint("go.sum database tree", N, root)
    assert checkpoint.to_text() == go_answer["tree_note"]
    assert Checkpoint.from_text(go_answer["tree_note"]) == checkpoint


# RFC 6962 test vectors, as used by Certificate Transparency and transparency-dev implementations.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def test_rfc6962_test_vectors() -> None:
    _, read = _python_log(CT_LEAVES)
    for size, root in CT_ROOTS.items():
        assert tlog.tree_hash(size, read).hex() == root
    assert tlog.empty_root().hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_tampered_proofs_are_rejected() -> None:
    records = _records()
    _, read = _python_log(records)
    leaves = [tlog.leaf_hash(r) for r in records]
    root = tlog.tree_hash(N, read)
    proof = tlog.inclusion_proof(5, N, read)
    for bad in (proof[:-1], [*proof, proof[0]], [proof[1], proof[0], *proof[2:]], [bytes(32), *proof[1:]]):
        with pytest.raises(tlog.ProofError):
            tlog.verify_inclusion(5, N, leaves[5], bad, root)
    with pytest.raises(tlog.ProofError):
        tlog.verify_inclusion(6, N, leaves[5], proof, root)
    old = tlog.tree_hash(13, read)
    proof = tlog.consistency_proof(13, N, read)
    tlog.verify_consistency(13, N, old, root, proof)
    with pytest.raises(tlog.ProofError, match="old root"):
        tlog.verify_consistency(13, N, tlog.tree_hash(12, read), root, proof)
    with pytest.raises(tlog.ProofError):
        tlog.verify_consistency(13, N, old, root, proof[:-1])
    with pytest.raises(tlog.ProofError, match="rollback"):
        tlog.verify_consistency(N, 13, root, old, [])
