"""Errors of ``vial.attest``: each is a ``VialError``, so the CLI prints it as one line."""

from vial.errors import VialError


class AttestationError(VialError):
    """A statement or predicate could not be built or is malformed."""


class KeyFileError(VialError):
    """A key file is missing, malformed, of an unsupported type, or its passphrase is wrong."""


class SigningError(VialError):
    """Signing failed (no identity token, an unreachable Sigstore instance, a bad trust config)."""


class VerificationError(VialError):
    """A bundle did not verify: the reason says which check failed."""

    exit_code = 2
