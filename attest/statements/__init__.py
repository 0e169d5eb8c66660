"""vial.attest.statements: in-toto Statements and the predicates vial writes (SLSA provenance, CycloneDX SBOM, test results, reproductions)."""
