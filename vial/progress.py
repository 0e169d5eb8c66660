"""Library progress: messages go to ``logging`` (one logger per module), never to ``print``.

Functions that report progress take ``log: Callable[[str], None]``; the CLI passes its own status
printer, and the default is the INFO level of the calling module's logger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

Log = Callable[[str], None]


def progress_logger(module: str) -> Log:
    """INFO records of the logger named ``module`` (pass ``__name__``)."""
    return logging.getLogger(module).info
