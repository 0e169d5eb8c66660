"""Verification policies: a YAML file read into plain data (no I/O beyond reading the file and keys).

See docs/policy.md for the format and policies/examples/ for examples. Every mistake in a policy
is a ``PolicyError`` naming the file and the field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from vial.attest.signing.keys import PublicKey, key_hint, load_public_key
from vial.attest.statements.statement import CYCLONEDX_BOM, SLSA_PROVENANCE_V1, TEST_RESULT_V01, VIAL_REPRODUCTION_V1
from vial.errors import VialError
from vial.policies.engine.layers import DEFAULT_LIMITS, Limits

SLSA_VSA_V1 = "https://slsa.dev/verification_summary/v1"
PREDICATE_ALIASES = {
    "provenance": SLSA_PROVENANCE_V1,
    "sbom": CYCLONEDX_BOM,
    "test-result": TEST_RESULT_V01,
    "reproduction": VIAL_REPRODUCTION_V1,
    "vsa": SLSA_VSA_V1,
}
MAX_POLICY_BYTES = 1 << 20


class PolicyError(VialError):
    """A policy file is missing, malformed or refers to something that does not exist."""


@dataclass(frozen=True)
class KeySigner:
    name: str
    public: PublicKey
    fingerprint: str  # cosign's hint: base64(sha256(DER SubjectPublicKeyInfo))

    @property
    def kind(self) -> str:
        return "key"


@dataclass(frozen=True)
class IdentitySigner:
    name: str
    issuer: str
    san: str | None = None
    san_regex: str | None = None
    trusted_root: Path | None = None  # a private trust root (trusted_root.json)
    trust_config: Path | None = None  # or a ClientTrustConfig JSON
    instance: Literal["production", "staging"] = "production"

    @property
    def kind(self) -> str:
        return "identity"


Signer = KeySigner | IdentitySigner


@dataclass(frozen=True)
class Requirement:
    predicate_type: str
    alias: str
    signers: tuple[str, ...]  # names from the policy's signers; empty: any trusted signer
    threshold: int = 1

    @property
    def name(self) -> str:
        who = ", ".join(self.signers) if self.signers else "any trusted signer"
        return f"require {self.alias}: {self.threshold} of [{who}]"


@dataclass(frozen=True)
class ProvenanceRules:
    builder_ids: tuple[str, ...] = ()
    builder_id_regex: str | None = None
    pinned_dependencies: bool = False
    base_digests: tuple[str, ...] = ()


@dataclass(frozen=True)
class SbomRules:
    deny_packages: tuple[str, ...] = ()  # package names or purl prefixes
    deny_licenses: tuple[str, ...] = ()  # SPDX ids, compared case-insensitively


@dataclass(frozen=True)
class VersionRules:
    minimum: str | None = None
    newest: bool = False  # rollback protection: no older than the newest signed version seen


@dataclass(frozen=True)
class CustomRule:
    name: str
    language: Literal["rego", "cel"]
    source: str


@dataclass(frozen=True)
class Policy:
    name: str
    origin: str  # file path or "default (trusted signers of VIAL_HOME)"
    digest: str  # sha256 of the policy file's bytes (or of the default policy's description)
    signers: dict[str, Signer]
    requirements: tuple[Requirement, ...]
    provenance: ProvenanceRules = field(default_factory=ProvenanceRules)
    sbom: SbomRules = field(default_factory=SbomRules)
    max_age_seconds: int | None = None
    version: VersionRules = field(default_factory=VersionRules)
    rules: tuple[CustomRule, ...] = ()
    limits: Limits = DEFAULT_LIMITS


# -- parsing helpers --------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+)\s*(|B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)\s*$")
_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KiB": 1 << 10,
    "MiB": 1 << 20,
    "GiB": 1 << 30,
    "TiB": 1 << 40,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
}


class _Reader:
    def __init__(self, origin: str, base: Path) -> None:
        self.origin = origin
        self.base = base

    def fail(self, where: str, message: str) -> PolicyError:
        return PolicyError(f"policy {self.origin}: {where}: {message}")

    def mapping(self, value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, "must be a mapping")
        unknown = sorted(set(map(str, value)) - allowed)
        if unknown:
            raise self.fail(where, f"unknown field {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(where, "must be a non-empty string")
        return value

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(where, "must be a list of strings")
        return tuple(self.string(item, f"{where}[{i}]") for i, item in enumerate(value))

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, "must be true or false")
        return value

    def path(self, value: Any, where: str) -> Path:
        text = self.string(value, where)
        if "\0" in text:
            raise self.fail(where, "a path cannot hold a NUL byte")
        try:
            path = Path(text).expanduser()
        except RuntimeError:  # "~user/" for a user that does not exist, or no home directory at all
            raise self.fail(where, f"{text!r}: cannot expand '~' (no such user or home directory)") from None
        return path if path.is_absolute() else self.base / path

    def duration(self, value: Any, where: str) -> int:
        match = _DURATION.match(str(value)) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
        if not match:
            raise self.fail(where, f"not a duration: {value!r} (e.g. 3600, 90m, 12h, 30d, 2w)")
        return int(match.group(1)) * _DURATION_UNITS[match.group(2)]

    def size(self, value: Any, where: str) -> int:
        match = _SIZE.match(str(value)) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
        if not match:
            raise self.fail(where, f"not a size: {value!r} (e.g. 512MiB, 8GiB)")
        return int(match.group(1)) * _SIZE_UNITS[match.group(2)]

    def regex(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        try:
            re.compile(text)
        except re.error as exc:
            raise self.fail(where, f"invalid regular expression: {exc}") from None
        return text


def predicate_type_of(alias_or_uri: str) -> tuple[str, str]:
    """(URI, short name) for an alias (``provenance``) or a predicate type URI."""
    if alias_or_uri in PREDICATE_ALIASES:
        return PREDICATE_ALIASES[alias_or_uri], alias_or_uri
    for alias, uri in PREDICATE_ALIASES.items():
        if uri == alias_or_uri:
            return uri, alias
    return alias_or_uri, alias_or_uri


def parse_signer(reader: _Reader, name: str, data: Any, where: str) -> Signer:
    data = reader.mapping(
        data, where, {"key", "fingerprint", "issuer", "san", "san_regex", "trusted_root", "trust_config", "instance"}
    )
    if "key" in data or ("fingerprint" in data and "issuer" not in data):
        if "key" not in data:
            path = _trusted_key_file(reader.string(data["fingerprint"], f"{where}.fingerprint"))
            if path is None:
                raise reader.fail(
                    f"{where}.fingerprint",
                    f"no key with fingerprint {data['fingerprint']} in "
                    "$VIAL_HOME/trust/keys (add it with `vial trust add-key FILE`, or give key: PATH)",
                )
        else:
            path = reader.path(data["key"], f"{where}.key")
        try:
            public = load_public_key(path)
        except VialError as exc:
            raise reader.fail(f"{where}.key", str(exc)) from None
        fingerprint = key_hint(public)
        expected = data.get("fingerprint")
        if expected is not None and normalize_fingerprint(str(expected)) not in (fingerprint, hex_fingerprint(public)):
            raise reader.fail(f"{where}.fingerprint", f"{path} has fingerprint {fingerprint}, not {expected}")
        return KeySigner(name, public, fingerprint)
    if "issuer" in data:
        if ("san" in data) == ("san_regex" in data):
            raise reader.fail(where, "an identity needs exactly one of san or san_regex")
        instance = data.get("instance", "production")
        if instance not in ("production", "staging"):
            raise reader.fail(f"{where}.instance", "must be production or staging")
        return IdentitySigner(
            name=name,
            issuer=reader.string(data["issuer"], f"{where}.issuer"),
            san=reader.string(data["san"], f"{where}.san") if "san" in data else None,
            san_regex=reader.regex(data["san_regex"], f"{where}.san_regex") if "san_regex" in data else None,
            trusted_root=reader.path(data["trusted_root"], f"{where}.trusted_root") if "trusted_root" in data else None,
            trust_config=reader.path(data["trust_config"], f"{where}.trust_config") if "trust_config" in data else None,
            instance=instance,
        )
    raise reader.fail(where, "a signer is a key (key: PATH) or an identity (issuer + san or san_regex)")


def _trusted_key_file(fingerprint: str) -> Path | None:
    """A public key added with ``vial trust add-key`` whose fingerprint is ``fingerprint``."""
    from vial.home import default_home

    wanted = normalize_fingerprint(fingerprint)
    for path in sorted((default_home() / "trust" / "keys").glob("*.pub")):
        try:
            public = load_public_key(path)
        except VialError:
            continue
        if wanted in (key_hint(public), hex_fingerprint(public)):
            return path
    return None


def normalize_fingerprint(value: str) -> str:
    return value.strip().lower() if value.startswith("sha256:") else value.strip()


def hex_fingerprint(public: PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


TOP_LEVEL = {
    "version",
    "name",
    "signers",
    "require",
    "provenance",
    "sbom",
    "max_age",
    "image_version",
    "rules",
    "limits",
}


def _list_items(reader: _Reader, value: Any, where: str, allowed: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """A list field whose items are mappings: (``where[i]``, item) for each, in order, each checked
    only when reached (so the first mistake in list order is the one reported)."""
    items = value or []
    if not isinstance(items, list):
        raise reader.fail(where, "must be a list")
    for i, item in enumerate(items):
        yield f"{where}[{i}]", reader.mapping(item, f"{where}[{i}]", allowed)


def _parse_signers(reader: _Reader, value: Any, extra_signers: dict[str, Signer] | None) -> dict[str, Signer]:
    signers: dict[str, Signer] = dict(extra_signers or {})
    names = set(map(str, value)) if isinstance(value, dict) else set()  # a non-mapping is refused just below
    for name, item in reader.mapping(value, "signers", names).items():
        signers[str(name)] = parse_signer(reader, str(name), item, f"signers.{name}")
    return signers


def _parse_requirement(reader: _Reader, where: str, item: dict[str, Any], signers: dict[str, Signer]) -> Requirement:
    uri, alias = predicate_type_of(reader.string(item.get("predicate"), f"{where}.predicate"))
    names = reader.strings(item.get("signers"), f"{where}.signers")
    for signer_name in names:
        if signer_name not in signers:
            raise reader.fail(f"{where}.signers", f"unknown signer {signer_name!r} (define it under signers)")
    threshold = item.get("threshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise reader.fail(f"{where}.threshold", "must be a positive integer")
    pool = len(set(names)) if names else len(signers)
    if threshold > pool:
        raise reader.fail(f"{where}.threshold", f"{threshold} signers required but only {pool} are named")
    return Requirement(uri, alias, tuple(dict.fromkeys(names)), threshold)


def _parse_provenance(reader: _Reader, value: Any) -> ProvenanceRules:
    prov = reader.mapping(
        value, "provenance", {"builder_ids", "builder_id_regex", "pinned_dependencies", "base_digests"}
    )
    return ProvenanceRules(
        builder_ids=reader.strings(prov.get("builder_ids"), "provenance.builder_ids"),
        builder_id_regex=reader.regex(prov["builder_id_regex"], "provenance.builder_id_regex")
        if "builder_id_regex" in prov
        else None,
        pinned_dependencies=reader.boolean(prov.get("pinned_dependencies", False), "provenance.pinned_dependencies"),
        base_digests=reader.strings(prov.get("base_digests"), "provenance.base_digests"),
    )


def _parse_sbom(reader: _Reader, value: Any) -> SbomRules:
    sbom_data = reader.mapping(value, "sbom", {"deny_packages", "deny_licenses"})
    return SbomRules(
        deny_packages=reader.strings(sbom_data.get("deny_packages"), "sbom.deny_packages"),
        deny_licenses=reader.strings(sbom_data.get("deny_licenses"), "sbom.deny_licenses"),
    )


def _parse_version(reader: _Reader, value: Any) -> VersionRules:
    version_data = reader.mapping(value, "image_version", {"minimum", "newest"})
    minimum = version_data.get("minimum")
    if minimum is not None:
        from packaging.version import InvalidVersion, Version

        try:
            Version(str(minimum))
        except InvalidVersion:
            raise reader.fail("image_version.minimum", f"not a version: {minimum!r}") from None
    return VersionRules(
        minimum=str(minimum) if minimum is not None else None,
        newest=reader.boolean(version_data.get("newest", False), "image_version.newest"),
    )


def _parse_rule(reader: _Reader, where: str, index: int, item: dict[str, Any]) -> CustomRule:
    from vial.policies.model.custom import compile_rule

    if ("rego" in item) == ("cel" in item):
        raise reader.fail(where, "a rule has exactly one of rego or cel")
    language: Literal["rego", "cel"] = "rego" if "rego" in item else "cel"
    rule = CustomRule(
        reader.string(item.get("name", f"rule {index}"), f"{where}.name"),
        language,
        reader.string(item[language], f"{where}.{language}"),
    )
    compile_rule(rule, f"policy {reader.origin}: {where}")
    return rule


def _parse_limits(reader: _Reader, value: Any) -> Limits:
    limits_data = reader.mapping(value, "limits", {"max_layer_size", "max_image_size", "max_ratio", "max_entries"})
    return Limits(
        max_layer_bytes=reader.size(limits_data["max_layer_size"], "limits.max_layer_size")
        if "max_layer_size" in limits_data
        else DEFAULT_LIMITS.max_layer_bytes,
        max_total_bytes=reader.size(limits_data["max_image_size"], "limits.max_image_size")
        if "max_image_size" in limits_data
        else DEFAULT_LIMITS.max_total_bytes,
        max_ratio=float(limits_data.get("max_ratio", DEFAULT_LIMITS.max_ratio)),
        max_entries=int(limits_data.get("max_entries", DEFAULT_LIMITS.max_entries)),
    )


def parse_policy(
    data: Any, origin: str, base: Path, digest: str, extra_signers: dict[str, Signer] | None = None
) -> Policy:
    reader = _Reader(origin, base)
    top = reader.mapping(data, "top level", TOP_LEVEL)
    if top.get("version", 1) != 1:
        raise reader.fail("version", f"unsupported policy version {top.get('version')!r} (this vial reads version 1)")
    signers = _parse_signers(reader, top.get("signers"), extra_signers)
    requirements = [
        _parse_requirement(reader, where, item, signers)
        for where, item in _list_items(reader, top.get("require"), "require", {"predicate", "signers", "threshold"})
    ]
    if not signers:
        raise reader.fail("signers", "no trusted signers: a policy must name at least one")
    if not requirements:
        raise reader.fail("require", "a policy must require at least one signed attestation (e.g. provenance)")
    provenance = _parse_provenance(reader, top.get("provenance"))
    sbom = _parse_sbom(reader, top.get("sbom"))
    version = _parse_version(reader, top.get("image_version"))
    rules = [
        _parse_rule(reader, where, i, item)
        for i, (where, item) in enumerate(_list_items(reader, top.get("rules"), "rules", {"name", "rego", "cel"}))
    ]
    return Policy(
        name=str(top.get("name") or Path(origin).stem),
        origin=origin,
        digest=digest,
        signers=signers,
        requirements=tuple(requirements),
        provenance=provenance,
        sbom=sbom,
        max_age_seconds=reader.duration(top["max_age"], "max_age") if top.get("max_age") is not None else None,
        version=version,
        rules=tuple(rules),
        limits=_parse_limits(reader, top.get("limits")),
    )


MAX_YAML_NODES = 100_000  # nodes visited with aliases expanded: an alias bomb stops here, not in memory
MAX_YAML_DEPTH = 64


def _load_yaml_bounded(raw: bytes, what: str) -> Any:
    """``yaml.safe_load``, refusing deep nesting and alias expansion past a node budget before building
    anything (PyYAML's composer recurses, and aliases let a few lines stand for billions of nodes)."""
    try:
        node = yaml.compose(raw, Loader=yaml.SafeLoader)
    except RecursionError:
        raise PolicyError(f"{what}: nested too deeply") from None
    if node is None:
        return None
    visited, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        visited += 1
        if visited > MAX_YAML_NODES:
            raise PolicyError(f"{what}: more than {MAX_YAML_NODES} YAML nodes once aliases are expanded")
        if depth > MAX_YAML_DEPTH:
            raise PolicyError(f"{what}: nested deeper than {MAX_YAML_DEPTH} levels")
        if isinstance(current, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))
    try:
        return yaml.SafeLoader(b"").construct_document(node)
    except RecursionError:
        raise PolicyError(f"{what}: nested too deeply") from None


def load_policy(path: Path) -> Policy:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"policy {path}: no such file") from None
    except IsADirectoryError:
        raise PolicyError(f"policy {path}: is a directory") from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy {path}: larger than {MAX_POLICY_BYTES} bytes")
    try:
        data = _load_yaml_bounded(raw, f"policy {path}")
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy {path}: not valid YAML: {' '.join(str(exc).split())}") from None
    return parse_policy(data, str(path), path.resolve().parent, "sha256:" + hashlib.sha256(raw).hexdigest())
