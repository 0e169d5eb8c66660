"""vial.registry: where images travel: OCI registries (``oci/``), IPFS (``ipfs/``), the release log (``log/``).

Imports: the core only (the local store is ``vial.store``); never another part, the API or the CLI
(docs/architecture.md).
"""
