"""TOML from files users and others hand to vial (``vial.toml``, ``vial.lock``): one line on any failure.

``tomllib`` recurses once per nested array or inline table, so ``a = [[[[...]]]]`` thousands deep
ends in ``RecursionError``; that, bytes that are not UTF-8, and nesting beyond ``MAX_DEPTH`` are
refused here as ``error("<what>: <reason>")``, like any syntax error.
"""

from __future__ import annotations

import re
import tomllib
from itertools import accumulate
from typing import Any

from vial.errors import MalformedInputError, VialError

MAX_DEPTH = 64
# Brackets inside strings and comments do not nest; strip those first (an approximation that can only
# over-count on text that is not valid TOML anyway).
_SKIP = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_BRACKET = re.compile(r"[\[\]{}]")


def decode(data: bytes, what: str, error: type[VialError] = MalformedInputError) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what}: not UTF-8 text (byte {exc.start})") from None


def nesting_depth(text: str) -> int:
    brackets = _BRACKET.findall(_SKIP.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def loads(text: str, what: str, error: type[VialError] = MalformedInputError, prefix: str = "") -> dict[str, Any]:
    """``tomllib.loads(text)``; ``prefix`` starts the message of a syntax error (e.g. ``invalid TOML: ``)."""
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise error(f"{what}: nested {depth} levels deep, more than the {MAX_DEPTH} allowed")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what}: {prefix}{' '.join(str(exc).split())}") from None
    except RecursionError:
        raise error(f"{what}: nested too deeply") from None
    except ValueError as exc:  # an integer past Python's 4300-digit limit
        raise error(f"{what}: {' '.join(str(exc).split()[:8])}") from None
