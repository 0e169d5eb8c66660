"""vial.policies.runtime: verify, then run: Docker by config digest, or bubblewrap on a root filesystem vial unpacks itself."""
