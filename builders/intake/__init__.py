"""vial.builders.intake: reading a project as it is (requirements, notebooks, declarations) into a starter vial.toml."""
