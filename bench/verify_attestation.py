"""Benchmark: verifying one key-signed attestation bundle with vial and with cosign, same run, same bundle.

    .venv/bin/python bench/verify_attestation.py [--runs N] [--cosign PATH]

Makes a throwaway store with one image and a realistic build record, signs its SLSA provenance with
a fresh ECDSA P-256 key, then times, for the same bundle and public key:

* vial, in process: ``verify_with_key`` (parse, signature, statement, subject);
* vial, as a command: ``vial verify-attestation --bundle ... --key ...`` in a fresh Python process;
* cosign: ``cosign verify-blob-attestation --key ... --bundle ... --new-bundle-format
  --insecure-ignore-tlog --trusted-root <empty> --type ...`` on the manifest blob (a fresh process).

Prints the median of each and the ratios. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "attest"))

from conftest import make_image  # noqa: E402  (the test fixture's realistic image and record)

from vial.attest.signing import keys  # noqa: E402
from vial.attest.signing.sign import KeySigner  # noqa: E402
from vial.attest.signing.verify import verify_with_key  # noqa: E402
from vial.attest.statements.provenance import provenance_statement  # noqa: E402
from vial.attest.statements.statement import SLSA_PROVENANCE_V1  # noqa: E402
from vial.store import Store  # noqa: E402

CLI = "import sys; from vial.cli import cli; import vial.cli.attest_cmds; cli(sys.argv[1:])"


def _time(function, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--cosign", default=shutil.which("cosign") or str(Path(os.environ.get("GOPATH", "/root/go")) / "bin" / "cosign")
    )
    args = parser.parse_args()
    if not Path(args.cosign).is_file():
        sys.exit(f"cosign not found at {args.cosign}: run scripts/services.sh")

    work = Path(tempfile.mkdtemp(prefix="vial-bench-"))
    try:
        store = Store(work / "store")
        image = make_image(store)
        key = keys.generate("ecdsa-p256")
        keys.write_keypair(key, b"bench", work / "k.key", work / "k.pub")
        bundle = work / "provenance.sigstore.json"
        bundle.write_bytes(KeySigner(key).sign(provenance_statement(image.record, image.name)))
        (work / "empty-root.json").write_text(
            json.dumps({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"})
        )
        raw, public = bundle.read_bytes(), keys.load_public_key(work / "k.pub")
        env = {**os.environ, "HOME": str(work), "TUF_ROOT": str(work / ".sigstore"), "VIAL_HOME": str(store.root)}

        def vial_library() -> None:
            verify_with_key(raw, public, image.digest, SLSA_PROVENANCE_V1)

        def vial_cli() -> None:
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CLI,
                    "verify-attestation",
                    image.digest,
                    "--bundle",
                    str(bundle),
                    "--key",
                    str(work / "k.pub"),
                    "--type",
                    SLSA_PROVENANCE_V1,
                ],
                check=True,
                capture_output=True,
                env=env,
            )

        def cosign() -> None:
            subprocess.run(
                [
                    args.cosign,
                    "verify-blob-attestation",
                    "--key",
                    str(work / "k.pub"),
                    "--bundle",
                    str(bundle),
                    "--new-bundle-format",
                    "--insecure-ignore-tlog",
                    "--trusted-root",
                    str(work / "empty-root.json"),
                    "--type",
                    SLSA_PROVENANCE_V1,
                    str(image.manifest_path),
                ],
                check=True,
                capture_output=True,
                env=env,
            )

        for warm in (vial_library, vial_cli, cosign):  # one untimed run each: page cache, imports
            warm()
        results = {
            "vial (library, in process)": statistics.median(_time(vial_library, args.runs * 10)),
            "vial verify-attestation (process)": statistics.median(_time(vial_cli, args.runs)),
            "cosign verify-blob-attestation (process)": statistics.median(_time(cosign, args.runs)),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"bundle: {len(raw)} bytes (SLSA provenance, {len(image.record.locked().debian)} debs, "
        f"{len(image.record.locked().python)} wheels); runs: {args.runs} (library: {args.runs * 10}); median seconds"
    )
    for label, seconds in results.items():
        print(f"  {label:42s} {seconds * 1000:9.2f} ms")
    cosign_s = results["cosign verify-blob-attestation (process)"]
    print(f"ratio vial process / cosign process: {results['vial verify-attestation (process)'] / cosign_s:.2f}")
    print(f"ratio vial library / cosign process: {results['vial (library, in process)'] / cosign_s:.4f}")


if __name__ == "__main__":
    main()
