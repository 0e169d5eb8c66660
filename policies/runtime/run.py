"""Verify, then run: nothing reaches a runtime unless the policy passed (or the user said, loudly, to skip).

The runtime is handed the same store and image the verifier checked; both runtimes rehash every
blob again as they consume it (the Docker archive writer and the unpacker), so bytes changed between
verification and use are refused too. Containers are created from the config digest, never a tag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vial.errors import ServiceError, VialError
from vial.policies.engine.layers import DEFAULT_LIMITS
from vial.policies.engine.source import open_source
from vial.policies.engine.verify import VerificationResult, verify_source
from vial.policies.model.policy import Policy
from vial.policies.runtime import bwrap as runtime_bwrap
from vial.policies.runtime import docker as runtime_docker
from vial.progress import progress_logger
from vial.store import Store

_progress = progress_logger(__name__)


class NotVerified(VialError):
    """The image failed its policy: it was not run."""

    exit_code = 2


def summary(result: VerificationResult) -> str:
    failed = result.failures()
    first = failed[0] if failed else None
    more = f" (and {len(failed) - 1} more failed rules)" if len(failed) > 1 else ""
    return (
        f"{result.ref}: not verified, not run: {first.name}: {first.detail}{more}"
        if first
        else f"{result.ref}: not verified"
    )


def choose_runtime(name: str) -> str:
    """The runtime to use, checked to be there (an engine that answers, a bwrap binary)."""
    if name == "docker":
        runtime_docker.docker_client()
        return "docker"
    if name == "bwrap":
        runtime_bwrap.bwrap_path()
        return "bwrap"
    if name != "auto":
        raise VialError(f"--runtime {name!r}: choose auto, docker or bwrap")
    try:
        runtime_docker.docker_client()
        return "docker"
    except ServiceError:
        if runtime_bwrap.available():
            return "bwrap"
        raise ServiceError(
            "no runtime: no Docker engine is reachable and bubblewrap (bwrap) is not installed"
        ) from None


def verify_and_run(
    ref: str,
    policy: Policy | Callable[[], Policy] | None,
    options: runtime_docker.RunOptions,
    runtime: str = "auto",
    *,
    store: Store | None = None,
    home: Path | None = None,
    log: Callable[[str], None] = _progress,
) -> tuple[VerificationResult | None, int]:
    """Verify ``ref`` against ``policy`` and run it; ``policy=None`` means --insecure-skip-verify.

    ``policy`` may be a loader, called once the runtime and REF were found (so that the most basic
    problem is the one reported). Raises ``NotVerified`` (and runs nothing) when any rule fails.
    """
    chosen = choose_runtime(runtime)
    with open_source(ref, store) as source:
        source.store.resolve(source.ref)
        if callable(policy):
            policy = policy()
        result = None
        if policy is not None:
            result = verify_source(source, policy, home=home)
            if not result.verified:
                raise NotVerified(summary(result))
            log(f"verified {result.digest} against {policy.origin}")
        image = source.image()
        if result is not None and image.digest != result.digest:  # a result exactly when there is a policy
            raise NotVerified(f"{ref}: now names {image.digest}, not the verified {result.digest}")
        options.labels.setdefault(
            "dev.vial.policy", policy.digest if policy is not None else "none (insecure-skip-verify)"
        )
        limits = policy.limits if policy is not None else DEFAULT_LIMITS
        if chosen == "docker":
            code = runtime_docker.run_image(source.store, image, options, log)
        else:
            code = runtime_bwrap.run_image(source.store, image, options, log, limits)
    return result, code
