"""vial: turn a research project into a permanent, versionable, attested container.

The shared core lives here (errors, digests, atomic files, OCI models, the project spec and lock);
the parts live in ``vial.builders``, ``vial.registry``, ``vial.attest`` and ``vial.policies``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vial")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
