"""What every service of the façade shares: the default store and the default progress callback."""

from __future__ import annotations

from vial.progress import Log as Log
from vial.progress import progress_logger
from vial.store import Store


def logger_for(service: str) -> Log:
    """Progress messages of ``service`` as INFO records of the logger ``vial.api.<service>``."""
    return progress_logger(f"vial.api.{service}")


def store_or_default(store: Store | None) -> Store:
    """``store``, else the store in ``$VIAL_HOME`` (default ``~/.local/share/vial``)."""
    return store if store is not None else Store()
