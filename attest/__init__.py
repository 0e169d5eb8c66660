"""vial.attest: in-toto statements, signing, verification and OCI referrers for images."""
