"""Imports every command module so that each registers itself on the ``vial`` group."""

from vial.cli import attest_cmds  # noqa: F401
from vial.cli import build_cmds  # noqa: F401
from vial.cli import run_cmds  # noqa: F401
