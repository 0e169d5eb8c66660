"""What every service of the façade shares: the default store and the default progress callback."""

from __future__ import annotations

import logging
from collections.abc import Callable

from vial.store import Store

Log = Callable[[str], None]


def logger_for(service: str) -> Log:
    """Progress messages of ``service`` as INFO records of the logger ``vial.api.<service>``."""
    return logging.getLogger(f"vial.api.{service}").info


def store_or_default(store: Store | None) -> Store:
    """``store``, else the store in ``$VIAL_HOME`` (default ``~/.local/share/vial``)."""
    return store if store is not None else Store()
