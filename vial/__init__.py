"""vial: turn a research project into a permanent, versionable, attested container.

The shared core lives here (errors, digests, atomic files, OCI models, the store, the project spec and
lock); the parts live in ``vial.builders``, ``vial.registry``, ``vial.attest`` and ``vial.policies``.
"""

from vial.version import __version__

__all__ = ["__version__"]
