"""vial.policies.engine: verification: where an image comes from, every byte rehashed, every attestation checked, every rule evaluated."""
