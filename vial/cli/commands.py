"""Imports every command module so that each registers itself on the ``vial`` group."""

from vial.cli import build_cmds  # noqa: F401
from vial.cli import ipfs_cmds  # noqa: F401
