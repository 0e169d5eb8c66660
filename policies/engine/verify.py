"""``verify``: integrity of every byte, every attestation's signature, then the policy's rules.

The result is data (``VerificationResult``): one ``RuleResult`` per rule, pass or fail and why, and
one ``AttestationCheck`` per attestation found. ``verified`` is true only if every rule passed.
Only attestations that verified against a signer the policy trusts are ever used by a rule.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vial.attest.referrers import list_referrers, read_bundle
from vial.attest.signing.bundle import parse_bundle
from vial.attest.signing.verify import verify_dsse_keyless, verify_with_key
from vial.attest.statements.statement import (
    CYCLONEDX_BOM,
    SLSA_PROVENANCE_V1,
    VIAL_REPRODUCTION_V1,
    Statement,
)
from vial.errors import VialError
from vial.oci import ANNOTATION_TITLE, ANNOTATION_VERSION
from vial.policies.engine.integrity import IntegrityReport, check_image
from vial.policies.engine.signers import distinct_signers, identity_signer_id
from vial.policies.engine.source import Source
from vial.policies.model import trust
from vial.policies.model.custom import evaluate_rule
from vial.policies.model.policy import (
    IdentitySigner,
    KeySigner,
    Policy,
    ProvenanceRules,
    Requirement,
    SbomRules,
    Signer,
)
from vial.store import Image


@dataclass(frozen=True)
class RuleResult:
    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class AttestationCheck:
    referrer: str
    bundle_digest: str
    predicate_type: str
    status: str  # "verified" or "rejected"
    reason: str = ""
    signers: list[str] = field(default_factory=list)  # policy names of the signers it verified against
    signer_ids: list[str] = field(default_factory=list)  # who actually signed ("key:<fp>", "identity:<iss>|<san>")
    statement: Statement | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "referrer": self.referrer,
            "bundle_digest": self.bundle_digest,
            "predicate_type": self.predicate_type,
            "status": self.status,
            "reason": self.reason,
            "signers": self.signers,
            "signer_ids": self.signer_ids,
        }


@dataclass
class VerificationResult:
    ref: str
    source: str
    digest: str | None
    config_digest: str | None
    policy: Policy
    rules: list[RuleResult] = field(default_factory=list)
    attestations: list[AttestationCheck] = field(default_factory=list)
    integrity: IntegrityReport | None = None
    project: str | None = None
    version: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return bool(self.rules) and all(rule.passed for rule in self.rules)

    def failures(self) -> list[RuleResult]:
        return [rule for rule in self.rules if not rule.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "ref": self.ref,
            "source": self.source,
            "digest": self.digest,
            "config_digest": self.config_digest,
            "project": self.project,
            "version": self.version,
            "policy": {"name": self.policy.name, "origin": self.policy.origin, "digest": self.policy.digest},
            "rules": [rule.to_json() for rule in self.rules],
            "attestations": [a.to_json() for a in self.attestations],
            "integrity": None
            if self.integrity is None
            else {
                "blobs": self.integrity.blobs,
                "bytes_hashed": self.integrity.bytes_hashed,
                "layers_decompressed": self.integrity.layers_decompressed,
            },
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
        }


# -- signatures -----------------------------------------------------------------------------------


class _IdentityPolicy:
    """sigstore-python verification policy: the OIDC issuer, and a SAN equal to or matching the signer's."""

    def __init__(self, signer: IdentitySigner) -> None:
        self.signer = signer
        self.matched: str | None = None
        self.sans: set[str] = set()

    def verify(self, cert) -> None:  # type: ignore[no-untyped-def]
        from cryptography.x509 import OtherName, RFC822Name, SubjectAlternativeName, UniformResourceIdentifier
        from sigstore.errors import VerificationError as SigstoreVerificationError
        from sigstore.verify.policy import _OTHERNAME_OID, OIDCIssuer

        OIDCIssuer(self.signer.issuer).verify(cert)
        san_ext = cert.extensions.get_extension_for_class(SubjectAlternativeName).value
        sans = set(san_ext.get_values_for_type(RFC822Name)) | set(
            san_ext.get_values_for_type(UniformResourceIdentifier)
        )
        sans |= {on.value.decode() for on in san_ext.get_values_for_type(OtherName) if on.type_id == _OTHERNAME_OID}
        self.sans = sans  # the signer is the whole certificate identity, not the SAN matched (signers.py)
        for san in sorted(sans):
            if (self.signer.san is not None and san == self.signer.san) or (
                self.signer.san_regex is not None and re.fullmatch(self.signer.san_regex, san)
            ):
                self.matched = san
                return
        wanted = self.signer.san or f"/{self.signer.san_regex}/"
        raise SigstoreVerificationError(f"certificate identity {', '.join(sorted(sans))} is not {wanted}")


def _verify_identity(raw: bytes, signer: IdentitySigner, digest: str, origin: str) -> tuple[Statement, str]:
    policy = _IdentityPolicy(signer)
    statement = verify_dsse_keyless(
        raw, policy, digest, None, signer.instance, signer.trust_config, signer.trusted_root, origin
    )
    return statement, identity_signer_id(signer.issuer, policy.sans)


def check_attestation(
    raw: bytes, signers: dict[str, Signer], digest: str, referrer: str, bundle_digest: str, declared_type: str
) -> AttestationCheck:
    """Verify one bundle against every trusted signer; rejected (with the reason) if none vouches for it."""
    check = AttestationCheck(referrer, bundle_digest, declared_type, "rejected")
    origin = f"attestation {referrer}"
    try:
        parsed = parse_bundle(raw, origin)
    except VialError as exc:
        check.reason = str(exc)
        return check
    reasons: list[str] = []
    for name, signer in signers.items():
        try:
            if isinstance(signer, KeySigner):
                if parsed.keyless:
                    continue
                if parsed.key_hint and parsed.key_hint != signer.fingerprint:
                    continue  # the hint is unauthenticated: used only to skip keys that cannot match
                verified = verify_with_key(raw, signer.public, digest, None, origin)
                statement, signer_id = verified.statement, f"key:{signer.fingerprint}"
            else:
                if not parsed.keyless:
                    continue
                statement, signer_id = _verify_identity(raw, signer, digest, origin)
        except VialError as exc:
            reasons.append(f"{name}: {exc}")
            continue
        check.statement = statement
        check.predicate_type = statement.predicate_type
        check.signers.append(name)
        if signer_id not in check.signer_ids:
            check.signer_ids.append(signer_id)
    if check.signers:
        check.status = "verified"
        return check
    if reasons:
        check.reason = "; ".join(reasons)
    elif parsed.keyless:
        check.reason = f"{origin}: signed keyless, and no trusted signer is an identity"
    else:
        check.reason = f"{origin}: signed by key {parsed.key_hint or '(no hint)'}, which no trusted signer holds"
    return check


# -- rules ----------------------------------------------------------------------------------------


def _counts(check: AttestationCheck, requirement: Requirement) -> bool:
    if check.status != "verified" or check.statement is None or check.predicate_type != requirement.predicate_type:
        return False
    if requirement.predicate_type == VIAL_REPRODUCTION_V1 and check.statement.predicate.get("match") is not True:
        return False
    return not requirement.signers or bool(set(check.signers) & set(requirement.signers))


def evaluate_requirement(requirement: Requirement, checks: list[AttestationCheck]) -> RuleResult:
    """Distinct signers: one signer (key or identity) counts once however many bundles it signed,
    and a key listed under two names is still one signer."""
    signer_ids: dict[str, set[str]] = {}
    for check in checks:
        if _counts(check, requirement):
            names = [n for n in check.signers if not requirement.signers or n in requirement.signers]
            for signer_id in check.signer_ids:
                signer_ids.setdefault(signer_id, set()).update(names)
    count = len(distinct_signers(signer_ids))  # one certificate or key is one signer, whatever it matched
    who = ", ".join(sorted({n for names in signer_ids.values() for n in names}))
    if count >= requirement.threshold:
        return RuleResult(
            requirement.name, True, f"signed by {who} ({count} distinct of {requirement.threshold} required)"
        )
    rejected = [c for c in checks if c.status == "rejected" and c.predicate_type == requirement.predicate_type]
    detail = (
        f"{count} distinct trusted signer(s) ({who or 'none'}), {requirement.threshold} required"
        if count
        else f"no valid {requirement.alias} attestation by a required signer"
    )
    if rejected:
        detail += "; rejected: " + " | ".join(c.reason for c in rejected[:3])
    return RuleResult(requirement.name, False, detail)


def _statements(checks: list[AttestationCheck], predicate_type: str, policy: Policy) -> list[Statement]:
    allowed: set[str] = set()
    for requirement in policy.requirements:
        if requirement.predicate_type == predicate_type:
            allowed |= set(requirement.signers)
    return [
        c.statement
        for c in checks
        if c.status == "verified"
        and c.statement is not None
        and c.predicate_type == predicate_type
        and (not allowed or set(c.signers) & allowed)
    ]


_HASH_KEYS = {"sha256", "sha384", "sha512", "sha3_256", "sha3_512", "gitCommit", "blake2b"}


def _builder_id_rule(rules: ProvenanceRules, provenances: list[Statement]) -> RuleResult:
    bad = []
    for statement in provenances:
        builder = str(statement.predicate.get("runDetails", {}).get("builder", {}).get("id", ""))
        ok = builder in rules.builder_ids or (
            rules.builder_id_regex is not None and re.fullmatch(rules.builder_id_regex, builder)
        )
        if not ok:
            bad.append(builder or "(none)")
    return RuleResult(
        "provenance.builder_id", not bad, f"builder {bad[0]!r} is not allowed" if bad else "builder allowed"
    )


def _dependencies(statement: Statement) -> list[dict[str, Any]]:
    return list(statement.predicate.get("buildDefinition", {}).get("resolvedDependencies", []) or [])


def _is_hash_pinned(dep: dict[str, Any]) -> bool:
    digest = dep.get("digest") or {}
    return any(
        k in _HASH_KEYS and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{40,128}", v) for k, v in digest.items()
    )


def _pinned_dependencies_rule(provenances: list[Statement]) -> RuleResult:
    unpinned = [
        str(dep.get("name") or dep.get("uri") or "?")
        for statement in provenances
        for dep in _dependencies(statement)
        # a "debian-base" entry names the suite; each of its packages is a pinned entry of its own
        if (dep.get("annotations") or {}).get("kind") != "debian-base" and not _is_hash_pinned(dep)
    ]
    return RuleResult(
        "provenance.pinned_dependencies",
        not unpinned,
        f"{len(unpinned)} dependencies not hash-pinned: {', '.join(unpinned[:5])}"
        if unpinned
        else "every dependency is hash-pinned",
    )


def _base_digests_rule(rules: ProvenanceRules, provenances: list[Statement]) -> RuleResult:
    allowed = {d.removeprefix("sha256:") for d in rules.base_digests}
    bad = []
    for statement in provenances:
        bases = [d for d in _dependencies(statement) if d.get("name") == "base"]
        digests = {str((d.get("digest") or {}).get("sha256", "")) for d in bases}
        if not digests or not digests <= allowed:
            bad.append(", ".join(sorted(x for x in digests if x)) or "a base without a digest")
    return RuleResult(
        "provenance.base_digests",
        not bad,
        f"base {bad[0]} is not in the allowlist" if bad else "base digest allowed",
    )


def provenance_rules(policy: Policy, provenances: list[Statement]) -> list[RuleResult]:
    rules = policy.provenance
    if not (rules.builder_ids or rules.builder_id_regex or rules.pinned_dependencies or rules.base_digests):
        return []
    if not provenances:
        return [RuleResult("provenance constraints", False, "no verified provenance to check")]
    out: list[RuleResult] = []
    if rules.builder_ids or rules.builder_id_regex:
        out.append(_builder_id_rule(rules, provenances))
    if rules.pinned_dependencies:
        out.append(_pinned_dependencies_rule(provenances))
    if rules.base_digests:
        out.append(_base_digests_rule(rules, provenances))
    return out


def _component_licenses(component: dict[str, Any]) -> list[str]:
    found = []
    for item in component.get("licenses") or []:
        license_ = item.get("license") or {}
        for value in (license_.get("id"), license_.get("name"), item.get("expression")):
            if value:
                found.append(str(value))
    return found


def _sbom_components(sboms: list[Statement]) -> list[dict[str, Any]]:
    """Every component the SBOMs list, and each one's own (``metadata.component``)."""
    components: list[dict[str, Any]] = []
    for statement in sboms:
        components += list(statement.predicate.get("components") or [])
        metadata = statement.predicate.get("metadata", {}).get("component")
        if metadata:
            components.append(metadata)
    return components


def _is_denied_package(denied: str, name: str, purl: str) -> bool:
    """``denied`` is a package name, or a purl without version (matching every version of it)."""
    return denied == name or (
        denied.startswith("pkg:") and (purl == denied or purl.startswith(denied + "@") or purl.startswith(denied + "?"))
    )


def _deny_packages_rule(rules: SbomRules, components: list[dict[str, Any]]) -> RuleResult:
    hits = []
    for component in components:
        name, purl = str(component.get("name", "")), str(component.get("purl", ""))
        hits += [purl or name for denied in rules.deny_packages if _is_denied_package(denied, name, purl)]
    return RuleResult(
        "sbom.deny_packages",
        not hits,
        f"denied packages present: {', '.join(sorted(set(hits))[:5])}" if hits else "no denied package",
    )


def _deny_licenses_rule(rules: SbomRules, components: list[dict[str, Any]]) -> RuleResult:
    denied = {d.lower() for d in rules.deny_licenses}
    hits = []
    for component in components:
        for license_ in _component_licenses(component):
            tokens = set(re.split(r"[\s()]+", license_.lower())) - {"and", "or", "with", ""}
            if tokens & denied:
                hits.append(f"{component.get('name')} ({license_})")
    return RuleResult(
        "sbom.deny_licenses",
        not hits,
        f"denied licenses: {', '.join(hits[:5])}" if hits else "no denied license",
    )


def sbom_rules(policy: Policy, sboms: list[Statement]) -> list[RuleResult]:
    rules = policy.sbom
    if not (rules.deny_packages or rules.deny_licenses):
        return []
    if not sboms:
        return [RuleResult("sbom constraints", False, "no verified SBOM to check")]
    components = _sbom_components(sboms)
    out = []
    if rules.deny_packages:
        out.append(_deny_packages_rule(rules, components))
    if rules.deny_licenses:
        out.append(_deny_licenses_rule(rules, components))
    return out


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age_rule(policy: Policy, provenances: list[Statement], now: datetime) -> list[RuleResult]:
    if policy.max_age_seconds is None:
        return []
    times = [
        t
        for s in provenances
        if (t := _parse_time(s.predicate.get("runDetails", {}).get("metadata", {}).get("finishedOn"))) is not None
    ]
    if not times:
        return [
            RuleResult("max_age", False, "no verified provenance with a build time (runDetails.metadata.finishedOn)")
        ]
    built = max(times)
    age = (now - built).total_seconds()
    ok = age <= policy.max_age_seconds
    return [
        RuleResult(
            "max_age", ok, f"built {built.isoformat()}, {int(age)} s ago; at most {policy.max_age_seconds} s allowed"
        )
    ]


def project_of(image: Image, provenances: list[Statement]) -> tuple[str | None, str | None]:
    """Project name and version, from the verified provenance, else the manifest's annotations
    (covered by the manifest digest, which the attestations sign)."""
    for statement in provenances:
        project = statement.predicate.get("buildDefinition", {}).get("externalParameters", {}).get("project") or {}
        if project.get("name") and project.get("version"):
            return str(project["name"]), str(project["version"])
    annotations = image.manifest.annotations
    return annotations.get(ANNOTATION_TITLE), annotations.get(ANNOTATION_VERSION)


def version_rules(
    policy: Policy, source: Source, image: Image, project: str | None, version: str | None, home: Path | None
) -> list[RuleResult]:
    from packaging.version import InvalidVersion, Version

    rules = policy.version
    if not (rules.minimum or rules.newest):
        return []
    if not version or not project:
        return [RuleResult("image_version", False, "the image's project version is unknown (no verified provenance)")]
    try:
        current = Version(version)
    except InvalidVersion:
        return [RuleResult("image_version", False, f"version {version!r} is not a PEP 440 / semantic version")]
    out = []
    if rules.minimum:
        out.append(
            RuleResult(
                "image_version.minimum",
                current >= Version(rules.minimum),
                f"{project} {version} {'>=' if current >= Version(rules.minimum) else '<'} {rules.minimum}",
            )
        )
    if rules.newest:
        newest, where = _newest_signed(policy, source, project, image.digest, home)
        if newest is None or current >= newest:
            out.append(
                RuleResult(
                    "image_version.newest",
                    True,
                    f"{project} {version} is the newest signed version"
                    + (f" (known: {newest}, {where})" if newest else ""),
                )
            )
        else:
            out.append(
                RuleResult(
                    "image_version.newest",
                    False,
                    f"rollback: {project} {version} is older than the newest signed version {newest} ({where})",
                )
            )
    return out


def _newest_signed(policy: Policy, source: Source, project: str, digest: str, home: Path | None):  # type: ignore[no-untyped-def]
    """The newest version of ``project`` known to be signed: the ledger of verified versions, and the
    images of the same project in the source store whose provenance verifies under the policy."""
    from packaging.version import InvalidVersion, Version

    best: tuple[Version, str] | None = None
    seen = trust.newest_seen(project, home)
    if seen:
        with contextlib.suppress(InvalidVersion):
            best = (Version(seen), "verified earlier on this machine")
    provenance_requirements = [r for r in policy.requirements if r.predicate_type == SLSA_PROVENANCE_V1] or [
        Requirement(SLSA_PROVENANCE_V1, "provenance", (), 1)
    ]
    for name, descriptor in source.store.names():
        base, _, tag = name.partition(":")
        if base != project or descriptor.digest == digest or not tag:
            continue
        try:
            candidate = Version(tag)
        except InvalidVersion:
            continue
        if best is not None and candidate <= best[0]:
            continue
        checks = collect_attestations(source, descriptor.digest, policy)
        if all(evaluate_requirement(r, checks).passed for r in provenance_requirements):
            best = (candidate, f"{name} in {source.kind}")
    return (best[0], best[1]) if best else (None, "")


def collect_attestations(source: Source, digest: str, policy: Policy) -> list[AttestationCheck]:
    checks = []
    for referrer in list_referrers(source.store, digest):
        try:
            raw = read_bundle(source.store, referrer)
        except VialError as exc:
            checks.append(
                AttestationCheck(referrer.digest, referrer.bundle.digest, referrer.predicate_type, "rejected", str(exc))
            )
            continue
        checks.append(
            check_attestation(
                raw, policy.signers, digest, referrer.digest, referrer.bundle.digest, referrer.predicate_type
            )
        )
    return checks


def rule_input(
    image: Image, project: str | None, version: str | None, checks: list[AttestationCheck], now: datetime
) -> dict[str, Any]:
    config = image.config
    return {
        "image": {
            "digest": image.digest,
            "config_digest": image.manifest.config.digest,
            "name": project,
            "version": version,
            "layers": [layer.digest for layer in image.manifest.layers],
            "annotations": dict(image.manifest.annotations),
            "config": {
                "env": list(config.env),
                "cmd": list(config.cmd),
                "entrypoint": list(config.entrypoint),
                "workdir": config.workdir,
                "labels": dict(config.labels),
            },
        },
        "attestations": [
            {
                "predicateType": c.predicate_type,
                "predicate": c.statement.predicate,
                "signers": sorted(c.signers),
                "subject": [s.to_json() for s in c.statement.subjects],
            }
            for c in checks
            if c.status == "verified" and c.statement is not None
        ],
        "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def verify_source(
    source: Source,
    policy: Policy,
    *,
    full: bool = False,
    now: datetime | None = None,
    home: Path | None = None,
    record: bool = True,
) -> VerificationResult:
    """Check ``source`` against ``policy``. Raises only if REF names nothing; every failed check is a failed rule."""
    now = now or datetime.now(UTC)
    result = VerificationResult(source.label, source.kind, None, None, policy)
    started = time.perf_counter()
    result.digest = source.store.resolve(source.ref).digest  # an unknown REF is an error, not a failed rule
    try:
        image = source.image()
        result.config_digest = image.manifest.config.digest
        result.integrity = check_image(source.store, image, policy.limits, full=full, use_cache=source.writable)
    except VialError as exc:
        result.rules.append(RuleResult("integrity", False, str(exc)))
        result.seconds["integrity"] = time.perf_counter() - started
        return result
    integrity = result.integrity
    result.rules.append(
        RuleResult(
            "integrity",
            True,
            f"{integrity.blobs} blobs rehashed ({integrity.bytes_hashed} bytes); diff_ids and tar entries checked"
            + ("" if integrity.layers_decompressed else " (layer contents: checked before, cached by manifest digest)"),
        )
    )
    result.seconds["integrity"] = time.perf_counter() - started
    started = time.perf_counter()
    checks = collect_attestations(source, image.digest, policy)
    result.attestations = checks
    result.seconds["signatures"] = time.perf_counter() - started
    started = time.perf_counter()
    for requirement in policy.requirements:
        result.rules.append(evaluate_requirement(requirement, checks))
    provenances = _statements(checks, SLSA_PROVENANCE_V1, policy)
    result.rules += provenance_rules(policy, provenances)
    result.rules += sbom_rules(policy, _statements(checks, CYCLONEDX_BOM, policy))
    result.rules += age_rule(policy, provenances, now)
    result.project, result.version = project_of(image, provenances)
    result.rules += version_rules(policy, source, image, result.project, result.version, home)
    if policy.rules:
        document = rule_input(image, result.project, result.version, checks, now)
        for rule in policy.rules:
            passed, detail = evaluate_rule(rule, document)
            result.rules.append(RuleResult(f"{rule.language}: {rule.name}", passed, detail))
    result.seconds["policy"] = time.perf_counter() - started
    if record and result.verified and result.project and result.version and provenances:
        with contextlib.suppress(OSError):
            trust.record_version(result.project, result.version, home)
    return result
