"""Imports point one way: CLI -> API -> parts -> core (README "Layout", docs/architecture.md).

The check reads every import statement in the source tree (module level and inside functions, since
lazy imports are imports too) and fails on:

* the core (``vial.*`` outside ``vial.cli`` and ``vial.api``) importing a part, the API or the CLI;
* a part importing another part that the table below does not allow, the API or the CLI;
* the API importing the CLI;
* a cycle between parts.

The façade ``vial/__init__.py`` loads ``vial.api`` lazily (PEP 562) and counts as the API layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Source folder -> import prefix (pyproject package-dir).
SOURCE_ROOTS: dict[str, str] = {
    "vial": "vial",
    "attest": "vial.attest",
    "builders": "vial.builders",
    "policies": "vial.policies",
    "registry": "vial.registry",
}
PARTS = ("attest", "builders", "policies", "registry")
# Which parts each part may import (besides the core). Keep in step with docs/architecture.md.
ALLOWED_PARTS: dict[str, frozenset[str]] = {
    "attest": frozenset(),
    "builders": frozenset(),
    "registry": frozenset(),
    "policies": frozenset({"attest", "registry"}),
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    importer: str
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}: {self.reason}"


def layer_of(module: str) -> str:
    """``core``, ``api``, ``cli`` or a part's name, for a module under ``vial``."""
    parts = module.split(".")
    if parts[0] != "vial":
        return "external"
    if len(parts) == 1:
        return "api"  # the façade: vial/__init__.py
    if parts[1] in PARTS:
        return parts[1]
    if parts[1] in ("api", "cli"):
        return parts[1]
    return "core"


def module_name(root: Path, path: Path) -> str | None:
    relative = path.relative_to(root)
    top = relative.parts[0]
    if top not in SOURCE_ROOTS:
        return None
    inner = [p for p in relative.with_suffix("").parts[1:] if p != "__init__"]
    if top == "vial" and inner and inner[0] in PARTS:
        return None  # not a source folder of vial's core (a part lives at the top level)
    return ".".join([SOURCE_ROOTS[top], *inner])


def imports_of(path: Path, module: str, modules: frozenset[str] = frozenset()) -> Iterable[tuple[int, str]]:
    """Every module ``path`` imports (absolute or relative), with its line.

    ``from P import n`` imports the module ``P.n`` when that is one of ``modules``, else a name of ``P``
    (so ``from vial import strictjson`` is the core module, ``from vial import build`` the façade)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield node.lineno, submodule if submodule in modules else target


def check_tree(root: Path) -> tuple[list[Violation], dict[str, set[str]]]:
    """The violations in the tree at ``root`` and the part-to-part import graph."""
    violations: list[Violation] = []
    graph: dict[str, set[str]] = {part: set() for part in PARTS}
    sources = [(path, module_name(root, path)) for top in SOURCE_ROOTS for path in sorted((root / top).rglob("*.py"))]
    modules = frozenset(module for _, module in sources if module is not None)
    for path, module in sources:
        if module is None:
            continue
        importer = layer_of(module)
        seen: set[tuple[int, str]] = set()
        for line, target in imports_of(path, module, modules):
            imported = layer_of(target)
            if imported == "external" or imported == importer or (line, imported) in seen:
                continue
            seen.add((line, imported))
            reason = _forbidden(importer, imported)
            if importer in PARTS and imported in PARTS:
                graph[importer].add(imported)
            if reason:
                violations.append(Violation(str(path.relative_to(root)), line, module, target, reason))
    for cycle in _cycles(graph):
        violations.append(Violation("-", 0, cycle[0], cycle[-1], "cycle between parts: " + " -> ".join(cycle)))
    return violations, graph


def _forbidden(importer: str, imported: str) -> str | None:
    if imported == "cli":
        return "nothing imports the CLI"
    if importer == "core":
        return "the core imports no part, no API and no CLI"
    if importer in PARTS:
        if imported == "api":
            return "a part does not import the API layer"
        if imported in PARTS and imported not in ALLOWED_PARTS[importer]:
            return f"{importer} may import only the core and {sorted(ALLOWED_PARTS[importer]) or 'no other part'}"
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = [*path[path.index(nxt) :], nxt]
                if min(cycle[:-1]) == cycle[0]:  # report each cycle once, from its smallest member
                    found.append(cycle)
            else:
                walk(nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_imports_point_one_way() -> None:
    violations, _ = check_tree(REPO)
    assert not violations, "forbidden imports:\n" + "\n".join(map(str, violations))


def test_the_part_graph_is_the_documented_one() -> None:
    _, graph = check_tree(REPO)
    for part, imported in graph.items():
        assert imported <= ALLOWED_PARTS[part], (part, imported)
    # The architecture document names each allowed edge; keep the two in step.
    architecture = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for part, allowed in ALLOWED_PARTS.items():
        for other in allowed:
            assert f"`{part}` -> `{other}`" in architecture, f"docs/architecture.md does not name {part} -> {other}"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_check_catches_each_kind_of_forbidden_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "vial/__init__.py": "",
            "vial/store.py": "from vial.registry.ipfs import cid\n",  # core -> part
            "vial/errors.py": "def f():\n    import vial.cli.output\n",  # core -> CLI, lazily
            "vial/cli/__init__.py": "from vial.store import Store\n",  # fine
            "attest/__init__.py": "",
            "attest/sign.py": "from vial.policies.model import policy\n",  # attest -> policies
            "registry/__init__.py": "",
            "registry/x.py": "from vial.cli import output\n",  # part -> CLI
            "builders/__init__.py": "",
            "builders/y.py": "from vial import api\n",  # part -> API
            "policies/__init__.py": "",
            "policies/z.py": "from vial.attest.sign import sign\nfrom vial.registry import x\n",  # allowed
            "policies/w.py": "from ..builders import y\n",  # relative: policies -> builders
        },
    )
    violations, graph = check_tree(root)
    found = {(v.path, v.reason.split(":")[0]) for v in violations}
    assert ("vial/store.py", "the core imports no part, no API and no CLI") in found
    assert ("vial/errors.py", "nothing imports the CLI") in found
    assert ("attest/sign.py", "attest may import only the core and no other part") in found
    assert ("registry/x.py", "nothing imports the CLI") in found
    assert ("builders/y.py", "a part does not import the API layer") in found
    assert any(v.path == "policies/w.py" for v in violations)
    assert not any(v.path in ("policies/z.py", "vial/cli/__init__.py") for v in violations)
    assert graph["policies"] == {"attest", "registry", "builders"}


def test_the_check_catches_a_cycle_between_parts(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "attest/__init__.py": "",
            "attest/a.py": "from vial.registry.b import thing\n",
            "registry/__init__.py": "",
            "registry/b.py": "from vial.attest.a import other\n",
        },
    )
    violations, _ = check_tree(root)
    assert any("cycle between parts: attest -> registry -> attest" in v.reason for v in violations)
