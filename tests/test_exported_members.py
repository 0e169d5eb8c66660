"""The public API: every exported name resolves, is documented, and ``import vial`` stays cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import vial
import vial.api

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"
HEAVY = ("sigstore", "docker", "rich", "httpx")


def test_all_names_resolve_and_have_docstrings() -> None:
    for name in vial.__all__:
        if name == "__version__":
            continue
        member = getattr(vial, name)
        assert member.__doc__, f"vial.{name} has no docstring"


def test_all_names_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in vial.__all__:
        if name != "__version__":
            assert f"`{name}" in text, f"vial.{name} is not in docs/api.md"


def test_vial_exports_what_vial_api_exports() -> None:
    assert set(vial.__all__) - {"__version__"} == set(vial.api.__all__)
    for name in vial.api.__all__:
        if name != "attest":  # the callable package vial.attest (vial.api.attest is the function)
            assert getattr(vial, name) is getattr(vial.api, name)
    assert callable(vial.attest)


def test_every_public_name_of_vial_api_is_exported() -> None:
    public = {
        name
        for name, value in vars(vial.api).items()
        if not name.startswith("_") and not (type(value) is type(sys) and value.__name__.startswith("vial.api."))
    }
    assert public <= set(vial.api.__all__), public - set(vial.api.__all__)


def test_help_lists_the_facade() -> None:
    import pydoc

    text = pydoc.render_doc(vial, renderer=pydoc.plaintext)
    for name in ("lock", "build", "sign", "verify", "run", "pin", "pull", "push", "publish"):
        assert f"\n    {name}(" in text, name
    assert "Sign image ``ref``'s SLSA provenance" in text


def test_import_vial_is_cheap() -> None:
    code = f"import sys, vial; print([m for m in {HEAVY!r} if m in sys.modules or any(k.startswith(m + '.') for k in sys.modules)])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
