"""The options several commands share, each defined once: ``--json``, ``--node``, ``--log``, ``--profile``,
``--insecure``; and the passphrase prompt."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]


def json_option(function: F) -> F:
    """``--json``: print one JSON object on stdout (the parameter ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")(function)


def node_option(help: str | None = None) -> Callable[[F], F]:
    """``--node URL``: the Kubo RPC API address (default ``$VIAL_IPFS_API``)."""
    return click.option(
        "--node",
        "node",
        metavar="URL",
        help=help or "Kubo RPC API address, e.g. http://127.0.0.1:5001 (default: $VIAL_IPFS_API).",
    )


def log_option(help: str | None = None, from_env: bool = True) -> Callable[[F], F]:
    """``--log ORIGIN``: which release log; by default also from ``$VIAL_LOG`` (``from_env``)."""
    from vial.registry.log.releases import ORIGIN_ENV

    return click.option(
        "--log",
        "origin",
        envvar=ORIGIN_ENV if from_env else None,
        default=None,
        metavar="ORIGIN",
        help=help or f"Which log (its origin line); default ${ORIGIN_ENV}, else vial.local/releases.",
    )


def profile_option(help: str = "UnixFS import profile (IPIP-499).") -> Callable[[F], F]:
    """``--profile``: the UnixFS import profile a CID is computed with."""
    from vial.registry.ipfs.unixfs import DEFAULT_PROFILE, PROFILES

    return click.option(
        "--profile", type=click.Choice(sorted(PROFILES)), default=DEFAULT_PROFILE, show_default=True, help=help
    )


def insecure_option(function: F) -> F:
    """``--insecure``: plain HTTP to a registry (``None`` unless given: automatic for loopback)."""
    return click.option(
        "--insecure",
        is_flag=True,
        default=None,
        help="Plain HTTP to the registry (automatic for 127.0.0.1 and localhost).",
    )(function)


def prompt_password(confirm: bool = False) -> bytes:
    """A private key's passphrase: ``$VIAL_PASSWORD``, else asked on the terminal (refused without one)."""
    from vial.attest.errors import KeyFileError
    from vial.attest.imagesign import PASSWORD_ENV

    value = os.environ.get(PASSWORD_ENV)
    if value is not None:
        return value.encode()
    if not sys.stdin.isatty():
        raise KeyFileError(f"the key's passphrase is needed: set {PASSWORD_ENV} (no terminal to prompt on)")
    return str(
        click.prompt("Passphrase for the private key", hide_input=True, confirmation_prompt=confirm, err=True)
    ).encode()
