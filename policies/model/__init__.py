"""vial.policies.model: what a policy says (YAML read into plain data), custom rules, and the user's trusted signers."""
