"""vial.registry.oci: OCI distribution: references, registry authentication, a typed client, and push and pull with attestations."""
