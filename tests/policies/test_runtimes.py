"""Both runtimes run the verified image the same way: read-only root, inputs read-only, outputs
read-write, no network, the image's environment, exit codes passed through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

VIAL = str(Path(sys.executable).parent / "vial")

SCRIPT = (
    "cat /etc/motd; cat /in/data.txt; echo $GREETING; "
    "touch /etc/x 2>/dev/null && echo root-writable || echo root-read-only; "
    "touch /in/y 2>/dev/null && echo input-writable || echo input-read-only; "
    "echo result > /outputs/result.txt; "
    "echo interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '); "
    "exit 3"
)


def _run(world, runtime: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    import os

    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "data.txt").write_text("input data\n")
    outputs = tmp_path / f"out-{runtime}"
    return subprocess.run(
        [
            VIAL,
            "-q",
            "run",
            "demo:1.0.0",
            "--policy",
            str(world.policy),
            "--runtime",
            runtime,
            "--input",
            f"{tmp_path / 'in'}:/in",
            "--outputs",
            str(outputs),
            "-e",
            "GREETING=hello",
            *extra,
            "--",
            "sh",
            "-c",
            SCRIPT,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )


@pytest.mark.docker
def test_docker_and_bwrap_give_the_same_results(world, docker_client, bwrap, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = {runtime: _run(world, runtime, tmp_path) for runtime in ("docker", "bwrap")}
    for runtime, process in results.items():
        assert process.returncode == 3, (runtime, process.stderr)
        assert process.stdout.splitlines() == [
            "verified",
            "input data",
            "hello",
            "root-read-only",
            "input-read-only",
            "interfaces: lo",
        ], (runtime, process.stdout)
        assert (tmp_path / f"out-{runtime}" / "result.txt").read_text() == "result\n"
    assert results["docker"].stdout == results["bwrap"].stdout


def test_bwrap_writable_root_and_limits(world, bwrap, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    process = _run(world, "bwrap", tmp_path, "--writable-root", "--memory", "256m")
    assert "root-writable" in process.stdout and process.returncode == 3
    process = _run(world, "bwrap", tmp_path, "--cpus", "1")
    assert process.returncode == 1 and "vial: error: --cpus needs cgroups" in process.stderr
