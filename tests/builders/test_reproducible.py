"""Reproducibility: the same inputs give the same manifest digest, whatever the build conditions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from buildhelpers import Built, build_example, run_vial

pytestmark = [pytest.mark.mmdebstrap, pytest.mark.slow]


@pytest.mark.parametrize("example", ["longley-ols", "mtcars-lm"])
def test_same_digest_under_different_conditions(
    example: str, built_examples: dict[str, Built], tmp_path: Path, download_cache: Path
) -> None:
    first = built_examples[example]
    # Condition B: another directory and store, umask, time zone, locale, file mtimes and creation order.
    second = build_example(
        example,
        tmp_path,
        download_cache,
        seed=2,
        mtime=time.time() - 86400 * 400,
        umask=0o077,
        tz="Pacific/Kiritimati",
        lang="de_DE.UTF-8",
    )
    assert second.project != first.project and second.home != first.home
    assert second.layers == first.layers
    assert second.digest == first.digest

    # Third build, one data file changed: only the data layer (and config, manifest) change.
    data_file = next((second.project / "data").iterdir())
    with open(data_file, "a", encoding="utf-8") as handle:
        handle.write("\n")
    process = run_vial(["-q", "build", "--json", str(second.project)], second.home)
    third = json.loads(process.stdout)
    assert third["digest"] != first.digest
    kinds = [layer["builder"] for layer in third["layer_details"]]
    changed = [kind for kind, a, b in zip(kinds, first.layers, third["layers"], strict=True) if a != b]
    assert changed == ["files:data"]
    assert third["rebuilt"] == ["files:data"]
    assert third["config"] != first.result["config"]


def test_warm_rebuild_rebuilds_nothing(built_examples: dict[str, Built]) -> None:
    built = built_examples["longley-ols"]
    process = run_vial(["-q", "build", "--locked", "--json", str(built.project)], built.home)
    result = json.loads(process.stdout)
    assert result["digest"] == built.digest
    assert result["rebuilt"] == []
