"""``vial init``: a starter vial.toml, from what a repo2docker user already has in the project."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from vial.errors import SpecError
from vial.fsutil import atomic_write_text
from vial.spec import SPEC_FILE, parse_spec

CODE_SUFFIXES = {".py", ".R", ".r", ".jl", ".sh", ".ipynb", ".Rmd", ".m"}
DATA_DIRS = ("data", "inputs", "input")


def _apt_packages(project_dir: Path) -> list[str]:
    """repo2docker's apt.txt: one Debian package a line."""
    apt = project_dir / "apt.txt"
    if not apt.is_file():
        return []
    packages = [line.split("#", 1)[0].strip() for line in apt.read_text().splitlines()]
    return [p for p in packages if p]


def _python_requirements(project_dir: Path) -> tuple[str | None, list[str]]:
    """(requirements file, or None; else the pyproject.toml dependencies)."""
    if (project_dir / "requirements.txt").is_file():
        return "requirements.txt", []
    if (project_dir / "pyproject.toml").is_file():
        try:
            data = tomllib.loads((project_dir / "pyproject.toml").read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{project_dir / 'pyproject.toml'}: invalid TOML: {exc}") from None
        return None, list(data.get("project", {}).get("dependencies", []))
    return None, []


def _system_packages(project_dir: Path, packages: list[str], wants_requirements: bool) -> list[str]:
    """apt.txt's ``packages``, with Python (and the C++ runtime wheels need) where the project uses it."""
    python_wanted = wants_requirements or any(project_dir.glob("*.py"))
    if python_wanted and "python3" not in packages:
        packages.insert(0, "python3")
    if wants_requirements and "libstdc++6" not in packages:
        packages.append("libstdc++6")  # manylinux wheels with C++ extensions link to the system's libstdc++
    return packages


def starter_spec(project_dir: Path) -> str:
    project_dir = Path(project_dir)
    name = re.sub(r"[^a-z0-9._-]+", "-", project_dir.resolve().name.lower()).strip("-.") or "project"
    apt = _apt_packages(project_dir)
    requirements_file, requirements = _python_requirements(project_dir)
    packages = _system_packages(project_dir, apt, bool(requirements_file or requirements))
    code = sorted(p.name for p in project_dir.iterdir() if p.is_file() and p.suffix in CODE_SUFFIXES)
    data_dirs = [d for d in DATA_DIRS if (project_dir / d).is_dir()]
    cmd: list[str] = []
    if "main.py" in code or "analysis.py" in code:
        cmd = ["python3", "main.py" if "main.py" in code else "analysis.py"]
    lines = [
        "# vial.toml: what this research project is made of (see docs/spec.md).",
        "[project]",
        f'name = "{name}"',
        'version = "0.1.0"',
        'description = ""',
        '# license = "CC-BY-4.0"',
        '# authors = [{ name = "Your Name", orcid = "0000-0000-0000-0000" }]',
        "",
        "[base]",
        'image = "debian:bookworm"',
        "",
        "[system]",
        f"packages = {_toml_list(packages)}",
        "",
        "[python]",
    ]
    if requirements_file:
        lines.append(f'requirements-file = "{requirements_file}"')
    else:
        lines.append(f"requirements = {_toml_list(requirements)}")
    lines += [
        "",
        "[files]",
        f"code = {_toml_list(code)}",
        f"data = {_toml_list(data_dirs)}",
        "",
        "[run]",
        f"cmd = {_toml_list(cmd)}",
        'workdir = "/project"',
        "",
    ]
    return "\n".join(lines)


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def init_project(project_dir: Path, force: bool = False) -> Path:
    target = Path(project_dir) / SPEC_FILE
    if target.exists() and not force:
        raise SpecError(f"{target}: already exists (use --force to overwrite)")
    text = starter_spec(project_dir)
    parse_spec(text, str(target))  # what init writes must itself be valid
    atomic_write_text(target, text)
    return target
