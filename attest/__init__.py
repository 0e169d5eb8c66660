"""vial.attest: in-toto statements, DSSE signing and verification, Sigstore bundles, stored referrers.

Imports: the core only (``vial.errors``, ``vial.digest``, ``vial.oci``, ``vial.store``, ...); never another part,
the API or the CLI (docs/architecture.md).
"""
