"""vial's own version, read from the installed distribution (a core module: parts record it in what they write)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vial")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
