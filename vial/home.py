"""Where vial keeps its data: ``$VIAL_HOME``, else ``$XDG_DATA_HOME/vial``, else ``~/.local/share/vial``."""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    explicit = os.environ.get("VIAL_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "vial"


def default_cache() -> Path:
    """Downloaded inputs (.debs, wheels) by sha256: ``$VIAL_CACHE``, else ``$XDG_CACHE_HOME/vial``.

    Shared by every store of a user; anything taken from it is checked against its hash again.
    """
    explicit = os.environ.get("VIAL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "vial"
