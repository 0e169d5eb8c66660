"""vial.policies: what must hold before anything runs (``model/``, ``engine/``), and the runtimes (``runtime/``).

Imports: the core, ``vial.attest`` (statements and signatures) and ``vial.registry`` (CID sources); never
``vial.builders``, the API or the CLI (docs/architecture.md).
"""
