"""Custom policy rules over the verified statements: Rego (regopy, OPA's language) or CEL (cel-python).

Both see one input document (``rule_input``): the image (digest, config digest, name, version,
layers, annotations, config) and the attestations that verified against a trusted signer, each
with its predicate type, predicate and the names of the signers who signed it. Attestations that
did not verify are never shown to rules.

* Rego: the module (any package) defines ``deny`` (a set of messages: the rule fails with them if
  any) and/or ``allow`` (a boolean that must be true). A module defining neither fails.
* CEL: the expression must evaluate to ``true``; variables ``image``, ``attestations``, ``now``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vial.errors import VialError

if TYPE_CHECKING:  # celpy is imported when a CEL rule is compiled, not with the policy module
    import celpy

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)


class RuleError(VialError):
    """A custom rule does not compile or could not be evaluated."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """regopy prints parse errors on the process's stdout/stderr; keep them off the user's terminal."""
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat[:limit]


def _rego_package(source: str, where: str) -> str:
    match = _PACKAGE.search(source)
    if not match:
        raise RuleError(f"{where}: Rego module has no package line")
    return match.group(1)


def _rego_query(source: str, document: dict[str, Any], query: str, where: str) -> Any:
    import regopy

    interpreter = regopy.Interpreter()
    try:
        with _quiet():
            interpreter.set_input_term(json.dumps(document))
            interpreter.add_module("rule.rego", source)
            output = interpreter.query(query)
    except regopy.RegoError as exc:
        messages = re.findall(r"errormsg \d+:([^)]*)\)", str(exc))
        raise RuleError(f"{where}: Rego: {_one_line('; '.join(messages) or str(exc))}") from None
    text = str(output)
    if text == "undefined":
        return None
    try:
        return json.loads(text)["bindings"]["x"]
    except (ValueError, KeyError, TypeError):
        raise RuleError(f"{where}: Rego: {_one_line(text)}") from None


def _cel_program(source: str, where: str) -> celpy.Runner:
    import celpy
    from celpy.celparser import CELParseError

    environment = celpy.Environment()
    try:
        return environment.program(environment.compile(source))
    except CELParseError as exc:
        raise RuleError(
            f"{where}: CEL: {_one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - cel-python raises several types at compile time
        raise RuleError(f"{where}: CEL: {_one_line(str(exc))}") from None


def compile_rule(rule: Any, where: str) -> None:
    """Fail now (when the policy is loaded) on a rule that does not parse."""
    if rule.language == "rego":
        package = _rego_package(rule.source, where)
        _rego_query(rule.source, {}, f"x = data.{package}", where)
    else:
        _cel_program(rule.source, where)


def evaluate_rule(rule: Any, document: dict[str, Any]) -> tuple[bool, str]:
    """(passed, why) for one rule."""
    where = f"rule {rule.name!r}"
    try:
        if rule.language == "rego":
            package = _rego_package(rule.source, where)
            deny = _rego_query(rule.source, document, f"x = data.{package}.deny", where)
            allow = _rego_query(rule.source, document, f"x = data.{package}.allow", where)
            if deny is None and allow is None:
                return False, "the Rego module defines neither deny nor allow"
            if deny:
                items = deny if isinstance(deny, list) else [deny]
                return False, "denied: " + "; ".join(str(item) for item in items)
            if allow is not None and allow is not True:
                return False, f"allow is {json.dumps(allow)}, not true"
            return True, "allowed" if allow is True else "nothing denied"
        import celpy
        from celpy.adapter import json_to_cel

        program = _cel_program(rule.source, where)
        activation = {key: json_to_cel(value) for key, value in document.items()}
        try:
            result = program.evaluate(activation)
        except Exception as exc:  # noqa: BLE001 - evaluation errors (no such key, type errors)
            return False, f"CEL evaluation failed: {_one_line(str(exc))}"
        if isinstance(result, Exception):
            return False, f"CEL evaluation failed: {_one_line(str(result))}"
        if isinstance(result, (bool, celpy.celtypes.BoolType)) and bool(result):
            return True, "expression is true"
        return False, f"expression is {result!s}, not true"
    except RuleError as exc:
        return False, str(exc)
