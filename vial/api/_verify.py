"""Verify and run: integrity, signatures and policy; then run exactly the verified bytes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vial.api._common import Log, logger_for
from vial.attest.imagesign import Password, resolve_password
from vial.errors import VialError
from vial.store import Store

if TYPE_CHECKING:
    from vial.policies.engine.source import Source
    from vial.policies.engine.verify import VerificationResult
    from vial.policies.model.policy import Policy


class VsaOutputNeeded(VialError):
    """A VSA was asked for an image outside the store, with nowhere to write it (give ``vsa_output``)."""

    exit_code = 2


def load_policy_or_default(policy: Path | str | Policy | None = None, home: Path | None = None) -> Policy:
    """``policy`` itself, the policy file it names (YAML, docs/policy.md), or with ``None`` the default
    policy: the provenance must be signed by a signer added with ``vial trust`` (in ``home``).

    >>> import vial
    >>> vial.load_policy_or_default("policies/examples/key.yaml").name
    'key'
    """
    from vial.policies.model.policy import Policy, load_policy
    from vial.policies.model.trust import default_policy

    if isinstance(policy, Policy):
        return policy
    return load_policy(Path(policy)) if policy is not None else default_policy(home)


@dataclass(frozen=True)
class VerifyResult:
    """The verification report (``result``: every rule and attestation) and the signed VSA, if one was asked."""

    result: VerificationResult
    vsa: Mapping[str, Any] | None = None

    @property
    def verified(self) -> bool:
        """True only if every rule passed."""
        return self.result.verified

    @property
    def digest(self) -> str | None:
        """The manifest digest verified (``None`` if the image could not even be read)."""
        return self.result.digest

    def to_json(self) -> dict[str, Any]:
        """``verified``, ``digest``, ``rules``, ``attestations``, ... (and ``vsa``), as ``vial verify --json``."""
        data = self.result.to_json()
        if self.vsa:
            data["vsa"] = dict(self.vsa)
        return data


def verify(
    ref: str,
    *,
    policy: Path | str | Policy | None = None,
    full: bool = False,
    vsa_key: Path | str | None = None,
    password: Password = None,
    vsa_output: Path | str | None = None,
    store: Store | None = None,
    log: Log | None = None,
) -> VerifyResult:
    """Verify image ``ref``: rehash every blob, verify every attestation, then evaluate ``policy``.

    ``ref`` is a store reference (``name:version``, ``name``, a digest) or an OCI layout directory or
    archive (``PATH`` or ``PATH@sha256:...``). ``policy`` is a ``Policy``, a policy file, or ``None``
    for the default policy (see ``load_policy_or_default``). ``full=True`` decompresses every layer
    even if it was checked before. ``vsa_key`` (a private key, ``password`` as for ``sign``) signs a
    SLSA Verification Summary, stored as a referrer when ``ref`` is in the store, and written to
    ``vsa_output`` if given. A failed rule is not an exception: look at ``verified``.

    >>> import vial
    >>> report = vial.verify("longley-ols:1.0.0", policy="policy.yaml")
    >>> report.verified, [rule.name for rule in report.result.failures()]
    (True, [])
    """
    from vial.policies.engine.source import open_source
    from vial.policies.engine.verify import verify_source

    with open_source(ref, store) as source:
        source.store.resolve(source.ref)  # an unknown REF is reported before any policy problem
        loaded = load_policy_or_default(policy)
        signer = None
        if vsa_key is not None:
            from vial.attest.signing.keys import load_private_key
            from vial.attest.signing.sign import KeySigner

            signer = KeySigner(load_private_key(Path(vsa_key), resolve_password(password)))
        result = verify_source(source, loaded, full=full)
        vsa = None
        if signer is not None:
            output = Path(vsa_output) if vsa_output is not None else None
            vsa = _sign_vsa(source, result, signer, output, log or logger_for("verify"))
    return VerifyResult(result, vsa)


def _sign_vsa(source: Source, result: VerificationResult, signer: Any, output: Path | None, log: Log) -> dict[str, Any]:
    from vial.attest.referrers import attach_bundle
    from vial.fsutil import atomic_write_bytes
    from vial.policies.engine.vsa import vsa_statement

    statement = vsa_statement(result, result.ref)
    bundle = signer.sign(statement)
    info: dict[str, Any] = {"predicate_type": statement.predicate_type, "signer": f"key {signer.key.hint}"}
    if output is not None:
        atomic_write_bytes(output, bundle)
        info["bundle"] = str(output)
    if source.writable and result.digest:
        referrer = attach_bundle(
            source.store, source.store.resolve(source.ref), bundle, statement.predicate_type, f"key {signer.key.hint}"
        )
        info["referrer"] = referrer.digest
    if output is None and not source.writable:
        raise VsaOutputNeeded("REF is not in the store: give --vsa-output FILE for the VSA")
    log(f"signed a VSA ({statement.predicate['verificationResult']}) for {result.digest}")
    return info


@dataclass(frozen=True)
class RunResult:
    """How ``run`` ended: the command's exit code, and the verification that allowed it (``None`` if skipped)."""

    exit_code: int
    verification: VerificationResult | None

    def to_json(self) -> dict[str, Any]:
        """``{"exit_code", "verification"}`` (the verification as ``vial verify --json``, or ``None``)."""
        return {
            "exit_code": self.exit_code,
            "verification": self.verification.to_json() if self.verification is not None else None,
        }


def run(
    ref: str,
    command: Iterable[str] = (),
    *,
    policy: Path | str | Policy | None = None,
    insecure_skip_verify: bool = False,
    runtime: Literal["auto", "docker", "bwrap"] = "auto",
    outputs: Path | str | None = None,
    inputs: Mapping[Path | str, str] | Iterable[tuple[Path | str, str]] = (),
    env: Mapping[str, str] | None = None,
    network: bool = False,
    writable_root: bool = False,
    memory: str | None = None,
    cpus: float | None = None,
    pids_limit: int | None = None,
    labels: Mapping[str, str] | None = None,
    store: Store | None = None,
    home: Path | None = None,
    log: Log | None = None,
) -> RunResult:
    """Verify image ``ref`` against ``policy`` (as ``verify``), then run exactly the verified bytes.

    Nothing runs unless every rule passes: ``vial.policies.runtime.run.NotVerified`` (exit code 2)
    is raised instead. ``runtime`` is ``"docker"``, ``"bwrap"`` (bubblewrap on a root filesystem vial
    unpacks, no daemon) or ``"auto"``. ``command`` replaces the image's command; ``outputs`` is mounted
    read-write at ``/outputs``; ``inputs`` maps host paths to container paths, mounted read-only.
    Networking is off and the root filesystem read-only unless asked. ``insecure_skip_verify=True``
    runs without checking signatures or policy (blobs are still rehashed): unsafe.

    >>> import vial
    >>> done = vial.run("longley-ols:1.0.0", policy="policy.yaml", runtime="bwrap", outputs="out")
    >>> done.exit_code
    0
    """
    from vial.policies.runtime.docker import RunOptions
    from vial.policies.runtime.run import verify_and_run

    loader: Policy | Any | None = None
    if insecure_skip_verify:
        if policy is not None:
            raise VialError("--insecure-skip-verify and --policy contradict each other")
        logging.getLogger("vial.api.run").warning(
            "insecure_skip_verify: running an image whose signatures and policy were NOT checked"
        )
    else:

        def loader() -> Policy:  # loaded once REF and runtime are found
            return load_policy_or_default(policy, home)

    pairs = inputs.items() if isinstance(inputs, Mapping) else inputs
    options = RunOptions(
        command=list(command),
        network=network,
        outputs=Path(outputs) if outputs is not None else None,
        inputs=[(Path(host), target) for host, target in pairs],
        env=dict(env or {}),
        read_only_root=not writable_root,
        memory=memory,
        cpus=cpus,
        pids_limit=pids_limit,
        labels=dict(labels or {}),
    )
    result, code = verify_and_run(ref, loader, options, runtime, store=store, home=home, log=log or logger_for("run"))
    return RunResult(code, result)
