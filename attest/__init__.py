"""vial.attest: in-toto statements, DSSE signing and verification, Sigstore bundles, stored referrers.

Imports: the core only (``vial.errors``, ``vial.digest``, ``vial.oci``, ``vial.store``, ...); never another part,
the API or the CLI (docs/architecture.md).

The package is also callable, as the façade's ``vial.attest`` (``vial.api.attest``): sign any predicate
about an image and store it as a referrer::

    >>> import vial
    >>> vial.attest("demo:1.0", {"passed": True}, "https://example.org/tests/v1", key="vial.key")
    AttestResult(image='sha256:...', attestation=Attestation(...))
"""

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    # ``vial.attest`` names both this package and the façade function (vial.__all__): calling the
    # package signs a predicate (vial.attest.imagesign.attest_image), its attributes are the modules.
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from vial.attest.imagesign import attest_image

        return attest_image(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
