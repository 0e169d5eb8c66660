"""Every failure a user can cause or meet is a ``VialError``: the CLI prints its message as one line.

Messages name the file, field or object at fault, so that one line is enough to act on.
"""


class VialError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SpecError(VialError):
    """vial.toml is missing, malformed or invalid."""


class LockError(VialError):
    """vial.lock is missing, malformed, or stale against the spec and files."""


class ResolveError(VialError):
    """An input could not be resolved to a content hash (unknown package, unsatisfiable requirement)."""


class BuildError(VialError):
    """A builder failed while producing a layer."""


class IntegrityError(VialError):
    """Bytes did not match the digest they were promised to have."""


class NotFoundError(VialError):
    """A reference, blob or file does not exist."""


class ServiceError(VialError):
    """An external service (Docker engine, IPFS node, registry) is unreachable or failed."""


class MalformedInputError(VialError):
    """An untrusted document (JSON, TOML, a binary format) is malformed: not merely invalid, but unparseable
    or built to be ambiguous (duplicate keys, lone surrogates, non-finite or huge numbers, deep nesting)."""
