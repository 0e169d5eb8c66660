"""Strict signed JSON: a duplicate key at any signed level (bundle, envelope, statement, predicate), a
lone surrogate, a huge integer, deep nesting or a non-finite number is refused with one line, by the
API and by ``vial verify-attestation --bundle`` (non-zero exit, one stderr line, never exit 70).

Each tampered bundle is built from a real key-signed one; where the statement changes, the changed
payload is signed again, so the signature is valid and only strictness can refuse it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vial import strictjson
from vial.attest.errors import AttestationError, VerificationError
from vial.attest.signing import keys
from vial.attest.signing.bundle import key_bundle, parse_bundle
from vial.attest.signing.dsse import parse_envelope
from vial.attest.signing.sign import KeySigner, sign_envelope
from vial.attest.signing.verify import verify_with_key
from vial.attest.statements.statement import Statement, Subject, parse_statement
from vial.cli import (
    attest_cmds,  # noqa: F401 - registers the commands
    cli,
)
from vial.errors import MalformedInputError, VialError

PREDICATE_TYPE = "https://vial.dev/test/strict/v1"


@pytest.fixture(scope="module")
def key() -> keys.SigningKey:
    return keys.generate("ecdsa-p256")


def _statement(digest: str) -> Statement:
    return Statement((Subject("demo", digest),), PREDICATE_TYPE, {"outer": {"inner": 1, "list": ["a", {"deep": 2}]}})


def _bundle(digest: str, key: keys.SigningKey) -> bytes:
    return KeySigner(key).sign(_statement(digest))


def _resigned(payload: bytes, key: keys.SigningKey) -> bytes:
    """A valid bundle whose (validly signed) payload is exactly ``payload``."""
    return key_bundle(sign_envelope(payload, key), key)


def _dup(text: str, member: str) -> str:
    """``text`` with the JSON member ``member`` (``"key":value`` as it appears) written twice."""
    assert text.count(member) == 1, (member, text)
    return text.replace(member, f"{member},{member}")


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message
    return message


# -- the parser itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": 1, "a": 1}', "duplicate key 'a'"),
        ('{"a": {"b": [{"c": 1, "c": 2}]}}', "duplicate key 'c'"),
        ('["\\ud800"]', "lone surrogate"),
        ('{"\\udfff": 1}', "lone surrogate"),
        ('{"k": "ok \\ud83d"}', "lone surrogate"),
        ("[" + "9" * 400 + "]", "integer of 400 digits"),
        ("[-" + "9" * 5000 + "]", "integer of 5000 digits"),
        ("[18446744073709551616]", "larger than 2**63"),
        ("[NaN]", "non-finite number NaN"),
        ('{"x": Infinity}', "non-finite number Infinity"),
        ("[-Infinity]", "non-finite number -Infinity"),
        ("[1e400]", "not finite"),
        ("[" * 100_000, "nested 100000 levels deep"),
        ('{"a":' * 100_000, "nested 100000 levels deep"),
        ("[1,", "not valid JSON"),
    ],
)
def test_strict_loads_refuses(text: str, reason: str) -> None:
    with pytest.raises(MalformedInputError) as info:
        strictjson.loads(text.encode(), "doc.json")
    assert _one_line(info.value).startswith("doc.json: ")
    assert reason in str(info.value)


def test_strict_loads_accepts_ordinary_json() -> None:
    assert strictjson.loads(b'{"a": [1, 2.5, "\\ud83d\\ude00", null, true], "b": "[[[["}', "doc") == {
        "a": [1, 2.5, "\U0001f600", None, True],
        "b": "[[[[",
    }
    assert strictjson.loads("[" * 64 + "]" * 64, "doc") is not None
    with pytest.raises(MalformedInputError, match="not UTF-8"):
        strictjson.loads(b'"\xff"', "doc")
    with pytest.raises(MalformedInputError, match="more than the 4 allowed"):
        strictjson.loads(b"[1, 2]", "doc", max_size=4)


# -- every signed level ---------------------------------------------------------------------------


def _bundle_level_variants(raw: bytes) -> dict[str, bytes]:
    text = raw.decode()
    data = json.loads(raw)
    envelope = data["dsseEnvelope"]
    variants = {
        "mediaType": _dup(text, f'"mediaType": "{data["mediaType"]}"'),
        "dsseEnvelope": text.replace('"dsseEnvelope": {', '"dsseEnvelope": {}, "dsseEnvelope": {', 1),
        "verificationMaterial": text.replace(
            '"verificationMaterial": {', '"verificationMaterial": {"tlogEntries": []}, "verificationMaterial": {', 1
        ),
        "payloadType": _dup(text, f'"payloadType": "{envelope["payloadType"]}"'),
        "payload": _dup(text, f'"payload": "{envelope["payload"]}"'),
        "signatures": text.replace('"signatures": [', '"signatures": [], "signatures": [', 1),
        "sig": _dup(text, f'"sig": "{envelope["signatures"][0]["sig"]}"'),
    }
    return {k: v.encode() for k, v in variants.items()}


@pytest.mark.parametrize(
    "member", ["mediaType", "dsseEnvelope", "verificationMaterial", "payloadType", "payload", "signatures", "sig"]
)
def test_duplicate_key_in_bundle_and_envelope(built, key, member: str) -> None:  # type: ignore[no-untyped-def]
    raw = _bundle(built.digest, key)
    verify_with_key(raw, key.public, built.digest)  # the untouched bundle verifies
    tampered = _bundle_level_variants(raw)[member]
    json.loads(tampered)  # Python's json reads it (last key wins): only strictness refuses it
    with pytest.raises(VerificationError, match=f"duplicate key '{member}'") as info:
        verify_with_key(tampered, key.public, built.digest)
    _one_line(info.value)
    with pytest.raises(VerificationError, match=f"duplicate key '{member}'"):
        parse_bundle(tampered)


def _statement_variants(payload: bytes, digest: str) -> dict[str, bytes]:
    text = payload.decode()  # RFC 8785: no whitespace
    hexdigest = digest.split(":", 1)[1]
    variants = {
        "_type": _dup(text, '"_type":"https://in-toto.io/Statement/v1"'),
        "subject": text.replace('"subject":[', '"subject":[{"digest":{"sha256":"' + "0" * 64 + '"}}],"subject":[', 1),
        "predicateType": _dup(text, f'"predicateType":"{PREDICATE_TYPE}"'),
        "predicate": text.replace('"predicate":{', '"predicate":{},"predicate":{', 1),
        "sha256": _dup(text, f'"sha256":"{hexdigest}"'),
        "name": _dup(text, '"name":"demo"'),
        "inner": _dup(text, '"inner":1'),
        "deep": _dup(text, '"deep":2'),
    }
    return {k: v.encode() for k, v in variants.items()}


@pytest.mark.parametrize(
    "member", ["_type", "subject", "predicateType", "predicate", "sha256", "name", "inner", "deep"]
)
def test_duplicate_key_in_signed_statement(built, key, member: str) -> None:  # type: ignore[no-untyped-def]
    payload = _statement(built.digest).to_bytes()
    tampered_payload = _statement_variants(payload, built.digest)[member]
    json.loads(tampered_payload)
    raw = _resigned(tampered_payload, key)  # the signature over the tampered payload is valid
    with pytest.raises(VerificationError, match=f"duplicate key '{member}'") as info:
        verify_with_key(raw, key.public, built.digest)
    _one_line(info.value)
    with pytest.raises(AttestationError, match=f"duplicate key '{member}'"):
        parse_statement(tampered_payload)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace('"inner":1', '"inner":"\\ud800"'), "lone surrogate"),
        (lambda t: t.replace('"inner":1', '"\\udc00":1'), "lone surrogate"),
        (lambda t: t.replace('"inner":1', '"inner":' + "1" * 400), "integer of 400 digits"),
        (lambda t: t.replace('"inner":1', '"inner":NaN'), "non-finite number NaN"),
        (lambda t: t.replace('"inner":1', '"inner":Infinity'), "non-finite number Infinity"),
        (lambda t: t.replace('"inner":1', '"inner":-Infinity'), "non-finite number -Infinity"),
        (lambda t: t.replace('"inner":1', '"inner":' + "[" * 100 + "]" * 100), "nested"),
    ],
)
def test_malformed_values_in_signed_statement(built, key, edit, reason: str) -> None:  # type: ignore[no-untyped-def]
    raw = _resigned(edit(_statement(built.digest).to_bytes().decode()).encode(), key)
    with pytest.raises(VerificationError, match=reason) as info:
        verify_with_key(raw, key.public, built.digest)
    _one_line(info.value)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace('"tlogEntries": []', '"tlogEntries": ["\\ud800"]'), "lone surrogate"),
        (lambda t: t.replace('"tlogEntries": []', '"tlogEntries": [' + "9" * 400 + "]"), "integer of 400 digits"),
        (lambda t: t.replace('"tlogEntries": []', '"tlogEntries": [NaN]'), "non-finite"),
        (lambda t: t.replace('"tlogEntries": []', '"tlogEntries": [Infinity]'), "non-finite"),
        (lambda t: t.replace('"tlogEntries": []', '"tlogEntries": ' + "[" * 100_000), "nested 100002 levels"),
        (lambda t: "[" * 100_000, "nested 100000 levels"),
    ],
)
def test_malformed_bundle_values(built, key, edit, reason: str) -> None:  # type: ignore[no-untyped-def]
    raw = edit(_bundle(built.digest, key).decode()).encode()
    with pytest.raises(VerificationError, match=reason) as info:
        verify_with_key(raw, key.public, built.digest)
    _one_line(info.value)


def test_bare_envelope_is_parsed_strictly(built, key) -> None:  # type: ignore[no-untyped-def]
    envelope = json.dumps(json.loads(_bundle(built.digest, key))["dsseEnvelope"]).encode()
    assert parse_envelope(envelope).payload_type == "application/vnd.in-toto+json"
    text = envelope.decode()
    with pytest.raises(VerificationError, match="duplicate key 'payloadType'"):
        parse_envelope(text.replace('"payloadType"', '"payloadType": "x", "payloadType"').encode())
    with pytest.raises(VerificationError, match="not base64"):
        parse_envelope(b'{"payload": "!!", "payloadType": "t", "signatures": []}')
    with pytest.raises(VerificationError, match="'signatures'"):
        parse_envelope(b'{"payload": "", "payloadType": "t", "signatures": {}}')


# -- through the CLI ------------------------------------------------------------------------------


def test_cli_refuses_each_with_one_line(built, key, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VIAL_HOME", str(built.store.root))
    public = tmp_path / "key.pub"
    public.write_bytes(keys.public_pem(key.public))
    raw = _bundle(built.digest, key)
    payload = _statement(built.digest).to_bytes()
    cases = list(_bundle_level_variants(raw).values())
    cases += [_resigned(p, key) for p in _statement_variants(payload, built.digest).values()]
    cases += [
        _resigned(payload.decode().replace('"inner":1', '"inner":"\\ud800"').encode(), key),
        _resigned(payload.decode().replace('"inner":1', '"inner":' + "7" * 400).encode(), key),
        _resigned(payload.decode().replace('"inner":1', '"inner":NaN').encode(), key),
        b"[" * 100_000,
        b'{"mediaType": Infinity}',
        base64.b64encode(raw),
    ]
    runner = CliRunner()
    good = tmp_path / "good.json"
    good.write_bytes(raw)
    ok = runner.invoke(cli, ["verify-attestation", built.digest, "--bundle", str(good), "--key", str(public)])
    assert ok.exit_code == 0, ok.stderr
    for i, case in enumerate(cases):
        path = tmp_path / f"case{i}.json"
        path.write_bytes(case)
        result = runner.invoke(cli, ["verify-attestation", built.digest, "--bundle", str(path), "--key", str(public)])
        assert result.exit_code not in (0, 70), (i, result.stderr)
        assert result.stderr.startswith("vial: error: ") and result.stderr.count("\n") == 1, (i, result.stderr)
        assert "internal error" not in result.stderr


def test_every_refusal_is_a_vial_error() -> None:
    for text in ('{"a":1,"a":1}', "[NaN]", '["\\ud800"]', "[" * 1000):
        with pytest.raises(VialError):
            strictjson.loads(text, "doc")
