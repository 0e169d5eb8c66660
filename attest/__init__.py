"""vial.attest: in-toto statements, DSSE signing and verification, Sigstore bundles."""
