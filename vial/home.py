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
