"""Which module defines each command, so that ``vial X`` imports only what X needs.

Each command module registers its commands on the ``vial`` group when imported. A command missing
from this map is still found (every module is imported), only more slowly; ``--help`` imports all.
"""

COMMAND_MODULES: dict[str, str] = {
    # build_cmds: making images
    "init": "build_cmds",
    "lock": "build_cmds",
    "build": "build_cmds",
    "images": "build_cmds",
    # run_cmds
    "run": "run_cmds",
    # verify_cmds: policies and trusted signers
    "verify": "verify_cmds",
    "trust": "verify_cmds",
    # attest_cmds: statements, signing, verification
    "keygen": "attest_cmds",
    "sign": "attest_cmds",
    "attest": "attest_cmds",
    "verify-attestation": "attest_cmds",
    "attestations": "attest_cmds",
    "provenance": "attest_cmds",
    "sbom": "attest_cmds",
    # ipfs_cmds: CIDs, CAR files, pinning and pulling through IPFS
    "cid": "ipfs_cmds",
    "export": "ipfs_cmds",
    "import": "ipfs_cmds",
    "pin": "ipfs_cmds",
    # log_cmds: permanent versions in an append-only, verifiable log
    "publish": "log_cmds",
    "log": "log_cmds",
    "show": "log_cmds",
    "diff": "log_cmds",
    "verify-release": "log_cmds",
    "log-key": "log_cmds",
    "log-trust": "log_cmds",
    "log-verify": "log_cmds",
    # follow_cmds: a release log shared over IPFS/IPNS and followed with no server
    "share": "follow_cmds",
    "follow": "follow_cmds",
    # dist_cmds: OCI registries
    "push": "dist_cmds",
    # pull_cmds: "pull" from a registry, by CID or as NAME:VERSION (vial.api.pull decides); "get" NAME:VERSION
    "pull": "pull_cmds",
    "get": "pull_cmds",
}
