"""vial.attest.signing: DSSE envelopes, Sigstore bundles, keys, and signing and verifying them (with a key or keyless)."""
