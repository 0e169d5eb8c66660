"""The documented Python API of vial (docs/api.md): one function per service, typed results.

Every function takes keyword arguments with defaults (the store defaults to ``Store()``, i.e.
``$VIAL_HOME``), reports progress through ``log`` (default: INFO records of the ``vial.api.*``
loggers), raises ``vial.errors.VialError`` (or a subclass) for every failure a user can cause, and
returns a frozen dataclass whose ``to_json()`` is what the matching ``vial ... --json`` prints.

>>> import vial
>>> vial.lock("my-project")
>>> built = vial.build("my-project", locked=True)
>>> vial.sign(built.digest, key="vial.key", password=b"secret")
>>> vial.verify(built.digest, policy="policy.yaml").verified
True
"""

from vial.api._attest import SignResult, attest, sign
from vial.api._build import BuildResult, LockResult, build, lock
from vial.api._ipfs import IpfsPullResult, PinResult, pin
from vial.api._log import PublishResult, ReleasePullResult, publish
from vial.api._oci import PushResult, RegistryPullResult, push
from vial.api._pull import PullResult, pull
from vial.api._verify import RunResult, VerifyResult, VsaOutputNeeded, load_policy_or_default, run, verify
from vial.attest.imagesign import Attestation, AttestResult
from vial.errors import VialError
from vial.policies.runtime.run import NotVerified
from vial.store import Store

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
