"""IPIP-499 test vectors: vial's CIDs without any node, for both profiles.

The inputs are made exactly as Kubo's test suite makes them (tests/registry/ipfs/detdata.py), and the CIDs
are those published in the IPIP-499 spec and in Kubo's cid_profiles test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.registry.ipfs.detdata import DeterministicReader, make_names_dir
from vial.registry.ipfs.unixfs import Importer

MIB = 1 << 20
KIB = 1 << 10

FILES = [
    ("unixfs-v1-2025", 1 * MIB, "chunk-v1-seed", "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta"),
    ("unixfs-v1-2025", 1 * MIB + 1, "chunk-v1-seed", "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64"),
    ("unixfs-v1-2025", 1024 * MIB, "v1-2025-seed", "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm"),
    ("unixfs-v1-2025", 1024 * MIB + 1, "v1-2025-seed", "bafybeibdsi225ugbkmpbdohnxioyab6jsqrmkts3twhpvfnzp77xtzpyhe"),
    ("unixfs-v1-2025", 1025 * MIB, "v1-2025-seed", "bafybeihmzokxxjqwxjcryerhp5ezpcog2wcawfryb2xm64xiakgm4a5jue"),
    ("unixfs-v0-2015", 256 * KIB, "chunk-v0-seed", "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE"),
    ("unixfs-v0-2015", 256 * KIB + 1, "chunk-v0-seed", "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ"),
    ("unixfs-v0-2015", 174 * 256 * KIB, "v0-seed", "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2"),
    ("unixfs-v0-2015", 174 * 256 * KIB + 1, "v0-seed", "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW"),
    ("unixfs-v0-2015", 175 * 256 * KIB, "v0-seed", "QmepeWtdmS1hHXx1oZXsPUv6bMrfRRKfZcoPPU4eEfjnbf"),
]

DIRS = [
    (
        "unixfs-v1-2025",
        4766,
        11,
        21,
        "hamt-unixfs-v1-2025",
        "bafybeic3h7rwruealwxkacabdy45jivq2crwz6bufb5ljwupn36gicplx4",
    ),
    (
        "unixfs-v1-2025",
        4766,
        11,
        22,
        "hamt-unixfs-v1-2025",
        "bafybeiegvuterwurhdtkikfhbxcldohmxp566vpjdofhzmnhv6o4freidu",
    ),
    ("unixfs-v0-2015", 4096, 30, 30, "hamt-unixfs-v0-2015", "QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN"),
    ("unixfs-v0-2015", 4033, 31, 31, "hamt-unixfs-v0-2015", "QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP"),
]


@pytest.mark.parametrize(
    ("profile", "data", "expected"),
    [
        ("unixfs-v1-2025", b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
        ("unixfs-v0-2015", b"hello world", "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"),
        ("unixfs-v1-2025", b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
        ("unixfs-v0-2015", b"", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    ],
)
def test_small_file_vectors(profile: str, data: bytes, expected: str) -> None:
    with Importer(profile) as importer:
        assert str(importer.add_bytes(data).cid) == expected


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("unixfs-v1-2025", "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"),
        ("unixfs-v0-2015", "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"),
    ],
)
def test_empty_directory_vectors(tmp_path: Path, profile: str, expected: str) -> None:
    with Importer(profile) as importer:
        assert str(importer.add_path(tmp_path).cid) == expected


@pytest.mark.parametrize(
    ("profile", "size", "seed", "expected"),
    [pytest.param(*f, marks=[pytest.mark.slow] if f[1] >= 1024 * MIB else []) for f in FILES],
    ids=[f"{p}-{s}" for p, s, _, _ in FILES],
)
def test_file_vectors(profile: str, size: int, seed: str, expected: str) -> None:
    with Importer(profile) as importer:
        assert str(importer.add_stream(DeterministicReader(size, seed)).cid) == expected


@pytest.mark.parametrize(
    ("profile", "count", "name_len", "last_len", "seed", "expected"), DIRS, ids=[f"{d[0]}-{d[3]}" for d in DIRS]
)
def test_hamt_threshold_vectors(
    tmp_path: Path, profile: str, count: int, name_len: int, last_len: int, seed: str, expected: str
) -> None:
    directory = make_names_dir(tmp_path / "dir", count, name_len, last_len, seed)
    with Importer(profile) as importer:
        assert str(importer.add_path(directory).cid) == expected


def test_memory_stays_flat_on_a_large_stream() -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        with Importer("unixfs-v1-2025") as importer:
            importer.add_stream(DeterministicReader(768 * MIB, "flat-memory"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 * MIB, f"peak {peak / MIB:.1f} MiB while importing 768 MiB"


def test_cli_cid_prints_the_cid_alone(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    import vial.cli.ipfs_cmds  # noqa: F401
    from vial.cli import cli

    (tmp_path / "hello.txt").write_bytes(b"hello world")
    runner = CliRunner()
    plain = runner.invoke(cli, ["cid", str(tmp_path / "hello.txt")])
    assert plain.exit_code == 0 and plain.stdout == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e\n"
    legacy = runner.invoke(cli, ["cid", "--profile", "unixfs-v0-2015", str(tmp_path / "hello.txt")])
    assert legacy.stdout == "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD\n"
    as_json = json.loads(runner.invoke(cli, ["cid", "--json", str(tmp_path)]).stdout)
    assert as_json["profile"] == "unixfs-v1-2025" and as_json["cid"].startswith("bafybei")
    bad = runner.invoke(cli, ["cid", "--profile", "nope", str(tmp_path)])
    assert bad.exit_code == 2 and "nope" in bad.stderr
