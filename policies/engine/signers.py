"""Who signed: one signature has one signer, however many policy signers it satisfies.

A key signature's signer is its key (``key:<fingerprint>``). A keyless signature's signer is its
certificate's whole identity, the OIDC issuer and every SAN the certificate names
(``identity:<issuer>|<san>[|<san>...]``), not the one SAN a policy signer happened to match: a
certificate with two SANs that match two policy signers is still one signer, and counts once toward
a threshold. Certificates are short-lived (Fulcio issues one per signing), so the same identity signing
twice carries two certificates; it is one signer too. Two certificates whose identities share a SAN
under the same issuer are therefore the same signer (``distinct_signers`` merges them), which errs
towards counting fewer signers, never more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def identity_signer_id(issuer: str, sans: Iterable[str]) -> str:
    """The signer id of a certificate: its issuer and all its SANs, sorted."""
    return "identity:" + "|".join([issuer, *sorted(set(sans))])


def _parts(signer_id: str) -> set[str]:
    """What makes two signer ids one signer: the key, or each (issuer, SAN) of a certificate identity."""
    if signer_id.startswith("identity:"):
        issuer, _, sans = signer_id[len("identity:") :].partition("|")
        return {f"identity:{issuer}|{san}" for san in sans.split("|")}
    return {signer_id}


def distinct_signers(signer_names: Mapping[str, set[str]]) -> list[set[str]]:
    """Group signer ids (each with the policy names it matched) into distinct signers; return each
    group's policy names. Ids that share a key or an (issuer, SAN) are one signer."""
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for signer_id in signer_names:
        parts = sorted(_parts(signer_id))
        root = find(signer_id)
        for part in parts:
            parent[find(part)] = root
    groups: dict[str, set[str]] = {}
    for signer_id, names in signer_names.items():
        groups.setdefault(find(signer_id), set()).update(names)
    return list(groups.values())
