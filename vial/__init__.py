"""vial: turn a research project into a permanent, versionable, attested container.

The Python API (docs/api.md) is available from this package directly, loaded on first use:
``vial.lock``, ``vial.build``, ``vial.sign``, ``vial.attest``, ``vial.verify``, ``vial.run``,
``vial.pin``, ``vial.pull``, ``vial.push``, ``vial.publish`` and their result types (defined in
``vial.api``). ``import vial`` itself stays cheap: nothing heavy is imported until a name is used.

>>> import vial
>>> built = vial.build("examples/longley-ols")
>>> vial.verify(built.digest, policy="policy.yaml").verified
True

The shared core lives here too (errors, digests, atomic files, OCI models, the project spec and
lock, the store); the parts live in ``vial.builders``, ``vial.registry``, ``vial.attest`` and
``vial.policies``; the command line in ``vial.cli``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vial.version import __version__

if TYPE_CHECKING:
    from vial.api import (
        Attestation,
        AttestResult,
        BuildResult,
        IpfsPullResult,
        LockResult,
        NotVerified,
        PinResult,
        PublishResult,
        PullResult,
        PushResult,
        RegistryPullResult,
        ReleasePullResult,
        RunResult,
        SignResult,
        Store,
        VerifyResult,
        VialError,
        VsaOutputNeeded,
        build,
        load_policy_or_default,
        lock,
        pin,
        publish,
        pull,
        push,
        run,
        sign,
        verify,
    )

# The same names as vial.api.__all__ (tests/test_exported_members.py checks they agree).
__all__ = [
    "AttestResult",
    "Attestation",
    "BuildResult",
    "IpfsPullResult",
    "LockResult",
    "NotVerified",
    "PinResult",
    "PublishResult",
    "PullResult",
    "PushResult",
    "RegistryPullResult",
    "ReleasePullResult",
    "RunResult",
    "SignResult",
    "Store",
    "VerifyResult",
    "VialError",
    "VsaOutputNeeded",
    "__version__",
    "attest",
    "build",
    "load_policy_or_default",
    "lock",
    "pin",
    "publish",
    "pull",
    "push",
    "run",
    "sign",
    "verify",
]
_API_NAMES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    # PEP 562: the façade is imported the first time one of its names is used.
    if name == "attest":
        # The subpackage vial.attest, which is callable as the façade's attest (see its docstring):
        # once imported it is this module's attribute, so the function cannot take the name.
        import importlib

        return importlib.import_module("vial.attest")
    if name in _API_NAMES:
        import vial.api

        value = getattr(vial.api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vial' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API_NAMES})
