"""Keyless signing end to end against a private Sigstore instance that runs on 127.0.0.1 for the test.

No public Sigstore instance is reachable here, so this module plays a minimal one: a certificate
authority that issues Fulcio-profile certificates (code-signing EKU, SAN, OIDC-issuer extension,
an embedded SCT signed by a CT log key) from the OIDC token's claims, and a Rekor v1 log that
accepts a DSSE entry and answers with a signed entry timestamp and a signed checkpoint over a
one-leaf Merkle tree. Its trusted root and signing config are handed to vial as a ClientTrustConfig
(``--trust-config``), exactly as a private deployment would be.

What runs for real: vial's keyless signer and sigstore-python's signing flow (CSR, SCT check, DSSE
signature, log submission, bundle assembly) and its full verifier (chain at the logged time, SCT,
identity, issuer, inclusion proof, checkpoint and SET signatures, entry-body consistency). What is
played: the servers' side, which is not vial's code. The real Fulcio/Rekor exchange stays untested.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.server
import json
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import rfc8785
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from vial.attest.errors import VerificationError
from vial.attest.signing.sign import KeylessSigner
from vial.attest.signing.verify import verify_keyless
from vial.attest.statements.provenance import provenance_statement
from vial.attest.statements.statement import SLSA_PROVENANCE_V1
from vial.cli import (
    attest_cmds,  # noqa: F401 - registers the commands
    cli,
)

ISSUER = "https://issuer.private.example"
IDENTITY = "researcher@lab.example"
OIDC_ISSUER_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OIDC_ISSUER_V2_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
SCT_LIST_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
P256 = "PKIX_ECDSA_P256_SHA_256"


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der_octet_string(data: bytes) -> bytes:
    length = len(data)
    if length < 0x80:
        return b"\x04" + bytes([length]) + data
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return b"\x04" + bytes([0x80 | len(encoded)]) + encoded + data


def _der_utf8(text: str) -> bytes:
    data = text.encode()
    return b"\x0c" + bytes([len(data)]) + data


class PrivateSigstore:
    """The server side of a tiny Sigstore deployment (Fulcio + Rekor v1), for one test."""

    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.log_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_id = hashlib.sha256(_spki(self.ct_key.public_key())).digest()
        self.log_id = hashlib.sha256(_spki(self.log_key.public_key())).digest()
        now = dt.datetime.now(dt.UTC)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vial-test"),
                x509.NameAttribute(NameOID.COMMON_NAME, "vial-test-ca"),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.entries = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- Fulcio ----------------------------------------------------------------------------------

    def issue(self, csr_pem: bytes, token: str) -> list[str]:
        claims = jwt.decode(token, options={"verify_signature": False}, audience="sigstore")
        csr = x509.load_pem_x509_csr(csr_pem)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca_cert.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(seconds=30))
            .not_valid_after(now + dt.timedelta(minutes=10))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(claims["email"])]), critical=True)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_OID, claims["iss"].encode()), critical=False)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V2_OID, _der_utf8(claims["iss"])), critical=False)
        )
        # The precertificate's TBS is this certificate's TBS: the SCT extension is appended after it.
        tbs = builder.sign(self.ca_key, hashes.SHA256()).tbs_certificate_bytes
        timestamp = int(time.time() * 1000)
        issuer_key_hash = hashlib.sha256(_spki(self.ca_key.public_key())).digest()
        signed = struct.pack("!BBQH", 0, 0, timestamp, 1) + issuer_key_hash + len(tbs).to_bytes(3, "big") + tbs
        signed += struct.pack("!H", 0)  # no CT extensions
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            struct.pack("!B32sQH", 0, self.ct_id, timestamp, 0) + struct.pack("!BBH", 4, 3, len(signature)) + signature
        )
        sct_list = struct.pack("!HH", len(sct) + 2, len(sct)) + sct
        leaf = builder.add_extension(
            x509.UnrecognizedExtension(SCT_LIST_OID, _der_octet_string(sct_list)), critical=False
        ).sign(self.ca_key, hashes.SHA256())
        assert leaf.tbs_precertificate_bytes == tbs
        pem = serialization.Encoding.PEM
        return [leaf.public_bytes(pem).decode(), self.ca_cert.public_bytes(pem).decode()]

    # -- Rekor v1 --------------------------------------------------------------------------------

    def log(self, proposed: dict) -> dict:  # type: ignore[type-arg]
        content = proposed["spec"]["proposedContent"]
        envelope = json.loads(content["envelope"])
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(content["envelope"].encode()).hexdigest(),
                },
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(base64.b64decode(envelope["payload"])).hexdigest(),
                },
                "signatures": [
                    {"signature": s["sig"], "verifier": content["verifiers"][0]} for s in envelope["signatures"]
                ],
            },
        }
        canonical = rfc8785.dumps(body)
        index, integrated = self.entries, int(time.time())
        self.entries += 1
        root = hashlib.sha256(b"\x00" + canonical).digest()  # a one-leaf tree: the root is the leaf hash
        origin = "vial-test-log - 1"
        note = f"{origin}\n1\n{_b64(root)}\n"
        note_sig = self.log_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 vial-test-log {_b64(self.log_id[:4] + note_sig)}\n"
        body_b64 = _b64(canonical)
        set_payload = rfc8785.dumps(
            {"body": body_b64, "integratedTime": integrated, "logID": self.log_id.hex(), "logIndex": index}
        )
        return {
            hashlib.sha256(canonical).hexdigest(): {
                "body": body_b64,
                "integratedTime": integrated,
                "logID": self.log_id.hex(),
                "logIndex": index,
                "verification": {
                    "signedEntryTimestamp": _b64(self.log_key.sign(set_payload, ec.ECDSA(hashes.SHA256()))),
                    "inclusionProof": {
                        "logIndex": 0,
                        "rootHash": root.hex(),
                        "treeSize": 1,
                        "hashes": [],
                        "checkpoint": checkpoint,
                    },
                },
            }
        }

    def _handler(self):  # type: ignore[no-untyped-def]
        instance = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/api/v2/signingCert":
                    token = self.headers["Authorization"].removeprefix("Bearer ")
                    csr = base64.b64decode(request["certificateSigningRequest"])
                    answer = {"signedCertificateEmbeddedSct": {"chain": {"certificates": instance.issue(csr, token)}}}
                    status = 201
                elif self.path == "/api/v1/log/entries":
                    answer, status = instance.log(request), 201
                else:
                    answer, status = {"message": f"no route {self.path}"}, 404
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    # -- client configuration ----------------------------------------------------------------------

    def trust_config(self) -> dict:  # type: ignore[type-arg]
        start = {"start": (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}

        def key(private: ec.EllipticCurvePrivateKey) -> dict:  # type: ignore[type-arg]
            return {"rawBytes": _b64(_spki(private.public_key())), "keyDetails": P256, "validFor": start}

        def service(url: str) -> dict:  # type: ignore[type-arg]
            return {"url": url, "majorApiVersion": 1, "validFor": start, "operator": "vial-test"}

        trusted_root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": self.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": key(self.log_key),
                    "logId": {"keyId": _b64(self.log_id)},
                }
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "vial-test", "commonName": "vial-test-ca"},
                    "uri": self.url,
                    "certChain": {
                        "certificates": [{"rawBytes": _b64(self.ca_cert.public_bytes(serialization.Encoding.DER))}]
                    },
                    "validFor": start,
                }
            ],
            "ctlogs": [
                {
                    "baseUrl": self.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": key(self.ct_key),
                    "logId": {"keyId": _b64(self.ct_id)},
                }
            ],
            "timestampAuthorities": [],
        }
        signing_config = {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(self.url)],
            "oidcUrls": [service(self.url + "/oidc")],
            "rekorTlogUrls": [service(self.url)],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }
        return {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": trusted_root,
            "signingConfig": signing_config,
        }


def _token(email: str = IDENTITY) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": email,
        "email": email,
        "email_verified": True,
        "aud": "sigstore",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, "a-test-issuer-key-that-is-long-enough", algorithm="HS256")


@pytest.fixture()
def instance(tmp_path: Path) -> Iterator[tuple[PrivateSigstore, Path]]:
    sigstore = PrivateSigstore()
    sigstore.thread.start()
    path = tmp_path / "trust-config.json"
    path.write_text(json.dumps(sigstore.trust_config()))
    try:
        yield sigstore, path
    finally:
        sigstore.server.shutdown()
        sigstore.server.server_close()
        sigstore.thread.join(timeout=30)


def test_keyless_sign_and_verify_with_a_private_instance(instance, built) -> None:  # type: ignore[no-untyped-def]
    sigstore, trust = instance
    raw = KeylessSigner(trust, token=_token()).sign(provenance_statement(built.record, built.name))
    bundle = json.loads(raw)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert (
        "certificate" in bundle["verificationMaterial"]
        and bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    )
    assert bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}
    verified = verify_keyless(raw, IDENTITY, ISSUER, built.digest, SLSA_PROVENANCE_V1, trust_config=trust)
    assert verified.signer == f"{IDENTITY} ({ISSUER})"
    assert verified.statement.predicate["buildDefinition"]["buildType"] == built.record.build_type
    with pytest.raises(VerificationError, match="SANs do not match"):
        verify_keyless(raw, "someone.else@lab.example", ISSUER, built.digest, trust_config=trust)
    with pytest.raises(VerificationError, match="OIDCIssuer does not match"):
        verify_keyless(raw, IDENTITY, "https://accounts.google.com", built.digest, trust_config=trust)
    with pytest.raises(VerificationError, match=f"not {'sha256:' + '2' * 64}"):
        verify_keyless(raw, IDENTITY, ISSUER, "sha256:" + "2" * 64, trust_config=trust)
    # Trusting Sigstore's public root instead of the private one: the certificate chain fails.
    with pytest.raises(VerificationError, match="failed to build timestamp certificate chain"):
        verify_keyless(raw, IDENTITY, ISSUER, built.digest)
    # The same with only the trusted root (verification needs no signing config).
    root_file = trust.parent / "trusted_root.json"
    root_file.write_text(json.dumps(json.loads(trust.read_text())["trustedRoot"]))
    assert verify_keyless(raw, IDENTITY, ISSUER, built.digest, trusted_root_file=root_file).signer.startswith(IDENTITY)
    assert sigstore.entries == 1


def test_keyless_tampering_is_rejected(instance, built) -> None:  # type: ignore[no-untyped-def]
    _, trust = instance
    raw = KeylessSigner(trust, token=_token()).sign(provenance_statement(built.record, built.name))

    def edit(change):  # type: ignore[no-untyped-def]
        data = json.loads(raw)
        change(data)
        return json.dumps(data).encode()

    def new_payload(data):  # type: ignore[no-untyped-def]
        statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
        statement["predicate"]["runDetails"]["builder"]["id"] = "https://evil.example/builder"
        data["dsseEnvelope"]["payload"] = _b64(json.dumps(statement).encode())

    with pytest.raises(VerificationError, match="DSSE: invalid signature"):
        verify_keyless(edit(new_payload), IDENTITY, ISSUER, built.digest, trust_config=trust)

    def moved_in_time(seconds: int):  # type: ignore[no-untyped-def]
        def change(data):  # type: ignore[no-untyped-def]
            entry = data["verificationMaterial"]["tlogEntries"][0]
            entry["integratedTime"] = str(int(entry["integratedTime"]) - seconds)

        return change

    # Logged an hour earlier: the certificate was not valid then.
    with pytest.raises(VerificationError, match="not valid at validation time"):
        verify_keyless(edit(moved_in_time(3600)), IDENTITY, ISSUER, built.digest, trust_config=trust)
    # Logged a few seconds earlier, within the certificate's validity: the log's signed timestamp breaks.
    with pytest.raises(VerificationError, match="SET: invalid inclusion promise"):
        verify_keyless(edit(moved_in_time(5)), IDENTITY, ISSUER, built.digest, trust_config=trust)
    with pytest.raises(VerificationError, match="not valid JSON"):
        verify_keyless(raw[:-10], IDENTITY, ISSUER, built.digest, trust_config=trust)


def test_cli_keyless_sign_and_verify_with_a_private_instance(instance, built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, trust = instance
    monkeypatch.setenv("VIAL_HOME", str(built.store.root))
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", _token())
    runner = CliRunner()
    signed = runner.invoke(cli, ["sign", "demo:1.0", "--trust-config", str(trust), "--json"])
    assert signed.exit_code == 0, signed.stderr
    assert {a["signer"] for a in json.loads(signed.stdout)["attestations"]} == {f"{IDENTITY} ({ISSUER})"}
    verified = runner.invoke(
        cli,
        [
            "verify-attestation",
            "demo:1.0",
            "--identity",
            IDENTITY,
            "--issuer",
            ISSUER,
            "--trust-config",
            str(trust),
            "--json",
        ],
    )
    assert verified.exit_code == 0, verified.stderr
    assert len(json.loads(verified.stdout)["verified"]) == 2
    wrong = runner.invoke(
        cli, ["verify-attestation", "demo:1.0", "--identity", "x@y.z", "--issuer", ISSUER, "--trust-config", str(trust)]
    )
    assert wrong.exit_code == 2 and wrong.stderr.startswith("vial: error: referrer sha256:")
