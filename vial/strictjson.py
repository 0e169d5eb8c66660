"""One strict parser for every untrusted JSON document (bundles, envelopes, statements, records, locks).

``json.loads`` accepts what other parsers read differently, which matters for signed bytes: cosign
and Go's encoding/json disagree with Python on duplicate keys (last wins here, first or refused
elsewhere), so a signed document with two ``subject`` keys could mean one thing to the signer and
another to the verifier. ``loads`` refuses, at any depth:

- duplicate keys in an object;
- lone surrogates (``"\\ud800"``) in keys and strings: not Unicode, and not representable in UTF-8;
- non-finite numbers (``NaN``, ``Infinity``, ``1e999``);
- integers beyond ``MAX_INT`` in magnitude (and so the 4300-digit limit of ``int`` is never met);
- nesting deeper than ``max_depth`` (scanned before parsing, so the parser's recursion cannot blow);
- documents larger than ``max_size`` bytes, and bytes that are not UTF-8.

Each refusal is one line, ``<what>: <reason>``, raised as ``error`` (``MalformedInputError`` by
default; callers pass their own ``VialError`` subclass to keep their exit code).
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from vial.errors import MalformedInputError, VialError

MAX_DEPTH = 64
MAX_INT = 2**63
_MAX_INT_DIGITS = len(str(MAX_INT))
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {_show(key)}")
        result[key] = value
    return result


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise _Refused(f"integer of {len(text.lstrip('-'))} digits, larger than 2**63")
    value = int(text)
    if abs(value) > MAX_INT:
        raise _Refused(f"integer {text} is larger than 2**63")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {_show(text[:40])} is not finite")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"non-finite number {name}")


def _show(text: str) -> str:
    """A key or value for a message: printable, short, and surrogates escaped."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    return repr(shown.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"))


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, without recursion (brackets inside strings ignored)."""
    brackets = _BRACKET.findall(_STRING.sub('""', text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                raise _Refused(f"string {_show(item)} holds a lone surrogate (not Unicode)")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if _has_surrogate(key):
                    raise _Refused(f"key {_show(key)} holds a lone surrogate (not Unicode)")
                stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)


def loads(
    data: bytes | str,
    what: str,
    *,
    max_size: int | None = None,
    max_depth: int = MAX_DEPTH,
    error: type[VialError] = MalformedInputError,
) -> Any:
    """Decode one untrusted JSON document strictly; raise ``error("<what>: <reason>")`` on anything ambiguous."""
    if max_size is not None and len(data) > max_size:
        raise error(f"{what}: {len(data)} bytes, more than the {max_size} allowed")
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{what}: not UTF-8 (byte {exc.start})") from None
    else:
        text = data
    depth = nesting_depth(text)
    if depth > max_depth:
        raise error(f"{what}: nested {depth} levels deep, more than the {max_depth} allowed")
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_float=_float, parse_constant=_constant)
        _check_strings(value)
    except _Refused as exc:
        raise error(f"{what}: {exc.reason}") from None
    except RecursionError:
        raise error(f"{what}: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int()'s digit limit
        raise error(f"{what}: not valid JSON ({' '.join(str(exc).split())})") from None
    return value


def expect_object(value: Any, what: str, error: type[VialError] = MalformedInputError) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise error(f"{what}: expected a JSON object, found {_kind(value)}")
    return value


def field(
    obj: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    what: str,
    error: type[VialError] = MalformedInputError,
) -> Any:
    """``obj[name]``, which must exist and be of ``kind`` (``bool`` is never an ``int`` here)."""
    if name not in obj:
        raise error(f"{what}: missing field {name!r}")
    value = obj[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise error(f"{what}: field {name!r} is {_kind(value)}, expected {_names(kinds)}")
    if not isinstance(value, kinds):
        raise error(f"{what}: field {name!r} is {_kind(value)}, expected {_names(kinds)}")
    return value


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(_KINDS.get(k, k.__name__) for k in kinds)


_KINDS: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)
