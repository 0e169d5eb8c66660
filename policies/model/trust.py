"""The user's trusted signers (``$VIAL_HOME/trust/``) and the default policy built from them.

``trust.yaml`` holds signers in the policy format (``signers:``); public keys added with
``vial trust add-key`` are copied to ``trust/keys/`` so the config does not depend on where they
were. Also here: the rollback ledger (``trust/versions.json``), the newest version of each project
that passed verification, for the ``image_version.newest`` rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from vial.attest.signing.keys import key_hint, load_public_key, public_pem
from vial.fsutil import atomic_write_bytes
from vial.home import default_home
from vial.policies.model.policy import Policy, PolicyError, parse_policy

DEFAULT_ORIGIN = "default (signers trusted in VIAL_HOME/trust/trust.yaml)"


def trust_dir(home: Path | None = None) -> Path:
    return (home or default_home()) / "trust"


def _read(home: Path | None) -> dict[str, Any]:
    path = trust_dir(home) / "trust.yaml"
    if not path.is_file():
        return {"version": 1, "signers": {}}
    try:
        data = yaml.safe_load(path.read_bytes()) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or not isinstance(data.get("signers", {}), dict):
        raise PolicyError(f"{path}: expected a mapping with signers")
    data.setdefault("signers", {})
    return data


def _write(home: Path | None, data: dict[str, Any]) -> None:
    atomic_write_bytes(trust_dir(home) / "trust.yaml", yaml.safe_dump(data, sort_keys=True).encode())


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise PolicyError(f"signer name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


def add_key(path: Path, name: str | None = None, home: Path | None = None) -> tuple[str, str]:
    """Trust a public key; returns (name, fingerprint)."""
    public = load_public_key(Path(path))
    fingerprint = key_hint(public)
    file_name = hashlib.sha256(fingerprint.encode()).hexdigest()[:16] + ".pub"
    name = _check_name(name or Path(path).stem)
    data = _read(home)
    target = trust_dir(home) / "keys" / file_name
    atomic_write_bytes(target, public_pem(public))
    data["signers"][name] = {"key": f"keys/{file_name}", "fingerprint": fingerprint}
    _write(home, data)
    return name, fingerprint


def add_identity(
    issuer: str,
    san: str | None,
    san_regex: str | None,
    name: str | None = None,
    trusted_root: Path | None = None,
    home: Path | None = None,
) -> str:
    if (san is None) == (san_regex is None):
        raise PolicyError("give exactly one of --san or --san-regex")
    name = _check_name(
        name or re.sub(r"[^A-Za-z0-9._-]", "-", (san or san_regex or "identity"))[:64].strip("-") or "identity"
    )
    entry: dict[str, Any] = {"issuer": issuer}
    entry["san" if san is not None else "san_regex"] = san if san is not None else san_regex
    if trusted_root is not None:
        entry["trusted_root"] = str(Path(trusted_root).resolve())
    data = _read(home)
    data["signers"][name] = entry
    parse_policy(
        {"signers": {name: entry}, "require": [{"predicate": "provenance"}]},
        str(trust_dir(home) / "trust.yaml"),
        trust_dir(home),
        "",
    )  # validate
    _write(home, data)
    return name


def remove(name: str, home: Path | None = None) -> None:
    data = _read(home)
    if name not in data["signers"]:
        raise PolicyError(f"no trusted signer named {name!r}")
    del data["signers"][name]
    _write(home, data)


def listed(home: Path | None = None) -> dict[str, dict[str, Any]]:
    return dict(_read(home)["signers"])


def default_policy(home: Path | None = None) -> Policy:
    """A valid signature over the provenance by any signer the user trusts."""
    data = _read(home)
    if not data["signers"]:
        raise PolicyError(
            "no --policy and no trusted signers: add one with `vial trust add-key FILE` or "
            "`vial trust add-identity --issuer URL --san ID`, pass --policy FILE, or (unsafe) --insecure-skip-verify"
        )
    raw = yaml.safe_dump(data, sort_keys=True).encode()
    policy = parse_policy(
        {"version": 1, "name": "default", "signers": data["signers"], "require": [{"predicate": "provenance"}]},
        DEFAULT_ORIGIN,
        trust_dir(home),
        "sha256:" + hashlib.sha256(raw).hexdigest(),
    )
    return policy


# -- rollback ledger -------------------------------------------------------------------------


def newest_seen(project: str, home: Path | None = None) -> str | None:
    path = trust_dir(home) / "versions.json"
    if not path.is_file():
        return None
    try:
        seen: str | None = json.loads(path.read_bytes()).get(project)
    except ValueError:
        raise PolicyError(f"{path}: not valid JSON") from None
    return seen


def record_version(project: str, version: str, home: Path | None = None) -> None:
    from filelock import FileLock
    from packaging.version import InvalidVersion, Version

    directory = trust_dir(home)
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory / ".versions.lock")):
        path = directory / "versions.json"
        data = json.loads(path.read_bytes()) if path.is_file() else {}
        try:
            if project in data and Version(data[project]) >= Version(version):
                return
        except InvalidVersion:
            return
        data[project] = version
        atomic_write_bytes(path, json.dumps(data, sort_keys=True, indent=1).encode())
