"""Shared test fixtures.

Real services are required where a user would use them. Outside CI a missing service skips the
test with the reason; in CI (``CI=true``) it fails, never skips.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
IN_CI = os.environ.get("CI") == "true"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def service_missing() -> Callable[[str], None]:
    """Call with a reason when a real service is unavailable: skip locally, fail in CI."""
    return _missing


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (fixtures read in place, never copied)."""
    if not SHARED.is_dir():
        _missing(f"{SHARED} is absent")
    return SHARED


@pytest.fixture()
def vial_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, isolated store for one test."""
    home = tmp_path / "vial-home"
    monkeypatch.setenv("VIAL_HOME", str(home))
    return home
