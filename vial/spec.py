"""The project spec, ``vial.toml``: what a research project is made of (documented in docs/spec.md).

Parsing is separate from I/O: ``parse_spec(text, origin)`` validates, ``load_spec(dir)`` reads the file.
Errors name the file, line and field: ``vial.toml:7: [python] requirements: ...``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vial import stricttoml
from vial.errors import SpecError

SPEC_FILE = "vial.toml"
LOCK_FILE = "vial.lock"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_WORKDIR = "/project"
DEBIAN_PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ORCID_RE = re.compile(r"^(https://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
SHA256_SUFFIX_RE = re.compile(r"@sha256:[0-9a-f]{64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _orcid_checksum_ok(digits: str) -> bool:
    """ISO 7064 11,2 check digit, as ORCID defines it."""
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


class Author(_Model):
    name: str = Field(min_length=1)
    orcid: str | None = None

    @field_validator("orcid")
    @classmethod
    def _valid_orcid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = ORCID_RE.match(value)
        if not match or not _orcid_checksum_ok(match.group(2).replace("-", "")):
            raise ValueError(f"not a valid ORCID iD: {value!r} (expected 0000-0000-0000-000X with a valid checksum)")
        return match.group(2)


class Project(_Model):
    name: str
    version: str = Field(min_length=1)
    description: str = ""
    license: str | None = None
    authors: list[Author] = Field(default_factory=list)
    source: str | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(
                f"{value!r}: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit"
            )
        return value

    @field_validator("license")
    @classmethod
    def _valid_license(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

        try:
            return str(canonicalize_license_expression(value))
        except InvalidLicenseExpression as exc:
            raise ValueError(f"not an SPDX license expression: {exc}") from None


class Base(_Model):
    """The bottom of the image: Debian packages (``debian:<suite>``) or an OCI layout pinned by digest."""

    image: str = "debian:bookworm"
    variant: Literal["essential", "required", "minbase", "buildd", "important", "standard"] = "essential"
    mirror: str = DEFAULT_MIRROR
    architecture: Literal["amd64", "arm64"] = "amd64"

    @field_validator("image")
    @classmethod
    def _valid_image(cls, value: str) -> str:
        if value.startswith("debian:"):
            if not re.match(r"^debian:[a-z]+$", value):
                raise ValueError(f"{value!r}: expected debian:<suite>, e.g. debian:bookworm")
        elif value.startswith("oci:"):
            if not SHA256_SUFFIX_RE.search(value):
                raise ValueError(f"{value!r}: an OCI base must be pinned, e.g. oci:./base-layout@sha256:<64 hex>")
        else:
            raise ValueError(f"{value!r}: expected debian:<suite> or oci:<layout path>@sha256:<digest>")
        return value

    @property
    def kind(self) -> Literal["debian", "oci"]:
        return "debian" if self.image.startswith("debian:") else "oci"

    @property
    def suite(self) -> str:
        return self.image.split(":", 1)[1]

    @property
    def oci_path(self) -> str:
        return self.image.removeprefix("oci:").rsplit("@", 1)[0]

    @property
    def oci_digest(self) -> str:
        return self.image.rsplit("@", 1)[1]


class System(_Model):
    packages: list[str] = Field(default_factory=list)

    @field_validator("packages")
    @classmethod
    def _valid_packages(cls, value: list[str]) -> list[str]:
        for name in value:
            if not DEBIAN_PACKAGE_RE.match(name):
                raise ValueError(f"{name!r} is not a Debian package name")
        return value


class Python(_Model):
    requirements: list[str] = Field(default_factory=list)
    requirements_file: str | None = Field(default=None, alias="requirements-file")
    version: str | None = None
    platform: str | None = None
    interpreter: str = "/usr/bin/python3"
    site_packages: str | None = Field(default=None, alias="site-packages")

    @field_validator("requirements")
    @classmethod
    def _valid_requirements(cls, value: list[str]) -> list[str]:
        for line in value:
            try:
                Requirement(line)
            except InvalidRequirement as exc:
                raise ValueError(f"{line!r}: {str(exc).splitlines()[0]}") from None
        return value

    @field_validator("version")
    @classmethod
    def _valid_version(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^3\.\d+$", value):
            raise ValueError(f"{value!r}: expected a Python minor version such as 3.11")
        return value


class Files(_Model):
    code: list[str] = Field(default_factory=list)
    data: list[str] = Field(default_factory=list)


class Run(_Model):
    entrypoint: list[str] = Field(default_factory=list)
    cmd: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str = DEFAULT_WORKDIR

    @field_validator("workdir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or ".." in PurePosixPath(value).parts:
            raise ValueError(f"{value!r}: must be an absolute path inside the image")
        return value


class Build(_Model):
    source_date_epoch: Annotated[int, Field(ge=0)] | None = Field(default=None, alias="source-date-epoch")


class Spec(_Model):
    project: Project
    base: Base = Field(default_factory=Base)
    system: System = Field(default_factory=System)
    python: Python = Field(default_factory=Python)
    files: Files = Field(default_factory=Files)
    run: Run = Field(default_factory=Run)
    build: Build = Field(default_factory=Build)

    @model_validator(mode="after")
    def _coherent(self) -> Spec:
        if self.base.kind == "oci" and self.system.packages:
            raise ValueError("[system] packages need a Debian base (base.image = 'debian:<suite>')")
        has_requirements = bool(self.python.requirements or self.python.requirements_file)
        if has_requirements and self.base.kind == "oci" and not self.python.version:
            raise ValueError("[python] version is required with an OCI base (it cannot be read from a lock)")
        return self


def parse_spec(text: str, origin: str = SPEC_FILE) -> Spec:
    """Validate spec text; ``origin`` names the file in error messages."""
    depth = stricttoml.nesting_depth(text)
    if depth > stricttoml.MAX_DEPTH:
        raise SpecError(f"{origin}: nested {depth} levels deep, more than the {stricttoml.MAX_DEPTH} allowed")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{origin}: {_toml_message(exc)}") from None
    except RecursionError:
        raise SpecError(f"{origin}: nested too deeply") from None
    except ValueError:  # an integer past Python's 4300-digit limit
        raise SpecError(f"{origin}: a number has more digits than vial reads") from None
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(str(part) for part in error["loc"])
        line = _line_of(text, loc)
        where = f"{origin}:{line}" if line else origin
        field = _describe_loc(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "extra_forbidden":
            message = "unknown field"
        return_more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise SpecError(f"{where}: {field}: {message}{return_more}") from None


def load_spec(project_dir: Path) -> Spec:
    path = Path(project_dir) / SPEC_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file (run `vial init` to write one)") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text") from None
    return parse_spec(text, str(path))


def python_requirements(spec: Spec, project_dir: Path) -> list[str]:
    """Requirements from the spec plus its requirements file (comments and blank lines dropped)."""
    lines = list(spec.python.requirements)
    if spec.python.requirements_file:
        path = Path(project_dir) / spec.python.requirements_file
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(f"{SPEC_FILE}: [python] requirements-file: {path} does not exist") from None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("-"):
                raise SpecError(f"{path}:{number}: pip options are not supported in a requirements file: {line}")
            try:
                Requirement(line)
            except InvalidRequirement as exc:
                raise SpecError(f"{path}:{number}: {str(exc).splitlines()[0]}") from None
            lines.append(line)
    return lines


def _toml_message(exc: tomllib.TOMLDecodeError) -> str:
    # tomllib says "Expected '=' after a key in a key/value pair (at line 3, column 6)";
    # put the line first, as compilers do.
    message = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if match:
        return f"line {match.group(1)}, column {match.group(2)}: invalid TOML: {message[: match.start()].strip()}"
    return f"invalid TOML: {message}"


def _describe_loc(loc: tuple[str, ...]) -> str:
    if not loc:
        return "spec"
    table, *rest = loc
    if not rest:
        return f"[{table}]"
    path = ""
    for part in rest:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return f"[{table}] {path}"


def _line_of(text: str, loc: tuple[str, ...]) -> int | None:
    """Best-effort line number of a field: the key's line inside its table, else the table header."""
    if not loc:
        return None
    table = loc[0]
    key = next((part for part in loc[1:] if not part.isdigit()), None)
    header_re = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    current: str | None = None
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = header_re.match(line)
        if header:
            current = header.group(1).strip().strip('"')
            if current == table and header_line is None:
                header_line = number
            continue
        if current == table and key is not None and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
        if current is None and re.match(rf"^\s*{re.escape(table)}\s*=", line):
            return number
    return header_line
