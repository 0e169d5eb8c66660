"""Real processes: publishers killed with SIGKILL at random points, and publishers racing on one log.

Each publisher is a separate ``python -m log_publisher`` process (tests/registry/log/log_publisher.py)
writing to a store and log shared through ``VIAL_HOME``.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from vial.registry.log import merkle as tlog
from vial.registry.log.releases import ReleaseLog
from vial.store import Store

HERE = Path(__file__).parent
CRASH_RUNS = 50


def _spawn(home: Path, name: str, prefix: str, count: int, salt: str = "") -> subprocess.Popen[str]:
    """Start a publisher and wait until it is ready; it publishes only once told to (``_start``)."""
    env = dict(os.environ, PYTHONPATH=str(HERE), VIAL_HOME=str(home))
    args = [sys.executable, "-m", "log_publisher", str(home), name, prefix, str(count), "wait", salt]
    proc = subprocess.Popen(
        args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == "ready\n", (line, proc.stderr.read() if proc.stderr else "")
    return proc


def _start(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.close()


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The rest of a publisher's output, read through the same buffered pipe as ``readline``
    (``communicate`` would skip what that buffer already holds)."""
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    proc.wait()
    return out, err


def _published(output: str) -> dict[str, str]:
    """``NAME:VERSION -> digest`` for every release a publisher reported as committed."""
    out = {}
    for line in output.splitlines():
        if line.startswith("published "):
            _, ref, digest = line.split()
            out[ref] = digest
    return out


def _torn(home: Path) -> int:
    """1 if a killed publisher left an unfinished append behind (before any reader repairs it)."""
    log = ReleaseLog(home)
    storage = log.storage
    if not storage.directory.exists():
        return 0
    if any(p.name.startswith(".tmp-") for p in storage.directory.iterdir()):
        return 1
    head = log.read_head(log.verifier())
    expected = tlog.stored_hash_count(head.size) * tlog.HASH_SIZE
    hashes = storage.hashes_path.stat().st_size if storage.hashes_path.exists() else 0
    records = storage.records_path.stat().st_size if storage.records_path.exists() else 0
    end = storage.record_end(head.size)
    return int(hashes != expected or records != end)


def test_publisher_killed_at_random_points_leaves_a_valid_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rng = random.Random(20261121)
    committed: dict[str, str] = {}
    sizes = []
    torn = 0
    minimum = 0
    for run in range(CRASH_RUNS):
        proc = _spawn(home, "crash", str(run), 1000)
        _start(proc)
        # Let it commit 0-2 releases (so the log surely grows), then kill it at a random moment.
        seen = "".join(proc.stdout.readline() for _ in range(rng.randrange(3)))  # type: ignore[union-attr]
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        out, _ = _finish(proc)
        out = seen + out
        assert proc.returncode == -signal.SIGKILL
        reported = _published(out)
        minimum += len(reported)
        committed.update(reported)
        torn += _torn(home)
        # The log verifies in full, every reported release is in it, the store is readable.
        log = ReleaseLog(home)
        report = log.audit()
        head = log.head()
        found = {f"{r.release.name}:{r.release.version}": r.release.manifest_digest for r in log.releases(head)}
        assert committed.items() <= found.items(), f"run {run}: a committed release is missing"
        assert len(found) - len(committed) <= 1, f"run {run}: more than the in-flight release appeared"
        committed = found
        store = Store(home)
        for _, descriptor in store.names():
            store.image(descriptor.digest)
        sizes.append(report.size)
    assert sizes == sorted(sizes) and sizes[-1] >= minimum
    # How many kills interrupted an append (bytes past the checkpoint, or a half-written temporary),
    # left for the next publisher to clear: shown with -s. (Each such state is also forced in
    # test_log_crash_points.py, deterministically.)
    print(f"{CRASH_RUNS} kills, {torn} inside an append, {sizes[-1]} releases committed")
    # And the log takes new releases afterwards, from a fresh publisher.
    proc = _spawn(home, "crash", "after", 2)
    _start(proc)
    out, err = _finish(proc)
    assert proc.returncode == 0 and len(_published(out)) == 2, err
    assert ReleaseLog(home).audit().size == sizes[-1] + 2


def test_concurrent_publishers_keep_every_release(tmp_path: Path) -> None:
    home = tmp_path / "home"
    procs = [_spawn(home, "race", str(p), 15) for p in range(3)]
    for proc in procs:
        _start(proc)
    # Meanwhile this process reads the log as a client sharing the same trusted checkpoint.
    log = ReleaseLog(home)
    reads = 0
    while any(proc.poll() is None for proc in procs):
        head = log.head()
        if head.size:
            log.prove(head, head.size - 1)
        reads += 1
    reported: dict[str, str] = {}
    for proc in procs:
        out, err = _finish(proc)
        assert proc.returncode == 0, err
        reported.update(_published(out))
    assert len(reported) == 45 and reads > 0
    assert log.audit().size == 45
    head = log.head()
    releases = list(log.releases(head))
    assert {f"{r.release.name}:{r.release.version}": r.release.manifest_digest for r in releases} == reported
    # Each release points at the one logged just before it under the same name.
    for before, after in itertools.pairwise(releases):
        assert after.release.previous is not None and after.release.previous.index == before.index


def _go(procs: list[subprocess.Popen[str]]) -> list[str]:
    for proc in procs:
        _start(proc)
    outputs = []
    for proc in procs:
        out, err = _finish(proc)
        assert proc.returncode == 0, err
        outputs.append(out)
    return outputs


def test_racing_publishers_of_one_version_agree_on_one_winner(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # Two publishers race to publish dup:1.0 .. dup:1.9, each with its own content.
    outputs = _go([_spawn(home, "dup", "1", 10, salt=salt) for salt in ("a", "b")])
    won = [_published(out) for out in outputs]
    lost = [{line.split()[1] for line in out.splitlines() if line.startswith("conflict ")} for out in outputs]
    assert won[0].keys() | won[1].keys() == {f"dup:1.{i}" for i in range(10)}
    assert not won[0].keys() & won[1].keys()
    assert lost[0] == set(won[1]) and lost[1] == set(won[0])
    log = ReleaseLog(home)
    assert log.audit().size == 10
    head = log.head()
    assert {f"{r.release.name}:{r.release.version}": r.release.manifest_digest for r in log.releases(head)} == {
        **won[0],
        **won[1],
    }
    # Identical content from two racing publishers is one release, published by whoever came first.
    outputs = _go([_spawn(home, "same", "1", 5) for _ in range(2)])
    assert all(len(_published(out)) == 5 for out in outputs)
    assert log.audit().size == 15
